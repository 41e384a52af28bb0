import type { Timer, TimerTarget, TimerWheel } from '../shared/index.ts';

/**
 * The timers of one transaction, by kind: arming a kind replaces its previous timer, and ending
 * the transaction cancels them all. A transaction has at most a few at once, so a short array
 * scanned linearly is all the structure needed.
 */
export class TimerSet {
  private readonly timers: Timer[] = [];

  constructor(
    private readonly wheel: TimerWheel,
    private readonly target: TimerTarget,
  ) {}

  /** Arms (or re-arms) the timer of this kind; a kind armed before reuses its Timer. */
  arm(kind: number, delayMs: number): void {
    for (const t of this.timers) {
      if (t.kind !== kind) continue;
      this.wheel.reschedule(t, delayMs);
      return;
    }
    this.timers.push(this.wheel.schedule(delayMs, this.target, kind));
  }

  /** Stops the timer of this kind; its Timer stays for the next arm() of the kind. */
  disarm(kind: number): void {
    for (const t of this.timers) {
      if (t.kind !== kind) continue;
      this.wheel.cancel(t);
      return;
    }
  }

  cancelAll(): void {
    for (const t of this.timers) this.wheel.cancel(t);
    this.timers.length = 0;
  }
}
