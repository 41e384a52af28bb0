import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { classifyHost, type SipUri, type Uri } from '../sip/index.ts';
import { defaultPort, protocolNamed, type Destination, type TransportProtocol } from '../transport/index.ts';

/**
 * A URI's next-hop transport, address and port: maddr, else the host; numeric hosts as they are,
 * names through the system resolver. The full RFC 3263 procedure (NAPTR → SRV → A/AAAA) will
 * replace the name lookup here; callers already treat resolution as asynchronous.
 */
export async function resolveUri(uri: Uri): Promise<Destination> {
  if (uri.kind !== 'sip') throw new Error(`cannot route to a ${uri.kind} URI`);
  const protocol = uriProtocol(uri);
  if (protocol === undefined) throw new Error(`unsupported transport ${uri.transport}`);
  const host = uri.params.get('maddr') ?? uri.host;
  if (isIP(host)) return { protocol, address: host, port: uri.port ?? defaultPort(protocol) };
  // the name is kept for TLS: the server certificate must carry it (RFC 5922 §7.2)
  return { protocol, address: (await lookup(host)).address, port: uri.port ?? defaultPort(protocol), hostName: host };
}

/** The same without waiting, when the host is numeric (the common case on the hot path). */
export function resolveNumericUri(uri: Uri): Destination | undefined {
  if (uri.kind !== 'sip') return undefined;
  const host = uri.params.get('maddr') ?? uri.host;
  if (classifyHost(host) === 'name') return undefined;
  const protocol = uriProtocol(uri);
  if (protocol === undefined) return undefined;
  return { protocol, address: host, port: uri.port ?? defaultPort(protocol) };
}

/**
 * The transport a SIP URI asks for (RFC 3263 §4.1 without NAPTR): its transport parameter, UDP
 * when absent; a `sips` URI is reached over TLS (RFC 3261 §26.2.2, RFC 5630 §3.1.3: `sips` with
 * transport=tcp means TLS over TCP), and over WSS for transport=ws (RFC 7118 §5).
 */
export function uriProtocol(uri: SipUri): TransportProtocol | undefined {
  const named = uri.transport === undefined ? 'udp' : protocolNamed(uri.transport);
  if (uri.scheme !== 'sips' || named === undefined) return named;
  if (named === 'ws' || named === 'wss') return 'wss';
  return 'tls';
}
