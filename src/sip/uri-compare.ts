import { unescape } from './escaping.ts';
import type { Parameters } from './parameters.ts';
import type { SipUri, TelUri, Uri } from './uri.ts';

/** Parameters that, present in either SIP URI, must be present and equal in both (RFC 3261 §19.1.4). */
const SIGNIFICANT_PARAMS = ['user', 'ttl', 'method', 'maddr', 'transport'];

/** URI equivalence per RFC 3261 §19.1.4 (SIP/SIPS) and RFC 3966 §4 (tel). */
export function uriEquals(a: Uri, b: Uri): boolean {
  if (a.kind === 'sip' && b.kind === 'sip') return sipUriEquals(a, b);
  if (a.kind === 'tel' && b.kind === 'tel') return telUriEquals(a, b);
  if (a.kind === 'absolute' && b.kind === 'absolute') return a.scheme === b.scheme && a.rest === b.rest;
  return false;
}

function sipUriEquals(a: SipUri, b: SipUri): boolean {
  if (a.scheme !== b.scheme) return false;
  // userinfo is case-sensitive, compared after unescaping
  if ((a.user === null) !== (b.user === null)) return false;
  if (a.user !== null && unescape(a.user) !== unescape(b.user as string)) return false;
  if ((a.password === null) !== (b.password === null)) return false;
  if (a.password !== null && unescape(a.password) !== unescape(b.password as string)) return false;
  if (a.host.toLowerCase() !== b.host.toLowerCase()) return false;
  // an omitted port does not equal an explicit default port
  if (a.port !== b.port) return false;
  for (const name of SIGNIFICANT_PARAMS) {
    const va = a.params.get(name);
    const vb = b.params.get(name);
    if (va === undefined && vb === undefined) continue;
    if (!paramValuesEqual(va, vb)) return false;
  }
  if (!commonParamsEqual(a.params, b.params)) return false;
  if (a.headers.length !== b.headers.length) return false;
  // Each header of one URI must pair with its own header of the other: a name may repeat
  // (e.g. two Route headers), so matching the first one with that name is not enough.
  const used = new Array<boolean>(b.headers.length).fill(false);
  for (const [name, value] of a.headers) {
    const key = name.toLowerCase();
    const v = unescape(value);
    const j = b.headers.findIndex(([n, w], k) => !used[k] && n.toLowerCase() === key && unescape(w) === v);
    if (j < 0) return false;
    used[j] = true;
  }
  return true;
}

function paramValuesEqual(a: string | null | undefined, b: string | null | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a === null || b === null) return a === b;
  return unescape(a).toLowerCase() === unescape(b).toLowerCase();
}

/** Any parameter present in both must match; one present in only one side is ignored. */
function commonParamsEqual(a: Parameters, b: Parameters): boolean {
  for (const [name, va] of a.entries()) {
    const vb = b.get(name);
    if (vb !== undefined && !paramValuesEqual(va, vb)) return false;
  }
  return true;
}

function telUriEquals(a: TelUri, b: TelUri): boolean {
  if (a.digits.toLowerCase() !== b.digits.toLowerCase()) return false;
  if (a.params.size !== b.params.size) return false;
  for (const [name, va] of a.params.entries()) {
    const vb = b.params.get(name);
    if (vb === undefined || !paramValuesEqual(va, vb)) return false;
  }
  return true;
}
