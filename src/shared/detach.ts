/**
 * A Buffer of its own for bytes kept long (a final response for retransmissions): small Buffers
 * are slices of a shared 8 KB pool, and one kept slice pins the whole pool block.
 */
export function detachBytes(bytes: Buffer): Buffer {
  const own = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(own);
  return own;
}
