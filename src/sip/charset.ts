/**
 * Character classes of the RFC 3261 §25.1 grammar as lookup tables indexed by char code, so that
 * scanners test membership with one array read instead of a regex per character.
 */
function table(chars: string, alnum = true): Uint8Array {
  const t = new Uint8Array(256);
  if (alnum) {
    for (let c = 48; c <= 57; c++) t[c] = 1;
    for (let c = 65; c <= 90; c++) t[c] = 1;
    for (let c = 97; c <= 122; c++) t[c] = 1;
  }
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}

const MARK = "-_.!~*'()";
/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
export const TOKEN = table("-.!%*_+`'~");
/** word, as used by Call-ID: token chars plus ( ) < > : \ " / [ ] ? { } */
export const WORD = table('-.!%*_+`\'~()<>:\\"/[]?{}');
export const UNRESERVED = table(MARK);
/** user = 1*( unreserved / escaped / user-unreserved ) */
export const USER = table(MARK + '&=+$,;?/%');
/** password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," ) */
export const PASSWORD = table(MARK + '&=+$,%');
/** paramchar = param-unreserved / unreserved / escaped */
export const PARAM = table(MARK + '[]/:&+$%');
/** hname / hvalue = *( hnv-unreserved / unreserved / escaped ) */
export const HEADER_CHAR = table(MARK + '[]/?:+$%');
/** hostname characters (alphanum, "-", "."); "_" is tolerated as deployed software emits it. */
export const HOSTNAME = table('-._');
export const HEX = table('', false);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;
export const DIGIT = table('', false);
for (let c = 48; c <= 57; c++) DIGIT[c] = 1;

export function isWhitespace(code: number): boolean {
  return code === 32 || code === 9;
}

/**
 * Strips SP and HTAB from both ends (the LWS of RFC 3261 §25.1). String.prototype.trim() is not
 * used for header text: it also strips U+FEFF, U+00A0 and other Unicode spaces, which are octets
 * of the value (RFC 4475 §3.1.1.2 puts a BOM at the start of a header value).
 */
export function trimLws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isWhitespace(s.charCodeAt(start))) start++;
  while (end > start && isWhitespace(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || TOKEN[c] === 0) return false;
  }
  return true;
}

/** True when s[start,end) holds only characters of `set`, and every "%" starts a valid escape. */
export function allIn(s: string, set: Uint8Array, start = 0, end = s.length): boolean {
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || set[c] === 0) return false;
    if (c === 37 && (i + 2 >= end || HEX[s.charCodeAt(i + 1)] === 0 || HEX[s.charCodeAt(i + 2)] === 0)) return false;
  }
  return true;
}
