import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ownString, pooledRandomBytes } from '../../shared/index.ts';

export type NonceCheck = 'valid' | 'stale' | 'invalid';

/**
 * Nonces the server can verify without remembering them (RFC 7616 §3.3, §5.4): the nonce carries
 * its issue time and a random part, signed with HMAC-SHA-256 under a secret key. A nonce with a bad
 * signature is invalid; a genuine one older than its lifetime is stale (the client retries with a
 * fresh nonce without asking the user, stale=true). Nodes sharing the key verify each other's nonces.
 */
export class NonceService {
  private readonly key: Buffer;
  /** HMAC's padded keys (RFC 2104 §2), computed once: a one-shot hash twice per nonce is cheaper than an Hmac object. */
  private readonly innerPad: Buffer;
  private readonly outerPad: Buffer;

  constructor(
    key: Buffer | string | undefined,
    private readonly lifetimeMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.key = key === undefined ? randomBytes(32) : typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
    const block = Buffer.alloc(64);
    (this.key.length > 64 ? hash('sha256', this.key, 'buffer') : this.key).copy(block);
    this.innerPad = Buffer.from(block.map((b) => b ^ 0x36));
    this.outerPad = Buffer.from(block.map((b) => b ^ 0x5c));
  }

  issue(): string {
    const body = Buffer.alloc(16);
    body.writeDoubleBE(this.now(), 0);
    // pooled: a system call per challenge would cost more than the HMAC
    pooledRandomBytes(8).copy(body, 8);
    return Buffer.concat([body, this.sign(body)]).toString('base64url');
  }

  check(nonce: string): NonceCheck {
    let raw: Buffer;
    try {
      raw = Buffer.from(nonce, 'base64url');
    } catch {
      return 'invalid';
    }
    if (raw.length !== 32) return 'invalid';
    const body = raw.subarray(0, 16);
    if (!timingSafeEqual(raw.subarray(16), this.sign(body))) return 'invalid';
    const issued = body.readDoubleBE(0);
    const age = this.now() - issued;
    if (!(age >= -5_000) || age > this.lifetimeMs) return 'stale';
    return 'valid';
  }

  /** When a nonce was issued (ms), for nonce-count bookkeeping. */
  issuedAt(nonce: string): number {
    return Buffer.from(nonce, 'base64url').readDoubleBE(0);
  }

  /** HMAC-SHA-256 (RFC 2104) of the nonce body, truncated to 128 bits. */
  private sign(body: Buffer): Buffer {
    const inner = hash('sha256', Buffer.concat([this.innerPad, body]), 'buffer');
    return hash('sha256', Buffer.concat([this.outerPad, inner]), 'buffer').subarray(0, 16);
  }
}

/**
 * Nonce-count replay protection (RFC 7616 §3.4.1 nc): per nonce, the highest count seen; a
 * request repeating or going below it is a replay. Entries live as long as their nonce can be
 * valid, in two generations swapped every lifetime, so expiry needs no scan.
 */
export class NonceCounter {
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private rotatedAt: number;

  constructor(
    private readonly lifetimeMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 1_000_000,
  ) {
    this.rotatedAt = now();
  }

  /** Records nc for the nonce; false when it is not above the last one seen (a replay). */
  accept(nonce: string, nc: number): boolean {
    const t = this.now();
    if (t - this.rotatedAt >= this.lifetimeMs || this.current.size >= this.maxEntries) {
      this.previous = this.current;
      this.current = new Map();
      this.rotatedAt = t;
    }
    const last = this.current.get(nonce) ?? this.previous.get(nonce) ?? 0;
    if (nc <= last) return false;
    // the nonce is a slice of the request's text: the entry keeps a copy, not the request
    this.current.set(ownString(nonce), nc);
    return true;
  }
}
