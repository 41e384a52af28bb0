import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Flow } from './flow.ts';

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

  constructor(
    readonly options: UdpListenerOptions,
    private readonly onDatagram: (data: Buffer, flow: Flow) => void,
    private readonly onError: (err: Error) => void,
  ) {
    const type = isIPv6(options.host) ? 'udp6' : 'udp4';
    this.socket = dgram.createSocket({ type, ipv6Only: type === 'udp6', recvBufferSize: options.receiveBufferSize });
    this.socket.on('message', (data, rinfo) => {
      this.onDatagram(data, { protocol: 'udp', address: rinfo.address, port: rinfo.port, udp: this });
    });
    this.socket.on('error', (err) => this.onError(err));
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

  send(data: Buffer, port: number, address: string): void {
    this.socket.send(data, port, address, (err) => {
      if (err) this.onError(err);
    });
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
