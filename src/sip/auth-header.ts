import { HeaderScanner } from './header-scanner.ts';

/**
 * A challenge (WWW-Authenticate, Proxy-Authenticate) or credentials (Authorization,
 * Proxy-Authorization) header: an auth scheme followed by comma-separated auth-params
 * (RFC 3261 §25.1, RFC 7616 §3.3-3.4). Parameter names are lowercased; values are unquoted.
 */
export interface AuthHeader {
  scheme: string;
  params: Map<string, string>;
}

export function parseAuthHeader(value: string, what: string): AuthHeader {
  const sc = new HeaderScanner(value, what);
  sc.skipWs();
  const scheme = sc.token();
  const params = new Map<string, string>();
  sc.skipWs();
  while (!sc.atEnd()) {
    const name = sc.token().toLowerCase();
    sc.skipWs();
    sc.expect(61, '"="');
    sc.skipWs();
    const v = sc.peek() === 34 ? sc.quoted() : sc.token();
    params.set(name, v);
    sc.skipWs();
    if (sc.atEnd()) break;
    sc.expect(44, '","');
    sc.skipWs();
  }
  return { scheme, params };
}

/** Serializes with the RFC 7616 quoting conventions: these parameters are never quoted. */
const UNQUOTED = new Set(['algorithm', 'stale', 'nc', 'qop']);

export function formatAuthHeader(header: AuthHeader, quoteQop = false): string {
  const parts: string[] = [];
  for (const [name, value] of header.params) {
    const plain = UNQUOTED.has(name) && !(name === 'qop' && quoteQop);
    parts.push(plain ? `${name}=${value}` : `${name}="${value.replace(/["\\]/g, (m) => '\\' + m)}"`);
  }
  return `${header.scheme} ${parts.join(', ')}`;
}
