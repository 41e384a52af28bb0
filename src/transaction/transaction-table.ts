/**
 * Transactions by key (RFC 3261 §17.1.3, §17.2.3): an open-addressing hash table with linear
 * probing and backward-shift deletion, in place of a Map.
 *
 * Why not a Map: transactions are added and removed by the thousand per second while the table
 * stays small, and a Map under that churn keeps rehashing into new backing stores. V8 leaves each
 * replaced store holding its entries and a link to its successor; once one of them has been
 * promoted, it keeps the next store and every transaction in it (with its request) alive through
 * the scavenges, each generation in turn, until a full collection. Measured on the registrar path:
 * 75 bytes promoted per registration became 3,500. Here a removed entry's slot is cleared at once,
 * and the arrays are replaced only when the table doubles, the old ones emptied once drained.
 */
export class TransactionTable<T extends object> {
  private keys: (string | undefined)[] = [];
  private items: (T | undefined)[] = [];
  private hashes = new Int32Array(0);
  private mask = 0;
  private count = 0;
  /**
   * The arrays before the last doubling, while their entries move over a few per call (growing a
   * table of 64K entries in one go stalled the event loop 5-17 ms, long enough for a 256 KB socket
   * buffer to overflow at a few thousand calls per second). A moved or removed entry keeps its key
   * there with no item, so that probes for the others still pass its slot.
   */
  private oldKeys: (string | undefined)[] | undefined;
  private oldItems: (T | undefined)[] = [];
  private oldHashes = new Int32Array(0);
  private oldMask = 0;
  private oldCount = 0;
  private moved = 0;

  constructor(initialCapacity = 1024) {
    this.allocate(initialCapacity);
  }

  get size(): number {
    return this.count + this.oldCount;
  }

  get(key: string, hash = hashKey(key)): T | undefined {
    const slot = this.slotOf(key, hash);
    if (slot >= 0) return this.items[slot];
    if (this.oldKeys === undefined) return undefined;
    const old = this.oldSlotOf(key, hash);
    return old >= 0 ? this.oldItems[old] : undefined;
  }

  /** Adds or replaces the entry for `key`. */
  set(key: string, item: T, hash = hashKey(key)): void {
    if (this.oldKeys !== undefined) {
      this.moveSome();
      this.removeOld(key, hash, undefined);
    }
    const mask = this.mask;
    let slot = hash & mask;
    for (; ; slot = (slot + 1) & mask) {
      const held = this.keys[slot];
      if (held === undefined) break;
      if (this.hashes[slot] === hash && held === key) {
        this.items[slot] = item;
        return;
      }
    }
    this.keys[slot] = key;
    this.items[slot] = item;
    this.hashes[slot] = hash;
    // at most half full: probe sequences stay short
    if (++this.count * 2 > this.mask + 1) this.grow();
  }

  /** Removes the entry for `key` if it is `item` (a transaction ending must not remove a successor under its key). */
  deleteIf(key: string, item: T, hash = hashKey(key)): boolean {
    const slot = this.slotOf(key, hash);
    if (slot >= 0) {
      if (this.items[slot] !== item) return false;
      this.removeAt(slot);
      return true;
    }
    return this.removeOld(key, hash, item);
  }

  /** Where `key` is in the current arrays, or -1. */
  private slotOf(key: string, hash: number): number {
    const mask = this.mask;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const held = this.keys[slot];
      if (held === undefined) return -1;
      if (this.hashes[slot] === hash && held === key) return slot;
    }
  }

  /** Where `key` is in the arrays being emptied (with or without its item), or -1. */
  private oldSlotOf(key: string, hash: number): number {
    const keys = this.oldKeys!;
    const mask = this.oldMask;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const held = keys[slot];
      if (held === undefined) return -1;
      if (this.oldHashes[slot] === hash && held === key) return slot;
    }
  }

  *values(): IterableIterator<T> {
    const items = this.oldKeys === undefined ? this.items.slice() : [...this.items, ...this.oldItems];
    for (const item of items) if (item !== undefined) yield item;
  }

  clear(): void {
    this.keys.fill(undefined);
    this.items.fill(undefined);
    this.count = 0;
    this.dropOld();
  }

  /** Backward-shift deletion: later entries of the probe cluster move up into the hole, no tombstones. */
  private removeAt(slot: number): void {
    const mask = this.mask;
    let hole = slot;
    for (let next = (hole + 1) & mask; this.keys[next] !== undefined; next = (next + 1) & mask) {
      if (mayFillHole(hole, next, this.hashes[next] & mask)) {
        this.keys[hole] = this.keys[next];
        this.items[hole] = this.items[next];
        this.hashes[hole] = this.hashes[next];
        hole = next;
      }
    }
    this.keys[hole] = undefined;
    this.items[hole] = undefined;
    this.count--;
  }

  /** Doubles the table; the entries follow a few per set() (moveSome). */
  private grow(): void {
    if (this.oldKeys !== undefined) this.moveSome(this.oldMask + 1); // cannot happen at the rates below
    this.oldKeys = this.keys;
    this.oldItems = this.items;
    this.oldHashes = this.hashes;
    this.oldMask = this.mask;
    this.oldCount = this.count;
    this.moved = 0;
    this.count = 0;
    this.allocate((this.mask + 1) * 2);
  }

  /**
   * Moves the entries of the next `slots` old slots. The new table of 2N slots grows again at N
   * entries, that is after at least N/2 more set() calls; 8 slots per call empties the N old slots
   * after N/8.
   */
  private moveSome(slots = 8): void {
    const keys = this.oldKeys!;
    const items = this.oldItems;
    const end = Math.min(this.moved + slots, this.oldMask + 1);
    for (let i = this.moved; i < end; i++) {
      const item = items[i];
      if (item === undefined) continue;
      const hash = this.oldHashes[i];
      let slot = hash & this.mask;
      while (this.keys[slot] !== undefined) slot = (slot + 1) & this.mask;
      this.keys[slot] = keys[i];
      this.items[slot] = item;
      this.hashes[slot] = hash;
      this.count++;
      items[i] = undefined;
      this.oldCount--;
    }
    this.moved = end;
    if (end > this.oldMask || this.oldCount === 0) this.dropOld();
  }

  /** Removes `key` from the old arrays: if it is `item`, or whatever it holds when `item` is undefined. */
  private removeOld(key: string, hash: number, item: T | undefined): boolean {
    if (this.oldKeys === undefined) return false;
    const slot = this.oldSlotOf(key, hash);
    if (slot < 0) return false;
    const current = this.oldItems[slot];
    if (current === undefined || (item !== undefined && current !== item)) return false;
    this.oldItems[slot] = undefined; // the key stays: probes for later entries pass this slot
    if (--this.oldCount === 0) this.dropOld();
    return true;
  }

  private dropOld(): void {
    // emptied, the old arrays keep nothing alive if they were promoted
    this.oldKeys?.fill(undefined);
    this.oldItems.fill(undefined);
    this.oldKeys = undefined;
    this.oldItems = [];
    this.oldHashes = new Int32Array(0);
    this.oldCount = 0;
  }

  private allocate(capacity: number): void {
    this.keys = new Array<string | undefined>(capacity).fill(undefined);
    this.items = new Array<T | undefined>(capacity).fill(undefined);
    this.hashes = new Int32Array(capacity);
    this.mask = capacity - 1;
  }
}

/**
 * Backward-shift deletion in linear probing: whether the entry at `next`, whose probe sequence starts
 * at `home`, may move up into the hole at `hole` (it may unless `home` lies cyclically in (hole, next],
 * where a lookup would no longer pass the hole to reach it).
 */
export function mayFillHole(hole: number, next: number, home: number): boolean {
  return hole <= next ? home <= hole || home > next : home <= hole && home > next;
}

/**
 * FNV-1a over the key's UTF-16 code units (transaction keys are short, and this runs once per
 * message), then the MurmurHash3 finalizer: FNV's low bits depend only on the low bits of each
 * character, and the tables index by the low bits.
 */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
