/**
 * Header names: compact forms (RFC 3261 §7.3.3 and the extensions that define one) map to the
 * long name, and every name is looked up by its lowercase long form.
 */
const COMPACT: Record<string, string> = {
  a: 'accept-contact',
  b: 'referred-by',
  c: 'content-type',
  d: 'request-disposition',
  e: 'content-encoding',
  f: 'from',
  i: 'call-id',
  j: 'reject-contact',
  k: 'supported',
  l: 'content-length',
  m: 'contact',
  n: 'identity-info',
  o: 'event',
  r: 'refer-to',
  s: 'subject',
  t: 'to',
  u: 'allow-events',
  v: 'via',
  x: 'session-expires',
  y: 'identity',
};

/** Headers whose value may be a comma-separated list (RFC 3261 §7.3.1). */
const LIST_HEADERS = new Set([
  'via',
  'contact',
  'route',
  'record-route',
  'path',
  'service-route',
  'require',
  'supported',
  'proxy-require',
  'unsupported',
  'allow',
  'allow-events',
  'accept',
  'accept-encoding',
  'accept-language',
  'content-encoding',
  'content-language',
  'in-reply-to',
  'warning',
  'error-info',
  'alert-info',
  'call-info',
  'p-asserted-identity',
]);

/** Headers that may appear once at most (RFC 3261 §7.3.1, §20). */
export const SINGLE_HEADERS = ['from', 'to', 'call-id', 'cseq', 'max-forwards', 'content-type'] as const;

const keyCache = new Map<string, string>();

/**
 * The names as common user agents write them, matched by length and comparison before any
 * hashing: every header line of every message passes here, and a Map lookup would hash each
 * freshly sliced name.
 */
function commonKey(name: string): string | undefined {
  switch (name.length) {
    case 1:
      return undefined;
    case 2:
      return name === 'To' ? 'to' : undefined;
    case 3:
      return name === 'Via' ? 'via' : undefined;
    case 4:
      return name === 'From' ? 'from' : name === 'CSeq' ? 'cseq' : undefined;
    case 5:
      return name === 'Route' ? 'route' : name === 'Allow' ? 'allow' : name === 'Event' ? 'event' : undefined;
    case 7:
      return name === 'Call-ID' ? 'call-id' : name === 'Contact' ? 'contact' : name === 'Subject' ? 'subject' : name === 'Expires' ? 'expires' : undefined;
    case 9:
      return name === 'Supported' ? 'supported' : undefined;
    case 10:
      return name === 'User-Agent' ? 'user-agent' : undefined;
    case 12:
      return name === 'Max-Forwards' ? 'max-forwards' : name === 'Content-Type' ? 'content-type' : name === 'Record-Route' ? 'record-route' : undefined;
    case 13:
      return name === 'Authorization' ? 'authorization' : undefined;
    case 14:
      return name === 'Content-Length' ? 'content-length' : undefined;
    default:
      return undefined;
  }
}

/** The lowercase long form of a header name as written on the wire. */
export function headerKey(name: string): string {
  let key = commonKey(name);
  if (key !== undefined) return key;
  key = keyCache.get(name);
  if (key === undefined) {
    const lower = name.toLowerCase();
    key = COMPACT[lower] ?? lower;
    // Bounded: only remember names when the cache is small, so hostile names cannot grow it.
    if (keyCache.size < 4096) keyCache.set(name, key);
  }
  return key;
}

export function isListHeader(key: string): boolean {
  return LIST_HEADERS.has(key);
}
