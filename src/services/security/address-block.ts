/**
 * IP addresses and CIDR blocks (RFC 4632 for IPv4, RFC 4291 §2.3 for IPv6) as bytes, for the
 * peer ACL. Written out rather than with net.isIP/BlockList because the ACL needs the canonical
 * text of an address (its exact-match key) and byte-wise prefix matching on both families.
 */

/** A block of addresses: `prefix` leading bits of `bytes` (4 bytes for IPv4, 16 for IPv6). */
export interface AddressBlock {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/**
 * The bytes of an IP literal, or undefined when it is none. An IPv4-mapped IPv6 address
 * (::ffff:192.0.2.1, what a dual-stack socket reports for an IPv4 peer) gives the IPv4 bytes,
 * so that IPv4 entries match it. A zone (fe80::1%eth0) is ignored.
 */
export function parseIp(text: string): Uint8Array | undefined {
  if (text.indexOf(':') < 0) return parseIpv4(text);
  const zone = text.indexOf('%');
  const v6 = parseIpv6(zone < 0 ? text : text.slice(0, zone));
  if (v6 === undefined) return undefined;
  if (isV4Mapped(v6)) return v6.subarray(12);
  return v6;
}

/** "10.0.0.0/8", "2001:db8::/32", or a single address (a /32 or /128 block). */
export function parseAddressBlock(text: string): AddressBlock | undefined {
  const slash = text.indexOf('/');
  const bytes = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (bytes === undefined) return undefined;
  const bits = bytes.length * 8;
  let prefix = bits;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > bits) return undefined;
    prefix = Number(p);
  }
  // bits beyond the prefix are cleared: 10.1.2.3/8 is the block 10.0.0.0/8
  const masked = new Uint8Array(bytes);
  for (let i = 0; i < masked.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    masked[i] &= keep === 8 ? 0xff : (0xff << (8 - keep)) & 0xff;
  }
  return { family: bytes.length === 4 ? 4 : 6, bytes: masked, prefix };
}

/** Whether the address (as bytes from parseIp) lies in the block. */
export function blockContains(block: AddressBlock, address: Uint8Array): boolean {
  if (address.length !== block.bytes.length) return false;
  const whole = block.prefix >> 3;
  for (let i = 0; i < whole; i++) if (address[i] !== block.bytes[i]) return false;
  const rest = block.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (address[whole] & mask) === block.bytes[whole];
}

/** The block is one address (a /32 or /128). */
export function isSingleAddress(block: AddressBlock): boolean {
  return block.prefix === block.bytes.length * 8;
}

/**
 * The canonical text of an address: dotted decimal, or RFC 5952 §4 for IPv6 (lower case, no
 * leading zeros, the longest run of two or more zero groups as "::"), which is how the kernel
 * (inet_ntop) reports peers, so that the exact-match table can be keyed by the reported text.
 */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  if (bestLength < 2) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

/** The canonical text of an address given as text, or the text itself when it is no IP literal. */
export function canonicalIp(text: string): string {
  const bytes = parseIp(text);
  return bytes === undefined ? text : formatIp(bytes);
}

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    // no leading zeros: 010 is octal to some parsers and decimal to others
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0') || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i];
      if (i === pieces.length - 1 && p.indexOf('.') >= 0) {
        const v4 = parseIpv4(p);
        if (v4 === undefined) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = all[i] >> 8;
    out[2 * i + 1] = all[i] & 0xff;
  }
  return out;
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}
