/**
 * Copies of small values that outlive the message they were read from.
 *
 * V8 represents a substring of 13 characters or more as a slice of its parent, and a concatenation
 * as a rope of its parts: a transaction key built from a header value keeps the whole message text
 * alive for as long as the transaction lingers (64*T1). Slicing a rope makes V8 flatten it into a
 * fresh string first, which no longer refers to the message.
 */
export function detachString(value: string): string {
  return (value + ' ').slice(0, -1);
}

/**
 * A Buffer of its own for bytes kept long (a final response for retransmissions): small Buffers
 * are slices of a shared 8 KB pool, and one kept slice pins the whole pool block.
 */
export function detachBytes(bytes: Buffer): Buffer {
  const own = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(own);
  return own;
}
