/**
 * Where keepBytesIn() put a copy: fields of the object that keeps it (a lingering transaction), so
 * that not even a Buffer view is made per copy until the bytes are sent again (rarely).
 */
export interface KeptBytesHolder {
  keptSlab: Buffer | null;
  keptStart: number;
  keptEnd: number;
}

/**
 * Copies bytes kept long (a final response for retransmissions, an ACK) into a shared slab, where
 * the holder's fields find them. Small Buffers are slices of Node's 8 KB pool, shared with whatever else
 * was allocated at the time, and one kept slice would pin the whole pool block; a Buffer of its own
 * per response costs an ArrayBuffer and a malloc'd store that every scavenge has to track (at a few
 * thousand lingering transactions per second, a large share of the collector's work). A slab
 * holds only kept bytes, and bytes kept at about the same time are released at about the same time
 * (transactions leave the linger queue in order), so a slab is freed soon after its last user.
 */
export function keepBytesIn(holder: KeptBytesHolder, bytes: Buffer): void {
  const n = bytes.length;
  if (n > KEEP_SLAB_SIZE >>> 3) {
    const own = Buffer.allocUnsafeSlow(n);
    bytes.copy(own);
    holder.keptSlab = own;
    holder.keptStart = 0;
    holder.keptEnd = n;
    return;
  }
  if (keepSlabUsed + n > KEEP_SLAB_SIZE) {
    keepSlab = Buffer.allocUnsafeSlow(KEEP_SLAB_SIZE);
    keepSlabUsed = 0;
  }
  const start = keepSlabUsed;
  bytes.copy(keepSlab, start);
  // 8-byte aligned, as Node's own pool does
  keepSlabUsed = (start + n + 7) & ~7;
  holder.keptSlab = keepSlab;
  holder.keptStart = start;
  holder.keptEnd = start + n;
}

/** The bytes a holder keeps, or null. */
export function keptBytes(holder: KeptBytesHolder): Buffer | null {
  return holder.keptSlab === null ? null : holder.keptSlab.subarray(holder.keptStart, holder.keptEnd);
}

const KEEP_SLAB_SIZE = 65_536;
let keepSlab = Buffer.allocUnsafeSlow(KEEP_SLAB_SIZE);
let keepSlabUsed = 0;

/**
 * A copy of a string that shares nothing with it, for values read from a message and kept long (a
 * binding's Call-ID, AOR or contact). V8 makes a substring of 13 or more characters a
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
