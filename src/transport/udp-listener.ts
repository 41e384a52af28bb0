import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Flow } from './flow.ts';
import { UdpFlowTable } from './udp-flow-table.ts';

export interface UdpListenerOptions {
  host: string;
  port: number;
  /** SO_RCVBUF; a larger buffer absorbs bursts at high rates. */
  receiveBufferSize?: number;
  /**
   * A socket of this process alone: in a node:cluster worker, a socket is otherwise shared through
   * the primary by address and port (so two workers asking for port 0 would get one socket).
   */
  exclusive?: boolean;
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
      this.socket.bind({ port: this.options.port, address: this.options.host, exclusive: this.options.exclusive === true }, () => {
        this.socket.off('error', fail);
        this.boundPort = this.socket.address().port;
        resolve();
      });
    });
  }

  /**
   * Queues a datagram; every datagram queued while the event loop handles what it read in one go
   * leaves back to back right after (setImmediate runs after the poll phase). A peer woken by the
   * first is then still awake for the rest, where a send per message could wake it each time
   * (on a VM, a cross-CPU wake-up costs more than the send). Without a callback: a send error
   * reaches the socket's 'error' listener (onError) instead.
   */
  send(data: Buffer, port: number, address: string): void {
    this.pending.push(data, port, address);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Datagrams waiting for the flush, three entries each: bytes, port, address (no object per datagram). */
  private readonly pending: Array<Buffer | number | string> = [];
  private flushScheduled = false;
  private closed = false;
  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.closed) return;
    const pending = this.pending;
    for (let i = 0; i < pending.length; i += 3) this.socket.send(pending[i] as Buffer, pending[i + 1] as number, pending[i + 2] as string);
    pending.length = 0;
  };

  /** Sends what is still queued, then closes the socket. */
  close(): Promise<void> {
    this.flush();
    this.closed = true;
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
