/**
 * An ordered parameter list (`;name=value;flag`), as carried by URIs and by header values.
 * Names compare case-insensitively (RFC 3261 §7.3.1); values are kept as written. Lists are
 * short, so they live in one flat array [name, value, name, value, ...] that lookups scan:
 * one allocation per list, which matters since every parsed Via, URI and address has one.
 */
export class Parameters {
  /** Shared while empty (most URIs and many header values have no parameters); own once set. */
  private items: Array<string | null> = NO_ITEMS;

  get size(): number {
    return this.items.length >> 1;
  }

  /** The value, null for a parameter without a value, undefined when absent. */
  get(name: string): string | null | undefined {
    const i = this.indexOf(name);
    return i < 0 ? undefined : this.items[i + 1];
  }

  has(name: string): boolean {
    return this.indexOf(name) >= 0;
  }

  set(name: string, value: string | null = null): this {
    const i = this.indexOf(name);
    if (i >= 0) this.items[i + 1] = value;
    else if (this.items === NO_ITEMS) this.items = [name, value];
    else this.items.push(name, value);
    return this;
  }

  delete(name: string): boolean {
    const i = this.indexOf(name);
    if (i < 0) return false;
    this.items.splice(i, 2);
    return true;
  }

  *entries(): IterableIterator<[string, string | null]> {
    for (let i = 0; i < this.items.length; i += 2) yield [this.items[i] as string, this.items[i + 1]];
  }

  clone(): Parameters {
    const copy = new Parameters();
    if (this.items.length > 0) copy.items = this.items.slice();
    return copy;
  }

  toString(): string {
    let out = '';
    for (let i = 0; i < this.items.length; i += 2) {
      out += ';' + (this.items[i] as string);
      const v = this.items[i + 1];
      if (v !== null) out += '=' + v;
    }
    return out;
  }

  private indexOf(name: string): number {
    const items = this.items;
    for (let i = 0; i < items.length; i += 2) {
      const n = items[i] as string;
      // exact match first: names are nearly always written in their usual case
      if (n === name || (n.length === name.length && n.toLowerCase() === name.toLowerCase())) return i;
    }
    return -1;
  }
}

const NO_ITEMS: Array<string | null> = [];
