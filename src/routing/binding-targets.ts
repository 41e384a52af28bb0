import { parseUri, SipUri, type Uri } from '../sip/index.ts';
import type { Target } from '../proxy/index.ts';
import type { LocationService } from '../services/location/index.ts';
import { isReliable, isWebSocket, protocolNamed, type Destination, type TransportProtocol } from '../transport/index.ts';

/**
 * The registered contacts of an AOR as targets (Kamailio lookup("location")), highest q first,
 * with their Path and the flow they registered over: what the script's lookup() forwards to, and
 * where the server's own requests to a user (stored messages) go.
 */
export function bindingTargets(location: LocationService, aor: string): Target[] {
  const targets: Target[] = [];
  for (const b of location.lookup(aor)) {
    let uri: Uri;
    try {
      uri = parseUri(b.contact);
    } catch {
      continue;
    }
    targets.push({ uri, q: b.q, path: b.path.length > 0 ? b.path : undefined, destination: registeredFlow(b.received, uri) });
  }
  return targets;
}

/**
 * A binding that registered over a connection (TCP, TLS, WS, WSS) and whose contact asks for that
 * transport is reached over the same connection, found by its source address (`received`):
 * RFC 3261 §18 connection reuse, and the only way at all to a WebSocket client, whose contact
 * host is an unresolvable `.invalid` name (RFC 7118 §5). UDP bindings go to their contact.
 */
function registeredFlow(received: string | null, contact: Uri): Destination | undefined {
  if (received === null || !(contact instanceof SipUri)) return undefined;
  const colon1 = received.indexOf(':');
  const protocol = protocolNamed(received.slice(0, colon1));
  if (protocol === undefined || !isReliable(protocol) || !sameTransport(contact, protocol)) return undefined;
  const rest = received.slice(colon1 + 1);
  const colon = rest.lastIndexOf(':');
  const host = rest.slice(0, colon).replace(/^\[|\]$/g, '');
  return { protocol, address: host, port: Number(rest.slice(colon + 1)) };
}

/**
 * Whether a contact asks for the transport it registered over: its transport parameter, `sips`
 * meaning TLS (RFC 5630 §3.1.3), and "ws" standing for WS and WSS alike (RFC 7118 §5).
 */
function sameTransport(contact: SipUri, registeredOver: TransportProtocol): boolean {
  const named = contact.transport === undefined ? (contact.scheme === 'sips' ? 'tls' : 'udp') : protocolNamed(contact.transport);
  if (named === undefined) return false;
  if (isWebSocket(registeredOver)) return isWebSocket(named);
  if (registeredOver === 'tls') return named === 'tls' || (contact.scheme === 'sips' && named === 'tcp');
  return named === registeredOver;
}
