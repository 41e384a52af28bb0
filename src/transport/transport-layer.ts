import net from 'node:net';
import os from 'node:os';
import { Counters, silentLogger, type Logger } from '../shared/index.ts';
import {
  createResponse,
  parseMessage,
  SipMessageError,
  SipParseError,
  validateMessage,
  Via,
  Parameters,
  type AnyMessage,
  type FramedItem,
  type SipRequest,
  type SipResponse,
} from '../sip/index.ts';
import { ConnectionTable } from './connection-table.ts';
import { addressFamily, destinationKey, type Destination, type Flow, type TransportProtocol } from './flow.ts';
import { responseDestination } from './response-routing.ts';
import { normalizeAddress, StreamConnection, type StreamLimits } from './stream-connection.ts';
import { TcpListener } from './tcp-listener.ts';
import { UdpListener } from './udp-listener.ts';

export interface ListenSpec {
  protocol: TransportProtocol;
  host: string;
  port: number;
}

export interface TransportOptions {
  listen: ListenSpec[];
  /** Host written into Via/Contact when a listener is bound to a wildcard address. */
  advertisedHost?: string;
  maxMessageSize?: number;
  maxHeaders?: number;
  tcpIdleTimeoutMs?: number;
  tcpConnectTimeoutMs?: number;
  udpReceiveBufferSize?: number;
  /** Path MTU; requests within 200 octets of it go over TCP (RFC 3261 §18.1.1). */
  mtu?: number;
  counters?: Counters;
  logger?: Logger;
}

export type InboundHandler = (message: AnyMessage, flow: Flow) => void;
export type SendErrorHandler = (error: Error) => void;

/** A listener as announced to users (and to Via/Contact). */
export interface ListenerInfo {
  protocol: TransportProtocol;
  host: string;
  port: number;
  advertisedHost: string;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/**
 * Bytes in, messages out: owns the listeners and the stream connections, parses and validates
 * what arrives, stamps received/rport on requests (RFC 3261 §18.2.1, RFC 3581), drops responses
 * not addressed to us (§18.1.2), answers malformed requests with 400 where it can, and sends
 * requests (switching to TCP for large ones, §18.1.1) and responses (§18.2.2).
 */
export class TransportLayer {
  onMessage: InboundHandler = () => {};
  readonly counters: Counters;
  private readonly logger: Logger;
  private readonly udp: UdpListener[] = [];
  private readonly tcp: TcpListener[] = [];
  private readonly connections = new ConnectionTable();
  private readonly streamLimits: StreamLimits;
  private readonly maxHeaders: number;
  private readonly sizeThreshold: number;
  private readonly localSentBy = new Set<string>();

  constructor(private readonly options: TransportOptions) {
    this.counters = options.counters ?? new Counters();
    this.logger = options.logger ?? silentLogger;
    this.maxHeaders = options.maxHeaders ?? 256;
    this.streamLimits = {
      maxMessageSize: options.maxMessageSize ?? 65535,
      maxHeaders: this.maxHeaders,
      idleTimeoutMs: options.tcpIdleTimeoutMs ?? 120_000,
    };
    this.sizeThreshold = (options.mtu ?? 1500) - 200;
  }

  async start(): Promise<void> {
    const onError = (err: Error) => {
      this.counters.increment('transport.socket_errors');
      this.logger.warn({ err: err.message }, 'socket error');
    };
    for (const spec of this.options.listen) {
      if (spec.protocol === 'udp') {
        const l = new UdpListener(
          // 256 KB (the kernel reports twice that), as Kamailio asks for: absorbs bursts of a few ms
          { host: spec.host, port: spec.port, receiveBufferSize: this.options.udpReceiveBufferSize ?? 262_144 },
          (data, flow) => this.receiveDatagram(data, flow),
          onError,
        );
        await l.listen();
        this.udp.push(l);
      } else {
        const l = new TcpListener({ host: spec.host, port: spec.port }, (socket) => this.acceptSocket(socket), onError);
        await l.listen();
        this.tcp.push(l);
      }
    }
    for (const info of this.listeners()) {
      this.localSentBy.add(sentByKey(info.advertisedHost, info.port));
      this.localSentBy.add(sentByKey(info.host, info.port));
    }
  }

  async stop(): Promise<void> {
    for (const c of this.connections.all()) c.close();
    await Promise.all([...this.udp.map((l) => l.close()), ...this.tcp.map((l) => l.close())]);
    this.udp.length = 0;
    this.tcp.length = 0;
  }

  listeners(): ListenerInfo[] {
    return [...this.udp, ...this.tcp].map((l) => ({
      protocol: l.protocol,
      host: l.host,
      port: l.port,
      advertisedHost: this.advertise(l.host),
    }));
  }

  /** Number of open stream connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** The sent-by (host, port) to put in a Via for requests sent over `protocol` to `family`. */
  sentBy(protocol: TransportProtocol, family: 4 | 6 = 4): { host: string; port: number } {
    const l = this.pickListener(protocol, family);
    if (l === undefined) throw new Error(`no ${protocol} listener for IPv${family}`);
    return { host: this.advertise(l.host), port: l.port };
  }

  /** Whether a Via sent-by names this server (RFC 3261 §18.1.2). */
  isLocalSentBy(host: string, port: number | null): boolean {
    return this.localSentBy.has(sentByKey(host, port ?? 5060));
  }

  /**
   * Sends a request: pushes a Via with this branch and our sent-by (and rport, RFC 3581 §3),
   * switches to TCP when the message is too large for UDP (RFC 3261 §18.1.1), and returns the
   * flow actually used so the transaction knows whether to retransmit.
   */
  sendRequest(request: SipRequest, target: Destination, branch: string, onError?: SendErrorHandler): Flow {
    const family = addressFamily(target.address);
    let protocol = target.protocol;
    let bytes = this.withVia(request, protocol, family, branch);
    if (protocol === 'udp' && bytes.length > this.sizeThreshold && this.pickListener('tcp', family) !== undefined) {
      protocol = 'tcp';
      request.popVia();
      bytes = this.withVia(request, protocol, family, branch);
    }
    return this.sendBytes(bytes, { protocol, address: target.address, port: target.port }, onError);
  }

  /** Sends an already complete message (retransmissions, ACK for non-2xx, stateless forwarding). */
  sendBytes(bytes: Buffer, destination: Destination | Flow, onError?: SendErrorHandler): Flow {
    if (destination.protocol === 'udp') {
      const flow = destination as Flow;
      const listener = flow.udp ?? this.pickListener('udp', addressFamily(destination.address));
      if (listener === undefined) {
        onError?.(new Error(`no UDP listener for ${destination.address}`));
        return { protocol: 'udp', address: destination.address, port: destination.port };
      }
      (listener as UdpListener).send(bytes, destination.port, destination.address);
      this.counters.increment('transport.udp.sent');
      return flow.udp === listener ? flow : { protocol: 'udp', address: destination.address, port: destination.port, udp: listener as UdpListener };
    }
    let connection = (destination as Flow).connection;
    if (connection === undefined || !connection.isOpen) connection = this.connections.get(destination) ?? this.connect(destination, onError);
    connection.send(bytes);
    this.counters.increment('transport.tcp.sent');
    return connection.flow;
  }

  /** Sends a response along the flow of its request, or where RFC 3261 §18.2.2 says when that flow is gone. */
  sendResponse(response: SipResponse, flow: Flow | undefined, onError?: SendErrorHandler): Flow | Destination | undefined {
    let route: Flow | Destination;
    try {
      route = this.routeResponse(response, flow);
    } catch (err) {
      onError?.(err as Error);
      return undefined;
    }
    this.sendBytes(response.toBuffer(), route, onError);
    return route;
  }

  /**
   * Where a response goes (RFC 3261 §18.2.2): the request's connection while it is open, else
   * the address from the top Via (received/rport), from the UDP socket the request came in on.
   * Throws when the Via cannot be read.
   */
  routeResponse(response: SipResponse, flow: Flow | undefined): Flow | Destination {
    if (flow?.connection !== undefined && flow.connection.isOpen) return flow;
    const destination = responseDestination(response.via);
    if (flow?.protocol === 'udp' && destination.protocol === 'udp') return { ...destination, udp: flow.udp };
    return destination;
  }

  // ---- inbound --------------------------------------------------------------------------

  private receiveDatagram(data: Buffer, flow: Flow): void {
    this.counters.increment('transport.udp.received');
    if (data.length <= 4 && isAllCrLf(data)) return; // a keep-alive, RFC 5626 §4.4.1 (UDP uses STUN, but CRLF is common)
    let message: AnyMessage;
    try {
      message = parseMessage(data, { datagram: true, maxHeaders: this.maxHeaders });
      validateMessage(message);
    } catch (err) {
      this.rejectInbound(err, flow);
      return;
    }
    this.accept(message, flow);
  }

  private receiveFramed(item: FramedItem, flow: Flow): void {
    this.counters.increment('transport.tcp.received');
    if (item.kind === 'invalid') {
      this.rejectInbound(item.error, flow);
      return;
    }
    if (item.kind !== 'message') return;
    try {
      validateMessage(item.message);
    } catch (err) {
      this.rejectInbound(err, flow);
      return;
    }
    this.accept(item.message, flow);
  }

  private accept(message: AnyMessage, flow: Flow): void {
    if (message.isRequest) {
      stampReceived(message, flow);
    } else {
      const via = message.via;
      if (!this.isLocalSentBy(via.host, via.port)) {
        // RFC 3261 §18.1.2: a response whose top Via is not ours is silently discarded
        this.counters.increment('transport.responses_not_for_us');
        return;
      }
    }
    try {
      this.onMessage(message, flow);
    } catch (err) {
      this.counters.increment('transport.handler_errors');
      this.logger.error({ err: (err as Error).stack, callId: safeCallId(message) }, 'inbound handler failed');
    }
  }

  /** A malformed request gets 400 (505 for another SIP version) when a response can be formed; anything else is dropped and counted. */
  private rejectInbound(err: unknown, flow: Flow): void {
    if (!(err instanceof SipParseError)) {
      this.counters.increment('transport.internal_errors');
      this.logger.error({ err: (err as Error)?.stack }, 'unexpected error while parsing');
      return;
    }
    this.counters.increment('sip.parse_errors');
    this.counters.increment(`sip.parse_errors.${err.reason}`);
    if (!(err instanceof SipMessageError) || !err.partial.isRequest || err.partial.method === 'ACK') {
      this.counters.increment('sip.dropped');
      return;
    }
    const request = err.partial;
    if (!request.has('via') || !request.has('call-id') || !request.has('cseq') || !request.has('from') || !request.has('to')) {
      this.counters.increment('sip.dropped');
      return;
    }
    try {
      // RFC 3581 §4 applies to every request received, so the 400 echoes received/rport too
      stampReceived(request, flow);
    } catch {
      // a top Via that does not parse is echoed as it came
    }
    try {
      const response = createResponse(request, err.statusCode, {
        headers: [['Warning', `399 sipline "${err.detail.replace(/["\\]/g, '')}"`]],
      });
      const bytes = response.toBuffer();
      this.sendBytes(bytes, flow);
      this.counters.increment('sip.bad_requests_answered');
    } catch {
      this.counters.increment('sip.dropped');
    }
  }

  // ---- streams --------------------------------------------------------------------------

  private acceptSocket(socket: net.Socket): void {
    const connection = new StreamConnection(socket, undefined, this.streamLimits, this.streamEvents);
    this.counters.increment('transport.tcp.accepted');
    this.connections.add(connection.flow, connection);
  }

  private connect(destination: Destination, onError?: SendErrorHandler): StreamConnection {
    const family = addressFamily(destination.address);
    const listener = this.pickListener('tcp', family);
    const localAddress = listener !== undefined && !WILDCARDS.has(listener.host) ? listener.host : undefined;
    const socket = net.connect({ host: destination.address, port: destination.port, localAddress });
    const target: Destination = { protocol: 'tcp', address: normalizeAddress(destination.address), port: destination.port };
    const connection = new StreamConnection(socket, target, this.streamLimits, this.streamEvents);
    const connectTimeout = setTimeout(() => {
      socket.destroy(new Error(`connect to ${destinationKey(target)} timed out`));
    }, this.options.tcpConnectTimeoutMs ?? 10_000);
    socket.once('connect', () => clearTimeout(connectTimeout));
    socket.once('error', (err) => {
      clearTimeout(connectTimeout);
      this.counters.increment('transport.tcp.connect_errors');
      onError?.(err);
    });
    connection.aliases.push(target);
    this.connections.add(target, connection);
    this.counters.increment('transport.tcp.connected');
    return connection;
  }

  private readonly streamEvents = {
    onItem: (item: FramedItem, flow: Flow) => this.receiveFramed(item, flow),
    onFramingError: (error: SipParseError, flow: Flow) => {
      this.counters.increment('transport.tcp.broken_streams');
      this.logger.info({ peer: destinationKey(flow), err: error.message }, 'closing a stream that cannot be framed');
    },
    onClose: (connection: StreamConnection) => this.connections.remove(connection),
  };

  // ---- helpers --------------------------------------------------------------------------

  private withVia(request: SipRequest, protocol: TransportProtocol, family: 4 | 6, branch: string): Buffer {
    const { host, port } = this.sentBy(protocol, family);
    const params = new Parameters().set('branch', branch).set('rport');
    request.pushVia(new Via(protocol.toUpperCase(), host, port, params));
    return request.toBuffer();
  }

  private pickListener(protocol: TransportProtocol, family: 4 | 6): UdpListener | TcpListener | undefined {
    const list = protocol === 'udp' ? this.udp : this.tcp;
    return list.find((l) => l.family === family) ?? list[0];
  }

  private advertise(host: string): string {
    if (!WILDCARDS.has(host)) return host;
    if (this.options.advertisedHost) return this.options.advertisedHost;
    const v6 = host === '::';
    for (const addresses of Object.values(os.networkInterfaces())) {
      for (const a of addresses ?? []) if (!a.internal && (a.family === 'IPv6') === v6) return a.address;
    }
    return v6 ? '::1' : '127.0.0.1';
  }
}

function sentByKey(host: string, port: number | null): string {
  return `${host.toLowerCase()}:${port ?? 5060}`;
}

function isAllCrLf(data: Buffer): boolean {
  for (const b of data) if (b !== 13 && b !== 10) return false;
  return true;
}

/**
 * RFC 3261 §18.2.1: add received when the sent-by host differs from the source address;
 * RFC 3581 §4: fill in an empty rport with the source port (and always add received then).
 */
function stampReceived(request: SipRequest, flow: Flow): void {
  const via = request.via;
  const wantsRport = via.params.get('rport') === null;
  if (!wantsRport && via.host.toLowerCase() === flow.address.toLowerCase()) return;
  const stamped = via.clone();
  stamped.params.set('received', flow.address);
  if (wantsRport) stamped.params.set('rport', String(flow.port));
  request.replaceTopVia(stamped);
}

function safeCallId(message: AnyMessage): string | undefined {
  try {
    return message.callId;
  } catch {
    return undefined;
  }
}
