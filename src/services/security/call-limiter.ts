import { systemClock, type Clock } from '../../shared/index.ts';

export interface CallLimitOptions {
  /** Concurrent calls one user may have; 0 turns the limit off. */
  maxCallsPerUser: number;
  /**
   * How long an admitted call may wait for its INVITE's final response before its slot is given
   * back anyway (longer than Timer C, RFC 3261 §16.6 step 11, which ends the transaction).
   */
  setupTimeoutMs?: number;
  /** How long an established call counts without a BYE seen (a lost BYE must not hold a slot forever). */
  maxDurationMs?: number;
  clock?: Clock;
}

interface Call {
  user: string;
  established: boolean;
  expiresAt: number;
}

/**
 * Concurrent calls per user (toll-fraud containment: a stolen account cannot open a hundred
 * calls at once). A small dialog tracker keyed by Call-ID: a call counts from the INVITE that
 * was admitted; it is kept by a 2xx and released by the transaction failing or by a BYE. An
 * INVITE beyond the limit is refused. Both timeouts bound the table when a final response or a
 * BYE never comes by.
 */
export class CallLimiter {
  private readonly calls = new Map<string, Call>();
  private readonly perUser = new Map<string, number>();
  private readonly clock: Clock;
  private readonly setupTimeoutMs: number;
  private readonly maxDurationMs: number;
  private sweeper: NodeJS.Timeout | undefined;
  /** INVITEs refused for being over the limit. */
  refused = 0;

  constructor(private readonly options: CallLimitOptions) {
    this.clock = options.clock ?? systemClock;
    this.setupTimeoutMs = options.setupTimeoutMs ?? 200_000;
    this.maxDurationMs = options.maxDurationMs ?? 24 * 3600_000;
  }

  get enabled(): boolean {
    return this.options.maxCallsPerUser > 0;
  }

  start(): void {
    if (!this.enabled || this.sweeper !== undefined) return;
    this.sweeper = setInterval(() => this.sweep(), 10_000);
    this.sweeper.unref();
  }

  stop(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /**
   * An INVITE of `user` creating the call `callId`: true when it may go on (and it now counts),
   * false when the user is at the limit. The same Call-ID again (a spiral, a retry after a
   * challenge) is the same call.
   */
  admit(user: string, callId: string): boolean {
    if (!this.enabled || this.calls.has(callId)) return true;
    const count = this.perUser.get(user) ?? 0;
    if (count >= this.options.maxCallsPerUser) {
      this.refused++;
      return false;
    }
    this.calls.set(callId, { user, established: false, expiresAt: this.clock.now() + this.setupTimeoutMs });
    this.perUser.set(user, count + 1);
    return true;
  }

  /** The INVITE's final response: a 2xx establishes the call, anything else ends it. */
  finalResponse(callId: string, status: number): void {
    const call = this.calls.get(callId);
    if (call === undefined) return;
    if (status >= 200 && status < 300) {
      if (!call.established) {
        call.established = true;
        call.expiresAt = this.clock.now() + this.maxDurationMs;
      }
    } else if (!call.established) {
      this.release(callId);
    }
  }

  /** A BYE for the call (from either side). */
  release(callId: string): void {
    const call = this.calls.get(callId);
    if (call === undefined) return;
    this.calls.delete(callId);
    const count = (this.perUser.get(call.user) ?? 1) - 1;
    if (count <= 0) this.perUser.delete(call.user);
    else this.perUser.set(call.user, count);
  }

  /** Calls counted for the user now. */
  activeCalls(user: string): number {
    return this.perUser.get(user) ?? 0;
  }

  get size(): number {
    return this.calls.size;
  }

  sweep(): void {
    const now = this.clock.now();
    for (const [callId, call] of this.calls) if (call.expiresAt <= now) this.release(callId);
  }
}
