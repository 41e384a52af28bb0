/** IPv4 addresses as 32-bit numbers, as the batched UDP socket (native/udp.c) exchanges them. */

/** A dotted-quad IPv4 address as an unsigned number, or -1 when `address` is not one. */
export function parseIPv4(address: string): number {
  let value = 0;
  let part = -1;
  let dots = 0;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c === 46) {
      if (part < 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = -1;
      dots++;
    } else if (c >= 48 && c <= 57) {
      part = part < 0 ? c - 48 : part * 10 + (c - 48);
      if (part > 255) return -1;
    } else {
      return -1;
    }
  }
  if (part < 0 || dots !== 3) return -1;
  return value * 256 + part;
}

/** The dotted-quad text of an IPv4 address given as a (signed or unsigned) 32-bit number. */
export function formatIPv4(value: number): string {
  return `${(value >>> 24) & 255}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}
