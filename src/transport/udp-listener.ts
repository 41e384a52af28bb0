import cluster from 'node:cluster';
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { BatchedUdpSocket, type WritableMessage } from './batched-udp-socket.ts';
import type { Flow } from './flow.ts';
import { parseIPv4 } from './ipv4.ts';
import { nativeUdp } from './native-udp.ts';
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
  /**
   * The socket to use: by default the batched one (native/udp.c) where it is built and may be used
   * (not a cluster worker's shared socket; SIPLINE_UDP=dgram turns it off), else node:dgram.
   * Naming 'batched' where it is not built fails listen().
   */
  engine?: 'batched' | 'dgram';
}

/**
 * One UDP socket. Datagrams go to the transport layer's inbound path; sends are fire-and-forget
 * (UDP has no delivery feedback, and a send error is counted, never thrown at the sender).
 *
 * The socket is the batched one of native/udp.c (BatchedUdpSocket) where it is built, and
 * node:dgram otherwise, or in a cluster worker whose socket is shared through the primary (only
 * node:dgram can share one). Both queue what is sent while the event loop handles a read and
 * send it after the poll phase.
 */
export class UdpListener {
  readonly protocol = 'udp' as const;
  private socket: dgram.Socket | undefined;
  private batched: BatchedUdpSocket | undefined;
  private boundPort = 0;
  private readonly flows = new UdpFlowTable(this);

  constructor(
    readonly options: UdpListenerOptions,
    private readonly onDatagram: (data: Buffer, flow: Flow) => void,
    private readonly onError: (err: Error) => void,
  ) {}

  /** Which socket carries the datagrams: 'batched' (native/udp.c) or 'dgram' (node:dgram). */
  get engine(): 'batched' | 'dgram' {
    return this.batched !== undefined ? 'batched' : 'dgram';
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
    const family = isIPv6(this.options.host) ? 6 : 4;
    const shared = cluster.isWorker && this.options.exclusive !== true;
    const literal = family === 6 || parseIPv4(this.options.host) >= 0;
    if (this.options.engine === 'batched' && (nativeUdp === undefined || !literal)) {
      return Promise.reject(new Error(nativeUdp === undefined
        ? 'the batched UDP socket is not available: build it with `npm ci` (native/udp.c, needs python3, make and a C compiler) and unset SIPLINE_UDP'
        : `the batched UDP socket binds IP addresses only, not ${this.options.host}`));
    }
    if (nativeUdp !== undefined && this.options.engine !== 'dgram' && !shared && literal) {
      try {
        this.batched = new BatchedUdpSocket(nativeUdp, family, this.options.host, this.options.port, this.options.receiveBufferSize ?? 0, this.flows, this.onDatagram, this.onError);
      } catch (err) {
        return Promise.reject(err as Error);
      }
      this.boundPort = this.batched.port;
      return Promise.resolve();
    }
    const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: family === 6, recvBufferSize: this.options.receiveBufferSize, lookup: literalLookup });
    socket.on('message', (data, rinfo) => {
      this.onDatagram(data, this.flows.flowTo(rinfo.address, rinfo.port));
    });
    socket.on('error', (err) => this.onError(err));
    this.socket = socket;
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => reject(err);
      socket.once('error', fail);
      socket.bind({ port: this.options.port, address: this.options.host, exclusive: this.options.exclusive === true }, () => {
        socket.off('error', fail);
        this.boundPort = socket.address().port;
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
    if (this.batched !== undefined) {
      this.batched.send(data, port, address);
      return;
    }
    this.pending.push(data, port, address);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  /**
   * Queues a message that writes its wire form straight into the batched socket's send area
   * (WritableMessage); false when it cannot (node:dgram, the message could not write itself, or it
   * came out longer than `maxLength`): send its bytes then.
   */
  sendMessage(message: WritableMessage, port: number, address: string, maxLength = Infinity): boolean {
    return this.batched !== undefined && this.batched.sendMessage(message, port, address, maxLength);
  }

  /** Datagrams waiting for the flush, three entries each: bytes, port, address (no object per datagram). */
  private readonly pending: Array<Buffer | number | string> = [];
  private flushScheduled = false;
  private closed = false;
  private readonly flush = (): void => {
    this.flushScheduled = false;
    const socket = this.socket;
    if (this.closed || socket === undefined) return;
    const pending = this.pending;
    for (let i = 0; i < pending.length; i += 3) socket.send(pending[i] as Buffer, pending[i + 1] as number, pending[i + 2] as string);
    pending.length = 0;
  };

  /** Sends what is still queued, then closes the socket. */
  close(): Promise<void> {
    if (this.batched !== undefined) {
      this.batched.close();
      this.closed = true;
      return Promise.resolve();
    }
    this.flush();
    this.closed = true;
    const socket = this.socket;
    return new Promise((resolve) => {
      if (socket === undefined) return resolve();
      try {
        socket.close(() => resolve());
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

