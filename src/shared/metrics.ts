/**
 * Counters for things an operator watches: parse failures, dropped datagrams, broken streams.
 * Named counters; the management layer exports them.
 */

/** One counter: a hot path holds its cell and adds to it without a lookup by name. */
export interface CounterCell {
  value: number;
}

export class Counters {
  private readonly cells = new Map<string, CounterCell>();

  increment(name: string, by = 1): void {
    // one lookup, not a get and a set: several counters move per datagram
    const cell = this.cells.get(name);
    if (cell !== undefined) cell.value += by;
    else this.cells.set(name, { value: by });
  }

  /** The counter's cell, created at zero: `cell.value++` is increment(name) without the lookup. */
  cell(name: string): CounterCell {
    let cell = this.cells.get(name);
    if (cell === undefined) this.cells.set(name, (cell = { value: 0 }));
    return cell;
  }

  get(name: string): number {
    return this.cells.get(name)?.value ?? 0;
  }

  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, cell] of this.cells) out[name] = cell.value;
    return out;
  }
}
