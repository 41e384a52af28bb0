import { BRANCH_MAGIC_COOKIE } from '../shared/index.ts';
import type { SipRequest, SipResponse } from '../sip/index.ts';

/**
 * Keys are joined rather than added: a key stored for a transaction's lifetime is then one flat
 * string of its own, not a rope whose parts are slices of the message text (which they would keep alive).
 *
 * Server transaction key (RFC 3261 §17.2.3): the top Via branch, its sent-by and the method, an
 * ACK counting as INVITE. Without the magic cookie (an RFC 2543 peer) the key is made of the
 * Request-URI, tags, Call-ID, CSeq number and the top Via instead (§17.2.3, second part).
 */
export function serverKey(request: SipRequest, toTagOverride?: string, methodOverride?: string): string {
  const via = request.via;
  const method = methodOverride ?? (request.method === 'ACK' ? 'INVITE' : request.method);
  const branch = via.branch;
  if (branch !== undefined && branch.startsWith(BRANCH_MAGIC_COOKIE)) {
    return [branch, via.sentBy.toLowerCase(), method].join('\u0000');
  }
  const toTag = toTagOverride ?? request.to.tag ?? '';
  return ['2543', request.uriString, toTag, request.from.tag ?? '', request.callId, request.cseq.seq, via.toString(), method].join('\u0000');
}

/** Whether the key of this request follows RFC 3261 (magic cookie) rather than RFC 2543 matching. */
export function hasMagicCookie(request: SipRequest): boolean {
  return request.via.branch?.startsWith(BRANCH_MAGIC_COOKIE) === true;
}

/** Client transaction key (RFC 3261 §17.1.3): the top Via branch and the CSeq method. */
export function clientKey(branch: string, method: string): string {
  return [branch, method].join('\u0000');
}

/** The branch a client key was made of. */
export function branchOfClientKey(key: string): string {
  return key.slice(0, key.lastIndexOf('\u0000'));
}

export function clientKeyOfResponse(response: SipResponse): string | undefined {
  const branch = response.via.branch;
  return branch === undefined ? undefined : clientKey(branch, response.cseq.method);
}
