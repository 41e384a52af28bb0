import { formatIPv4 } from './ipv4.ts';
import type { Flow } from './flow.ts';
import type { UdpListener } from './udp-listener.ts';

/** Most addresses a table remembers before it starts again (a registrar may see many NATed clients). */
const MAX_ADDRESSES = 65_536;
/** Most ports remembered per address (clients behind one NAT): the oldest makes room. */
const MAX_PORTS = 8;

/**
 * The UDP flows of one listener, one object per remote address and port. A flow is a value
 * (nothing changes it once made), so every datagram from a peer, every response routed back to
 * it and every transaction that remembers it can share one object instead of each making its own:
 * under load that is one object less per datagram, and tens of thousands fewer kept by lingering
 * transactions for the garbage collector to copy.
 */
export class UdpFlowTable {
  private readonly byAddress = new Map<string, Flow[]>();
  /** IPv4 flows by address * 65536 + port, for datagrams whose source came as numbers (BatchedUdpSocket). */
  private readonly byIPv4 = new Map<number, Flow>();

  constructor(private readonly listener: UdpListener) {}

  flowTo(address: string, port: number): Flow {
    let flows = this.byAddress.get(address);
    if (flows !== undefined) {
      for (let i = 0; i < flows.length; i++) if (flows[i].port === port) return flows[i];
    } else {
      if (this.byAddress.size >= MAX_ADDRESSES) this.byAddress.clear();
      flows = [];
      this.byAddress.set(address, flows);
    }
    const flow: Flow = { protocol: 'udp', address, port, udp: this.listener };
    if (flows.length >= MAX_PORTS) flows.shift();
    flows.push(flow);
    return flow;
  }

  /** The flow of an IPv4 source given as a 32-bit number and a port: no text made per datagram. */
  flowFromIPv4(address: number, port: number): Flow {
    const key = (address >>> 0) * 65536 + port;
    let flow = this.byIPv4.get(key);
    if (flow === undefined) {
      flow = this.flowTo(formatIPv4(address), port);
      if (this.byIPv4.size >= MAX_ADDRESSES * 2) this.byIPv4.clear();
      this.byIPv4.set(key, flow);
    }
    return flow;
  }
}
