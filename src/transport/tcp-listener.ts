import net from 'node:net';

export interface TcpListenerOptions {
  host: string;
  port: number;
}

/** A listening TCP socket; accepted sockets are handed to the transport layer. */
export class TcpListener {
  readonly protocol = 'tcp' as const;
  private readonly server: net.Server;
  private boundPort = 0;

  constructor(
    readonly options: TcpListenerOptions,
    onSocket: (socket: net.Socket, listener: TcpListener) => void,
    onError: (err: Error) => void,
  ) {
    this.server = net.createServer((socket) => onSocket(socket, this));
    this.server.on('error', onError);
  }

  get host(): string {
    return this.options.host;
  }

  get port(): number {
    return this.boundPort;
  }

  get family(): 4 | 6 {
    return net.isIPv6(this.options.host) ? 6 : 4;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => reject(err);
      this.server.once('error', fail);
      this.server.listen({ port: this.options.port, host: this.options.host, ipv6Only: this.family === 6 }, () => {
        this.server.off('error', fail);
        const address = this.server.address();
        this.boundPort = typeof address === 'object' && address !== null ? address.port : this.options.port;
        resolve();
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
