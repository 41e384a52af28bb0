import type { ListenSpec } from '../transport/index.ts';

const LISTEN_RE = /^(udp|tcp):(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i;

export const LISTEN_FORMAT = 'PROTOCOL:HOST[:PORT] with PROTOCOL udp or tcp, e.g. udp:0.0.0.0:5060 or tcp:[::1]:5060';

/**
 * Reads "udp:HOST:PORT" / "tcp:[::1]:5060" (port optional, 5060; an IPv6 host in brackets).
 * Returns the spec, or the problem as text that follows the value in a message.
 */
export function readListenSpec(text: string): ListenSpec | string {
  const m = LISTEN_RE.exec(text.trim());
  if (m === null) return `is not ${LISTEN_FORMAT}`;
  const host = m[2].startsWith('[') ? m[2].slice(1, -1) : m[2];
  const port = m[3] === undefined ? 5060 : Number(m[3]);
  if (port > 65535) return `has port ${port}, above 65535`;
  return { protocol: m[1].toLowerCase() as 'udp' | 'tcp', host, port };
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
