import type { Timer, TimerTarget, TimerWheel } from '../shared/index.ts';
import type { Flow } from '../transport/index.ts';
import { hashKey } from './transaction-table.ts';

/** What the table does with a retransmitted request: send its final response again. */
export type ResendFinal = (bytes: Buffer, route: Flow, onError: (err: Error) => void) => void;

/**
 * Non-INVITE server transactions in the Completed state on an unreliable transport (RFC 3261
 * §17.2.2, Figure 8). For Timer J (64*T1, 32 s by default) such a transaction only answers
 * retransmissions of its request with its final response, so that is all kept of it here: its key,
 * the response's bytes and where they went, in typed arrays and byte chunks, not an object per
 * transaction. A registrar at a few thousand REGISTERs per second holds a hundred thousand of
 * them; as objects (the transaction, its key string, a map entry) each one was promoted and then
 * marked by every full collection, as entries here they cost the garbage collector nothing.
 *
 * Entries all linger the same time, so they end in the order they came: a FIFO ring, expired from
 * its head by one wheel timer. Their bytes (the key as UTF-8, then the response) are appended to
 * 256 KB chunks in the same order, so a chunk is free once the head has passed it; free chunks are
 * reused, and growing never copies bytes. Lookup is an open-addressing hash index over the ring
 * (linear probing, deleted by backward shift); a hit is confirmed by comparing the whole key.
 */
export class CompletedTransactionTable implements TimerTarget {
  // the ring of entries: positions head..tail-1 (counters, taken modulo the capacity)
  private capacity = 0;
  private head = 0;
  private tail = 0;
  private due = new Float64Array(0);
  private hashes = new Int32Array(0);
  private starts = new Int32Array(0);
  private keyLengths = new Int32Array(0);
  private lengths = new Int32Array(0);
  private chunks: (Buffer | undefined)[] = [];
  /** Each entry's route; undefined once it has ended early (a failed resend). */
  private routes: (Flow | undefined)[] = [];
  // hash index: slot -> ring index + 1 (0: empty), twice the ring's capacity
  private index = new Int32Array(0);
  // the chunk being filled, and free ones kept for reuse
  private chunk: Buffer = Buffer.allocUnsafeSlow(CHUNK_SIZE);
  private chunkUsed = 0;
  /** The last entry (ring counter) written into the current chunk. */
  private chunkLast = -1;
  /** Filled chunks, oldest first, each with its last entry: free once the head is past it. */
  private readonly filled: Buffer[] = [];
  private readonly filledLast: number[] = [];
  private readonly spare: Buffer[] = [];
  private timer: Timer | null = null;

  constructor(
    private readonly wheel: TimerWheel,
    private readonly resend: ResendFinal,
    private readonly onSendError: (route: Flow) => void,
  ) {
    this.rebuild(MIN_ENTRIES);
  }

  get size(): number {
    return this.tail - this.head;
  }

  /** Keeps a completed transaction for `ms`: its key, its final response's bytes and their route. */
  add(key: string, response: Buffer, route: Flow, ms: number, hash = hashKey(key)): void {
    if (this.size === this.capacity) this.rebuild(this.capacity * 2);
    const keyLength = Buffer.byteLength(key, 'utf8');
    const need = keyLength + response.length;
    let chunk: Buffer;
    let start = 0;
    if (need > CHUNK_SIZE >>> 2) {
      // a large response gets a buffer of its own rather than most of a chunk
      chunk = Buffer.allocUnsafeSlow(need);
    } else {
      if (this.chunkUsed + need > CHUNK_SIZE) {
        if (this.chunkLast >= this.head) {
          this.filled.push(this.chunk);
          this.filledLast.push(this.chunkLast);
        } else if (this.spare.length < MAX_SPARE) this.spare.push(this.chunk);
        this.chunk = this.spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK_SIZE);
        this.chunkUsed = 0;
      }
      chunk = this.chunk;
      start = this.chunkUsed;
      this.chunkUsed += need;
      this.chunkLast = this.tail;
    }
    chunk.write(key, start, keyLength, 'utf8');
    response.copy(chunk, start + keyLength);
    const at = this.tail & (this.capacity - 1);
    this.due[at] = this.wheel.now() + ms;
    this.hashes[at] = hash;
    this.starts[at] = start;
    this.keyLengths[at] = keyLength;
    this.lengths[at] = response.length;
    this.chunks[at] = chunk;
    this.routes[at] = route;
    this.tail++;
    this.insert(hash, at);
    if (this.timer === null) this.timer = this.wheel.schedule(ms, this, 0);
    else if (!this.timer.active) this.wheel.reschedule(this.timer, ms);
  }

  /**
   * A request that matched no live transaction: if it is a retransmission of a completed one, sends
   * that transaction's final response again (§17.2.2) and returns true.
   */
  answer(key: string, hash = hashKey(key)): boolean {
    if (this.tail === this.head) return false;
    const at = this.find(key, hash);
    if (at < 0) return false;
    const start = this.starts[at] + this.keyLengths[at];
    // a copy: the chunk may be reused before an asynchronous send has read these bytes
    const response = Buffer.from((this.chunks[at] as Buffer).subarray(start, start + this.lengths[at]));
    const route = this.routes[at] as Flow;
    this.resend(response, route, () => {
      // §17.2.4: a transport failure ends the transaction
      this.remove(key);
      this.onSendError(route);
    });
    return true;
  }

  /** Forgets every entry (shutdown). */
  clear(): void {
    this.wheel.cancel(this.timer);
    this.timer = null;
    this.rebuild(MIN_ENTRIES, true);
    this.chunkUsed = 0;
    this.chunkLast = -1;
    this.filled.length = 0;
    this.filledLast.length = 0;
    this.spare.length = 0;
  }

  onTimer(): void {
    const now = this.wheel.now();
    const mask = this.capacity - 1;
    while (this.head !== this.tail && this.due[this.head & mask] <= now) this.expireHead();
    if (this.head === this.tail) {
      if (this.capacity > MIN_ENTRIES) this.rebuild(MIN_ENTRIES);
      return;
    }
    // after a peak, give the memory back once a small part of it is in use
    if (this.capacity > MIN_ENTRIES && this.size * 8 < this.capacity) this.rebuild(this.capacity / 2);
    if (this.timer !== null) this.wheel.reschedule(this.timer, this.due[this.head & (this.capacity - 1)] - now);
  }

  // ---- entries ----------------------------------------------------------------------------

  private expireHead(): void {
    const mask = this.capacity - 1;
    const at = this.head & mask;
    if (this.routes[at] !== undefined) {
      this.unindex(this.hashes[at], at);
      this.routes[at] = undefined;
    }
    this.chunks[at] = undefined;
    this.head++;
    // a filled chunk whose last entry the head has passed holds nothing alive: reuse it
    while (this.filledLast.length > 0 && this.filledLast[0] < this.head) {
      const chunk = this.filled.shift() as Buffer;
      this.filledLast.shift();
      if (this.spare.length < MAX_SPARE) this.spare.push(chunk);
    }
  }

  /** Ends one entry early (a failed send): it leaves the index now and the ring in its turn. */
  private remove(key: string): void {
    const at = this.find(key);
    if (at < 0) return;
    this.unindex(this.hashes[at], at);
    this.routes[at] = undefined;
  }

  private find(key: string, hash = hashKey(key)): number {
    const mask = this.index.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const held = this.index[slot];
      if (held === 0) return -1;
      const at = held - 1;
      if (this.hashes[at] === hash && this.keyAt(at) === key) return at;
    }
  }

  private keyAt(at: number): string {
    const start = this.starts[at];
    return (this.chunks[at] as Buffer).toString('utf8', start, start + this.keyLengths[at]);
  }

  private insert(hash: number, at: number): void {
    const mask = this.index.length - 1;
    let slot = hash & mask;
    while (this.index[slot] !== 0) slot = (slot + 1) & mask;
    this.index[slot] = at + 1;
  }

  /** Linear-probing deletion by backward shift: later entries of the cluster move up, no tombstones. */
  private unindex(hash: number, at: number): void {
    const index = this.index;
    const mask = index.length - 1;
    let slot = hash & mask;
    while (index[slot] !== at + 1) slot = (slot + 1) & mask;
    let next = (slot + 1) & mask;
    while (index[next] !== 0) {
      const home = this.hashes[index[next] - 1] & mask;
      // the entry at `next` may fill the hole unless its home lies cyclically in (slot, next]
      if (slot <= next ? home <= slot || home > next : home <= slot && home > next) {
        index[slot] = index[next];
        slot = next;
      }
      next = (next + 1) & mask;
    }
    index[slot] = 0;
  }

  /**
   * New entry arrays of the given capacity (at least the number of entries), each entry at the same
   * ring counter as before: only the positions modulo the capacity change, and their bytes stay
   * where they are. `empty` drops them all.
   */
  private rebuild(capacity: number, empty = false): void {
    const old = { capacity: this.capacity, due: this.due, hashes: this.hashes, starts: this.starts, keyLengths: this.keyLengths, lengths: this.lengths, chunks: this.chunks, routes: this.routes };
    this.capacity = capacity;
    this.due = new Float64Array(capacity);
    this.hashes = new Int32Array(capacity);
    this.starts = new Int32Array(capacity);
    this.keyLengths = new Int32Array(capacity);
    this.lengths = new Int32Array(capacity);
    this.chunks = new Array<Buffer | undefined>(capacity).fill(undefined);
    this.routes = new Array<Flow | undefined>(capacity).fill(undefined);
    this.index = new Int32Array(capacity * 2);
    if (empty) this.head = this.tail;
    const oldMask = old.capacity - 1;
    const mask = capacity - 1;
    for (let n = this.head; n < this.tail; n++) {
      const from = n & oldMask;
      const at = n & mask;
      this.due[at] = old.due[from];
      this.hashes[at] = old.hashes[from];
      this.starts[at] = old.starts[from];
      this.keyLengths[at] = old.keyLengths[from];
      this.lengths[at] = old.lengths[from];
      this.chunks[at] = old.chunks[from];
      this.routes[at] = old.routes[from];
      // an entry ended early stays in the ring, out of the index
      if (old.routes[from] !== undefined) this.insert(old.hashes[from], at);
    }
    // the old pointer arrays are garbage now: emptied, they keep nothing alive if they were promoted
    old.chunks.fill(undefined);
    old.routes.fill(undefined);
  }
}

const MIN_ENTRIES = 1024;
const CHUNK_SIZE = 256 * 1024;
/** Free chunks kept for reuse: enough for a second of a busy registrar, 4 MB at most. */
const MAX_SPARE = 16;
