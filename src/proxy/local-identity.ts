import { isIP } from 'node:net';
import { SipUri, type Uri } from '../sip/index.ts';
import type { ListenerInfo, TransportProtocol } from '../transport/index.ts';

/**
 * Which URIs name this proxy: a Route or Request-URI is ours when its host is one of our listener
 * addresses or configured names and its port (5060 when absent) is one we listen on. Used for
 * Route processing (RFC 3261 §16.4), loop detection (§16.3) and building Record-Route values.
 */
export class LocalIdentity {
  private readonly hosts = new Set<string>();
  private readonly ports = new Set<number>();

  constructor(
    private readonly listeners: ListenerInfo[],
    names: string[] = [],
  ) {
    for (const l of listeners) {
      this.hosts.add(l.advertisedHost.toLowerCase());
      if (l.host !== '0.0.0.0' && l.host !== '::') this.hosts.add(l.host.toLowerCase());
      this.ports.add(l.port);
    }
    for (const n of names) this.hosts.add(n.toLowerCase());
  }

  addName(name: string): void {
    this.hosts.add(name.toLowerCase());
  }

  isLocalHost(host: string, port: number | null): boolean {
    return this.hosts.has(host.toLowerCase()) && this.ports.has(port ?? 5060);
  }

  /** Whether an IP address is one of ours (any port): where our own outgoing messages come from. */
  isLocalAddress(address: string): boolean {
    return this.hosts.has(address.toLowerCase());
  }

  isLocalUri(uri: Uri): boolean {
    return uri.kind === 'sip' && this.isLocalHost(uri.params.get('maddr') ?? uri.host, uri.port);
  }

  /** Whether a Via sent-by is ours (for loop detection). */
  isLocalSentBy(host: string, port: number | null): boolean {
    return this.isLocalHost(host, port);
  }

  private readonly recordRoutes = new Map<string, string>();

  /**
   * Our Record-Route value for a transport and address family, `<sip:host:port;transport=...;lr>`
   * (§16.6 step 4); built once per pair, since every forwarded request needs one.
   */
  recordRoute(protocol: TransportProtocol, family: 4 | 6): string {
    const key = protocol + family;
    let value = this.recordRoutes.get(key);
    if (value === undefined) this.recordRoutes.set(key, (value = `<${this.recordRouteUri(protocol, family)}>`));
    return value;
  }

  /** Our Record-Route URI for a transport and address family: sip:host:port;transport=...;lr (§16.6 step 4). */
  recordRouteUri(protocol: TransportProtocol, family: 4 | 6): SipUri {
    const l =
      this.listeners.find((x) => x.protocol === protocol && (isIP(x.advertisedHost) === 0 || isIP(x.advertisedHost) === family)) ??
      this.listeners.find((x) => x.protocol === protocol) ??
      this.listeners[0];
    const uri = new SipUri('sip', null, null, l.advertisedHost, l.port);
    // RFC 7118 §5: one URI transport value, "ws", stands for WS and WSS (the port tells them apart here)
    if (protocol !== 'udp') uri.params.set('transport', protocol === 'wss' ? 'ws' : protocol);
    uri.params.set('lr');
    return uri;
  }
}
