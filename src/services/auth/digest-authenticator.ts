import { timingSafeEqual } from 'node:crypto';
import type { AuthHeader, SipRequest } from '../../sip/index.ts';
import type { Subscriber } from '../../store/ports.ts';
import { computeResponse, hashHex, type DigestAlgorithm } from './digest.ts';
import { NonceCountTable, NonceService } from './nonce.ts';

export interface DigestAuthOptions {
  /** Algorithms offered in challenges, preferred first (RFC 8760 §2.4). */
  algorithms: DigestAlgorithm[];
  nonceLifetimeMs: number;
  /** HMAC key for nonces; shared by the nodes of a cluster. Random per process when absent. */
  nonceKey?: string | Buffer;
  /** Slots of the nonce-count table (a power of two; 1 << 20 by default): the nonces whose counts are remembered. */
  nonceCountSlots?: number;
  now?: () => number;
}

/** 'www': a registrar or UAS (401, WWW-Authenticate/Authorization); 'proxy': 407 and the Proxy-* pair. */
export type AuthKind = 'www' | 'proxy';

export type AuthResult =
  | { ok: true; username: string }
  /** missing: no credentials for this realm; stale: a good digest on an expired nonce (RFC 7616 §3.3 stale=true). */
  | { ok: false; reason: 'missing' | 'stale' | 'failed' };

export type SubscriberLookup = (username: string) => Promise<Subscriber | undefined> | Subscriber | undefined;

const ALGORITHM_NAMES: Record<string, DigestAlgorithm> = { md5: 'MD5', 'sha-256': 'SHA-256' };

/**
 * Digest authentication (RFC 3261 §22, RFC 7616, RFC 8760): challenges with stateless nonces,
 * verification against stored HA1 values in constant time, nonce-count replay protection. An
 * unknown user and a wrong password fail the same way, after the same work (no enumeration).
 */
export class DigestAuthenticator {
  private readonly nonces: NonceService;

  constructor(private readonly options: DigestAuthOptions) {
    const now = options.now ?? Date.now;
    this.nonces = new NonceService(options.nonceKey, options.nonceLifetimeMs, now, new NonceCountTable(options.nonceCountSlots));
  }

  /** The challenge header(s) for a 401 or 407: one per algorithm offered (RFC 8760 §2.4). */
  challenge(realm: string, kind: AuthKind, stale = false): Array<[string, string]> {
    const name = kind === 'www' ? 'WWW-Authenticate' : 'Proxy-Authenticate';
    const nonce = this.nonces.issue();
    return this.options.algorithms.map((algorithm) => [
      name,
      `Digest realm="${realm}", nonce="${nonce}", qop="auth", algorithm=${algorithm}${stale ? ', stale=true' : ''}`,
    ]);
  }

  /**
   * The username of the request's credentials for this realm, unverified: the account a password
   * guesser is trying, for counting failures before anything is checked.
   */
  credentialsUsername(request: SipRequest, realm: string, kind: AuthKind): string | undefined {
    return findCredentials(request, realm, kind)?.params.get('username');
  }

  /**
   * `repeatAllowed`: the request is one this server forwarded to itself (a spiral, RFC 3261 §16.6
   * step 8), whose credentials were accepted on its first pass: the same nonce count is expected
   * again, and is not a replay. The digest itself is still verified.
   */
  async verify(request: SipRequest, realm: string, kind: AuthKind, lookup: SubscriberLookup, options: { repeatAllowed?: boolean } = {}): Promise<AuthResult> {
    const credentials = findCredentials(request, realm, kind);
    if (credentials === undefined) return { ok: false, reason: 'missing' };
    const p = credentials.params;
    const username = p.get('username');
    const nonce = p.get('nonce');
    const uri = p.get('uri');
    const response = p.get('response');
    const algorithm = ALGORITHM_NAMES[(p.get('algorithm') ?? 'MD5').toLowerCase()];
    if (username === undefined || nonce === undefined || uri === undefined || response === undefined) return { ok: false, reason: 'failed' };
    if (algorithm === undefined || !this.options.algorithms.includes(algorithm)) return { ok: false, reason: 'failed' };
    const nonceState = this.nonces.check(nonce);
    if (nonceState === 'invalid') return { ok: false, reason: 'failed' };
    // Our challenges always offer qop="auth", and a client must then use it (RFC 2617 §3.2.2,
    // RFC 7616 §3.4): credentials without it (the RFC 2069 form) carry no nonce count, so nothing
    // would stop a replay of them within the nonce's lifetime (by a downstream hop, say).
    const qop = p.get('qop');
    const nc = p.get('nc');
    const cnonce = p.get('cnonce');
    if (qop === undefined || qop === null || qop.toLowerCase() !== 'auth' || nc === undefined || nc === null || cnonce === undefined || cnonce === null || !isHex8(nc)) {
      return { ok: false, reason: 'failed' };
    }
    const qopInputs = { nc, cnonce };
    const subscriber = await lookup(username);
    // An unknown user costs the same hashing as a known one and fails the same way.
    const ha1 = subscriber === undefined ? hashHex(algorithm, `${username}:${realm}:`) : algorithm === 'MD5' ? subscriber.ha1Md5 : subscriber.ha1Sha256;
    const expected = computeResponse({ algorithm, ha1, method: request.method, uri, nonce, qop: qopInputs });
    const match = constantTimeEqual(expected, response.toLowerCase());
    if (subscriber === undefined || !match) return { ok: false, reason: 'failed' };
    // A correct digest on an expired nonce: ask again with stale=true (RFC 7616 §3.3).
    if (nonceState === 'stale') return { ok: false, reason: 'stale' };
    if (options.repeatAllowed !== true) {
      const count = this.nonces.acceptCount(nonce, parseInt(qopInputs.nc, 16));
      if (count === 'replay') return { ok: false, reason: 'failed' };
      // a right digest on a nonce whose counts this process cannot check: a fresh nonce, not a replay
      if (count === 'forgotten') return { ok: false, reason: 'stale' };
    }
    return { ok: true, username };
  }
}

function findCredentials(request: SipRequest, realm: string, kind: AuthKind): AuthHeader | undefined {
  let headers: AuthHeader[];
  try {
    headers = request.authHeaders(kind === 'www' ? 'authorization' : 'proxy-authorization');
  } catch {
    return undefined;
  }
  return headers.find((h) => h.scheme.toLowerCase() === 'digest' && h.params.get('realm') === realm);
}

function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** nc-value = 8LHEX (RFC 7616 §3.4). */
function isHex8(s: string): boolean {
  if (s.length !== 8) return false;
  for (let i = 0; i < 8; i++) {
    const c = s.charCodeAt(i) | 0x20;
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}
