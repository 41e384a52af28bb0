import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { pooledRandomBytes } from '../../shared/index.ts';

export type NonceCheck = 'valid' | 'stale' | 'invalid';

/**
 * Nonces the server can verify without remembering them (RFC 7616 §3.3, §5.4): the nonce carries
 * its issue time, its slot in the nonce-count table and a random tag, signed with HMAC-SHA-256 under
 * a secret key. A nonce with a bad signature is invalid; a genuine one older than its lifetime is
 * stale (the client retries with a fresh nonce without asking the user, stale=true). Nodes sharing
 * the key verify each other's nonces; counts are checked by the process that issued the nonce.
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
    private readonly counts = new NonceCountTable(),
  ) {
    this.key = key === undefined ? randomBytes(32) : typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
    const block = Buffer.alloc(64);
    (this.key.length > 64 ? hash('sha256', this.key, 'buffer') : this.key).copy(block);
    for (let i = 0; i < 64; i++) {
      this.innerBlock[i] = block[i] ^ 0x36;
      this.outerBlock[i] = block[i] ^ 0x5c;
    }
  }

  /** A new nonce: issue time, slot index in the count table and a random tag, signed. */
  issue(): string {
    const bytes = this.nonceBytes;
    bytes.writeDoubleBE(this.now(), 0);
    // pooled: a system call per challenge would cost more than the HMAC
    const tag = pooledRandomBytes(4).readUInt32BE(0);
    bytes.writeUInt32BE(this.counts.reserve(tag), 8);
    bytes.writeUInt32BE(tag, 12);
    bytes.write(this.sign(bytes), 16, 16, 'hex');
    return bytes.toString('base64url');
  }

  /**
   * The nonce count of a request whose nonce check() found genuine (valid or stale): 'ok' when it
   * is above every count seen with this nonce (and is recorded), 'replay' when not, 'forgotten'
   * when this process cannot tell (see NonceCountTable).
   */
  acceptCount(nonce: string, nc: number): NonceCountCheck {
    const bytes = this.nonceBytes;
    if (nonce.length !== 43 || bytes.write(nonce, 0, 32, 'base64url') !== 32) return 'forgotten';
    return this.counts.accept(bytes.readUInt32BE(8), bytes.readUInt32BE(12), nc);
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

/** What the nonce-count table says of a count for a nonce (RFC 7616 §3.4.1 nc). */
export type NonceCountCheck = 'ok' | 'replay' | 'forgotten';

/**
 * Nonce-count replay protection (RFC 7616 §3.4.1 nc) without a map: every nonce this service issues
 * carries the index of a slot in a fixed table (Kamailio's nonce-id pool does the same), where its
 * random tag and the highest count seen are kept. A request repeating or going below that count is
 * a replay. A nonce whose slot has been reused by a later one (the table holds the last `size`
 * nonces issued), or that another process issued, is 'forgotten': its digest may be right, but
 * its counts cannot be checked, so the client is asked again with stale=true (one more round trip,
 * never a replay accepted). Checking a count allocates nothing and keeps nothing per nonce for the
 * garbage collector, whatever the challenge rate.
 */
export class NonceCountTable {
  private readonly tags: Uint32Array;
  private readonly counts: Uint32Array;
  private readonly mask: number;
  private next = 0;

  /** `size`: slots, a power of two (1 << 20 by default: 8 MB, the last 1,048,576 nonces). */
  constructor(size = 1 << 20) {
    if (size <= 0 || (size & (size - 1)) !== 0) throw new Error(`the nonce count table size must be a power of two, not ${size}`);
    this.tags = new Uint32Array(size);
    this.counts = new Uint32Array(size);
    this.mask = size - 1;
  }

  /** A slot for a new nonce with this random tag; returns the index to carry in the nonce. */
  reserve(tag: number): number {
    const index = this.next;
    this.next = (index + 1) >>> 0;
    const slot = index & this.mask;
    this.tags[slot] = tag;
    this.counts[slot] = 0;
    return index;
  }

  /** Records nc for the nonce with this index and tag, unless it repeats or goes below the last one. */
  accept(index: number, tag: number, nc: number): NonceCountCheck {
    const slot = index & this.mask;
    if (this.tags[slot] !== tag || ((this.next - index) >>> 0) > this.mask + 1) return 'forgotten';
    if (nc <= this.counts[slot]) return 'replay';
    this.counts[slot] = nc;
    return 'ok';
  }
}
