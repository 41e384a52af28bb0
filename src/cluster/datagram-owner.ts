/**
 * Which worker a datagram belongs to, read from its raw bytes before any parsing, so that a
 * datagram another worker owns costs one scan of its header names and one hand-over:
 *
 *  - a response goes to the worker whose client transaction sent the request: its top Via
 *    branch ends with "~<worker>" (shared/ids.ts);
 *  - MESSAGE, PUBLISH and SUBSCRIBE go to the home worker (0), which holds the presence state
 *    and the offline message store's delivery;
 *  - any other request goes to the worker its Call-ID hashes to, so the retransmissions, the ACK
 *    and the CANCEL of a transaction (RFC 3261 §17.2.3, §9.2: same Call-ID) meet the server
 *    transaction in one process, and so do the requests of one dialog.
 *
 * UNKNOWN means "this process decides": bytes that do not scan (they are parsed here and get
 * their 400 or are dropped here), and responses to branches without a worker tag (a request
 * forwarded statelessly, answered by whoever receives it).
 */
export const UNKNOWN = -1;
export const HOME_WORKER = 0;

const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;
const COLON = 58;
const COMMA = 44;
const SEMI = 59;
const TILDE = 126;

export function datagramOwner(data: Buffer, workers: number): number {
  if (workers <= 1 || data.length < 8) return UNKNOWN;
  const isResponse = data[0] === 0x53 && data[1] === 0x49 && data[2] === 0x50 && data[3] === 0x2f; // "SIP/"
  if (!isResponse && isHomeMethod(data)) return HOME_WORKER;
  let at = data.indexOf(LF) + 1;
  if (at <= 0) return UNKNOWN;
  const end = data.length;
  while (at < end) {
    const first = data[at];
    if (first === CR || first === LF) return UNKNOWN; // end of the headers: none found
    if (first === SP || first === HT) {
      at = lineEnd(data, at) + 1; // a folded continuation line
      continue;
    }
    let nameEnd = at;
    while (nameEnd < end && data[nameEnd] !== COLON && data[nameEnd] !== SP && data[nameEnd] !== HT && data[nameEnd] !== LF) nameEnd++;
    const eol = lineEnd(data, nameEnd);
    if (isResponse) {
      if (nameIs(data, at, nameEnd, 'via') || nameIs(data, at, nameEnd, 'v')) return topViaWorker(data, nameEnd, eol, workers);
    } else if (nameIs(data, at, nameEnd, 'call-id') || nameIs(data, at, nameEnd, 'i')) {
      return callIdWorker(data, nameEnd, eol, workers);
    }
    at = eol + 1;
  }
  return UNKNOWN;
}

/** FNV-1a over the Call-ID value: cheap, and spreads random Call-IDs evenly. */
function callIdWorker(data: Buffer, from: number, eol: number, workers: number): number {
  let at = data.indexOf(COLON, from);
  if (at < 0 || at >= eol) return UNKNOWN;
  at++;
  while (at < eol && (data[at] === SP || data[at] === HT)) at++;
  let last = eol;
  while (last > at && (data[last - 1] === CR || data[last - 1] === SP || data[last - 1] === HT)) last--;
  if (last <= at) return UNKNOWN;
  let h = 0x811c9dc5;
  for (let i = at; i < last; i++) h = Math.imul(h ^ data[i], 16777619);
  return (h >>> 0) % workers;
}

/** The worker tag at the end of the top Via's branch (the first value of the first Via header). */
function topViaWorker(data: Buffer, from: number, eol: number, workers: number): number {
  for (let at = from; at < eol - 7; at++) {
    const c = data[at];
    if (c === COMMA) return UNKNOWN; // past the top Via value
    if (c !== SEMI) continue;
    let p = at + 1;
    while (p < eol && (data[p] === SP || data[p] === HT)) p++;
    if (!nameIs(data, p, p + 6, 'branch')) continue;
    p += 6;
    while (p < eol && (data[p] === SP || data[p] === HT)) p++;
    if (data[p] !== 0x3d) continue; // '='
    p++;
    while (p < eol && (data[p] === SP || data[p] === HT)) p++;
    let valueEnd = p;
    while (valueEnd < eol && data[valueEnd] !== SEMI && data[valueEnd] !== COMMA && data[valueEnd] !== SP && data[valueEnd] !== HT && data[valueEnd] !== CR) valueEnd++;
    let digits = valueEnd;
    while (digits > p && data[digits - 1] >= 0x30 && data[digits - 1] <= 0x39) digits--;
    if (digits === valueEnd || digits <= p || data[digits - 1] !== TILDE || valueEnd - digits > 3) return UNKNOWN;
    let worker = 0;
    for (let i = digits; i < valueEnd; i++) worker = worker * 10 + data[i] - 0x30;
    return worker < workers ? worker : UNKNOWN;
  }
  return UNKNOWN;
}

/** The worker tag of a parsed branch ("z9hG4bK...~3" → 3), UNKNOWN when it has none or names no worker. */
export function branchWorker(branch: string | null | undefined, workers: number): number {
  if (branch === null || branch === undefined) return UNKNOWN;
  const tilde = branch.lastIndexOf('~');
  if (tilde < 0 || tilde === branch.length - 1 || branch.length - tilde > 4) return UNKNOWN;
  let worker = 0;
  for (let i = tilde + 1; i < branch.length; i++) {
    const c = branch.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return UNKNOWN;
    worker = worker * 10 + c - 0x30;
  }
  return worker < workers ? worker : UNKNOWN;
}

function isHomeMethod(data: Buffer): boolean {
  return startsWith(data, 'MESSAGE ') || startsWith(data, 'PUBLISH ') || startsWith(data, 'SUBSCRIBE ');
}

function startsWith(data: Buffer, text: string): boolean {
  if (data.length < text.length) return false;
  for (let i = 0; i < text.length; i++) if (data[i] !== text.charCodeAt(i)) return false;
  return true;
}

/** Header names compare case-insensitively (RFC 3261 §7.3.1); `name` is lower case. */
function nameIs(data: Buffer, from: number, to: number, name: string): boolean {
  if (to - from !== name.length || to > data.length) return false;
  for (let i = 0; i < name.length; i++) if ((data[from + i] | 0x20) !== name.charCodeAt(i)) return false;
  return true;
}

function lineEnd(data: Buffer, from: number): number {
  const lf = data.indexOf(LF, from);
  return lf < 0 ? data.length : lf;
}
