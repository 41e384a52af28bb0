import type { Socket } from 'node:net';
import { StreamFramer, type FramedItem, type SipParseError } from '../sip/index.ts';
import type { Connection } from './connection.ts';
import type { Destination, Flow } from './flow.ts';

export interface StreamLimits {
  maxMessageSize: number;
  maxHeaders: number;
  /** Close a connection with no traffic for this long. */
  idleTimeoutMs: number;
  /**
   * Close a connection whose message, once begun, is not complete within this long (slow
   * senders, "slowloris": a trickle of bytes keeps the idle timer quiet and holds a buffer).
   */
  messageTimeoutMs?: number;
}

export interface StreamEvents {
  onItem(item: FramedItem, flow: Flow): void;
  /** The stream could not be framed (no/bad Content-Length, over the size limit). */
  onFramingError(error: SipParseError, flow: Flow): void;
  onClose(connection: Connection): void;
  /** A message did not complete within the message timeout; the connection is being closed. */
  onMessageTimeout?(flow: Flow): void;
}

/**
 * One TCP or TLS connection carrying SIP (a tls.TLSSocket is a net.Socket, and TLS hands us the
 * same byte stream): frames messages by Content-Length (RFC 3261 §18.3), answers CRLF keep-alive
 * pings (RFC 5626 §4.4.1), closes itself when idle or when its framing breaks.
 */
export class StreamConnection implements Connection {
  readonly flow: Flow;
  readonly remoteAddress: string;
  readonly remotePort: number;
  private readonly framer: StreamFramer;
  private closed = false;
  private finished = false;
  private readonly messageTimeoutMs: number;
  /** Runs while a message is partly received (a timer per partial message, none on the usual whole-chunk path). */
  private messageTimer: NodeJS.Timeout | undefined;
  /** Other destinations this connection is filed under (the target an outbound connection was opened for). */
  readonly aliases: Destination[] = [];
  trustedPeer: string | undefined;

  constructor(
    readonly protocol: 'tcp' | 'tls',
    readonly socket: Socket,
    /** For an outbound connection, the target it is being opened to (not yet known by the socket). */
    readonly target: Destination | undefined,
    limits: StreamLimits,
    private readonly events: StreamEvents,
  ) {
    this.remoteAddress = target?.address ?? normalizeAddress(socket.remoteAddress ?? '');
    this.remotePort = target?.port ?? socket.remotePort ?? 0;
    this.flow = { protocol, address: this.remoteAddress, port: this.remotePort, connection: this };
    this.framer = new StreamFramer({ maxMessageSize: limits.maxMessageSize, maxHeaders: limits.maxHeaders });
    this.messageTimeoutMs = limits.messageTimeoutMs ?? 0;
    socket.setNoDelay(true);
    socket.setTimeout(limits.idleTimeoutMs, () => this.close());
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', () => this.close());
    socket.on('close', () => this.finish());
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  get localAddress(): string {
    return normalizeAddress(this.socket.localAddress ?? '');
  }

  send(data: Buffer): boolean {
    if (this.closed) return false;
    this.socket.write(data);
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.finish();
  }

  private onData(chunk: Buffer): void {
    let items: FramedItem[];
    try {
      items = this.framer.push(chunk);
    } catch (err) {
      this.events.onFramingError(err as SipParseError, this.flow);
      this.close();
      return;
    }
    // a completed message is progress: the clock starts again for the one in progress, if any
    if (this.messageTimer !== undefined && (items.length > 0 || !this.framer.inMessage)) {
      clearTimeout(this.messageTimer);
      this.messageTimer = undefined;
    }
    if (this.messageTimeoutMs > 0 && this.messageTimer === undefined && this.framer.inMessage) {
      this.messageTimer = setTimeout(() => {
        this.messageTimer = undefined;
        this.events.onMessageTimeout?.(this.flow);
        this.close();
      }, this.messageTimeoutMs);
    }
    for (const item of items) {
      if (item.kind === 'ping') this.send(CRLF);
      else if (item.kind !== 'pong') this.events.onItem(item, this.flow);
    }
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.messageTimer !== undefined) clearTimeout(this.messageTimer);
    this.closed = true;
    this.events.onClose(this);
  }
}

const CRLF = Buffer.from('\r\n');

/** "::ffff:1.2.3.4" (an IPv4 peer on a dual-stack socket) is reported as 1.2.3.4. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.indexOf('.') > 0 ? address.slice(7) : address;
}
