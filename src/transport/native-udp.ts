import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The native socket of native/udp.c (built by `npm ci` through scripts/build-native.mjs). */
export interface NativeUdpSocket {
  /** The port the socket is bound to. */
  port(): number;
  /** Starts reading; the areas are shared with native code for the socket's life. */
  start(recvArea: Buffer, recvMeta: Int32Array, sendArea: Buffer, sendMeta: Int32Array, onReceive: (count: number) => void, onError: (err: Error) => void): void;
  /** Sends the first `count` datagrams described in the send meta. */
  send(count: number): void;
  close(): void;
}

export interface NativeUdpBinding {
  /** Binds at once: throws an Error with .code (EADDRINUSE...) like node's sockets. */
  UdpSocket: new (family: 4 | 6, host: string, port: number, receiveBufferSize: number, ipv6Only: boolean) => NativeUdpSocket;
  formatAddress6(a0: number, a1: number, a2: number, a3: number): string;
  parseAddress6(text: string, out: Int32Array): boolean;
  /** Datagrams read per batch; bytes per receive slot; ints of meta per datagram. */
  readonly BATCH: number;
  readonly SLOT_BYTES: number;
  readonly META_INTS: number;
}

/**
 * The batched UDP socket, or undefined where it is not built (not Linux, no compiler at install)
 * or switched off with SIPLINE_UDP=dgram: UDP then runs on node:dgram.
 */
export const nativeUdp: NativeUdpBinding | undefined = loadNativeUdp();

function loadNativeUdp(): NativeUdpBinding | undefined {
  if (process.env.SIPLINE_UDP === 'dgram' || process.platform !== 'linux') return undefined;
  // build/ is at the package root, above src/, dist/ or dist-bench/src/
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 4; up++) {
    const file = join(dir, 'build', 'Release', 'sipline_udp.node');
    if (existsSync(file)) {
      try {
        return createRequire(import.meta.url)(file) as NativeUdpBinding;
      } catch {
        return undefined;
      }
    }
    dir = dirname(dir);
  }
  return undefined;
}
