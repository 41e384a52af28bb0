import type { StreamConnection } from './stream-connection.ts';
import type { UdpListener } from './udp-listener.ts';

export type TransportProtocol = 'udp' | 'tcp';

/** Where a message goes to or comes from, at the IP level. */
export interface Destination {
  protocol: TransportProtocol;
  address: string;
  port: number;
}

/**
 * The path a message travelled: the protocol, the remote address and port, and the local socket
 * (a UDP listener or a stream connection). Responses and in-flow requests reuse it.
 */
export interface Flow extends Destination {
  readonly udp?: UdpListener;
  readonly connection?: StreamConnection;
}

/** Family of an IP literal, without the regular expressions of net.isIP (this runs per message). */
export function addressFamily(address: string): 4 | 6 {
  return address.indexOf(':') >= 0 ? 6 : 4;
}

export function isReliable(protocol: TransportProtocol): boolean {
  return protocol !== 'udp';
}

/** "udp:1.2.3.4:5060" / "tcp:[::1]:5060", for logs and connection keys. */
export function destinationKey(d: Destination): string {
  return d.address.indexOf(':') >= 0 ? `${d.protocol}:[${d.address}]:${d.port}` : `${d.protocol}:${d.address}:${d.port}`;
}

export function defaultPort(protocol: TransportProtocol): number {
  void protocol;
  return 5060;
}
