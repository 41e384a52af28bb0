/**
 * Keys bucketed by the second they expire in. Processing a second visits only what expires in it,
 * so purging expired bindings costs nothing per request and nothing per live binding.
 */
export class ExpiryQueue<K> {
  private readonly buckets = new Map<number, Set<K>>();
  private cursor: number;

  constructor(now: number) {
    this.cursor = Math.floor(now / 1000);
  }

  add(key: K, expiresAt: number): void {
    const second = Math.max(Math.floor(expiresAt / 1000), this.cursor);
    let bucket = this.buckets.get(second);
    if (bucket === undefined) this.buckets.set(second, (bucket = new Set()));
    bucket.add(key);
  }

  remove(key: K, expiresAt: number): void {
    const second = Math.max(Math.floor(expiresAt / 1000), this.cursor);
    this.buckets.get(second)?.delete(key);
  }

  /** Keys whose second has passed, up to `now`. */
  takeDue(now: number): K[] {
    const until = Math.floor(now / 1000);
    const due: K[] = [];
    // Walking seconds is bounded by the time since the last call (one step per second of uptime).
    for (; this.cursor < until; this.cursor++) {
      const bucket = this.buckets.get(this.cursor);
      if (bucket === undefined) continue;
      this.buckets.delete(this.cursor);
      for (const k of bucket) due.push(k);
    }
    return due;
  }
}
