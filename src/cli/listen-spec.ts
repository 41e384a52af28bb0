import type { ListenSpec } from '../transport/index.ts';

/** Parses "udp:HOST:PORT" / "tcp:[::1]:5060" (port optional, 5060). Throws with a message that says what to fix. */
export function parseListenSpec(text: string): ListenSpec {
  const m = /^(udp|tcp):(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(text.trim());
  if (m === null) throw new Error(`--listen ${JSON.stringify(text)}: expected PROTOCOL:HOST[:PORT] with PROTOCOL udp or tcp, e.g. udp:0.0.0.0:5060 or tcp:[::1]:5060`);
  const host = m[2].startsWith('[') ? m[2].slice(1, -1) : m[2];
  const port = m[3] === undefined ? 5060 : Number(m[3]);
  if (port > 65535) throw new Error(`--listen ${JSON.stringify(text)}: port ${port} is above 65535`);
  return { protocol: m[1].toLowerCase() as 'udp' | 'tcp', host, port };
}

export const DEFAULT_LISTEN: ListenSpec[] = [
  { protocol: 'udp', host: '0.0.0.0', port: 5060 },
  { protocol: 'tcp', host: '0.0.0.0', port: 5060 },
];
