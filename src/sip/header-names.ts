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
 * The names as common user agents write them, by length: every header line of every message is
 * matched against these by comparison before any hashing (a Map lookup would hash each freshly
 * sliced name), and the parser reuses these strings instead of slicing the name out of the text.
 */
const COMMON_NAMES: ReadonlyArray<ReadonlyArray<readonly [string, string]>> = (() => {
  const names = ['To', 'Via', 'From', 'CSeq', 'Route', 'Allow', 'Event', 'Call-ID', 'Contact', 'Subject', 'Expires', 'Supported', 'User-Agent', 'Max-Forwards', 'Content-Type', 'Record-Route', 'Authorization', 'Content-Length', 'WWW-Authenticate', 'Proxy-Authorization', 'Proxy-Authenticate'];
  const byLength: Array<Array<readonly [string, string]>> = [];
  for (const name of names) (byLength[name.length] ??= []).push([name, name.toLowerCase()] as const);
  return Array.from(byLength, (list) => list ?? []);
})();

function commonKey(name: string): string | undefined {
  const list = COMMON_NAMES[name.length];
  if (list === undefined) return undefined;
  for (const [written, key] of list) if (name === written) return key;
  return undefined;
}

/**
 * The common name (as written, and its key) that `text` holds from `start` to `end`, without
 * slicing it out; undefined for other names.
 */
export function commonNameAt(text: string, start: number, end: number): readonly [string, string] | undefined {
  const list = COMMON_NAMES[end - start];
  if (list === undefined) return undefined;
  for (const entry of list) if (text.startsWith(entry[0], start)) return entry;
  return undefined;
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
