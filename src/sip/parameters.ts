/**
 * An ordered parameter list (`;name=value;flag`), as carried by URIs and by header values.
 * Names compare case-insensitively (RFC 3261 §7.3.1); values are kept as written. Lists are
 * short, so lookups scan an array instead of building a map per message.
 */
export class Parameters {
  private readonly names: string[] = [];
  private readonly keys: string[] = [];
  private readonly values: Array<string | null> = [];

  get size(): number {
    return this.names.length;
  }

  /** The value, null for a parameter without a value, undefined when absent. */
  get(name: string): string | null | undefined {
    const i = this.indexOf(name);
    return i < 0 ? undefined : this.values[i];
  }

  has(name: string): boolean {
    return this.indexOf(name) >= 0;
  }

  set(name: string, value: string | null = null): this {
    const i = this.indexOf(name);
    if (i >= 0) this.values[i] = value;
    else {
      this.names.push(name);
      this.keys.push(name.toLowerCase());
      this.values.push(value);
    }
    return this;
  }

  delete(name: string): boolean {
    const i = this.indexOf(name);
    if (i < 0) return false;
    this.names.splice(i, 1);
    this.keys.splice(i, 1);
    this.values.splice(i, 1);
    return true;
  }

  *entries(): IterableIterator<[string, string | null]> {
    for (let i = 0; i < this.names.length; i++) yield [this.names[i], this.values[i]];
  }

  clone(): Parameters {
    const copy = new Parameters();
    for (let i = 0; i < this.names.length; i++) copy.set(this.names[i], this.values[i]);
    return copy;
  }

  toString(): string {
    let out = '';
    for (let i = 0; i < this.names.length; i++) {
      out += ';' + this.names[i];
      const v = this.values[i];
      if (v !== null) out += '=' + v;
    }
    return out;
  }

  private indexOf(name: string): number {
    const key = name.toLowerCase();
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] === key) return i;
    return -1;
  }
}
