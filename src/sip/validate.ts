import { SINGLE_HEADERS } from './header-names.ts';
import type { AnyMessage } from './message.ts';
import { SipParseError, type ParseFailure } from './parse-error.ts';
import { SipMessageError } from './parser.ts';

/**
 * The sanity checks every element applies before a message enters the transaction layer
 * (RFC 3261 §8.2.2, §16.3 step 1): the headers that identify a transaction are present once
 * and well formed, CSeq agrees with the method, and the Request-URI carries no headers
 * (§19.1.1). Throws SipMessageError (with the message, so that a 400 can still be formed).
 */
export function validateMessage(message: AnyMessage): void {
  // one pass over the fields counts what the checks need (each has()/countFields() would scan them all)
  let via = 0;
  let from = 0;
  let to = 0;
  let callId = 0;
  let cseq = 0;
  let maxForwards = 0;
  let contentType = 0;
  for (const f of message.headers) {
    switch (f.key) {
      case 'via':
        via++;
        break;
      case 'from':
        from++;
        break;
      case 'to':
        to++;
        break;
      case 'call-id':
        callId++;
        break;
      case 'cseq':
        cseq++;
        break;
      case 'max-forwards':
        maxForwards++;
        break;
      case 'content-type':
        contentType++;
        break;
    }
  }
  if (via === 0) reject(message, 'missing-header', 'no Via header');
  if (from === 0) reject(message, 'missing-header', 'no From header');
  if (to === 0) reject(message, 'missing-header', 'no To header');
  if (callId === 0) reject(message, 'missing-header', 'no Call-ID header');
  if (cseq === 0) reject(message, 'missing-header', 'no CSeq header');
  if (from > 1 || to > 1 || callId > 1 || cseq > 1 || maxForwards > 1 || contentType > 1) {
    for (const key of SINGLE_HEADERS) {
      if (message.countFields(key) > 1) reject(message, 'duplicate-header', `more than one ${key} header`);
    }
  }
  try {
    // a response is matched by its top Via alone; the Vias below belong to the hops upstream
    if (message.isRequest) void message.vias;
    else void message.via;
    // A response is matched by its top Via and CSeq (§17.1.3) and forwarded by them (§16.7); its
    // From is the request's, which was checked when the request went out: it is parsed only if asked for.
    if (message.isRequest) void message.from;
    void message.to;
    void message.callId;
    void message.cseq;
    // Max-Forwards is a request header (RFC 3261 §20.22): a response's is nobody's business
    if (message.isRequest) void message.maxForwards;
    // a proxy passes Contact on untouched (§16.3 checks only what it needs); a registrar must read it
    if (message.isRequest && message.method === 'REGISTER' && message.has('contact')) void message.contacts;
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
