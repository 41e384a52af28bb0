import type { Timer, TimerTarget, TimerWheel } from '../shared/index.ts';

/**
 * A transaction with timers, by kind: arming a kind replaces its previous timer, and ending the
 * transaction cancels them all. A transaction runs at most three kinds (the INVITE server's
 * 100-Trying, G and H; the clients' A and B or E and F; lingering needs none, see LingerQueue), so
 * three fields of the transaction itself hold them: no array and no object of their own, which a
 * transaction would otherwise keep for the 64*T1 it lingers (three per call).
 */
export abstract class TimedTransaction implements TimerTarget {
  private first: Timer | null = null;
  private second: Timer | null = null;
  private third: Timer | null = null;
  /** When the layer keeps only this transaction's key for its linger: the clock time that ends (0 before). */
  private keyLingerEnd = 0;

  constructor(private readonly wheel: TimerWheel) {}

  abstract onTimer(kind: number): void;

  /** Arms (or re-arms) the timer of this kind; a kind armed before reuses its Timer. */
  protected arm(kind: number, delayMs: number): void {
    const existing = this.find(kind);
    if (existing !== null) {
      this.wheel.reschedule(existing, delayMs);
      return;
    }
    const timer = this.wheel.schedule(delayMs, this, kind);
    if (this.first === null) this.first = timer;
    else if (this.second === null) this.second = timer;
    else if (this.third === null) this.third = timer;
    else {
      this.wheel.cancel(timer);
      throw new Error(`a transaction arms at most three timer kinds (kind ${kind} is a fourth)`);
    }
  }

  /** Stops the timer of this kind; its Timer stays for the next arm() of the kind. */
  protected disarm(kind: number): void {
    this.wheel.cancel(this.find(kind));
  }

  /** Stops every timer and lets go of them. */
  protected cancelTimers(): void {
    this.wheel.cancel(this.first);
    this.wheel.cancel(this.second);
    this.wheel.cancel(this.third);
    this.first = this.second = this.third = null;
  }

  /**
   * The layer keeps only the key from now on, for `ms` (Timers K, L, M in CompletedTransactionTable
   * form): this object, let go by the layer, reports that linger's end through keyLingerOver.
   */
  protected lingerAsKey(ms: number): void {
    this.keyLingerEnd = this.wheel.now() + ms;
  }

  protected get keyLingerOver(): boolean {
    return this.keyLingerEnd > 0 && this.wheel.now() >= this.keyLingerEnd;
  }

  private find(kind: number): Timer | null {
    if (this.first !== null && this.first.kind === kind) return this.first;
    if (this.second !== null && this.second.kind === kind) return this.second;
    if (this.third !== null && this.third.kind === kind) return this.third;
    return null;
  }
}
