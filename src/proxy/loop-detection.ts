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
  let h = feed(0x811c9dc5, request.uriString);
  h = feed(h, request.from.tag ?? '');
  h = feed(h, request.to.tag ?? '');
  h = feed(h, request.callId);
  h = feed(h, String(request.cseq.seq));
  for (const f of request.headers) {
    if (f.key === 'route' || f.key === 'proxy-require' || f.key === 'proxy-authorization') h = feed(h, f.value);
  }
  return (h >>> 0).toString(36);
}

/** FNV-1a over the string, then a separator so that ("ab","c") and ("a","bc") differ. */
function feed(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h ^ 0xff;
}

export function proxyBranch(hash: string, random: string): string {
  // joined, not added: the branch lives as long as its transaction, as one flat string rather than a rope
  return [BRANCH_MAGIC_COOKIE, hash, '.', random, currentBranchTag()].join('');
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
