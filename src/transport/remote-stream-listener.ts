import { isIPv6 } from 'node:net';
import type { TransportProtocol } from './flow.ts';

/**
 * A stream listener of this server held by another worker process (worker mode: the home worker
 * accepts every TCP, TLS and WebSocket connection). It names the server in Via and Record-Route
 * like a listener of its own; what is sent over it is handed to the holder.
 */
export class RemoteStreamListener {
  constructor(
    readonly protocol: Exclude<TransportProtocol, 'udp'>,
    readonly host: string,
    readonly port: number,
  ) {}

  get family(): 4 | 6 {
    return isIPv6(this.host) ? 6 : 4;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
