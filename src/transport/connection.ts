import type { Destination, Flow } from './flow.ts';

/**
 * A connection-oriented flow (TCP, TLS, WS, WSS): what the transport layer, the connection table
 * and a Flow need of it, whether it carries a byte stream framed by Content-Length (RFC 3261
 * §18.3) or WebSocket messages (RFC 7118 §3).
 */
export interface Connection {
  readonly flow: Flow;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly isOpen: boolean;
  /** Other destinations this connection is filed under (the target an outbound connection was opened for). */
  readonly aliases: Destination[];
  /**
   * The name in the peer's verified TLS client certificate when it is a trusted peer
   * (`tls.trusted_peers`); undefined for anyone else.
   */
  readonly trustedPeer: string | undefined;
  send(data: Buffer): boolean;
  close(): void;
}
