import { randomFillSync } from 'node:crypto';

/**
 * Identifiers for branches, tags and Call-IDs. Random bytes come from a pool refilled in bulk,
 * so making an id costs no system call. RFC 3261 §8.1.1.7: a branch starts with the magic
 * cookie z9hG4bK and is unique across space and time.
 */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.';
const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let poolOffset = POOL_SIZE;

export function randomToken(length: number): string {
  if (length > POOL_SIZE) throw new RangeError(`randomToken: at most ${POOL_SIZE} characters`);
  if (poolOffset + length > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  // the characters are written into a buffer and decoded once: adding them to a string one by one
  // would make a new string per character (and a rope of them past 12 characters)
  const out = length <= TOKEN_SCRATCH.length ? TOKEN_SCRATCH : Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = ALPHABET_CODES[pool[poolOffset + i] & 63];
  poolOffset += length;
  return out.toString('latin1', 0, length);
}

const ALPHABET_CODES = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
const TOKEN_SCRATCH = Buffer.allocUnsafe(64);

/** Random bytes copied from the pool (no system call per use); for nonces and salts, not keys. */
export function pooledRandomBytes(length: number): Buffer {
  if (length > POOL_SIZE) return randomFillSync(Buffer.allocUnsafe(length));
  if (poolOffset + length > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const out = Buffer.from(pool.subarray(poolOffset, poolOffset + length));
  poolOffset += length;
  return out;
}

export const BRANCH_MAGIC_COOKIE = 'z9hG4bK';

/**
 * In worker mode every branch this process makes ends with "~<worker index>" (`~` is a token
 * character, RFC 3261 §25.1, and never one of ours otherwise): a response arriving at another
 * worker of the shared socket is handed to the one that holds its client transaction.
 */
let branchTag = '';

export function setBranchTag(worker: number | null): void {
  branchTag = worker === null ? '' : `~${worker}`;
}

/** The suffix every branch of this process ends with ('' outside worker mode). */
export function currentBranchTag(): string {
  return branchTag;
}

export function newBranch(): string {
  // joined, not added: a branch lives as long as its transaction, as one flat string rather than a rope
  return [BRANCH_MAGIC_COOKIE, randomToken(16), branchTag].join('');
}

export function newTag(): string {
  return randomToken(12);
}

export function newCallId(host?: string): string {
  return host ? `${randomToken(20)}@${host}` : randomToken(24);
}
