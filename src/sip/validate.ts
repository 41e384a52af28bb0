import { SINGLE_HEADERS } from './header-names.ts';
import type { AnyMessage } from './message.ts';
import { SipParseError, type ParseFailure } from './parse-error.ts';
import { SipMessageError } from './parser.ts';

const MANDATORY: Array<[string, string]> = [
  ['via', 'Via'],
  ['from', 'From'],
  ['to', 'To'],
  ['call-id', 'Call-ID'],
  ['cseq', 'CSeq'],
];

/**
 * The sanity checks every element applies before a message enters the transaction layer
 * (RFC 3261 §8.2.2, §16.3 step 1): the headers that identify a transaction are present once
 * and well formed, CSeq agrees with the method, and the Request-URI carries no headers
 * (§19.1.1). Throws SipMessageError (with the message, so that a 400 can still be formed).
 */
export function validateMessage(message: AnyMessage): void {
  for (const [key, label] of MANDATORY) {
    if (!message.has(key)) reject(message, 'missing-header', `no ${label} header`);
  }
  for (const key of SINGLE_HEADERS) {
    if (message.countFields(key) > 1) reject(message, 'duplicate-header', `more than one ${key} header`);
  }
  try {
    // a response is matched by its top Via alone; the Vias below belong to the hops upstream
    if (message.isRequest) void message.vias;
    else void message.via;
    void message.from;
    void message.to;
    void message.callId;
    void message.cseq;
    void message.maxForwards;
    if (message.isRequest && message.has('contact')) void message.contacts;
  } catch (err) {
    if (err instanceof SipParseError) reject(message, err.reason, err.detail);
    throw err;
  }
  if (message.isRequest) {
    if (message.cseq.method !== message.method) {
      reject(message, 'cseq-mismatch', `CSeq method ${message.cseq.method} differs from ${message.method}`);
    }
    const uri = message.uri;
    if (uri.kind === 'sip' && uri.headers.length > 0) reject(message, 'request-uri', 'headers are not allowed in a Request-URI');
  }
}

function reject(message: AnyMessage, reason: ParseFailure, detail: string): never {
  throw new SipMessageError(reason, detail, message);
}
