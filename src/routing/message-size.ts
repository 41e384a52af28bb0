import { SipUri } from '../sip/index.ts';
import type { Target } from '../proxy/index.ts';

/**
 * Whether a registered contact can be reached over UDP only: it registered over UDP (no flow of a
 * connection to reuse) and its contact asks for UDP, explicitly or by default. Such a client is
 * typically behind NAT, reachable through the UDP pinhole it registered from and not by a TCP
 * connection opened towards it, so the transport's switch to TCP for large requests (RFC 3261
 * §18.1.1) would fail: the body must fit UDP. Contacts that ask for TCP, TLS, WS or sips: and
 * clients reached over their own connection take any size.
 */
export function reachableOverUdpOnly(target: Target): boolean {
  if (target.destination !== undefined) return target.destination.protocol === 'udp';
  const uri = target.uri;
  if (!(uri instanceof SipUri) || uri.scheme === 'sips') return false;
  return uri.transport === undefined || uri.transport.toLowerCase() === 'udp';
}

/**
 * The targets that can carry a MESSAGE body of `size` octets: all of them when it fits UDP
 * (`maxUdpBody`, 0 for no limit), else those not reachable over UDP only.
 */
export function targetsForBody(targets: Target[], size: number, maxUdpBody: number): Target[] {
  if (maxUdpBody === 0 || size <= maxUdpBody) return targets;
  return targets.filter((t) => !reachableOverUdpOnly(t));
}
