import type { Timer, TimerTarget, TimerWheel } from '../shared/index.ts';
import type { Flow } from '../transport/index.ts';
import { hashKey, mayFillHole } from './transaction-table.ts';

/** The response of an entry that only absorbs what matches it (an INVITE in Accepted, a client transaction). */
export const NO_RESPONSE = Buffer.alloc(0);

/** What the table does with a retransmitted request: send its final response again. */
export type ResendFinal = (bytes: Buffer, route: Flow, onError: (err: Error) => void) => void;

/** Entries in blocks of this many: the ring grows and shrinks by whole blocks, never by copying. */
const BLOCK_BITS = 13;
const BLOCK = 1 << BLOCK_BITS;
/** The hash index holds entry numbers modulo this (live entries span far fewer). */
const NUMBERING = 2 ** 30;

/** The fields of BLOCK consecutive entries. */
class EntryBlock {
  readonly due = new Float64Array(BLOCK);
  readonly hashes = new Int32Array(BLOCK);
  readonly starts = new Int32Array(BLOCK);
  readonly keyLengths = new Int32Array(BLOCK);
  readonly lengths = new Int32Array(BLOCK);
  readonly chunks: (Buffer | undefined)[] = new Array<Buffer | undefined>(BLOCK).fill(undefined);
  /** Each entry's route; undefined once it has ended early (a failed resend). */
  readonly routes: (Flow | undefined)[] = new Array<Flow | undefined>(BLOCK).fill(undefined);
}

/**
 * Non-INVITE server transactions in the Completed state on an unreliable transport (RFC 3261
 * §17.2.2, Figure 8). For Timer J (64*T1, 32 s by default) such a transaction only answers
 * retransmissions of its request with its final response, so that is all kept of it here: its key,
 * the response's bytes and where they went, in typed arrays and byte chunks, not an object per
 * transaction. A registrar at a few thousand REGISTERs per second holds a hundred thousand of
 * them; as objects (the transaction, its key string, a map entry) each one was promoted and then
 * marked by every full collection, as entries here they cost the garbage collector nothing.
 * The same form serves the other transactions that only wait out a linger (TransactionLayer): an
 * INVITE server transaction in Accepted (RFC 6026 §7.1: its key alone, to absorb the INVITE's
 * retransmissions, kept with an empty response), and client transactions in Accepted or Completed
 * (their key and the route a further 2xx goes on, read with routeOf()), one table per linger time.
 *
 * Entries all linger the same time, so they end in the order they came: a FIFO of numbered
 * entries, expired from its head by one wheel timer, stored in blocks of 8,192 that are added at
 * the tail and dropped at the head (no copying as it grows: a copy of a few hundred thousand
 * entries stalled the event loop for tens of milliseconds, longer than the socket buffer lasts).
 * Their bytes (the key as UTF-8, then the response) are appended to 256 KB chunks in the same
 * order, so a chunk is free once the head has passed it; free chunks and blocks are reused. Lookup
 * is an open-addressing hash index of entry numbers (linear probing, deleted by backward shift),
 * grown fourfold when half full; a hit is confirmed by comparing the whole key.
 */
export class CompletedTransactionTable implements TimerTarget {
  // entries head..tail-1, by number; block i of `blocks` holds numbers from (firstBlock + i) * BLOCK
  private head = 0;
  private tail = 0;
  private readonly blocks: EntryBlock[] = [];
  private firstBlock = 0;
  private spareBlock: EntryBlock | null = null;
  // hash index: slot -> (entry number modulo NUMBERING) + 1, 0: empty
  private index = new Int32Array(MIN_INDEX);
  /** Entries in `index` and `oldIndex` together. */
  private indexed = 0;
  /**
   * The index before the last growth while its entries move over, MOVE_PER_ADD slots per add():
   * moving 128K entries at once stalled the loop ~40 ms. A moved or removed entry leaves MOVED in
   * its slot, so probes for the others still pass it.
   */
  private oldIndex: Int32Array | null = null;
  private moved = 0;
  // the chunk being filled, and free ones kept for reuse
  private chunk: Buffer = Buffer.allocUnsafeSlow(CHUNK_SIZE);
  private chunkUsed = 0;
  /** The last entry written into the current chunk. */
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
  ) {}

  get size(): number {
    return this.tail - this.head;
  }

  /** Keeps a completed transaction for `ms`: its key, its final response's bytes and their route. */
  add(key: string, response: Buffer, route: Flow, ms: number, hash = hashKey(key)): void {
    const keyLength = Buffer.byteLength(key, 'utf8');
    const need = keyLength + response.length;
    const n = this.tail;
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
      this.chunkLast = n;
    }
    chunk.write(key, start, keyLength, 'utf8');
    response.copy(chunk, start + keyLength);
    const at = n & (BLOCK - 1);
    if (at === 0 || this.blocks.length === 0) {
      if (this.blocks.length === 0) this.firstBlock = Math.floor(n / BLOCK);
      this.blocks.push(this.spareBlock ?? new EntryBlock());
      this.spareBlock = null;
    }
    const block = this.blocks[this.blocks.length - 1];
    block.due[at] = this.wheel.now() + ms;
    block.hashes[at] = hash;
    block.starts[at] = start;
    block.keyLengths[at] = keyLength;
    block.lengths[at] = response.length;
    block.chunks[at] = chunk;
    block.routes[at] = route;
    if (this.oldIndex !== null) this.moveSome(MOVE_PER_ADD);
    // grown before this entry counts as live, so that it goes to the new index only
    if ((this.indexed + 1) * 2 > this.index.length) this.grow(this.index.length * 4);
    this.tail++;
    this.indexed++;
    this.insert(hash, n);
    if (this.timer === null) this.timer = this.wheel.schedule(ms, this, 0);
    else if (!this.timer.active) this.wheel.reschedule(this.timer, ms);
  }

  /**
   * A request that matched no live transaction: if it is a retransmission of a completed one, sends
   * that transaction's final response again (§17.2.2) and returns true.
   */
  answer(key: string, hash = hashKey(key)): boolean {
    if (this.tail === this.head) return false;
    const n = this.find(key, hash);
    if (n < 0) return false;
    const block = this.blockOf(n);
    const at = n & (BLOCK - 1);
    // an entry kept without a response only absorbs what matches it (an INVITE in Accepted)
    if (block.lengths[at] === 0) return true;
    const start = block.starts[at] + block.keyLengths[at];
    // a copy: the chunk may be reused before an asynchronous send has read these bytes
    const response = Buffer.from((block.chunks[at] as Buffer).subarray(start, start + block.lengths[at]));
    const route = block.routes[at] as Flow;
    this.resend(response, route, () => {
      // §17.2.4: a transport failure ends the transaction
      this.remove(key);
      this.onSendError(route);
    });
    return true;
  }

  /** The route kept with a live entry of this key, without sending anything; undefined if there is none. */
  routeOf(key: string, hash = hashKey(key)): Flow | undefined {
    if (this.tail === this.head) return undefined;
    const n = this.find(key, hash);
    if (n < 0) return undefined;
    return this.blockOf(n).routes[n & (BLOCK - 1)];
  }

  /** Forgets every entry (shutdown). */
  clear(): void {
    this.wheel.cancel(this.timer);
    this.timer = null;
    this.head = this.tail;
    this.blocks.length = 0;
    this.index = new Int32Array(MIN_INDEX);
    this.oldIndex = null;
    this.indexed = 0;
    this.chunkUsed = 0;
    this.chunkLast = -1;
    this.filled.length = 0;
    this.filledLast.length = 0;
    this.spare.length = 0;
  }

  onTimer(): void {
    const now = this.wheel.now();
    while (this.head !== this.tail) {
      const n = this.head;
      const block = this.blockOf(n);
      if (block.due[n & (BLOCK - 1)] > now) break;
      this.expireHead(block);
    }
    if (this.head === this.tail) {
      // idle: give back what a peak made the index grow to
      if (this.index.length > MIN_INDEX) this.index = new Int32Array(MIN_INDEX);
      this.oldIndex = null;
      return;
    }
    if (this.timer !== null) this.wheel.reschedule(this.timer, this.blockOf(this.head).due[this.head & (BLOCK - 1)] - now);
  }

  // ---- entries ----------------------------------------------------------------------------

  private blockOf(n: number): EntryBlock {
    return this.blocks[Math.floor(n / BLOCK) - this.firstBlock];
  }

  private expireHead(block: EntryBlock): void {
    const n = this.head;
    const at = n & (BLOCK - 1);
    if (block.routes[at] !== undefined) {
      this.unindex(block.hashes[at], n);
      block.routes[at] = undefined;
    }
    block.chunks[at] = undefined;
    this.head++;
    if (at === BLOCK - 1 || this.head === this.tail) {
      // the head left its block (or nothing is left): the block is free
      if (at === BLOCK - 1 || this.blocks.length === 1) {
        const done = this.blocks.shift() as EntryBlock;
        this.firstBlock++;
        this.spareBlock ??= done;
      }
    }
    // a filled chunk whose last entry the head has passed holds nothing alive: reuse it
    while (this.filledLast.length > 0 && this.filledLast[0] < this.head) {
      const chunk = this.filled.shift() as Buffer;
      this.filledLast.shift();
      if (this.spare.length < MAX_SPARE) this.spare.push(chunk);
    }
  }

  /** Ends one entry early (a failed send): it leaves the index now and the FIFO in its turn. */
  private remove(key: string): void {
    const n = this.find(key);
    if (n < 0) return;
    const block = this.blockOf(n);
    this.unindex(block.hashes[n & (BLOCK - 1)], n);
    block.routes[n & (BLOCK - 1)] = undefined;
  }

  /** The live entry number an index value stands for. */
  private entryOf(held: number): number {
    return this.head + ((held - 1 - (this.head % NUMBERING) + NUMBERING) % NUMBERING);
  }

  private find(key: string, hash = hashKey(key)): number {
    const n = this.findIn(this.index, key, hash);
    return n >= 0 || this.oldIndex === null ? n : this.findIn(this.oldIndex, key, hash);
  }

  private findIn(index: Int32Array, key: string, hash: number): number {
    const mask = index.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const held = index[slot];
      if (held === 0) return -1;
      if (held === MOVED) continue;
      const n = this.entryOf(held);
      const block = this.blockOf(n);
      const at = n & (BLOCK - 1);
      if (block.hashes[at] === hash && this.keyAt(block, at) === key) return n;
    }
  }

  private keyAt(block: EntryBlock, at: number): string {
    const start = block.starts[at];
    return (block.chunks[at] as Buffer).toString('utf8', start, start + block.keyLengths[at]);
  }

  private insert(hash: number, n: number): void {
    const mask = this.index.length - 1;
    let slot = hash & mask;
    while (this.index[slot] !== 0) slot = (slot + 1) & mask;
    this.index[slot] = (n % NUMBERING) + 1;
  }

  private hashOfValue(held: number): number {
    const n = this.entryOf(held);
    return this.blockOf(n).hashes[n & (BLOCK - 1)];
  }

  /** Where entry `n` is in `index`, or -1. */
  private slotIn(index: Int32Array, hash: number, n: number): number {
    const mask = index.length - 1;
    const value = (n % NUMBERING) + 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const held = index[slot];
      if (held === value) return slot;
      if (held === 0) return -1;
    }
  }

  /** Linear-probing deletion by backward shift: later entries of the cluster move up, no tombstones. */
  private unindex(hash: number, n: number): void {
    const index = this.index;
    const mask = index.length - 1;
    let slot = this.slotIn(index, hash, n);
    if (slot < 0) {
      // still in the index being emptied: marked, not shifted (the move goes by slot order)
      const old = this.oldIndex;
      const at = old === null ? -1 : this.slotIn(old, hash, n);
      if (old !== null && at >= 0) {
        old[at] = MOVED;
        this.indexed--;
      }
      return;
    }
    let next = (slot + 1) & mask;
    while (index[next] !== 0) {
      if (mayFillHole(slot, next, this.hashOfValue(index[next]) & mask)) {
        index[slot] = index[next];
        slot = next;
      }
      next = (next + 1) & mask;
    }
    index[slot] = 0;
    this.indexed--;
  }

  /** A fourfold index; the entries follow MOVE_PER_ADD slots per add() (moveSome). */
  private grow(slots: number): void {
    if (this.oldIndex !== null) this.moveSome(this.oldIndex.length); // not at the rates above
    this.oldIndex = this.index;
    this.moved = 0;
    this.index = new Int32Array(slots);
  }

  /**
   * Moves the entries of the next `slots` slots of the old index. An index of 4S slots grows again
   * at 2S entries, 1.5S adds after the growth that made it; the S old slots are empty after S/8.
   */
  private moveSome(slots: number): void {
    const old = this.oldIndex as Int32Array;
    const end = Math.min(this.moved + slots, old.length);
    for (let i = this.moved; i < end; i++) {
      const held = old[i];
      if (held > 0) {
        this.insert(this.hashOfValue(held), this.entryOf(held));
        old[i] = MOVED;
      }
    }
    this.moved = end;
    if (end === old.length) this.oldIndex = null;
  }
}

/** The index's size when empty: 256 KB. */
const MIN_INDEX = 1 << 16;
/** Old index slots moved per add() while the index grows. */
const MOVE_PER_ADD = 8;
/** An old index slot whose entry moved or ended: probes pass it. */
const MOVED = -1;
const CHUNK_SIZE = 256 * 1024;
/** Free chunks kept for reuse: enough for a second of a busy registrar, 4 MB at most. */
const MAX_SPARE = 16;
