import dgram from 'node:dgram';
import type { Destination, TransportProtocol } from '../transport/index.ts';

/**
 * The loopback channel between the workers of one server: a datagram a worker received for
 * another one is handed over here with its source, and a worker without the stream listeners
 * asks the home worker to send over a TCP, TLS or WebSocket connection. A UDP socket of its
 * own (exclusive: not shared through the cluster) per worker: a hand-over is one send, no
 * serialization, and a hand-over lost under overload is what UDP loss is to SIP anyway.
 *
 * Frame: kind (1 octet), then
 *   DATAGRAM:     listener index (1), source port (2), address length (1), address, message
 *   STREAM_SEND:  protocol (1), port (2), address length (1), address, host name length (1), host name, message
 *   STREAM_RESPONSE: as STREAM_SEND (the stream peer the response came from, no host name)
 */
const DATAGRAM = 1;
const STREAM_SEND = 2;
const STREAM_RESPONSE = 3;
const PROTOCOLS: TransportProtocol[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];

export interface WorkerLinkHandlers {
  /** A datagram another worker received on listener `listener` from address:port. */
  onDatagram(data: Buffer, listener: number, address: string, port: number): void;
  /** A message to send over a stream connection (only the home worker holds them). */
  onStreamSend(data: Buffer, destination: Destination): void;
  /** A response the home worker read from a stream peer, for a client transaction of this worker. */
  onStreamResponse(data: Buffer, source: Destination): void;
  onError(err: Error): void;
}

export class WorkerLink {
  private readonly socket: dgram.Socket;
  private peers: number[] = [];
  private boundPort = 0;

  constructor(private readonly handlers: WorkerLinkHandlers) {
    this.socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024, sendBufferSize: 4 * 1024 * 1024, lookup: loopbackLookup });
    this.socket.on('message', (frame) => this.receive(frame));
    this.socket.on('error', (err) => handlers.onError(err));
  }

  /** Binds 127.0.0.1 on a port of its own (exclusive, so the cluster does not share it). */
  open(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind({ address: '127.0.0.1', port: 0, exclusive: true }, () => {
        this.socket.off('error', reject);
        this.boundPort = this.socket.address().port;
        resolve(this.boundPort);
      });
    });
  }

  get port(): number {
    return this.boundPort;
  }

  /** The link ports of all workers, by index (0 where a worker is not up). */
  setPeers(ports: number[]): void {
    this.peers = ports;
  }

  /** Whether `worker` can be handed datagrams now. */
  reaches(worker: number): boolean {
    return (this.peers[worker] ?? 0) > 0;
  }

  forwardDatagram(worker: number, data: Buffer, listener: number, address: string, port: number): void {
    const header = Buffer.allocUnsafe(5 + address.length);
    header[0] = DATAGRAM;
    header[1] = listener;
    header.writeUInt16BE(port, 2);
    header[4] = address.length;
    header.write(address, 5, 'latin1');
    this.socket.send([header, data], this.peers[worker], '127.0.0.1');
  }

  sendOnStream(worker: number, data: Buffer, destination: Destination): void {
    this.sendStreamFrame(STREAM_SEND, worker, data, destination);
  }

  forwardStreamResponse(worker: number, data: Buffer, source: Destination): void {
    this.sendStreamFrame(STREAM_RESPONSE, worker, data, { protocol: source.protocol, address: source.address, port: source.port });
  }

  private sendStreamFrame(kind: number, worker: number, data: Buffer, destination: Destination): void {
    const address = destination.address;
    const hostName = destination.hostName ?? '';
    const header = Buffer.allocUnsafe(6 + address.length + Buffer.byteLength(hostName));
    header[0] = kind;
    header[1] = PROTOCOLS.indexOf(destination.protocol);
    header.writeUInt16BE(destination.port, 2);
    header[4] = address.length;
    header.write(address, 5, 'latin1');
    header[5 + address.length] = Buffer.byteLength(hostName);
    header.write(hostName, 6 + address.length);
    this.socket.send([header, data], this.peers[worker], '127.0.0.1');
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

  private receive(frame: Buffer): void {
    if (frame.length < 5) return;
    const kind = frame[0];
    const port = frame.readUInt16BE(2);
    const addressEnd = 5 + frame[4];
    const address = frame.toString('latin1', 5, addressEnd);
    if (kind === DATAGRAM) {
      this.handlers.onDatagram(frame.subarray(addressEnd), frame[1], address, port);
    } else if (kind === STREAM_SEND || kind === STREAM_RESPONSE) {
      const protocol = PROTOCOLS[frame[1]];
      const nameEnd = addressEnd + 1 + frame[addressEnd];
      const hostName = frame.toString('utf8', addressEnd + 1, nameEnd);
      if (protocol === undefined) return;
      if (kind === STREAM_RESPONSE) this.handlers.onStreamResponse(frame.subarray(nameEnd), { protocol, address, port });
      else this.handlers.onStreamSend(frame.subarray(nameEnd), { protocol, address, port, ...(hostName === '' ? {} : { hostName }) });
    }
  }
}

/** Every peer is 127.0.0.1: no per-send address lookup (dgram's default defers each send a tick). */
function loopbackLookup(address: string, family: unknown, callback: (err: Error | null, address: string, family: number) => void): void {
  void family;
  callback(null, address, 4);
}
