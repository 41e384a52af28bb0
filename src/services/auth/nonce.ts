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
  /**
   * HMAC's padded keys (RFC 2104 §2), computed once, with room after them for what is hashed next:
   * the nonce body after the inner pad, the inner digest after the outer pad. Two one-shot hashes
   * over these cost less than an Hmac object, and hex output less than a Buffer result (which
   * Node makes through a slower path, about 1 us more per hash).
   */
  private readonly innerBlock = Buffer.alloc(64 + 16);
  private readonly outerBlock = Buffer.alloc(64 + 32);
  /** A nonce's 32 bytes (body, then the truncated signature) while it is made or checked. */
  private readonly nonceBytes = Buffer.alloc(32);

  constructor(
    key: Buffer | string | undefined,
    private readonly lifetimeMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.key = key === undefined ? randomBytes(32) : typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
    const block = Buffer.alloc(64);
    (this.key.length > 64 ? hash('sha256', this.key, 'buffer') : this.key).copy(block);
    for (let i = 0; i < 64; i++) {
      this.innerBlock[i] = block[i] ^ 0x36;
      this.outerBlock[i] = block[i] ^ 0x5c;
    }
  }

  issue(): string {
    const bytes = this.nonceBytes;
    bytes.writeDoubleBE(this.now(), 0);
    // pooled: a system call per challenge would cost more than the HMAC
    pooledRandomBytes(8).copy(bytes, 8);
    bytes.write(this.sign(bytes), 16, 16, 'hex');
    return bytes.toString('base64url');
  }

  check(nonce: string): NonceCheck {
    // 32 bytes are 43 base64url characters; anything else is not ours (and is not decoded)
    if (nonce.length !== 43) return 'invalid';
    const bytes = this.nonceBytes;
    if (bytes.write(nonce, 0, 32, 'base64url') !== 32) return 'invalid';
    const issued = bytes.readDoubleBE(0);
    // the received signature, then the expected one over the received body, compared in constant time
    const received = bytes.toString('hex', 16, 32);
    if (!timingSafeEqual(Buffer.from(received, 'latin1'), Buffer.from(this.sign(bytes), 'latin1'))) return 'invalid';
    const age = this.now() - issued;
    if (!(age >= -5_000) || age > this.lifetimeMs) return 'stale';
    return 'valid';
  }

  /** When a nonce was issued (ms), for nonce-count bookkeeping. */
  issuedAt(nonce: string): number {
    return Buffer.from(nonce, 'base64url').readDoubleBE(0);
  }

  /** HMAC-SHA-256 (RFC 2104) of the nonce body (the first 16 bytes of `bytes`), truncated to 128 bits, in hex. */
  private sign(bytes: Buffer): string {
    bytes.copy(this.innerBlock, 64, 0, 16);
    this.outerBlock.write(hash('sha256', this.innerBlock, 'hex'), 64, 32, 'hex');
    return hash('sha256', this.outerBlock, 'hex').slice(0, 32);
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
