/**
 * Keys bucketed by the second they expire in. Processing a second visits only what expires in it,
 * so purging expired bindings costs nothing per request and nothing per live binding.
 *
 * A refresh that pushes a key's expiry later (nearly every re-REGISTER) leaves the key in the
 * bucket it is in: when that second comes, the key is found not due and moves to the bucket of
 * its expiry then. Moving it at every refresh cost a delete from one set and an add to another,
 * and at thousands of refreshes a second the sets' tables, grown and shrunk over and over, were
 * most of what the registrar left for the old generation's collections.
 */
export class ExpiryQueue<K> {
  private readonly buckets = new Map<number, Set<K>>();
  /** The second each queued key's bucket is for. */
  private readonly queuedIn = new Map<K, number>();
  private cursor: number;

  /** `expiresOf`: a key's expiry now (clock ms), read when its bucket comes due. */
  constructor(
    now: number,
    private readonly expiresOf: (key: K) => number,
  ) {
    this.cursor = Math.floor(now / 1000);
  }

  get size(): number {
    return this.queuedIn.size;
  }

  /** Queues a key to expire at `expiresAt`, or notes that its expiry changed to that. */
  add(key: K, expiresAt: number): void {
    const second = this.secondOf(expiresAt);
    const queued = this.queuedIn.get(key);
    if (queued !== undefined) {
      // later: it stays where it is and moves when that second comes (takeDue)
      if (queued <= second) return;
      this.buckets.get(queued)?.delete(key);
    }
    this.put(key, second);
  }

  remove(key: K): void {
    const queued = this.queuedIn.get(key);
    if (queued === undefined) return;
    this.queuedIn.delete(key);
    this.buckets.get(queued)?.delete(key);
  }

  /** Keys whose expiry has passed, up to `now` (whole seconds); they leave the queue. */
  takeDue(now: number): K[] {
    const until = Math.floor(now / 1000);
    const due: K[] = [];
    // Walking seconds is bounded by the time since the last call (one step per second of uptime).
    for (; this.cursor < until; this.cursor++) {
      const bucket = this.buckets.get(this.cursor);
      if (bucket === undefined) continue;
      this.buckets.delete(this.cursor);
      for (const k of bucket) {
        const second = Math.floor(this.expiresOf(k) / 1000);
        if (second > this.cursor) {
          this.put(k, second); // refreshed since it was queued
          continue;
        }
        this.queuedIn.delete(k);
        due.push(k);
      }
    }
    return due;
  }

  private secondOf(expiresAt: number): number {
    return Math.max(Math.floor(expiresAt / 1000), this.cursor);
  }

  private put(key: K, second: number): void {
    let bucket = this.buckets.get(second);
    if (bucket === undefined) this.buckets.set(second, (bucket = new Set()));
    bucket.add(key);
    this.queuedIn.set(key, second);
  }
}
