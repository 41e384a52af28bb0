import { systemClock, type Clock } from '../../shared/index.ts';

export interface BackoffPolicy {
  /** Failures within `windowMs` that block the key. */
  maxFailures: number;
  windowMs: number;
  /** The first block; each further block of the same key lasts twice as long as the one before. */
  blockMs: number;
  /** The longest block. */
  maxBlockMs: number;
}

interface FailureRecord {
  failures: number;
  windowStart: number;
  blockedUntil: number;
  /** Blocks so far: the next one lasts blockMs × 2^level. */
  level: number;
  lastFailure: number;
}

/**
 * Failure counts with increasing back-off, for one kind of key (a user, a source address):
 * `maxFailures` within `windowMs` block the key for `blockMs`, doubling with every further
 * block up to `maxBlockMs`. A key's history is forgotten once it has been quiet for as long as
 * the longest block, so a record lives at most that long after its last failure; `maxKeys`
 * bounds the table against a flood of distinct keys.
 */
export class FailureCounter {
  private readonly records = new Map<string, FailureRecord>();
  private readonly clock: Clock;

  constructor(
    private readonly policy: BackoffPolicy,
    options: { clock?: Clock; maxKeys?: number } = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.maxKeys = options.maxKeys ?? 100_000;
  }

  private readonly maxKeys: number;

  /** Whether the key is blocked now. */
  isBlocked(key: string): boolean {
    const r = this.records.get(key);
    return r !== undefined && r.blockedUntil > this.clock.now();
  }

  /** Milliseconds the block of the key still lasts (0 when not blocked). */
  blockRemainingMs(key: string): number {
    const r = this.records.get(key);
    return r === undefined ? 0 : Math.max(0, r.blockedUntil - this.clock.now());
  }

  /** Counts a failure; returns the length of the block it starts, or 0 when it starts none. */
  fail(key: string): number {
    const now = this.clock.now();
    let r = this.records.get(key);
    if (r === undefined) {
      if (this.records.size >= this.maxKeys) this.sweep();
      if (this.records.size >= this.maxKeys) return 0;
      r = { failures: 0, windowStart: now, blockedUntil: 0, level: 0, lastFailure: now };
      this.records.set(key, r);
    }
    r.lastFailure = now;
    if (r.blockedUntil > now) return 0; // already blocked: attempts are refused, not counted twice
    if (now - r.windowStart >= this.policy.windowMs) {
      r.failures = 0;
      r.windowStart = now;
    }
    r.failures++;
    if (r.failures < this.policy.maxFailures) return 0;
    const block = Math.min(this.policy.blockMs * 2 ** r.level, this.policy.maxBlockMs);
    r.level++;
    r.failures = 0;
    r.windowStart = now;
    r.blockedUntil = now + block;
    return block;
  }

  /** A success clears the key's failures and its back-off. */
  succeed(key: string): void {
    this.records.delete(key);
  }

  get size(): number {
    return this.records.size;
  }

  /** Forgets keys that are not blocked and have been quiet for the longest block. */
  sweep(): void {
    const now = this.clock.now();
    for (const [key, r] of this.records) {
      if (r.blockedUntil <= now && now - r.lastFailure >= this.policy.maxBlockMs) this.records.delete(key);
    }
  }
}
