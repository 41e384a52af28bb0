import type { IncomingMessage } from 'node:http';
import type { WebSocket, RawData } from 'ws';
import { parseMessage, SipParseError, type FramedItem } from '../sip/index.ts';
import type { Connection } from './connection.ts';
import type { Destination, Flow } from './flow.ts';
import { normalizeAddress, type StreamEvents, type StreamLimits } from './stream-connection.ts';

/**
 * One WebSocket carrying SIP (RFC 7118): every text or binary message holds exactly one SIP
 * message (§3), so there is no Content-Length framing; a message is parsed like a datagram
 * (Content-Length optional, octets beyond it discarded). A client cannot be connected to, so this
 * connection is the only way to reach it (§5): it stays filed under its source address and port.
 */
export class WebSocketConnection implements Connection {
  readonly flow: Flow;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly aliases: Destination[] = [];
  readonly trustedPeer: string | undefined;
  readonly localAddress: string;
  readonly localPort: number;
  private readonly maxHeaders: number;
  private closed = false;
  private finished = false;

  constructor(
    readonly protocol: 'ws' | 'wss',
    private readonly socket: WebSocket,
    request: IncomingMessage,
    limits: StreamLimits,
    private readonly events: StreamEvents,
    trustedPeer?: string,
  ) {
    this.remoteAddress = normalizeAddress(request.socket.remoteAddress ?? '');
    this.remotePort = request.socket.remotePort ?? 0;
    this.localAddress = normalizeAddress(request.socket.localAddress ?? '');
    this.localPort = request.socket.localPort ?? 0;
    this.trustedPeer = trustedPeer;
    this.flow = { protocol, address: this.remoteAddress, port: this.remotePort, connection: this };
    this.maxHeaders = limits.maxHeaders;
    // any traffic, WebSocket pings included, keeps the underlying socket from timing out
    request.socket.setTimeout(limits.idleTimeoutMs, () => this.close());
    request.socket.setNoDelay(true);
    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    socket.on('error', () => this.close());
    socket.on('close', () => this.finish());
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  send(data: Buffer): boolean {
    if (this.closed) return false;
    // SIP messages go as text frames when they are UTF-8 (RFC 7118 §3.2 allows both; browsers prefer text)
    this.socket.send(data, { binary: false });
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.terminate();
    this.finish();
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    void isBinary;
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (isKeepAlive(bytes)) {
      // RFC 5626 §4.4.1 over a message transport: a double CRLF ping gets a CRLF pong
      if (bytes.length === 4) this.send(CRLF);
      return;
    }
    let item: FramedItem;
    try {
      item = { kind: 'message', message: parseMessage(bytes, { datagram: true, maxHeaders: this.maxHeaders }), bytes };
    } catch (err) {
      if (!(err instanceof SipParseError)) throw err;
      item = { kind: 'invalid', error: err, bytes };
    }
    this.events.onItem(item, this.flow);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.closed = true;
    this.events.onClose(this);
  }
}

const CRLF = Buffer.from('\r\n');

function isKeepAlive(bytes: Buffer): boolean {
  if (bytes.length !== 2 && bytes.length !== 4) return false;
  for (const b of bytes) if (b !== 13 && b !== 10) return false;
  return true;
}
