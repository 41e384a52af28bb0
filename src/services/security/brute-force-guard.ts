import { systemClock, type Clock } from '../../shared/index.ts';
import { FailureCounter, type BackoffPolicy } from './failure-counter.ts';

export interface BruteForceOptions {
  /** Back-off for failures of one user (address-of-record), whichever sources they come from. */
  perUser: BackoffPolicy;
  /** Back-off for failures from one source address, whichever users they try. */
  perSource: BackoffPolicy;
  clock?: Clock;
  /** Told when a user or a source gets blocked (for a log line and counters). */
  onBlock?: (kind: 'user' | 'source', key: string, ms: number) => void;
}

/**
 * Password guessing protection for digest authentication: failed attempts (credentials present
 * but wrong: a wrong password, an unknown user, a forged nonce) are counted per user and per
 * source address, with increasing back-off. While blocked, an attempt is not even verified: it
 * gets the same challenge as a wrong password, so a guesser (sipvicious svcrack) learns nothing,
 * not even that it was blocked, and a right guess during the block does not count.
 *
 * A per-user block would let anyone lock a user out by failing on purpose, so the source that
 * last authenticated as the user successfully stays exempt from that user's block (the user's
 * own phone keeps registering); it is still subject to its own per-source count.
 */
export class BruteForceGuard {
  private readonly users: FailureCounter;
  private readonly sources: FailureCounter;
  /** user → the source address it last authenticated from. */
  private readonly knownSources = new Map<string, string>();
  private sweeper: NodeJS.Timeout | undefined;
  /** Attempts refused because the user or the source was blocked. */
  refused = 0;
  /** Blocks imposed. */
  blocks = 0;

  constructor(private readonly options: BruteForceOptions) {
    const clock = options.clock ?? systemClock;
    this.users = new FailureCounter(options.perUser, { clock });
    this.sources = new FailureCounter(options.perSource, { clock });
  }

  start(): void {
    if (this.sweeper !== undefined) return;
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  stop(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /**
   * Whether an attempt for `user` (user@domain) from `source` must be refused without looking at
   * its credentials. Counts the refusal.
   */
  isBlocked(user: string, source: string): boolean {
    const blocked = this.sources.isBlocked(source) || (this.users.isBlocked(user) && this.knownSources.get(user) !== source);
    if (blocked) this.refused++;
    return blocked;
  }

  /** Credentials were present and wrong. */
  failed(user: string, source: string): void {
    const sourceBlock = this.sources.fail(source);
    if (sourceBlock > 0) this.blocked('source', source, sourceBlock);
    // the user's own known source does not push the user into a block it is exempt from anyway
    if (this.knownSources.get(user) === source) return;
    const userBlock = this.users.fail(user);
    if (userBlock > 0) this.blocked('user', user, userBlock);
  }

  /** Credentials were right: the user's failures are forgotten and the source becomes known. */
  succeeded(user: string, source: string): void {
    this.users.succeed(user);
    // a source's own failures are not forgiven by one success: an attacker with an account of
    // its own could otherwise reset its count between guesses
    this.knownSources.set(user, source);
  }

  isUserBlocked(user: string): boolean {
    return this.users.isBlocked(user);
  }

  isSourceBlocked(source: string): boolean {
    return this.sources.isBlocked(source);
  }

  sweep(): void {
    this.users.sweep();
    this.sources.sweep();
  }

  private blocked(kind: 'user' | 'source', key: string, ms: number): void {
    this.blocks++;
    this.options.onBlock?.(kind, key, ms);
  }
}
