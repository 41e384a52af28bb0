import { parseAuthHeader, type AuthHeader } from './auth-header.ts';
import { parseContacts, type ContactList } from './contact.ts';
import { firstElementEnd, splitList } from './header-scanner.ts';
import { trimLws } from './charset.ts';
import { headerKey, isListHeader } from './header-names.ts';
import { SipParseError } from './parse-error.ts';
import { parseNameAddress, type NameAddress } from './name-address.ts';
import {
  parseCallId,
  parseContentLength,
  parseCSeq,
  parseDeltaSeconds,
  parseMaxForwards,
  parseOptionTags,
  type CSeq,
} from './scalar-headers.ts';
import { parseUri, type Uri } from './uri.ts';
import { parseVia, Via } from './via.ts';

/**
 * One header line as it appeared (name as written, value unfolded), with the position of its raw
 * text in the original header section. A field that is edited or added has no raw position and
 * is written anew; untouched fields are copied from the original text. Fields are never mutated
 * in place, so a cloned message can share them.
 */
export class HeaderField {
  constructor(
    readonly name: string,
    readonly key: string,
    readonly value: string,
    readonly rawStart = -1,
    readonly rawEnd = -1,
  ) {}
}

/**
 * Parsed values, filled on first access and dropped when the header they come from is edited.
 * A class with every field present from the start: as an object literal filled in whatever order
 * the values were first read, the caches of different messages took different hidden classes, and
 * every accessor's load from them went megamorphic.
 */
class ParsedCache {
  topVia: Via | undefined = undefined;
  vias: Via[] | undefined = undefined;
  from: NameAddress | undefined = undefined;
  to: NameAddress | undefined = undefined;
  callId: string | undefined = undefined;
  cseq: CSeq | undefined = undefined;
  contacts: ContactList | undefined = undefined;
  routes: NameAddress[] | undefined = undefined;
  recordRoutes: NameAddress[] | undefined = undefined;
  /** The last authHeaders() result and the header it was for. */
  auth: { key: string; headers: AuthHeader[] } | undefined = undefined;
}

/**
 * A SIP message (RFC 3261 §7): start line, header fields and body. Lazy by design: parsing only
 * indexes header lines; typed values are parsed when first asked for. Edits on the forwarding path
 * touch single fields, and serialization copies every untouched run of lines from the original text.
 */
export abstract class SipMessage {
  abstract readonly isRequest: boolean;
  headers: HeaderField[];
  body: Buffer;
  /** Original header section (start line included) and the encoding it was decoded with. */
  protected raw: string;
  protected encoding: BufferEncoding;
  /** End of the raw start line (after its line break), or -1 once the start line was edited. */
  protected startLineEnd: number;
  private cache = new ParsedCache();

  /** The bytes of the last toBuffer(), until the next edit: a sent message is also kept for retransmission. */
  protected serialized: Buffer | null = null;
  /**
   * The bytes `raw` was decoded from, where raw[i] is byte rawBase + i (an ASCII or Latin-1 head):
   * serialization then copies untouched lines byte for byte instead of building a string. Null
   * when a character took several bytes.
   */
  private rawBytes: Buffer | null = null;
  private rawBase = 0;

  protected constructor(headers: HeaderField[], body: Buffer, raw: string, encoding: BufferEncoding, startLineEnd: number) {
    this.headers = headers;
    this.body = body;
    this.raw = raw;
    this.encoding = encoding;
    this.startLineEnd = startLineEnd;
  }

  abstract startLine(): string;
  abstract clone(): SipMessage;

  // ---- generic header access -------------------------------------------------------------

  /** The value of the first field with this name (any case, compact or long form). */
  get(name: string): string | undefined {
    const key = headerKey(name);
    for (const f of this.headers) if (f.key === key) return f.value;
    return undefined;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** All values of a header; list headers are split at commas into one entry per element. */
  getAll(name: string): string[] {
    const key = headerKey(name);
    const out: string[] = [];
    const list = isListHeader(key);
    for (const f of this.headers) {
      if (f.key !== key) continue;
      if (list) for (const v of splitList(f.value)) out.push(v);
      else out.push(f.value);
    }
    return out;
  }

  /** Number of fields (lines) with this name. */
  countFields(name: string): number {
    const key = headerKey(name);
    let n = 0;
    for (const f of this.headers) if (f.key === key) n++;
    return n;
  }

  /** Replaces every field of this name with one field holding `value`. */
  set(name: string, value: string): void {
    const key = headerKey(name);
    const i = this.headers.findIndex((f) => f.key === key);
    const field = new HeaderField(name, key, value);
    if (i < 0) this.headers.push(field);
    else {
      this.headers[i] = field;
      this.headers = this.headers.filter((f, j) => j <= i || f.key !== key);
    }
    this.invalidate(key);
  }

  /** Adds a field after the existing ones, or before them with `first`. */
  add(name: string, value: string, first = false): void {
    const key = headerKey(name);
    const field = new HeaderField(name, key, value);
    if (first) {
      const i = this.headers.findIndex((f) => f.key === key);
      this.headers.splice(i < 0 ? 0 : i, 0, field);
    } else {
      let last = -1;
      for (let i = 0; i < this.headers.length; i++) if (this.headers[i].key === key) last = i;
      this.headers.splice(last < 0 ? this.headers.length : last + 1, 0, field);
    }
    this.invalidate(key);
  }

  remove(name: string): void {
    const key = headerKey(name);
    this.headers = this.headers.filter((f) => f.key !== key);
    this.invalidate(key);
  }

  /** Removes the fields of this name whose value passes `test`. */
  removeWhere(name: string, test: (value: string) => boolean): void {
    const key = headerKey(name);
    const kept = this.headers.filter((f) => f.key !== key || !test(f.value));
    if (kept.length === this.headers.length) return;
    this.headers = kept;
    this.invalidate(key);
  }

  // ---- typed accessors (RFC 3261 §20) ----------------------------------------------------

  /** The topmost Via value; parses nothing below it. */
  get via(): Via {
    if (this.cache.topVia === undefined) {
      // every Via already parsed (a request after validation): the top one is the first of them
      if (this.cache.vias !== undefined && this.cache.vias.length > 0) return (this.cache.topVia = this.cache.vias[0]);
      const field = this.firstField('via');
      if (field === undefined) throw missing('Via');
      const end = firstElementEnd(field.value);
      const first = end < 0 ? field.value : trimLws(field.value.slice(0, end));
      this.cache.topVia = parseVia(first);
    }
    return this.cache.topVia;
  }

  get vias(): Via[] {
    if (this.cache.vias === undefined) {
      const vias: Via[] = [];
      for (const f of this.headers) {
        if (f.key !== 'via') continue;
        if (firstElementEnd(f.value) < 0) vias.push(vias.length === 0 && this.cache.topVia !== undefined ? this.cache.topVia : parseVia(f.value));
        else for (const v of splitList(f.value)) vias.push(parseVia(v));
      }
      this.cache.vias = vias;
    }
    return this.cache.vias;
  }

  get from(): NameAddress {
    // the URI of From and To is checked here and parsed only if read: most messages need only the tags
    return (this.cache.from ??= parseNameAddress(this.required('from', 'From'), 'From', true));
  }

  get to(): NameAddress {
    return (this.cache.to ??= parseNameAddress(this.required('to', 'To'), 'To', true));
  }

  get callId(): string {
    return (this.cache.callId ??= parseCallId(this.required('call-id', 'Call-ID')));
  }

  get cseq(): CSeq {
    return (this.cache.cseq ??= parseCSeq(this.required('cseq', 'CSeq')));
  }

  get maxForwards(): number | undefined {
    const v = this.firstField('max-forwards')?.value;
    return v === undefined ? undefined : parseMaxForwards(v);
  }

  get contentLength(): number | undefined {
    const v = this.firstField('content-length')?.value;
    return v === undefined ? undefined : parseContentLength(v);
  }

  get contentType(): string | undefined {
    return this.firstField('content-type')?.value;
  }

  get expires(): number | undefined {
    const v = this.firstField('expires')?.value;
    return v === undefined ? undefined : parseDeltaSeconds(v, 'Expires');
  }

  get contacts(): ContactList {
    return (this.cache.contacts ??= parseContacts(this.getAll('contact')));
  }

  get routes(): NameAddress[] {
    return (this.cache.routes ??= this.getAll('route').map((v) => parseNameAddress(v, 'Route')));
  }

  get recordRoutes(): NameAddress[] {
    return (this.cache.recordRoutes ??= this.getAll('record-route').map((v) => parseNameAddress(v, 'Record-Route')));
  }

  get require(): string[] {
    return parseOptionTags(this.getAll('require'), 'Require');
  }

  get proxyRequire(): string[] {
    return parseOptionTags(this.getAll('proxy-require'), 'Proxy-Require');
  }

  get supported(): string[] {
    return parseOptionTags(this.getAll('supported'), 'Supported');
  }

  get unsupported(): string[] {
    return parseOptionTags(this.getAll('unsupported'), 'Unsupported');
  }

  /**
   * Authorization / Proxy-Authorization / WWW-Authenticate / Proxy-Authenticate values, parsed
   * once (a digest check reads the credentials more than once); the result is shared: read only.
   */
  authHeaders(name: 'authorization' | 'proxy-authorization' | 'www-authenticate' | 'proxy-authenticate'): AuthHeader[] {
    const cached = this.cache.auth;
    if (cached !== undefined && cached.key === name) return cached.headers;
    const out: AuthHeader[] = [];
    for (const f of this.headers) if (f.key === name) out.push(parseAuthHeader(f.value, f.name));
    this.cache.auth = { key: name, headers: out };
    return out;
  }

  // ---- forwarding edits (RFC 3261 §16.6) -------------------------------------------------

  /** Adds a Via above all others. */
  pushVia(via: Via | string): void {
    const value = typeof via === 'string' ? via : via.toString();
    const i = this.headers.findIndex((f) => f.key === 'via');
    this.headers.splice(i < 0 ? 0 : i, 0, new HeaderField('Via', 'via', value));
    this.serialized = null;
    this.cache.vias = undefined;
    this.cache.topVia = typeof via === 'string' ? undefined : via;
  }

  /** Removes the topmost Via value (RFC 3261 §16.7 step 3) and returns it. */
  popVia(): Via | undefined {
    const i = this.headers.findIndex((f) => f.key === 'via');
    if (i < 0) return undefined;
    const top = this.via;
    this.removeFirstElement(i);
    this.cache.vias = undefined;
    this.cache.topVia = undefined;
    return top;
  }

  /** Replaces the topmost Via value, e.g. to add received/rport on receipt (RFC 3261 §18.2.1). */
  replaceTopVia(via: Via): void {
    const i = this.headers.findIndex((f) => f.key === 'via');
    if (i < 0) return this.pushVia(via);
    const field = this.headers[i];
    // only the first element changes: the rest of the field is kept as it is, not split and joined
    const end = firstElementEnd(field.value);
    const top = via.toString();
    this.headers[i] = new HeaderField(field.name, field.key, end < 0 ? top : top + ', ' + trimLws(field.value.slice(end + 1)));
    this.serialized = null;
    this.cache.vias = undefined;
    this.cache.topVia = via;
  }

  /** Adds a Record-Route value above the existing ones (RFC 3261 §16.6 step 4). */
  prependRecordRoute(value: NameAddress | string): void {
    const i = this.headers.findIndex((f) => f.key === 'record-route');
    let at = i;
    if (at < 0) {
      // no Record-Route yet: place it after the Vias, where readers expect it
      at = 0;
      for (let j = 0; j < this.headers.length; j++) if (this.headers[j].key === 'via') at = j + 1;
    }
    this.headers.splice(at, 0, new HeaderField('Record-Route', 'record-route', value.toString()));
    this.serialized = null;
    this.cache.recordRoutes = undefined;
  }

  /** Removes the topmost Route value (RFC 3261 §16.4, §16.12). */
  popRoute(): NameAddress | undefined {
    const i = this.headers.findIndex((f) => f.key === 'route');
    if (i < 0) return undefined;
    const top = this.routes[0];
    this.removeFirstElement(i);
    this.cache.routes = undefined;
    return top;
  }

  /** Every forwarded request passes here (§16.6 step 3): the field is replaced where it stands. */
  setMaxForwards(value: number): void {
    const headers = this.headers;
    for (let i = 0; i < headers.length; i++) {
      const f = headers[i];
      if (f.key !== 'max-forwards') continue;
      headers[i] = new HeaderField(f.name, f.key, String(value));
      // a second Max-Forwards (invalid anyway) must not survive with its old value
      for (let j = headers.length - 1; j > i; j--) if (headers[j].key === 'max-forwards') headers.splice(j, 1);
      this.invalidate('max-forwards');
      return;
    }
    this.set('Max-Forwards', String(value));
  }

  /** Replaces the body and keeps Content-Length (and, when given, Content-Type) in step. */
  setBody(body: Buffer | string, contentType?: string): void {
    this.body = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    this.serialized = null;
    this.set(this.firstField('content-length')?.name ?? 'Content-Length', String(this.body.length));
    if (contentType !== undefined) this.set('Content-Type', contentType);
  }

  // ---- serialization ---------------------------------------------------------------------

  /** The wire form: untouched runs of header lines are copied from the original message. */
  toBuffer(): Buffer {
    if (this.serialized !== null) return this.serialized;
    this.serialized = (this.rawBytes !== null ? this.serializeFromBytes(this.rawBytes) : null) ?? this.serializeFromText();
    return this.serialized;
  }

  /**
   * Writes the wire form into `out` from `at` on and returns where it ends, or -1 when it does not
   * fit there (or its head has multi-byte characters): for a message sent once and not kept, whose
   * bytes then go straight where they are sent from, without a Buffer of their own.
   */
  writeInto(out: Buffer, at: number): number {
    const done = this.serialized;
    if (done !== null) return at + done.length > out.length ? -1 : at + done.copy(out, at);
    return this.rawBytes === null ? -1 : this.serializeInto(this.rawBytes, out, at);
  }

  /**
   * @internal The parser's note that `raw` maps one to one onto these bytes from `base` on.
   */
  useRawBytes(bytes: Buffer | null, base: number): void {
    this.rawBytes = bytes;
    this.rawBase = base;
  }

  /**
   * @internal for answerWith and clone, whose fields are `from`'s own: they take its note of the
   * received bytes, and its parsed top Via while they carry the same Via field (Via values are
   * never changed in place: edits replace them), so routing a response (RFC 3261 §18.2.2) does not
   * parse it again.
   */
  shareSource(from: SipMessage): void {
    this.rawBytes = from.rawBytes;
    this.rawBase = from.rawBase;
    const top = from.cache.topVia;
    if (top !== undefined && this.firstField('via') === from.firstField('via')) this.cache.topVia = top;
  }

  /**
   * Lays the header section out as parts, in HEAD_PARTS: [rawStart, rawEnd] for a run of untouched
   * lines (adjacent ones joined) and [-1, i] for field i, written anew. Both serializers follow it.
   * Returns whether a Content-Length field is present.
   */
  private layOutHead(): boolean {
    const parts = HEAD_PARTS;
    parts.length = 0;
    let runStart = -1;
    let runEnd = -1;
    let hasLength = false;
    const headers = this.headers;
    for (let i = 0; i < headers.length; i++) {
      const f = headers[i];
      if (f.key === 'content-length') hasLength = true;
      if (f.rawStart >= 0 && f.rawStart === runEnd) {
        runEnd = f.rawEnd;
        continue;
      }
      if (runStart >= 0) parts.push(runStart, runEnd);
      if (f.rawStart >= 0) {
        runStart = f.rawStart;
        runEnd = f.rawEnd;
      } else {
        runStart = runEnd = -1;
        parts.push(-1, i);
      }
    }
    if (runStart >= 0) parts.push(runStart, runEnd);
    return hasLength;
  }

  /**
   * Serializes into the scratch buffer and cuts one buffer of the exact size from it. Null when the
   * message would not fit the scratch buffer (the text path handles it).
   */
  private serializeFromBytes(source: Buffer): Buffer | null {
    const end = this.serializeInto(source, SCRATCH, 0);
    if (end < 0) return null;
    const bytes = Buffer.allocUnsafe(end);
    SCRATCH.copy(bytes, 0, 0, end);
    return bytes;
  }

  /**
   * Serializes into `out` from `start` on: untouched runs of lines are copied from the received
   * bytes, new lines are encoded in place. No string is built for the head. Returns the end, or -1
   * when the message would not fit.
   */
  private serializeInto(source: Buffer, out: Buffer, start: number): number {
    const base = this.rawBase;
    const encoding = this.encoding;
    let pos: number;
    if (this.startLineEnd >= 0) {
      if (start + this.startLineEnd > out.length) return -1;
      pos = copyBytes(source, base, base + this.startLineEnd, out, start);
    } else {
      const line = this.startLine();
      if (start + line.length * 3 + 2 > out.length) return -1;
      pos = writeCrLf(out, writeText(out, start, line, encoding));
    }
    const hasLength = this.layOutHead();
    const parts = HEAD_PARTS;
    for (let k = 0; k < parts.length; k += 2) {
      const a = parts[k];
      const b = parts[k + 1];
      if (a >= 0) {
        if (pos + (b - a) > out.length) return -1;
        pos = copyBytes(source, base + a, base + b, out, pos);
        continue;
      }
      const f = this.headers[b];
      // a UTF-16 unit takes at most 3 bytes in UTF-8
      if (pos + (f.name.length + f.value.length) * 3 + 4 > out.length) return -1;
      pos = writeText(out, pos, f.name, encoding);
      out[pos++] = 58; // :
      out[pos++] = 32;
      pos = writeCrLf(out, writeText(out, pos, f.value, encoding));
    }
    const body = this.body;
    if (pos + 40 + body.length > out.length) return -1;
    // Streams need Content-Length (RFC 3261 §18.3); a datagram that arrived without one gets it here.
    if (!hasLength) pos = writeText(out, pos, 'Content-Length: ' + body.length + '\r\n', 'latin1');
    pos = writeCrLf(out, pos);
    return copyBytes(body, 0, body.length, out, pos);
  }

  /** The same layout joined as text and encoded: for heads with multi-byte characters. */
  private serializeFromText(): Buffer {
    let head = this.startLineEnd >= 0 ? this.raw.slice(0, this.startLineEnd) : this.startLine() + '\r\n';
    const hasLength = this.layOutHead();
    const parts = HEAD_PARTS;
    for (let k = 0; k < parts.length; k += 2) {
      const a = parts[k];
      const b = parts[k + 1];
      if (a >= 0) head += this.raw.slice(a, b);
      else head += this.headers[b].name + ': ' + this.headers[b].value + '\r\n';
    }
    // Streams need Content-Length (RFC 3261 §18.3); a datagram that arrived without one gets it here.
    if (!hasLength) head += 'Content-Length: ' + this.body.length + '\r\n';
    head += '\r\n';
    const headBytes = Buffer.from(head, this.encoding);
    return this.body.length === 0 ? headBytes : Buffer.concat([headBytes, this.body]);
  }

  toString(): string {
    return this.toBuffer().toString('utf8');
  }

  // ---- internals -------------------------------------------------------------------------

  protected firstField(key: string): HeaderField | undefined {
    for (const f of this.headers) if (f.key === key) return f;
    return undefined;
  }

  private required(key: string, label: string): string {
    const v = this.firstField(key)?.value;
    if (v === undefined) throw missing(label);
    return v;
  }

  /** Drops the first comma-separated element of field i (or the field, if it has one element). */
  private removeFirstElement(i: number): void {
    this.serialized = null;
    const field = this.headers[i];
    const end = firstElementEnd(field.value);
    if (end < 0) this.headers.splice(i, 1);
    else this.headers[i] = new HeaderField(field.name, field.key, trimLws(field.value.slice(end + 1)));
  }

  protected invalidate(key: string): void {
    this.serialized = null;
    switch (key) {
      case 'via':
        this.cache.vias = this.cache.topVia = undefined;
        break;
      case 'from':
        this.cache.from = undefined;
        break;
      case 'to':
        this.cache.to = undefined;
        break;
      case 'call-id':
        this.cache.callId = undefined;
        break;
      case 'cseq':
        this.cache.cseq = undefined;
        break;
      case 'contact':
        this.cache.contacts = undefined;
        break;
      case 'route':
        this.cache.routes = undefined;
        break;
      case 'record-route':
        this.cache.recordRoutes = undefined;
        break;
      case 'authorization':
      case 'proxy-authorization':
      case 'www-authenticate':
      case 'proxy-authenticate':
        this.cache.auth = undefined;
        break;
    }
  }
}

/**
 * Where toBuffer() assembles a message before cutting it to size: one per process, since
 * serialization is synchronous. Larger than the largest message the transports accept.
 */
const SCRATCH = Buffer.allocUnsafeSlow(131_072);
/** The layout of the head being serialized (see layOutHead), reused for the same reason. */
const HEAD_PARTS: number[] = [];

/**
 * Copies bytes into `out` (the scratch buffer, or a send area). Short runs (the usual header lines) go byte by byte:
 * Buffer.copy makes a typed-array view per call, which costs more than the copy itself.
 */
function copyBytes(source: Buffer, start: number, end: number, out: Buffer, pos: number): number {
  const n = end - start;
  if (n > 256) return pos + source.copy(out, pos, start, end);
  for (let i = 0; i < n; i++) out[pos + i] = source[start + i];
  return pos + n;
}

/** Encodes text into `out`: ASCII byte by byte, the rest (from the first other character) by Buffer.write. */
function writeText(out: Buffer, pos: number, text: string, encoding: BufferEncoding): number {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return pos + i + out.write(i === 0 ? text : text.slice(i), pos + i, encoding);
    out[pos + i] = c;
  }
  return pos + n;
}

function writeCrLf(out: Buffer, pos: number): number {
  out[pos] = 13;
  out[pos + 1] = 10;
  return pos + 2;
}

function missing(label: string): SipParseError {
  return new SipParseError('missing-header', `no ${label} header`);
}

export class SipRequest extends SipMessage {
  readonly isRequest = true as const;
  method: string;
  private uriText: string;
  private parsedUri: Uri | undefined;

  constructor(
    method: string,
    uri: Uri | string,
    headers: HeaderField[],
    body: Buffer = EMPTY,
    raw = '',
    encoding: BufferEncoding = 'utf8',
    startLineEnd = -1,
  ) {
    super(headers, body, raw, encoding, startLineEnd);
    this.method = method;
    if (typeof uri === 'string') this.uriText = uri;
    else {
      this.uriText = uri.toString();
      this.parsedUri = uri;
    }
  }

  /** The Request-URI, parsed on first access. */
  get uri(): Uri {
    return (this.parsedUri ??= parseUri(this.uriText));
  }

  /**
   * The Request-URI as the start line carries it: as written while the raw start line is kept
   * (parsing normalizes, e.g. lowercases the scheme, which RFC 4475 §3.3.2 shows must not change
   * the text a message reports), otherwise as it will be serialized.
   */
  get uriString(): string {
    return this.parsedUri === undefined || this.startLineEnd >= 0 ? this.uriText : this.parsedUri.toString();
  }

  setUri(uri: Uri): void {
    this.serialized = null;
    this.parsedUri = uri;
    this.uriText = uri.toString();
    this.startLineEnd = -1;
  }

  startLine(): string {
    return `${this.method} ${this.uriString} SIP/2.0`;
  }

  /**
   * A response whose fields may be this request's own (fields are never mutated, so they can be
   * shared): the response keeps this request's text, so copied fields are serialized as runs of
   * the original lines instead of being written anew. Only for UTF-8 text, since the response's
   * own fields (a reason phrase, a Warning) are encoded like that text.
   */
  answerWith(status: number, reason: string, headers: HeaderField[]): SipResponse {
    if (this.encoding !== 'utf8') return new SipResponse(status, reason, headers);
    const response = new SipResponse(status, reason, headers, EMPTY, this.raw, 'utf8');
    response.shareSource(this);
    return response;
  }

  /** Whether answerWith() keeps this request's fields as they are (see there). */
  get answersWithOwnFields(): boolean {
    return this.encoding === 'utf8';
  }

  clone(): SipRequest {
    const copy = new SipRequest(this.method, this.uriText, this.headers.slice(), this.body, this.raw, this.encoding, this.startLineEnd);
    copy.shareSource(this);
    if (this.parsedUri !== undefined && this.startLineEnd < 0) copy.setUri(this.parsedUri.clone());
    return copy;
  }
}

export class SipResponse extends SipMessage {
  readonly isRequest = false as const;
  status: number;
  reason: string;

  constructor(
    status: number,
    reason: string,
    headers: HeaderField[],
    body: Buffer = EMPTY,
    raw = '',
    encoding: BufferEncoding = 'utf8',
    startLineEnd = -1,
  ) {
    super(headers, body, raw, encoding, startLineEnd);
    this.status = status;
    this.reason = reason;
  }

  startLine(): string {
    return `SIP/2.0 ${this.status} ${this.reason}`;
  }

  clone(): SipResponse {
    const copy = new SipResponse(this.status, this.reason, this.headers.slice(), this.body, this.raw, this.encoding, this.startLineEnd);
    copy.shareSource(this);
    return copy;
  }
}

const EMPTY = Buffer.alloc(0);

export type AnyMessage = SipRequest | SipResponse;
