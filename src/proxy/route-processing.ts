import { parseNameAddress, type SipRequest, type Uri } from '../sip/index.ts';
import type { LocalIdentity } from './local-identity.ts';

/**
 * Route information preprocessing (RFC 3261 §16.4):
 * - a Request-URI that is ours came from a strict router: restore the real Request-URI from the
 *   last Route value and remove it;
 * - a top Route that is ours is removed (twice for a double Record-Route).
 * Returns whether a Route of ours was removed (the request follows a Record-Route we inserted);
 * the URIs of ours removed are added to `removed` when given (they may carry flow tokens).
 */
export function preprocessRoute(request: SipRequest, identity: LocalIdentity, removed?: Uri[]): boolean {
  let routed = false;
  if (identity.isLocalUri(request.uri) && request.has('route')) {
    removed?.push(request.uri);
    const routes = request.getAll('route');
    const last = parseNameAddress(routes[routes.length - 1], 'Route');
    request.setUri(last.uri);
    request.remove('route');
    for (const r of routes.slice(0, -1)) request.add('Route', r);
    routed = true;
  }
  for (let i = 0; i < 2; i++) {
    const top = request.routes[0];
    if (top === undefined || !identity.isLocalUri(top.uri)) break;
    removed?.push(top.uri);
    request.popRoute();
    routed = true;
  }
  return routed;
}
