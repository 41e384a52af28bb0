import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Flow } from './flow.ts';
import { UdpFlowTable } from './udp-flow-table.ts';

export interface UdpListenerOptions {
  host: string;
  port: number;
  /** SO_RCVBUF; a larger buffer absorbs bursts at high rates. */
  receiveBufferSize?: number;
}

/**
 * One UDP socket. Datagrams go to the transport layer's inbound path; sends are fire-and-forget
 * (UDP has no delivery feedback, and a send error is counted, never thrown at the sender).
 */
export class UdpListener {
  readonly protocol = 'udp' as const;
  private readonly socket: dgram.Socket;
  private boundPort = 0;
  private readonly flows = new UdpFlowTable(this);

  constructor(
    readonly options: UdpListenerOptions,
    private readonly onDatagram: (data: Buffer, flow: Flow) => void,
    private readonly onError: (err: Error) => void,
  ) {
    const type = isIPv6(options.host) ? 'udp6' : 'udp4';
    this.socket = dgram.createSocket({ type, ipv6Only: type === 'udp6', recvBufferSize: options.receiveBufferSize, lookup: literalLookup });
    this.socket.on('message', (data, rinfo) => {
      this.onDatagram(data, this.flows.flowTo(rinfo.address, rinfo.port));
    });
    this.socket.on('error', (err) => this.onError(err));
  }

  /** The flow to or from this address and port over this socket: one shared object per peer. */
  flowTo(address: string, port: number): Flow {
    return this.flows.flowTo(address, port);
  }

  get host(): string {
    return this.options.host;
  }

  get port(): number {
    return this.boundPort;
  }

  get family(): 4 | 6 {
    return isIPv6(this.options.host) ? 6 : 4;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => reject(err);
      this.socket.once('error', fail);
      this.socket.bind(this.options.port, this.options.host, () => {
        this.socket.off('error', fail);
        this.boundPort = this.socket.address().port;
        resolve();
      });
    });
  }

  /** Without a callback: a send error reaches the socket's 'error' listener (onError) instead. */
  send(data: Buffer, port: number, address: string): void {
    this.socket.send(data, port, address);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

/**
 * Destinations reach the transport as IP literals (src/dns resolved names before), so the socket's
 * per-send address lookup answers at once: dgram's default dns.lookup defers every send to the
 * next tick even for a literal.
 */
function literalLookup(address: string, family: unknown, callback: (err: Error | null, address: string, family: number) => void): void {
  void family;
  callback(null, address, address.indexOf(':') >= 0 ? 6 : 4);
}
