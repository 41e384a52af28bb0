import { isWhitespace } from './charset.ts';
import { headerKey } from './header-names.ts';
import type { AnyMessage } from './message.ts';
import { SipParseError } from './parse-error.ts';
import { parseMessage } from './parser.ts';
import { parseContentLength } from './scalar-headers.ts';

export type FramedItem =
  | { kind: 'message'; message: AnyMessage; bytes: Buffer }
  /** A framed message whose content is bad; the stream itself is still in step. */
  | { kind: 'invalid'; error: SipParseError; bytes: Buffer }
  /** RFC 5626 §4.4.1: a double CRLF is a keep-alive ping (answer with CRLF), a single CRLF a pong. */
  | { kind: 'ping' }
  | { kind: 'pong' };

export interface FramerLimits {
  /** Largest message (header section and body) accepted. Default 65535. */
  maxMessageSize?: number;
  maxHeaders?: number;
}

/**
 * Cuts a byte stream (TCP, TLS) into SIP messages by Content-Length (RFC 3261 §18.3). A framing
 * error (no or bad Content-Length, a message over the size limit) cannot be recovered from, so
 * push() throws SipParseError and the connection must be closed.
 */
export class StreamFramer {
  private pending: Buffer = Buffer.alloc(0);
  private readonly maxMessageSize: number;
  private readonly maxHeaders: number;

  constructor(limits: FramerLimits = {}) {
    this.maxMessageSize = limits.maxMessageSize ?? 65535;
    this.maxHeaders = limits.maxHeaders ?? 256;
  }

  /** Bytes received but not yet framed. */
  get buffered(): number {
    return this.pending.length;
  }

  /** Whether a message has begun and is not complete yet (buffered CRLF keep-alive octets are none). */
  get inMessage(): boolean {
    const first = this.pending.length > 0 ? this.pending[0] : 13;
    return first !== 13 && first !== 10;
  }

  push(chunk: Buffer): FramedItem[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: FramedItem[] = [];
    for (;;) {
      const buf = this.pending;
      if (buf.length === 0) break;
      if (buf[0] === 13 || buf[0] === 10) {
        if (!this.takeKeepAlive(out)) break;
        continue;
      }
      const headEnd = findEmptyLine(buf, Math.min(buf.length, this.maxMessageSize));
      if (headEnd === -1) {
        if (buf.length >= this.maxMessageSize) throw new SipParseError('too-large', `header section over ${this.maxMessageSize} octets`, 513);
        break;
      }
      const length = declaredLength(buf.toString('latin1', 0, headEnd.lineStart));
      const total = headEnd.bodyStart + length;
      if (total > this.maxMessageSize) throw new SipParseError('too-large', `message of ${total} octets over ${this.maxMessageSize}`, 513);
      if (buf.length < total) break;
      const bytes = buf.subarray(0, total);
      this.pending = buf.subarray(total);
      try {
        out.push({ kind: 'message', message: parseMessage(bytes, { datagram: false, maxHeaders: this.maxHeaders }), bytes });
      } catch (err) {
        if (!(err instanceof SipParseError)) throw err;
        out.push({ kind: 'invalid', error: err, bytes });
      }
    }
    return out;
  }

  /** Consumes CRLF keep-alives at a message boundary; false when more bytes are needed to tell. */
  private takeKeepAlive(out: FramedItem[]): boolean {
    const buf = this.pending;
    let n = 0;
    while (n < buf.length && (buf[n] === 13 || buf[n] === 10)) n++;
    if (n === buf.length && n < 4) return false; // a ping may still be arriving
    if (n >= 4 && buf[0] === 13 && buf[1] === 10 && buf[2] === 13 && buf[3] === 10) {
      out.push({ kind: 'ping' });
      this.pending = buf.subarray(4);
    } else {
      out.push({ kind: 'pong' });
      this.pending = buf.subarray(Math.min(n, 2));
    }
    return true;
  }
}

/** Position of the empty line ending the header section, within `limit` octets. */
function findEmptyLine(buf: Buffer, limit: number): { lineStart: number; bodyStart: number } | -1 {
  let pos = 0;
  while (pos < limit) {
    const nl = buf.indexOf(10, pos);
    if (nl < 0 || nl >= limit) return -1;
    const next = nl + 1;
    if (next < buf.length && buf[next] === 10) return { lineStart: next, bodyStart: next + 1 };
    if (next + 1 < buf.length && buf[next] === 13 && buf[next + 1] === 10) return { lineStart: next, bodyStart: next + 2 };
    pos = next;
  }
  return -1;
}

/** Content-Length from the raw header section; a stream message must carry one (RFC 3261 §18.3). */
function declaredLength(head: string): number {
  let pos = head.indexOf('\n') + 1;
  let found: number | undefined;
  while (pos > 0 && pos < head.length) {
    const nl = head.indexOf('\n', pos);
    const end = nl < 0 ? head.length : nl;
    if (!isWhitespace(head.charCodeAt(pos))) {
      const colon = head.indexOf(':', pos);
      if (colon > 0 && colon < end && headerKey(head.slice(pos, colon).trim()) === 'content-length') {
        let n: number;
        try {
          n = parseContentLength(head.slice(colon + 1, end));
        } catch {
          // reported as a framing failure, the same reason parseMessage gives for this value
          throw new SipParseError('content-length', `bad Content-Length ${JSON.stringify(head.slice(colon + 1, end).trim().slice(0, 40))}`);
        }
        if (found !== undefined && found !== n) throw new SipParseError('content-length', 'conflicting Content-Length headers');
        found = n;
      }
    }
    pos = end + 1;
  }
  if (found === undefined) throw new SipParseError('content-length', 'no Content-Length on a stream transport');
  return found;
}
