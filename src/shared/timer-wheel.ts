import type { Clock } from './clock.ts';

/**
 * Something a timer fires on. Passing (target, kind) instead of a closure lets a transaction
 * arm its timers without allocating a function per timer.
 */
export interface TimerTarget {
  onTimer(kind: number): void;
}

/** A scheduled timer; an intrusive list node so that cancel() is O(1). */
export class Timer {
  /** @internal */ prev: Timer | null = null;
  /** @internal */ next: Timer | null = null;
  /** @internal */ slot = -1;
  /** @internal */ rounds = 0;
  constructor(
    readonly target: TimerTarget,
    readonly kind: number,
    /** When it fires (ms); changed only by TimerWheel.reschedule. */
    public dueAt: number,
  ) {}
  get active(): boolean {
    return this.slot >= 0;
  }
}

export interface TimerWheelOptions {
  /** Tick length in ms: timers fire at most this much late. */
  resolutionMs?: number;
  /** Number of slots, a power of two. */
  slots?: number;
}

/**
 * A hashed timer wheel (Varghese & Lauck, scheme 6): scheduling and cancelling are O(1), and each
 * tick visits only the timers hashed into its slot, so 100,000 live transactions cost time in
 * proportion to the timers that are due, not to all that exist. One real timer drives it.
 */
export class TimerWheel {
  private readonly resolution: number;
  private readonly mask: number;
  private readonly heads: Array<Timer | null>;
  private currentTick: number;
  private count = 0;
  /**
   * The next timer fireSlot() will visit. A timer callback may cancel any other timer, including
   * that one; unlink() then moves the cursor past it, so a cancelled timer never fires and the
   * rest of the slot is still visited.
   */
  private cursor: Timer | null = null;
  private driver: NodeJS.Timeout | null = null;
  private readonly autoDrive: boolean;

  constructor(
    private readonly clock: Clock,
    options: TimerWheelOptions & { autoDrive?: boolean } = {},
  ) {
    this.resolution = options.resolutionMs ?? 10;
    const slots = options.slots ?? 1024;
    if ((slots & (slots - 1)) !== 0) throw new RangeError('TimerWheel slots must be a power of two');
    this.mask = slots - 1;
    this.heads = new Array<Timer | null>(slots).fill(null);
    this.currentTick = Math.floor(clock.now() / this.resolution);
    this.autoDrive = options.autoDrive ?? true;
  }

  get size(): number {
    return this.count;
  }

  /** The wheel's clock: what its timers' dueAt values are measured on. */
  now(): number {
    return this.clock.now();
  }

  schedule(delayMs: number, target: TimerTarget, kind: number): Timer {
    const timer = new Timer(target, kind, 0);
    this.place(timer, delayMs);
    return timer;
  }

  /**
   * Arms a timer again, pending or not, to fire delayMs from now: a transaction re-arming its
   * retransmission timer, or Timer C on every provisional, reuses one Timer instead of a new one each time.
   */
  reschedule(timer: Timer, delayMs: number): void {
    if (timer.slot >= 0) {
      this.unlink(timer);
      this.count--;
    }
    this.place(timer, delayMs);
  }

  private place(timer: Timer, delayMs: number): void {
    const now = this.clock.now();
    // With no timers pending nothing can be missed: jump over the idle ticks instead of walking them.
    if (this.count === 0) this.currentTick = Math.max(this.currentTick, Math.floor(now / this.resolution));
    const dueAt = now + Math.max(0, delayMs);
    timer.dueAt = dueAt;
    // A timer is due at the end of the tick that contains dueAt; never in the current tick, which
    // may be mid-processing.
    const dueTick = Math.max(this.currentTick + 1, Math.ceil(dueAt / this.resolution));
    const ticksAway = dueTick - this.currentTick;
    timer.rounds = Math.floor((ticksAway - 1) / (this.mask + 1));
    this.link(timer, dueTick & this.mask);
    this.count++;
    if (this.autoDrive && this.driver === null) this.startDriver();
  }

  cancel(timer: Timer | null | undefined): void {
    if (!timer || timer.slot < 0) return;
    this.unlink(timer);
    this.count--;
    if (this.count === 0) this.stopDriver();
  }

  /** Fires every timer due up to the clock's current time. */
  advance(): void {
    const targetTick = Math.floor(this.clock.now() / this.resolution);
    while (this.currentTick < targetTick) {
      this.currentTick++;
      this.fireSlot(this.currentTick & this.mask);
    }
    if (this.count === 0) this.stopDriver();
  }

  /** Stops the real-time driver; pending timers stay scheduled. */
  stop(): void {
    this.stopDriver();
  }

  private fireSlot(slot: number): void {
    let timer = this.heads[slot];
    while (timer !== null) {
      this.cursor = timer.next;
      if (timer.rounds > 0) {
        timer.rounds--;
      } else {
        this.unlink(timer);
        this.count--;
        try {
          timer.target.onTimer(timer.kind);
        } catch (err) {
          // A failing timer handler must not stop the wheel (and with it every other timer).
          queueMicrotask(() => {
            throw err;
          });
        }
      }
      timer = this.cursor;
    }
    this.cursor = null;
  }

  private link(timer: Timer, slot: number): void {
    const head = this.heads[slot];
    timer.slot = slot;
    timer.prev = null;
    timer.next = head;
    if (head !== null) head.prev = timer;
    this.heads[slot] = timer;
  }

  private unlink(timer: Timer): void {
    if (timer === this.cursor) this.cursor = timer.next;
    if (timer.prev !== null) timer.prev.next = timer.next;
    else this.heads[timer.slot] = timer.next;
    if (timer.next !== null) timer.next.prev = timer.prev;
    timer.prev = timer.next = null;
    timer.slot = -1;
  }

  private startDriver(): void {
    this.driver = setInterval(() => this.advance(), this.resolution);
    this.driver.unref();
  }

  private stopDriver(): void {
    if (this.driver !== null) {
      clearInterval(this.driver);
      this.driver = null;
    }
  }
}
