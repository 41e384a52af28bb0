/**
 * A Buffer of its own for bytes kept long (a final response for retransmissions): small Buffers
 * are slices of a shared 8 KB pool, and one kept slice pins the whole pool block.
 */
export function detachBytes(bytes: Buffer): Buffer {
  const own = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(own);
  return own;
}

/**
 * A copy of a string that shares nothing with it, for values read from a message and kept long (a
 * nonce in the replay table, a binding's Call-ID). V8 makes a substring of 13 or more characters a
 * slice of its parent, so such a value would keep the whole message text alive with it: a few
 * hundred bytes per entry for the garbage collector to copy and promote.
 */
export function ownString(value: string): string {
  const n = value.length;
  // shorter substrings are copies already
  if (n < 13) return value;
  if (n <= OWN_SCRATCH.length) {
    let i = 0;
    for (; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c > 255) break;
      OWN_SCRATCH[i] = c;
    }
    // one byte per character: decoded from the scratch bytes as one new flat string
    if (i === n) return OWN_SCRATCH.toString('latin1', 0, n);
  }
  // otherwise slicing a rope makes V8 flatten it into a fresh string first (the slice then refers to that)
  return (' ' + value).slice(1);
}

const OWN_SCRATCH = Buffer.allocUnsafeSlow(1024);
