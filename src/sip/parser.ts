import { isUtf8 } from 'node:buffer';
import { DIGIT, isToken, isWhitespace, trimLws } from './charset.ts';
import { commonNameAt, headerKey } from './header-names.ts';
import { HeaderField, SipRequest, SipResponse, type AnyMessage } from './message.ts';
import { SipParseError, type ParseFailure } from './parse-error.ts';
import { parseContentLength } from './scalar-headers.ts';

export interface ParseOptions {
  /**
   * Datagram semantics (RFC 3261 §18.3): without Content-Length the body is the rest of the
   * datagram, and octets beyond Content-Length are discarded. Streams pass exactly one framed
   * message (see StreamFramer). Default true.
   */
  datagram?: boolean;
  /** Most header lines accepted (continuation lines included). Default 256. */
  maxHeaders?: number;
}

/**
 * A parse failure that happened after the header lines were indexed: the partial message is kept
 * so that an element can still answer a request with 400/505 (RFC 3261 §8.2, §16.3).
 */
export class SipMessageError extends SipParseError {
  constructor(
    reason: ParseFailure,
    detail: string,
    readonly partial: AnyMessage,
    statusCode = 400,
  ) {
    super(reason, detail, statusCode);
    this.name = 'SipMessageError';
  }
}

const DEFAULT_MAX_HEADERS = 256;
/** The body of the many messages that have none, shared rather than a new empty view each time. */
const EMPTY_BODY = Buffer.alloc(0);

/** Offset just past the empty line that ends the header section, and where that empty line starts. */
interface HeadBounds {
  headEnd: number;
  bodyStart: number;
}

/** Finds the empty line (CRLF or bare LF) that ends the header section, or -1 values if none. */
function findHeadBounds(buf: Buffer, start: number): HeadBounds {
  let pos = start;
  while (pos < buf.length) {
    const nl = buf.indexOf(10, pos);
    if (nl < 0) break;
    const next = nl + 1;
    if (next < buf.length && buf[next] === 10) return { headEnd: next, bodyStart: next + 1 };
    if (next + 1 < buf.length && buf[next] === 13 && buf[next + 1] === 10) return { headEnd: next, bodyStart: next + 2 };
    pos = next;
  }
  return { headEnd: -1, bodyStart: -1 };
}

/**
 * Parses one SIP message (RFC 3261 §7) from bytes. Header lines are indexed; values are not
 * parsed here (the typed accessors do that on demand), except what framing and the start line
 * need. Throws SipParseError, and nothing else, on bad input; linear in the input size.
 */
export function parseMessage(buf: Buffer, options: ParseOptions = {}): AnyMessage {
  const datagram = options.datagram ?? true;
  const maxHeaders = options.maxHeaders ?? DEFAULT_MAX_HEADERS;
  // RFC 3261 §7.5: CRLFs before the start line are ignored.
  let start = 0;
  while (start < buf.length && (buf[start] === 13 || buf[start] === 10)) start++;
  if (start >= buf.length) throw new SipParseError('empty', 'no message');

  let { headEnd, bodyStart } = findHeadBounds(buf, start);
  if (headEnd < 0) {
    if (!datagram) throw new SipParseError('header-line', 'header section not terminated');
    // A datagram whose header section runs to its end: everything is header, no body.
    headEnd = bodyStart = buf.length;
  }
  const headBytes = buf.subarray(start, headEnd);
  const encoding: BufferEncoding = isUtf8(headBytes) ? 'utf8' : 'latin1';
  const head = headBytes.toString(encoding);

  const firstNl = head.indexOf('\n');
  const startLineEnd = firstNl < 0 ? head.length : firstNl + 1;
  let bareLf = firstNl >= 0 && (firstNl === 0 || head.charCodeAt(firstNl - 1) !== 13);
  const startLine = head.slice(0, firstNl < 0 ? head.length : firstNl - (bareLf ? 0 : 1));

  const headers: HeaderField[] = [];
  let pos = startLineEnd;
  let name = '';
  let key = '';
  let value = '';
  let fieldStart = -1;
  let fieldEnd = -1;
  // (no closure for the flush below: variables a closure captures live in a heap context, and
  // every write to them in this loop would cost a store there)
  while (pos < head.length) {
    let nl = head.indexOf('\n', pos);
    if (nl < 0) nl = head.length;
    let lineEnd = nl;
    if (lineEnd > pos && head.charCodeAt(lineEnd - 1) === 13) lineEnd--;
    else if (nl < head.length) bareLf = true;
    const next = nl + 1;
    const first = head.charCodeAt(pos);
    if (isWhitespace(first)) {
      // header folding (RFC 3261 §7.3.1): a continuation line joins the previous value
      if (fieldStart < 0) throw new SipParseError('header-line', 'continuation line before any header');
      const more = trimLws(head.slice(pos, lineEnd));
      if (more.length > 0) value = value.length > 0 ? value + ' ' + more : more;
      fieldEnd = Math.min(next, head.length);
    } else {
      if (fieldStart >= 0) headers.push(new HeaderField(name, key, value, fieldStart, fieldEnd));
      if (headers.length >= maxHeaders) throw new SipParseError('too-many-headers', `more than ${maxHeaders} header lines`);
      const colon = head.indexOf(':', pos);
      if (colon < 0 || colon > lineEnd) throw new SipParseError('header-line', `no ":" in header line ${headers.length + 1}`);
      let nameEnd = colon;
      while (nameEnd > pos && isWhitespace(head.charCodeAt(nameEnd - 1))) nameEnd--;
      const common = commonNameAt(head, pos, nameEnd);
      if (common !== undefined) {
        name = common[0];
        key = common[1];
      } else {
        name = head.slice(pos, nameEnd);
        if (!isToken(name)) throw new SipParseError('header-name', `bad header name ${JSON.stringify(name.slice(0, 40))}`);
        key = headerKey(name);
      }
      // the value without its surrounding LWS, sliced once
      let valueStart = colon + 1;
      let valueEnd = lineEnd;
      while (valueStart < valueEnd && isWhitespace(head.charCodeAt(valueStart))) valueStart++;
      while (valueEnd > valueStart && isWhitespace(head.charCodeAt(valueEnd - 1))) valueEnd--;
      value = head.slice(valueStart, valueEnd);
      fieldStart = pos;
      fieldEnd = Math.min(next, head.length);
    }
    pos = next;
  }
  if (fieldStart >= 0) headers.push(new HeaderField(name, key, value, fieldStart, fieldEnd));

  // A datagram whose last header line has no line break at all cannot have that line copied
  // as is: the copy would run into the next line (or the empty line) when the message is sent on.
  if (head.length > 0 && head.charCodeAt(head.length - 1) !== 10) bareLf = true;
  if (bareLf) {
    // Lines ended by a bare LF are rewritten with CRLF when the message is sent on.
    for (let i = 0; i < headers.length; i++) headers[i] = new HeaderField(headers[i].name, headers[i].key, headers[i].value);
  }
  const rawStartLineEnd = bareLf ? -1 : startLineEnd;

  // Body and framing (RFC 3261 §18.3, §20.14).
  let body: Buffer;
  let lengthError: string | undefined;
  let declared: number | undefined;
  for (const f of headers) {
    if (f.key !== 'content-length') continue;
    let n: number;
    try {
      n = parseContentLength(f.value);
    } catch {
      lengthError = `bad Content-Length ${JSON.stringify(f.value.slice(0, 40))}`;
      break;
    }
    if (declared !== undefined && declared !== n) {
      lengthError = 'conflicting Content-Length headers';
      break;
    }
    declared = n;
  }
  let truncated = false;
  if (declared !== undefined && lengthError === undefined) {
    if (bodyStart + declared > buf.length) {
      truncated = true;
      body = buf.subarray(bodyStart);
    } else body = declared === 0 ? EMPTY_BODY : buf.subarray(bodyStart, bodyStart + declared);
  } else body = datagram && bodyStart < buf.length ? buf.subarray(bodyStart) : EMPTY_BODY;

  const built = buildFromStartLine(startLine, headers, body, head, encoding, rawStartLineEnd);
  if (built instanceof SipParseError) throw built;
  const { message, unsupportedVersion } = built;
  // one character per byte (ASCII, or Latin-1 text): lines can be copied from the bytes as they are
  if (head.length === headEnd - start) message.useRawBytes(buf, start);
  if (lengthError !== undefined) throw new SipMessageError('content-length', lengthError, message);
  if (truncated) throw new SipMessageError('truncated-body', `Content-Length ${declared} exceeds the ${buf.length - bodyStart} octets received`, message);
  if (message.isRequest) {
    try {
      void message.uri;
    } catch (err) {
      throw new SipMessageError('request-uri', (err as Error).message, message);
    }
  }
  if (unsupportedVersion !== undefined) {
    // RFC 3261 §8.2.2 / §21.5.6: a request of another SIP version gets 505; a response is dropped
    throw new SipMessageError('version', `unsupported SIP version ${JSON.stringify(unsupportedVersion)}`, message, 505);
  }
  return message;
}

/** SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT (case-insensitive); returns null if malformed. */
function checkVersion(text: string, from = 0, to = text.length): 'ok' | 'other' | null {
  if (to - from < 7 || !startsWithSipSlash(text, from)) return null;
  const dot = text.indexOf('.', from + 4);
  if (dot < from + 5 || dot >= to - 1) return null;
  for (let i = from + 4; i < to; i++) if (i !== dot && DIGIT[text.charCodeAt(i)] !== 1) return null;
  return to - from === 7 && text.startsWith('2.0', from + 4) ? 'ok' : 'other';
}

/** "SIP/" in any case, read in place (no slice per message). */
function startsWithSipSlash(text: string, at: number): boolean {
  return (text.charCodeAt(at) | 0x20) === 115 && (text.charCodeAt(at + 1) | 0x20) === 105 && (text.charCodeAt(at + 2) | 0x20) === 112 && text.charCodeAt(at + 3) === 47;
}

function buildFromStartLine(
  line: string,
  headers: HeaderField[],
  body: Buffer,
  head: string,
  encoding: BufferEncoding,
  startLineEnd: number,
): { message: AnyMessage; unsupportedVersion?: string } | SipParseError {
  if (line.length >= 4 && startsWithSipSlash(line, 0)) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2)
    const sp = line.indexOf(' ');
    if (sp < 0) return new SipParseError('start-line', 'status line without status code');
    const version = checkVersion(line, 0, sp);
    if (version === null) return new SipParseError('start-line', 'malformed SIP version');
    const code = line.slice(sp + 1, sp + 4);
    if (code.length !== 3 || !DIGIT[code.charCodeAt(0)] || !DIGIT[code.charCodeAt(1)] || !DIGIT[code.charCodeAt(2)]) {
      return new SipParseError('status-code', 'status code is not three digits');
    }
    if (line.length > sp + 4 && line.charCodeAt(sp + 4) !== 32) return new SipParseError('status-code', 'status code is not three digits');
    const status = Number(code);
    if (status < 100 || status > 699) return new SipParseError('status-code', `status code ${status} out of range`);
    const reason = line.length > sp + 5 ? line.slice(sp + 5) : '';
    const message = new SipResponse(status, reason, headers, body, head, encoding, startLineEnd);
    return version === 'other' ? { message, unsupportedVersion: line.slice(0, sp) } : { message };
  }
  // Request-Line = Method SP Request-URI SP SIP-Version (RFC 3261 §7.1): single spaces only.
  const sp1 = line.indexOf(' ');
  const sp2 = line.lastIndexOf(' ');
  if (sp1 <= 0 || sp2 <= sp1) return new SipParseError('start-line', 'malformed request line');
  const method = line.slice(0, sp1);
  if (!isToken(method)) return new SipParseError('method', `bad method ${JSON.stringify(method.slice(0, 40))}`);
  const version = checkVersion(line, sp2 + 1);
  const message = new SipRequest(method, line.slice(sp1 + 1, sp2), headers, body, head, encoding, startLineEnd);
  if (version === null) return new SipMessageError('start-line', 'malformed SIP version', message);
  return version === 'other' ? { message, unsupportedVersion: line.slice(sp2 + 1) } : { message };
}
