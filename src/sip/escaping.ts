import { HEX } from './charset.ts';

/** Decodes %HH escapes (RFC 3261 §19.1.2). Octets are decoded as UTF-8; a bad escape stays as written. */
export function unescape(s: string): string {
  if (s.indexOf('%') < 0) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 37 && i + 2 < s.length && HEX[s.charCodeAt(i + 1)] && HEX[s.charCodeAt(i + 2)]) {
      bytes.push(parseInt(s.substring(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 128) {
      bytes.push(c);
    } else {
      for (const b of Buffer.from(s[i], 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Escapes every character outside `allowed` (a charset table) as %HH of its UTF-8 octets. */
export function escape(s: string, allowed: Uint8Array): string {
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch.length === 1 && c < 128 && allowed[c] && c !== 37) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
  }
  return out;
}
