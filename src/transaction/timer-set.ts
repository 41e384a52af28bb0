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

  arm(kind: number, delayMs: number): void {
    this.disarm(kind);
    this.timers.push(this.wheel.schedule(delayMs, this.target, kind));
  }

  disarm(kind: number): void {
    for (let i = 0; i < this.timers.length; i++) {
      if (this.timers[i].kind !== kind) continue;
      this.wheel.cancel(this.timers[i]);
      this.timers.splice(i, 1);
      return;
    }
  }

  cancelAll(): void {
    for (const t of this.timers) this.wheel.cancel(t);
    this.timers.length = 0;
  }
}
