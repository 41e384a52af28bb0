import { BRANCH_MAGIC_COOKIE, currentBranchTag } from '../shared/index.ts';
import type { SipRequest } from '../sip/index.ts';
import type { LocalIdentity } from './local-identity.ts';

/**
 * The loop-detection part of our branch (RFC 3261 §16.6 step 8): a hash of what identifies the
 * request's path through the network — Request-URI, From tag, To tag, Call-ID, CSeq number,
 * Route, Proxy-Require and Proxy-Authorization. A request that comes back with all of these equal
 * has looped; if one changed (a new Request-URI after a lookup) it is a spiral and goes on.
 */
export function loopHash(request: SipRequest): string {
  let h = 0x811c9dc5;
  const feed = (s: string) => {
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    h ^= 0xff;
  };
  feed(request.uriString);
  feed(request.from.tag ?? '');
  feed(request.to.tag ?? '');
  feed(request.callId);
  feed(String(request.cseq.seq));
  for (const f of request.headers) {
    if (f.key === 'route' || f.key === 'proxy-require' || f.key === 'proxy-authorization') feed(f.value);
  }
  return (h >>> 0).toString(36);
}

export function proxyBranch(hash: string, random: string): string {
  return `${BRANCH_MAGIC_COOKIE}${hash}.${random}${currentBranchTag()}`;
}

/** §16.3 step 4: a Via of ours whose branch carries this request's hash means the request looped. */
export function isLooped(request: SipRequest, identity: LocalIdentity): boolean {
  let hash: string | undefined;
  for (const via of request.vias) {
    if (!identity.isLocalSentBy(via.host, via.port)) continue;
    hash ??= BRANCH_MAGIC_COOKIE + loopHash(request) + '.';
    if (via.branch?.startsWith(hash)) return true;
  }
  return false;
}
