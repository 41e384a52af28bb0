import net from 'node:net';
import type { TransportProtocol } from './flow.ts';

export interface StreamListenerOptions {
  host: string;
  port: number;
}

/**
 * A listening TCP socket for a connection-oriented transport. TCP, TLS, WS and WSS differ only in
 * the server that accepts the connection (net, tls, http or https: each a net.Server), so the
 * binding, the address family and closing are shared here; what is accepted is the server's
 * handlers' business.
 */
export class StreamListener {
  private boundPort = 0;

  constructor(
    readonly protocol: Exclude<TransportProtocol, 'udp'>,
    readonly options: StreamListenerOptions,
    private readonly server: net.Server,
    onError: (err: Error) => void,
  ) {
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
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      // an HTTP server (WS, WSS) also holds idle keep-alive connections that would delay closing
      if ('closeAllConnections' in this.server) (this.server as { closeAllConnections(): void }).closeAllConnections();
    });
  }
}
