import type { SipRequest } from '../sip/index.ts';

export interface CheckFailure {
  status: number;
  headers?: Array<[string, string]>;
}

/**
 * The checks a UAS applies before the method's own processing (RFC 3261 §8.2.2): a Request-URI
 * scheme it does not handle gets 416 (§8.2.2.1), a Require naming an extension it lacks gets 420
 * with Unsupported (§8.2.2.3). ACK and CANCEL are never rejected for Require.
 */
export function checkRequest(request: SipRequest, supportedExtensions: ReadonlySet<string>): CheckFailure | null {
  const uri = request.uri;
  if (uri.kind === 'absolute') return { status: 416 };
  if (request.method !== 'ACK' && request.method !== 'CANCEL') {
    const unsupported = request.require.filter((tag) => !supportedExtensions.has(tag.toLowerCase()));
    if (unsupported.length > 0) return { status: 420, headers: [['Unsupported', unsupported.join(', ')]] };
  }
  return null;
}
