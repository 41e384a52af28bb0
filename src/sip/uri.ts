import { allIn, DIGIT, HEADER_CHAR, HEX, HOSTNAME, PARAM, PASSWORD, USER } from './charset.ts';
import { unescape } from './escaping.ts';
import { Parameters } from './parameters.ts';
import { SipParseError } from './parse-error.ts';

export type HostType = 'name' | 'ipv4' | 'ipv6';

/** sip: and sips: URIs (RFC 3261 §19.1). Components are kept as written (escaped). */
export class SipUri {
  readonly kind = 'sip' as const;
  constructor(
    public scheme: 'sip' | 'sips',
    public user: string | null,
    public password: string | null,
    /** Host without IPv6 brackets. */
    public host: string,
    public port: number | null,
    public params: Parameters = new Parameters(),
    public headers: Array<[string, string]> = [],
  ) {}

  get hostType(): HostType {
    return classifyHost(this.host);
  }

  /** host[:port], with IPv6 references bracketed (RFC 3261 §25.1 hostport). */
  get hostport(): string {
    const h = this.hostType === 'ipv6' ? `[${this.host}]` : this.host;
    return this.port === null ? h : `${h}:${this.port}`;
  }

  get userDecoded(): string | null {
    return this.user === null ? null : unescape(this.user);
  }

  get transport(): string | undefined {
    const t = this.params.get('transport');
    return t ? t.toLowerCase() : undefined;
  }

  get looseRouting(): boolean {
    return this.params.has('lr');
  }

  clone(): SipUri {
    return new SipUri(
      this.scheme,
      this.user,
      this.password,
      this.host,
      this.port,
      this.params.clone(),
      this.headers.map(([n, v]) => [n, v]),
    );
  }

  toString(): string {
    let out = this.scheme + ':';
    if (this.user !== null) {
      out += this.user;
      if (this.password !== null) out += ':' + this.password;
      out += '@';
    }
    out += this.hostport + this.params.toString();
    if (this.headers.length > 0) out += '?' + this.headers.map(([n, v]) => `${n}=${v}`).join('&');
    return out;
  }
}

/** tel: URIs (RFC 3966): a global (+digits) or local number with parameters. */
export class TelUri {
  readonly kind = 'tel' as const;
  readonly scheme = 'tel' as const;
  constructor(
    public number: string,
    public params: Parameters = new Parameters(),
  ) {}

  get isGlobal(): boolean {
    return this.number.startsWith('+');
  }

  /** The number without visual separators (RFC 3966 §5.1.1), for comparison and routing. */
  get digits(): string {
    let out = '';
    for (const ch of this.number) if (ch !== '-' && ch !== '.' && ch !== '(' && ch !== ')') out += ch;
    return out;
  }

  clone(): TelUri {
    return new TelUri(this.number, this.params.clone());
  }

  toString(): string {
    return 'tel:' + this.number + this.params.toString();
  }
}

/** Any other absolute URI (RFC 3261 §25.1 absoluteURI): kept opaque. */
export class AbsoluteUri {
  readonly kind = 'absolute' as const;
  constructor(
    public scheme: string,
    public rest: string,
  ) {}

  clone(): AbsoluteUri {
    return new AbsoluteUri(this.scheme, this.rest);
  }

  toString(): string {
    return this.scheme + ':' + this.rest;
  }
}

export type Uri = SipUri | TelUri | AbsoluteUri;

function fail(text: string, why: string): never {
  throw new SipParseError('uri', `${why} in ${JSON.stringify(text.length > 120 ? text.slice(0, 120) + '…' : text)}`);
}

export function classifyHost(host: string): HostType {
  if (host.indexOf(':') >= 0) return 'ipv6';
  let dots = 0;
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c === 46) dots++;
    else if (!DIGIT[c]) return 'name';
  }
  return dots === 3 ? 'ipv4' : 'name';
}

/** Parses a URI; throws SipParseError('uri') on anything the grammar does not allow. */
export function parseUri(text: string): Uri {
  const colon = text.indexOf(':');
  if (colon <= 0) fail(text, 'no scheme');
  // the usual lower-case scheme costs no new string
  if (colon === 3 && text.startsWith('sip')) return parseSipUri(text, 'sip', 4, true);
  const scheme = text.slice(0, colon).toLowerCase();
  if (scheme === 'sip' || scheme === 'sips') return parseSipUri(text, scheme, colon + 1, true);
  if (scheme === 'tel') return parseTelUri(text, colon + 1);
  return parseAbsoluteUri(text, scheme, colon + 1);
}

/**
 * Throws what parseUri would throw, and otherwise builds nothing for a SIP URI: for the From and
 * To of every message, whose URIs are checked on arrival but seldom read.
 */
export function checkUri(text: string): void {
  if (text.length > 4 && text.startsWith('sip:')) parseSipUri(text, 'sip', 4, false);
  else parseUri(text);
}

function parseSipUri(text: string, scheme: 'sip' | 'sips', start: number, build: true): SipUri;
function parseSipUri(text: string, scheme: 'sip' | 'sips', start: number, build: false): null;
function parseSipUri(text: string, scheme: 'sip' | 'sips', start: number, build: boolean): SipUri | null {
  const end = text.length;
  let i = start;
  let user: string | null = null;
  let password: string | null = null;
  // The first "@" ends the userinfo: "@" may not appear unescaped in params or headers.
  const at = text.indexOf('@', start);
  if (at >= 0) {
    const pw = text.indexOf(':', start);
    const userEnd = pw >= 0 && pw < at ? pw : at;
    if (userEnd === start || !allIn(text, USER, start, userEnd)) fail(text, 'bad user part');
    if (build) user = text.slice(start, userEnd);
    if (userEnd < at) {
      if (!allIn(text, PASSWORD, userEnd + 1, at)) fail(text, 'bad password');
      if (build) password = text.slice(userEnd + 1, at);
    }
    i = at + 1;
  }
  let hostStart: number;
  let hostEnd: number;
  if (text.charCodeAt(i) === 91 /* [ */) {
    const close = text.indexOf(']', i);
    if (close < 0) fail(text, 'unterminated IPv6 reference');
    hostStart = i + 1;
    hostEnd = close;
    if (!isIpv6Text(text, hostStart, hostEnd)) fail(text, 'bad IPv6 reference');
    i = close + 1;
  } else {
    hostStart = i;
    while (i < end && HOSTNAME[text.charCodeAt(i)] === 1) i++;
    hostEnd = i;
    if (hostEnd === hostStart) fail(text, 'missing host');
  }
  let port: number | null = null;
  if (text.charCodeAt(i) === 58 /* : */) {
    const portStart = ++i;
    let value = 0;
    while (i < end && DIGIT[text.charCodeAt(i)] === 1) value = value * 10 + text.charCodeAt(i++) - 48;
    if (i === portStart || i - portStart > 5) fail(text, 'bad port');
    if (value > 65535) fail(text, 'port out of range');
    port = value;
  }
  const params = build ? new Parameters() : null;
  while (text.charCodeAt(i) === 59 /* ; */) {
    const nameStart = ++i;
    while (i < end && text.charCodeAt(i) !== 61 && text.charCodeAt(i) !== 59 && text.charCodeAt(i) !== 63) i++;
    const nameEnd = i;
    if (nameEnd === nameStart || !allIn(text, PARAM, nameStart, nameEnd)) fail(text, 'bad URI parameter');
    let valueStart = -1;
    if (text.charCodeAt(i) === 61 /* = */) {
      valueStart = ++i;
      while (i < end && text.charCodeAt(i) !== 59 && text.charCodeAt(i) !== 63) i++;
      if (!allIn(text, PARAM, valueStart, i)) fail(text, 'bad URI parameter value');
    }
    params?.set(text.slice(nameStart, nameEnd), valueStart < 0 ? null : text.slice(valueStart, i));
  }
  const headers: Array<[string, string]> = [];
  if (text.charCodeAt(i) === 63 /* ? */) {
    i++;
    for (const pair of text.slice(i).split('&')) {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      const value = eq < 0 ? '' : pair.slice(eq + 1);
      if (name.length === 0 || !allIn(name, HEADER_CHAR) || !allIn(value, HEADER_CHAR)) fail(text, 'bad URI header');
      headers.push([name, value]);
    }
    i = end;
  }
  if (i !== end) fail(text, `unexpected character ${JSON.stringify(text[i])}`);
  return params === null ? null : new SipUri(scheme, user, password, text.slice(hostStart, hostEnd), port, params, headers);
}

/** IPv6reference content: hex digits, ":" and "." (an embedded IPv4 part). Lenient about the
 * number of colons, as RFC 5118 §4.10 asks elements to tolerate "2001:db8:::192.0.2.1". */
function isIpv6Text(s: string, start: number, end: number): boolean {
  if (end - start < 2) return false;
  const colon = s.indexOf(':', start);
  if (colon < 0 || colon >= end) return false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (!HEX[c] && c !== 58 && c !== 46) return false;
  }
  return true;
}

function parseTelUri(text: string, start: number): TelUri {
  const semi = text.indexOf(';', start);
  const number = text.slice(start, semi < 0 ? text.length : semi);
  const body = number.startsWith('+') ? number.slice(1) : number;
  if (body.length === 0) fail(text, 'empty telephone number');
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    // global digits, local hex digits, "*", "#" and visual separators (RFC 3966 §3)
    if (!HEX[c] && c !== 42 && c !== 35 && c !== 45 && c !== 46 && c !== 40 && c !== 41) fail(text, 'bad telephone number');
  }
  const params = new Parameters();
  if (semi >= 0) {
    for (const part of text.slice(semi + 1).split(';')) {
      const eq = part.indexOf('=');
      const name = eq < 0 ? part : part.slice(0, eq);
      const value = eq < 0 ? null : part.slice(eq + 1);
      if (name.length === 0 || !allIn(name, PARAM) || (value !== null && !allIn(value, PARAM))) fail(text, 'bad tel parameter');
      params.set(name, value);
    }
  }
  return new TelUri(number, params);
}

function parseAbsoluteUri(text: string, scheme: string, start: number): AbsoluteUri {
  for (let i = 0; i < scheme.length; i++) {
    const c = scheme.charCodeAt(i);
    const ok = (c >= 97 && c <= 122) || (i > 0 && ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46));
    if (!ok) fail(text, 'bad scheme');
  }
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 32 || c >= 127 || c === 60 || c === 62 || c === 34) fail(text, 'bad character');
  }
  if (start >= text.length) fail(text, 'empty URI');
  return new AbsoluteUri(scheme, text.slice(start));
}
