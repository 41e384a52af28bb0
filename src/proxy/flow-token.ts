import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SipUri, type Uri } from '../sip/index.ts';
import { destinationKey, protocolNamed, type Destination, type Flow, type TransportProtocol } from '../transport/index.ts';

/**
 * Flow tokens in our Record-Route (the idea of RFC 5626 §5.3, as RFC 7118 §5 suggests for
 * WebSocket clients): a client on TLS or WebSocket usually cannot be reached by opening a
 * connection to its Contact (a WebSocket client has an `.invalid` host and listens nowhere; a
 * TLS phone has no server certificate), so the Record-Route entry facing it carries, as its user
 * part, a token naming the connection it used. An in-dialog request that comes back through that
 * entry from the other side is sent over the named connection.
 *
 * The token is HMAC-signed, so a peer cannot steer requests into another client's connection.
 */
export class FlowTokens {
  private readonly key: Buffer;

  constructor(secret: Buffer = randomBytes(32)) {
    this.key = secret;
  }

  /** Whether a flow gets a token: a connection-only client (TLS, WS, WSS) that may not be reachable otherwise. */
  static wanted(protocol: TransportProtocol): boolean {
    return protocol === 'tls' || protocol === 'ws' || protocol === 'wss';
  }

  /** "<sip:host:port;...;lr>" → "<sip:TOKEN@host:port;...;lr>" for a Record-Route value of ours. */
  stamp(recordRoute: string, flow: Destination): string {
    return `<sip:${this.encode(flow)}@${recordRoute.slice(5)}`;
  }

  /**
   * The flow to forward over, from Route entries of ours just removed (RFC 3261 §16.4): a token
   * that names another flow than the one the request came on (a token naming the inbound flow is
   * the sender's own side: the request goes on by its Request-URI).
   */
  nextHop(removedRoutes: readonly Uri[], inbound: Flow): Destination | undefined {
    const inboundKey = destinationKey(inbound);
    for (const uri of removedRoutes) {
      if (!(uri instanceof SipUri) || uri.user === null) continue;
      const flow = this.decode(uri.user);
      if (flow !== undefined && destinationKey(flow) !== inboundKey) return flow;
    }
    return undefined;
  }

  encode(flow: Destination): string {
    const body = Buffer.from(`${flow.protocol} ${flow.address} ${flow.port}`).toString('base64url');
    return `${body}.${this.sign(body)}`;
  }

  decode(token: string): Destination | undefined {
    const dot = token.indexOf('.');
    if (dot <= 0) return undefined;
    const body = token.slice(0, dot);
    const mac = Buffer.from(token.slice(dot + 1));
    const expected = Buffer.from(this.sign(body));
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return undefined;
    const [name, address, port] = Buffer.from(body, 'base64url').toString().split(' ');
    const protocol = protocolNamed(name ?? '');
    const number = Number(port);
    if (protocol === undefined || address === undefined || !Number.isInteger(number)) return undefined;
    return { protocol, address, port: number };
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url').slice(0, 22);
  }
}
