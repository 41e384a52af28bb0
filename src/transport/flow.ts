import type { Connection } from './connection.ts';
import type { UdpListener } from './udp-listener.ts';

/**
 * The transports of RFC 3261 §18 (UDP, TCP), SIP over TLS (§26, RFC 5630) and SIP over WebSocket
 * (RFC 7118: WS, and WSS over TLS). The Via transport token is the upper-case name.
 */
export type TransportProtocol = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

/** Where a message goes to or comes from, at the IP level. */
export interface Destination {
  protocol: TransportProtocol;
  address: string;
  port: number;
  /**
   * The host name the address was resolved from, when there was one: the name a TLS server
   * certificate must carry (RFC 5922 §7.2) and the SNI sent (RFC 6066 §3).
   */
  hostName?: string;
}

/**
 * The path a message travelled: the protocol, the remote address and port, and the local socket
 * (a UDP listener or a connection). Responses and in-flow requests reuse it.
 */
export interface Flow extends Destination {
  readonly udp?: UdpListener;
  readonly connection?: Connection;
}

/** Family of an IP literal, without the regular expressions of net.isIP (this runs per message). */
export function addressFamily(address: string): 4 | 6 {
  return address.indexOf(':') >= 0 ? 6 : 4;
}

/** Only UDP is unreliable: every other transport runs over TCP (RFC 3261 §17.1.1.2, §17.1.2.2). */
export function isReliable(protocol: TransportProtocol): boolean {
  return protocol !== 'udp';
}

/** WebSocket clients cannot be connected to: a request reaches them over their own connection only (RFC 7118 §5). */
export function isWebSocket(protocol: TransportProtocol): boolean {
  return protocol === 'ws' || protocol === 'wss';
}

/** Whether the transport is secured by TLS (the `sips` requirement of RFC 3261 §26.2 and RFC 5630 §3). */
export function isSecure(protocol: TransportProtocol): boolean {
  return protocol === 'tls' || protocol === 'wss';
}

/** "udp:1.2.3.4:5060" / "tcp:[::1]:5060", for logs and connection keys. */
export function destinationKey(d: Destination): string {
  return d.address.indexOf(':') >= 0 ? `${d.protocol}:[${d.address}]:${d.port}` : `${d.protocol}:${d.address}:${d.port}`;
}

/**
 * The port of a Via sent-by or URI that names none: 5060 for UDP and TCP, 5061 for TLS
 * (RFC 3261 §19.1.2, §18.2.2), and the WebSocket ports of RFC 6455 §3 for WS (80) and WSS (443).
 */
export function defaultPort(protocol: TransportProtocol): number {
  switch (protocol) {
    case 'tls':
      return 5061;
    case 'ws':
      return 80;
    case 'wss':
      return 443;
    default:
      return 5060;
  }
}

const PROTOCOLS: Record<string, TransportProtocol> = { udp: 'udp', tcp: 'tcp', tls: 'tls', ws: 'ws', wss: 'wss' };

/** A transport name (Via token or URI transport parameter, any case), or undefined when it is none of ours. */
export function protocolNamed(name: string): TransportProtocol | undefined {
  return PROTOCOLS[name.toLowerCase()];
}
