import { hash } from 'node:crypto';

/** Digest algorithms of RFC 7616 §3.3 (and RFC 8760 for SIP). */
export type DigestAlgorithm = 'MD5' | 'SHA-256';

/** One-shot hashing (crypto.hash): no Hash object per call, three calls per authenticated request. */
export function hashHex(algorithm: DigestAlgorithm, text: string): string {
  return hash(algorithm === 'MD5' ? 'md5' : 'sha256', text, 'hex');
}

/** HA1 = H(username ":" realm ":" password) (RFC 7616 §3.4.2); the only secret the store keeps. */
export function computeHa1(algorithm: DigestAlgorithm, username: string, realm: string, password: string): string {
  return hashHex(algorithm, `${username}:${realm}:${password}`);
}

export interface DigestInputs {
  algorithm: DigestAlgorithm;
  ha1: string;
  method: string;
  uri: string;
  nonce: string;
  /** qop=auth with its nonce count and client nonce; absent for RFC 2069-style digests. */
  qop?: { nc: string; cnonce: string };
}

/**
 * request-digest (RFC 7616 §3.4.1, RFC 2617 §3.2.2.1): with qop=auth,
 * H(HA1:nonce:nc:cnonce:qop:HA2); without qop, H(HA1:nonce:HA2); HA2 = H(method:digest-uri).
 */
export function computeResponse(inputs: DigestInputs): string {
  const ha2 = hashHex(inputs.algorithm, `${inputs.method}:${inputs.uri}`);
  if (inputs.qop === undefined) return hashHex(inputs.algorithm, `${inputs.ha1}:${inputs.nonce}:${ha2}`);
  return hashHex(inputs.algorithm, `${inputs.ha1}:${inputs.nonce}:${inputs.qop.nc}:${inputs.qop.cnonce}:auth:${ha2}`);
}
