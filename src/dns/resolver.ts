import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { classifyHost, type Uri } from '../sip/index.ts';
import type { Destination, TransportProtocol } from '../transport/index.ts';

/**
 * A URI's next-hop transport, address and port: maddr, else the host; numeric hosts as they are,
 * names through the system resolver. The full RFC 3263 procedure (NAPTR → SRV → A/AAAA) will
 * replace the name lookup here; callers already treat resolution as asynchronous.
 */
export async function resolveUri(uri: Uri): Promise<Destination> {
  if (uri.kind !== 'sip') throw new Error(`cannot route to a ${uri.kind} URI`);
  const protocol = (uri.transport ?? 'udp') as TransportProtocol;
  if (protocol !== 'udp' && protocol !== 'tcp') throw new Error(`unsupported transport ${protocol}`);
  const host = uri.params.get('maddr') ?? uri.host;
  const address = isIP(host) ? host : (await lookup(host)).address;
  return { protocol, address, port: uri.port ?? 5060 };
}

/** The same without waiting, when the host is numeric (the common case on the hot path). */
export function resolveNumericUri(uri: Uri): Destination | undefined {
  if (uri.kind !== 'sip') return undefined;
  const host = uri.params.get('maddr') ?? uri.host;
  if (classifyHost(host) === 'name') return undefined;
  const protocol = (uri.transport ?? 'udp') as TransportProtocol;
  if (protocol !== 'udp' && protocol !== 'tcp') return undefined;
  return { protocol, address: host, port: uri.port ?? 5060 };
}
