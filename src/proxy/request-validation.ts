import type { SipRequest } from '../sip/index.ts';

export interface Rejection {
  status: number;
  headers?: Array<[string, string]>;
}

/**
 * Proxy request validation (RFC 3261 §16.3) after the syntax checks of the transport: the
 * Request-URI scheme (416), Max-Forwards (483 at zero; OPTIONS is left to the caller, which may
 * answer it itself), Proxy-Require (420 listing the unsupported extensions).
 */
export function validateProxyRequest(request: SipRequest, supported: ReadonlySet<string>): Rejection | null {
  if (request.uri.kind === 'absolute') return { status: 416 };
  const maxForwards = request.maxForwards;
  if (maxForwards === 0 && request.method !== 'OPTIONS') return { status: 483 };
  // most requests carry no Proxy-Require: nothing to parse or filter then
  if (!request.has('proxy-require')) return null;
  const unsupported = request.proxyRequire.filter((tag) => !supported.has(tag.toLowerCase()));
  if (unsupported.length > 0) return { status: 420, headers: [['Unsupported', unsupported.join(', ')]] };
  return null;
}
