import { systemClock, type Clock } from '../../shared/index.ts';
import type { SourceGuard } from '../../transport/index.ts';

export interface FloodOptions {
  /** Requests one source may send within `windowMs`; above it the source is banned. */
  requests: number;
  windowMs: number;
  /** How long a ban lasts. */
  banMs: number;
  /** What a banned source gets. */
  action?: 'drop' | '503';
  /** Sources exempt from counting (trusted peers). */
  isExempt?: (address: string) => boolean;
  /** Most sources tracked at once; beyond it new sources are not counted until a sweep frees room. */
  maxSources?: number;
  clock?: Clock;
  /** Told once per ban (for a log line and a counter). */
  onBan?: (address: string, until: number) => void;
}

/** One source's counts: this window and the one before (a sliding window in two buckets). */
interface SourceRate {
  window: number;
  current: number;
  previous: number;
  exempt: boolean;
}

/**
 * Per-source request rate with a temporary ban list (Kamailio's pike). The rate over the last
 * window is estimated from two fixed windows, the current one and the previous one weighted by
 * how much of it still overlaps the sliding window (the usual two-bucket approximation): O(1)
 * time and one small object per source, no per-request allocation. A source over the limit is
 * banned for `banMs`; a timer sweeps idle sources and expired bans, so memory stays bounded by
 * the sources active in the last two windows (and by `maxSources`).
 */
export class FloodDetector implements SourceGuard {
  readonly banAction: 'drop' | '503';
  private readonly sources = new Map<string, SourceRate>();
  private readonly bans = new Map<string, number>();
  private readonly clock: Clock;
  private readonly maxSources: number;
  private sweeper: NodeJS.Timeout | undefined;
  /** Bans imposed since start. */
  banCount = 0;

  constructor(private readonly options: FloodOptions) {
    this.banAction = options.action ?? 'drop';
    this.clock = options.clock ?? systemClock;
    this.maxSources = options.maxSources ?? 100_000;
  }

  /** Starts the sweep timer (unref'd: it never keeps the process alive). */
  start(): void {
    if (this.sweeper !== undefined) return;
    this.sweeper = setInterval(() => this.sweep(), this.options.windowMs);
    this.sweeper.unref();
  }

  stop(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  isBanned(address: string): boolean {
    if (this.bans.size === 0) return false;
    const until = this.bans.get(address);
    if (until === undefined) return false;
    if (until > this.clock.now()) return true;
    this.bans.delete(address);
    return false;
  }

  admit(address: string): boolean {
    if (this.isBanned(address)) return false;
    const now = this.clock.now();
    const windowMs = this.options.windowMs;
    const window = Math.floor(now / windowMs);
    let rate = this.sources.get(address);
    if (rate === undefined) {
      // a table at its limit (a spoofed-source flood) stops tracking newcomers rather than growing
      if (this.sources.size >= this.maxSources) return true;
      rate = { window, current: 0, previous: 0, exempt: this.options.isExempt?.(address) ?? false };
      this.sources.set(address, rate);
    }
    if (rate.exempt) return true;
    if (rate.window !== window) {
      rate.previous = rate.window === window - 1 ? rate.current : 0;
      rate.current = 0;
      rate.window = window;
    }
    rate.current++;
    const overlap = 1 - (now - window * windowMs) / windowMs;
    if (rate.previous * overlap + rate.current <= this.options.requests) return true;
    this.ban(address);
    return false;
  }

  isTrusted(address: string): boolean {
    return this.options.isExempt?.(address) ?? false;
  }

  banRemainingSec(address: string): number {
    const until = this.bans.get(address);
    return until === undefined ? 0 : Math.max(1, Math.ceil((until - this.clock.now()) / 1000));
  }

  /** Bans a source now (also for an operator or a script), for `ms` or the configured time. */
  ban(address: string, ms = this.options.banMs): void {
    const until = this.clock.now() + ms;
    this.bans.set(address, until);
    this.sources.delete(address);
    this.banCount++;
    this.options.onBan?.(address, until);
  }

  unban(address: string): boolean {
    return this.bans.delete(address);
  }

  /** The banned sources with the time (clock milliseconds) each ban ends. */
  banned(): Array<{ address: string; until: number }> {
    const now = this.clock.now();
    return [...this.bans].filter(([, until]) => until > now).map(([address, until]) => ({ address, until }));
  }

  get trackedSources(): number {
    return this.sources.size;
  }

  /** The trusted-peer table changed: exemptions are decided again. */
  refreshExemptions(): void {
    for (const [address, rate] of this.sources) rate.exempt = this.options.isExempt?.(address) ?? false;
  }

  /** Drops sources idle for two windows (their counts no longer matter) and expired bans. */
  sweep(): void {
    const now = this.clock.now();
    const window = Math.floor(now / this.options.windowMs);
    for (const [address, rate] of this.sources) if (rate.window < window - 1) this.sources.delete(address);
    for (const [address, until] of this.bans) if (until <= now) this.bans.delete(address);
  }
}
