import { DIGIT, isToken } from './charset.ts';
import { HeaderScanner, splitList } from './header-scanner.ts';
import { SipParseError } from './parse-error.ts';

/** CSeq (RFC 3261 §20.16): the sequence number is below 2**31 (§8.1.1.5). */
export interface CSeq {
  seq: number;
  method: string;
}

const MAX_CSEQ = 2 ** 31 - 1;
/** RFC 3261 §20.19 / §10.2.1.1: larger delta-seconds are taken as 2**32-1. */
const MAX_DELTA_SECONDS = 2 ** 32 - 1;

function fail(what: string, why: string): never {
  throw new SipParseError('header-value', `${what}: ${why}`);
}

/** 1*DIGIT as a number; leading zeros allowed. `max` bounds the value (digits beyond 10 always fail). */
export function parseDigits(value: string, what: string, max: number, clamp = false): number {
  const text = value.trim();
  if (text.length === 0) fail(what, 'empty value');
  for (let i = 0; i < text.length; i++) if (DIGIT[text.charCodeAt(i)] !== 1) fail(what, 'not a number');
  let digits = text;
  let i = 0;
  while (i < digits.length - 1 && digits.charCodeAt(i) === 48) i++;
  digits = digits.slice(i);
  const n = digits.length > 15 ? Infinity : Number(digits);
  if (n > max) {
    if (clamp) return max;
    fail(what, 'value out of range');
  }
  return n;
}

/** The methods most CSeq values carry: matched in place, so they cost no new string. */
const METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'REGISTER', 'OPTIONS', 'MESSAGE', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'UPDATE', 'PRACK', 'REFER'];

export function parseCSeq(value: string): CSeq {
  const sc = new HeaderScanner(value, 'CSeq');
  sc.skipWs();
  const start = sc.i;
  while (!sc.atEnd() && DIGIT[sc.peek()] === 1) sc.i++;
  if (sc.i === start) sc.fail('missing sequence number');
  const seq = parseDigits(value.slice(start, sc.i), 'CSeq', MAX_CSEQ);
  const before = sc.i;
  sc.skipWs();
  if (sc.i === before) sc.fail('expected whitespace before method');
  const method = sc.knownToken(METHODS);
  sc.skipWs();
  if (!sc.atEnd()) sc.fail('unexpected text after method');
  return { seq, method };
}

export function parseMaxForwards(value: string): number {
  return parseDigits(value, 'Max-Forwards', 255);
}

export function parseContentLength(value: string): number {
  return parseDigits(value, 'Content-Length', Number.MAX_SAFE_INTEGER);
}

export function parseDeltaSeconds(value: string, what: string): number {
  return parseDigits(value, what, MAX_DELTA_SECONDS, true);
}

/** Call-ID (RFC 3261 §20.8): word [ "@" word ], compared byte for byte. */
export function parseCallId(value: string): string {
  const v = value.trim();
  if (v.length === 0) fail('Call-ID', 'empty value');
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c <= 32 || c === 127) fail('Call-ID', 'whitespace or control character');
  }
  return v;
}

/** Option tags (Require, Supported, Proxy-Require, Unsupported; RFC 3261 §19.2): tokens. */
export function parseOptionTags(values: string[], what: string): string[] {
  const out: string[] = [];
  for (const v of values) {
    for (const tag of splitList(v)) {
      if (tag.length === 0) continue;
      if (!isToken(tag)) fail(what, `bad option tag ${JSON.stringify(tag)}`);
      out.push(tag);
    }
  }
  return out;
}
