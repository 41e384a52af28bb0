import type { Via } from '../sip/index.ts';
import { defaultPort, protocolNamed, type Destination } from './flow.ts';

/**
 * Where a response goes when it cannot (or need not) use the flow its request came on
 * (RFC 3261 §18.2.2, with RFC 3581 §4 for rport):
 * - maddr: to that address, at the sent-by port (or 5060);
 * - unreliable unicast: to the received address (the request's source), at the rport value if
 *   present, otherwise the sent-by port;
 * - reliable, connection gone: a new connection to the received address at the sent-by port
 *   (for WS and WSS there is none to open: the response is undeliverable, RFC 7118 §5).
 * Throws for a transport we do not have.
 */
export function responseDestination(via: Via): Destination {
  const protocol = protocolNamed(via.transport);
  if (protocol === undefined) throw new Error(`no transport ${via.transport} to send a response over`);
  const port = via.port ?? defaultPort(protocol);
  const maddr = via.params.get('maddr');
  if (maddr) return { protocol, address: maddr, port };
  const address = via.received ?? via.host;
  if (protocol === 'udp') {
    const rport = via.rport;
    return { protocol, address, port: typeof rport === 'number' ? rport : port };
  }
  return { protocol, address, port };
}
