import { formatIp, isSingleAddress, parseAddressBlock } from '../services/security/index.ts';
import type { StoredPeer } from '../store/index.ts';
import { loadContext, withStore, type StoreOptions } from './context.ts';
import { CommandError, UsageError } from './errors.ts';
import { table, type Output } from './output.ts';

const TRANSPORTS = ['udp', 'tcp', 'tls', 'ws', 'wss'];

export interface PeerOptions extends StoreOptions {
  transport?: string;
  port?: string;
  group?: string;
}

/** The address in canonical form (10.1.2.3/8 is stored as 10.0.0.0/8), so that `del` finds what `add` stored. */
function checkAddress(text: string): string {
  const block = parseAddressBlock(text);
  if (block === undefined) throw new UsageError(`ADDRESS ${JSON.stringify(text)} is not an IP address or CIDR block like 10.0.0.0/8 or 2001:db8::/32`);
  const address = formatIp(block.bytes);
  return isSingleAddress(block) ? address : `${address}/${block.prefix}`;
}

function checkTransport(text: string | undefined): string | null {
  if (text === undefined) return null;
  const t = text.toLowerCase();
  if (!TRANSPORTS.includes(t)) throw new UsageError(`--transport ${JSON.stringify(text)} is not one of: ${TRANSPORTS.join(', ')}`);
  return t;
}

function checkPort(text: string | undefined): number | null {
  if (text === undefined) return null;
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) throw new UsageError(`--port ${JSON.stringify(text)} is not a port number (1 to 65535)`);
  return Number(text);
}

function describe(p: StoredPeer): string {
  return `${p.address}${p.transport === null ? '' : ` over ${p.transport}`}${p.port === null ? '' : ` from port ${p.port}`}${p.group === null ? '' : ` (group ${p.group})`}`;
}

export async function peerAdd(addressArg: string, options: PeerOptions, out: Output): Promise<void> {
  if (options.group !== undefined && options.group === '') throw new UsageError('--group: give a name, or leave the flag out');
  const peer: StoredPeer = { address: checkAddress(addressArg), transport: checkTransport(options.transport), port: checkPort(options.port), group: options.group ?? null };
  const ctx = loadContext(options);
  await withStore(ctx, async (store) => {
    const previous = (await store.listPeers()).find((p) => p.address === peer.address && p.transport === peer.transport && p.port === peer.port);
    await store.putPeer(peer);
    out.line(`${previous === undefined ? 'added' : 'updated'} trusted peer ${describe(peer)}`);
  });
}

export async function peerDel(addressArg: string, options: PeerOptions, out: Output): Promise<void> {
  const address = checkAddress(addressArg);
  const transport = checkTransport(options.transport);
  const port = checkPort(options.port);
  const ctx = loadContext(options);
  await withStore(ctx, async (store) => {
    if (!(await store.deletePeer(address, transport, port))) {
      const stored = (await store.listPeers()).filter((p) => p.address === address);
      const hint = stored.length === 0 ? '' : `; stored for ${address}: ${stored.map(describe).join(', ')} (give the same --transport and --port)`;
      throw new CommandError(`no stored trusted peer ${describe({ address, transport, port, group: null })}${hint}`);
    }
    out.line(`deleted trusted peer ${describe({ address, transport, port, group: null })}`);
  });
}

export async function peerList(options: StoreOptions, out: Output): Promise<void> {
  const ctx = loadContext(options);
  await withStore(ctx, async (store) => {
    const configured = ctx.config.security.trusted_peers.map((p) => ({ address: p.address as string, transport: p.transport ?? null, port: p.port ?? null, group: p.group ?? null, source: 'config' }));
    const stored = (await store.listPeers()).map((p) => ({ ...p, source: 'store' }));
    const all = [...configured, ...stored];
    if (all.length === 0) {
      out.note('no trusted peers; add one with: sipline peer add ADDRESS [--transport T] [--port P] [--group G]');
      return;
    }
    const rows = all.map((p) => [p.address, p.transport ?? 'any', p.port === null ? 'any' : String(p.port), p.group ?? '-', p.source]);
    for (const l of table(['ADDRESS', 'TRANSPORT', 'PORT', 'GROUP', 'SOURCE'], rows)) out.line(l);
  });
}
