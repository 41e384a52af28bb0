/** Time source, injectable so that the transaction layer can run on a fake clock in tests. */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
}

export const systemClock: Clock = {
  now: () => performance.now(),
};

/** A clock that only moves when told; used with TimerWheel.advance() in tests. */
export class ManualClock implements Clock {
  private current: number;
  constructor(start = 0) {
    this.current = start;
  }
  now(): number {
    return this.current;
  }
  set(ms: number): void {
    this.current = ms;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}
