import type { ListenSpec, TransportProtocol } from '../transport/index.ts';

const LISTEN_RE = /^(udp|tcp|tls|wss|ws):(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i;

export const LISTEN_FORMAT =
  'PROTOCOL:HOST[:PORT] with PROTOCOL udp, tcp, tls, ws or wss, e.g. udp:0.0.0.0:5060, tcp:[::1]:5060 or tls:0.0.0.0';

/**
 * The port of a listen spec that names none: 5060 for UDP and TCP, 5061 for TLS (RFC 3261 §26.2),
 * and 8080 for WS and 8443 for WSS (80 and 443 would need root and usually belong to a web
 * server; a WebSocket client names the port in its URL anyway).
 */
export function defaultListenPort(protocol: TransportProtocol): number {
  switch (protocol) {
    case 'tls':
      return 5061;
    case 'ws':
      return 8080;
    case 'wss':
      return 8443;
    default:
      return 5060;
  }
}

/**
 * Reads "udp:HOST:PORT" / "tcp:[::1]:5060" / "tls:0.0.0.0" (port optional, see defaultListenPort;
 * an IPv6 host in brackets). Returns the spec, or the problem as text that follows the value in a message.
 */
export function readListenSpec(text: string): ListenSpec | string {
  const m = LISTEN_RE.exec(text.trim());
  if (m === null) return `is not ${LISTEN_FORMAT}`;
  const protocol = m[1].toLowerCase() as TransportProtocol;
  const host = m[2].startsWith('[') ? m[2].slice(1, -1) : m[2];
  const port = m[3] === undefined ? defaultListenPort(protocol) : Number(m[3]);
  if (port > 65535) return `has port ${port}, above 65535`;
  return { protocol, host, port };
}

/** Parses a listen spec; throws with a message that names the flag and says what to fix. */
export function parseListenSpec(text: string): ListenSpec {
  const r = readListenSpec(text);
  if (typeof r === 'string') throw new Error(`--listen ${JSON.stringify(text)} ${r}`);
  return r;
}

export function formatListenSpec(spec: ListenSpec): string {
  return `${spec.protocol}:${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${spec.port}`;
}

export const DEFAULT_LISTEN: ListenSpec[] = [
  { protocol: 'udp', host: '0.0.0.0', port: 5060 },
  { protocol: 'tcp', host: '0.0.0.0', port: 5060 },
];
