import { isWhitespace, TOKEN, trimLws } from './charset.ts';
import { Parameters } from './parameters.ts';
import { SipParseError } from './parse-error.ts';

/**
 * A cursor over one header value for the RFC 3261 §25.1 header grammars: tokens, quoted strings
 * and `;name=value` parameter lists with optional LWS around the separators (SEMI, EQUAL).
 * Linear in the input; no regular expressions.
 */
export class HeaderScanner {
  i: number;
  constructor(
    readonly s: string,
    readonly what: string,
    start = 0,
    readonly end = s.length,
  ) {
    this.i = start;
  }

  fail(why: string): never {
    throw new SipParseError('header-value', `${this.what}: ${why}`);
  }

  atEnd(): boolean {
    return this.i >= this.end;
  }

  peek(): number {
    return this.i < this.end ? this.s.charCodeAt(this.i) : -1;
  }

  skipWs(): void {
    while (this.i < this.end && isWhitespace(this.s.charCodeAt(this.i))) this.i++;
  }

  expect(code: number, label: string): void {
    if (this.peek() !== code) this.fail(`expected ${label}`);
    this.i++;
  }

  token(): string {
    const start = this.i;
    this.skipToken();
    return this.s.slice(start, this.i);
  }

  private skipToken(): void {
    const start = this.i;
    while (this.i < this.end) {
      const c = this.s.charCodeAt(this.i);
      if (c > 255 || TOKEN[c] === 0) break;
      this.i++;
    }
    if (this.i === start) this.fail('expected a token');
  }

  /**
   * A token, returned as one of `known` when it is written exactly like it: the common values of a
   * field (SIP, 2.0, UDP) then cost no new string per message.
   */
  knownToken(known: readonly string[]): string {
    const start = this.i;
    this.skipToken();
    const length = this.i - start;
    for (const k of known) {
      if (k.length === length && this.s.startsWith(k, start)) return k;
    }
    return this.s.slice(start, this.i);
  }

  /** quoted-string = DQUOTE *(qdtext / quoted-pair) DQUOTE; returns the content unescaped. */
  quoted(): string {
    this.expect(34, 'a quoted string');
    let out = '';
    let chunk = this.i;
    while (this.i < this.end) {
      const c = this.s.charCodeAt(this.i);
      if (c === 34) {
        out += this.s.slice(chunk, this.i);
        this.i++;
        return out;
      }
      if (c === 92 /* \ */) {
        if (this.i + 1 >= this.end) break;
        out += this.s.slice(chunk, this.i) + this.s[this.i + 1];
        this.i += 2;
        chunk = this.i;
        continue;
      }
      this.i++;
    }
    return this.fail('unterminated quoted string');
  }

  /** The raw text of a quoted string including its quotes (parameter values keep their quotes). */
  quotedRaw(): string {
    const start = this.i;
    this.quoted();
    return this.s.slice(start, this.i);
  }

  /**
   * *( SEMI generic-param ), generic-param = token [ EQUAL gen-value ],
   * gen-value = token / host / quoted-string. Stops before "," or the end.
   */
  params(target = new Parameters()): Parameters {
    for (;;) {
      this.skipWs();
      if (this.peek() !== 59 /* ; */) return target;
      this.i++;
      this.skipWs();
      const name = this.token();
      this.skipWs();
      let value: string | null = null;
      if (this.peek() === 61 /* = */) {
        this.i++;
        this.skipWs();
        value = this.peek() === 34 ? this.quotedRaw() : this.genValue();
      }
      target.set(name, value);
    }
  }

  /** token or host (IPv6 references included, RFC 5118 §4.5). */
  private genValue(): string {
    const start = this.i;
    while (this.i < this.end) {
      const c = this.s.charCodeAt(this.i);
      if ((c <= 255 && TOKEN[c] === 1) || c === 58 /* : */ || c === 91 /* [ */ || c === 93 /* ] */) this.i++;
      else break;
    }
    if (this.i === start) this.fail('empty parameter value');
    return this.s.slice(start, this.i);
  }
}

/**
 * Where the element of a comma-separated header value that starts at `from` ends: the index of
 * the next comma outside quoted strings and <...> (RFC 3261 §7.3.1), or -1 when it runs to the end.
 */
function elementEnd(value: string, from: number): number {
  let inQuotes = false;
  let inAngle = false;
  for (let i = from; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuotes) {
      if (c === 92) i++;
      else if (c === 34) inQuotes = false;
    } else if (c === 34) inQuotes = true;
    else if (c === 60) inAngle = true;
    else if (c === 62) inAngle = false;
    else if (c === 44 && !inAngle) return i;
  }
  return -1;
}

/** Where the first element ends (see elementEnd): edits of the top Via touch only that element. */
export function firstElementEnd(value: string): number {
  return value.indexOf(',') < 0 ? -1 : elementEnd(value, 0);
}

/**
 * Splits a comma-separated header value into its elements (RFC 3261 §7.3.1), leaving commas
 * inside quoted strings and <...> alone. Elements are trimmed; empty ones are kept so that
 * typed parsers can reject them.
 */
export function splitList(value: string): string[] {
  if (value.indexOf(',') < 0) return [value];
  const out: string[] = [];
  let start = 0;
  for (let end = elementEnd(value, 0); end >= 0; end = elementEnd(value, start)) {
    out.push(trimLws(value.slice(start, end)));
    start = end + 1;
  }
  out.push(trimLws(value.slice(start)));
  return out;
}

/** Quotes a display name or parameter value when it is not a plain token sequence. */
export function quoteIfNeeded(text: string): string {
  let plain = text.length > 0;
  for (let i = 0; i < text.length && plain; i++) {
    const c = text.charCodeAt(i);
    if (!(c === 32 || (c <= 255 && TOKEN[c] === 1))) plain = false;
  }
  if (plain && text.trim() === text) return text;
  return '"' + text.replace(/["\\]/g, (m) => '\\' + m) + '"';
}
