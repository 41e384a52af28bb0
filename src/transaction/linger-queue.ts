import type { Timer, TimerTarget, TimerWheel } from '../shared/index.ts';

/** A transaction that has done its work and only waits out its linger (it ends itself on terminate()). */
export interface Lingering {
  terminate(): void;
}

/**
 * Entries of one linger duration, in the order they came: since they all wait the same time,
 * that is also the order they end in, so a FIFO is all the structure they need.
 */
class LingerFifo {
  readonly items: Lingering[] = [];
  /** When each item ends (clock ms), beside it: a number array keeps the doubles unboxed. */
  readonly due: number[] = [];
  head = 0;

  get empty(): boolean {
    return this.head === this.items.length;
  }

  /** Drops the consumed front once it is most of the arrays (amortized O(1) per entry). */
  compact(): void {
    if (this.head < 1024 || this.head * 2 < this.items.length) return;
    this.items.splice(0, this.head);
    this.due.splice(0, this.head);
    this.head = 0;
  }
}

/**
 * The transactions that linger to absorb retransmissions after their work is done (RFC 3261 Timers
 * D, I, J, K and RFC 6026 Timers L, M; Kamailio's wait timer list). Tens of thousands of them are
 * alive under load for 64*T1 each: as queue entries they cost no Timer object and no place in the
 * timer wheel each, only one wheel timer for the whole queue, armed for the earliest end. What a
 * lingering transaction keeps alive the garbage collector copies and promotes, so less of it
 * means shorter scavenge pauses.
 */
export class LingerQueue implements TimerTarget {
  private readonly fifos = new Map<number, LingerFifo>();
  private timer: Timer | null = null;
  private count = 0;

  constructor(private readonly wheel: TimerWheel) {}

  get size(): number {
    return this.count;
  }

  /** `transaction` ends (terminate()) after `ms`; ending it earlier is fine, terminate() is then a no-op. */
  add(transaction: Lingering, ms: number): void {
    let fifo = this.fifos.get(ms);
    if (fifo === undefined) {
      fifo = new LingerFifo();
      this.fifos.set(ms, fifo);
    }
    const due = this.wheel.now() + ms;
    fifo.items.push(transaction);
    fifo.due.push(due);
    this.count++;
    if (this.timer === null) this.timer = this.wheel.schedule(ms, this, 0);
    else if (!this.timer.active || due < this.timer.dueAt) this.wheel.reschedule(this.timer, ms);
  }

  /** Drops every entry without ending it (the layer terminates its transactions itself on shutdown). */
  clear(): void {
    this.fifos.clear();
    this.count = 0;
    this.wheel.cancel(this.timer);
  }

  onTimer(): void {
    const now = this.wheel.now();
    let next = Infinity;
    for (const fifo of this.fifos.values()) {
      const { items, due } = fifo;
      while (!fifo.empty && due[fifo.head] <= now) {
        const tx = items[fifo.head];
        // the slot lets go at once: an ended transaction must not wait for the next compaction
        (items as Array<Lingering | null>)[fifo.head] = null;
        fifo.head++;
        this.count--;
        try {
          tx.terminate();
        } catch (err) {
          // one failing end must not keep the rest of the queue waiting
          queueMicrotask(() => {
            throw err;
          });
        }
      }
      fifo.compact();
      if (!fifo.empty && due[fifo.head] < next) next = due[fifo.head];
    }
    if (next !== Infinity && this.timer !== null) this.wheel.reschedule(this.timer, next - now);
  }
}
