import type { TransportProtocol } from '../../transport/index.ts';
import { blockContains, formatIp, isSingleAddress, parseAddressBlock, parseIp, type AddressBlock } from './address-block.ts';

/**
 * A trusted peer (Kamailio permissions' address table): a carrier trunk, a gateway or an SBC
 * whose requests need no digest authentication and may be relayed anywhere. Matched by source
 * address (an IP or a CIDR block), optionally by transport and source port; `group` lets a
 * routing script restrict a route to some peers.
 */
export interface TrustedPeer {
  /** An IPv4 or IPv6 address, or a CIDR block ("10.0.0.0/8", "2001:db8::/32"). */
  address: string;
  /** Only requests over this transport; any transport when absent. */
  transport?: TransportProtocol;
  /** Only requests from this source port; any port when absent. */
  port?: number;
  group?: string;
}

interface Entry {
  peer: TrustedPeer;
  block: AddressBlock;
}

/**
 * The trusted-peer table: single addresses in a map keyed by their canonical text (one lookup
 * for the common case), CIDR blocks in a list scanned in order (operators list a handful).
 */
export class PeerAcl {
  private exact = new Map<string, Entry[]>();
  private blocks: Entry[] = [];
  private peers: TrustedPeer[] = [];
  /** Called after replace(), so that caches of "is this address trusted" can be dropped. */
  onChange: () => void = () => {};

  constructor(peers: TrustedPeer[] = []) {
    this.replace(peers);
  }

  /** Replaces the table (config entries and stored ones together); throws on a bad address. */
  replace(peers: TrustedPeer[]): void {
    const exact = new Map<string, Entry[]>();
    const blocks: Entry[] = [];
    for (const peer of peers) {
      const block = parseAddressBlock(peer.address);
      if (block === undefined) throw new Error(`trusted peer ${JSON.stringify(peer.address)} is not an IP address or CIDR block`);
      const entry = { peer: { ...peer }, block };
      if (isSingleAddress(block)) {
        const key = formatIp(block.bytes);
        const list = exact.get(key);
        if (list === undefined) exact.set(key, [entry]);
        else list.push(entry);
      } else {
        blocks.push(entry);
      }
    }
    this.exact = exact;
    this.blocks = blocks;
    this.peers = peers.map((p) => ({ ...p }));
    this.onChange();
  }

  list(): TrustedPeer[] {
    return this.peers.map((p) => ({ ...p }));
  }

  get size(): number {
    return this.peers.length;
  }

  /**
   * The first peer entry matching a request's source (address, transport, port), restricted to
   * a group when one is given.
   */
  match(address: string, protocol: TransportProtocol, port: number, group?: string): TrustedPeer | undefined {
    if (this.peers.length === 0) return undefined;
    const fits = (e: Entry) =>
      (e.peer.transport === undefined || e.peer.transport === protocol) &&
      (e.peer.port === undefined || e.peer.port === port) &&
      (group === undefined || e.peer.group === group);
    return this.find(address, fits);
  }

  /**
   * Whether any entry names this address, whatever its transport and port: flood protection and
   * the connection limit exempt a trusted host as a whole, since a carrier's volume comes from
   * that host on whichever port it uses.
   */
  trustsAddress(address: string): boolean {
    if (this.peers.length === 0) return false;
    return this.find(address, () => true) !== undefined;
  }

  private find(address: string, fits: (e: Entry) => boolean): TrustedPeer | undefined {
    // IPv4 arrives in canonical form from the socket; IPv6 text is canonicalised first
    const bytes = address.indexOf(':') >= 0 || this.blocks.length > 0 ? parseIp(address) : undefined;
    const key = address.indexOf(':') >= 0 && bytes !== undefined ? formatIp(bytes) : address;
    const exact = this.exact.get(key);
    if (exact !== undefined) for (const e of exact) if (fits(e)) return e.peer;
    if (bytes === undefined) return undefined;
    for (const e of this.blocks) if (blockContains(e.block, bytes) && fits(e)) return e.peer;
    return undefined;
  }
}
