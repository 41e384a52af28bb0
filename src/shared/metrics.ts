/**
 * Counters for things an operator watches: parse failures, dropped datagrams, broken streams.
 * A plain map of named counters; the management layer exports them later.
 */
export class Counters {
  private readonly values = new Map<string, number>();

  increment(name: string, by = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + by);
  }

  get(name: string): number {
    return this.values.get(name) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.values);
  }
}
