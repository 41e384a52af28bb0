import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';
import type { WebSocket } from 'ws';
import { Counters, silentLogger, type CounterCell, type Logger } from '../shared/index.ts';
import {
  createResponse,
  parseMessage,
  SipMessageError,
  SipParseError,
  validateMessage,
  Via,
  type AnyMessage,
  type FramedItem,
  type SipRequest,
  type SipResponse,
} from '../sip/index.ts';
import type { Connection } from './connection.ts';
import { ConnectionTable } from './connection-table.ts';
import { addressFamily, destinationKey, type Destination, type Flow, type TransportProtocol } from './flow.ts';
import { responseDestination } from './response-routing.ts';
import type { SourceGuard } from './source-guard.ts';
import { normalizeAddress, StreamConnection, type StreamLimits } from './stream-connection.ts';
import { RemoteStreamListener } from './remote-stream-listener.ts';
import { StreamListener } from './stream-listener.ts';
import { checkClient, secureContextOptions, SniCertificates, tlsClientOptions, tlsServerOptions, type TlsSettings } from './tls-settings.ts';
import { UdpListener } from './udp-listener.ts';
import { WebSocketConnection } from './websocket-connection.ts';
import { acceptWebSockets } from './websocket-upgrade.ts';

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
  /** Most Via values a request may carry (default 70, as many hops as Max-Forwards allows); more get 400. */
  maxVias?: number;
  /** Most stream connections (TCP, TLS, WS, WSS) open from one source address; more are refused at accept. */
  maxConnectionsPerSource?: number;
  /** A stream message must be complete this long after its first octet, or the connection is closed (slowloris). */
  messageTimeoutMs?: number;
  /** Flood protection, asked about each source before its bytes are parsed. */
  sourceGuard?: SourceGuard;
  tcpIdleTimeoutMs?: number;
  tcpConnectTimeoutMs?: number;
  udpReceiveBufferSize?: number;
  /** UDP sockets of this process alone, never shared through a cluster primary (UdpListenerOptions.exclusive). */
  exclusiveUdp?: boolean;
  /** Path MTU; requests within 200 octets of it go over TCP (RFC 3261 §18.1.1). */
  mtu?: number;
  /** Certificates and verification for `tls` and `wss` listeners and outgoing TLS connections. */
  tls?: TlsSettings;
  counters?: Counters;
  logger?: Logger;
  /**
   * Drop what arrives until release() (a server that is still being wired has no one to answer:
   * a request dropped is retransmitted, one answered 500 fails). Datagrams are still handed to
   * other workers meanwhile.
   */
  startHeld?: boolean;
  /** Worker mode: how this process shares datagrams and stream connections with the other workers. */
  workers?: WorkerHooks;
}

/**
 * What the transport asks of worker mode (src/cluster): every worker reads the shared UDP
 * sockets, and a datagram that belongs to another worker is handed over before it is parsed;
 * the stream listeners live in the home worker only, and the others hand it what they send
 * over a stream.
 */
export interface WorkerHooks {
  /** Asked for each datagram before parsing: true when another worker takes it (`listener`: the index of the UDP listener). */
  handOver(data: Buffer, listener: number, flow: Flow): boolean;
  /** The stream listeners another worker holds for this server (with their bound ports): this process listens on none of them. */
  remoteStreams?: ListenSpec[];
  /** Sends over a stream connection of the worker that holds them. */
  sendOnStream?(bytes: Buffer, destination: Destination): void;
  /** Asked for each response read from a stream connection: true when another worker's transaction takes it. */
  handOverResponse?(response: SipResponse, flow: Flow): boolean;
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
  /** transport.udp.received / .sent: counted per datagram, so held rather than looked up */
  private readonly udpReceived: CounterCell;
  private readonly udpSent: CounterCell;
  private readonly logger: Logger;
  /** TLS settings: certificates for the tls/wss listeners and for connections we open (reloadTls replaces them). */
  private tls: TlsSettings | undefined;
  /** The tls/wss servers, whose certificates reloadTls() replaces, and their per-domain certificates. */
  private readonly secureServers: tls.Server[] = [];
  private readonly sni = new SniCertificates();
  private readonly udp: UdpListener[] = [];
  /** TCP, TLS, WS and WSS listeners. */
  private readonly streams: Array<StreamListener | RemoteStreamListener> = [];
  private readonly connections = new ConnectionTable();
  private readonly streamLimits: StreamLimits;
  private readonly maxHeaders: number;
  private readonly maxVias: number;
  private readonly maxConnectionsPerSource: number;
  /** Open inbound stream connections by source address (for maxConnectionsPerSource). */
  private readonly connectionsBySource = new Map<string, number>();
  private readonly guard: SourceGuard | undefined;
  private readonly sizeThreshold: number;
  /** Our sent-by values: the ports we listen on, by lower-case host (no key string per message). */
  private readonly localSentBy = new Map<string, Set<number>>();
  private readonly streamHolder: ((bytes: Buffer, destination: Destination) => void) | undefined;
  private held: boolean;
  /**
   * What every sent request needs, worked out once when the listeners are bound: the listener
   * per transport and address family, and the start of our Via for it (`SIP/2.0/UDP host:port;branch=`).
   * The listeners never change while the layer runs, and looking them up (and the interfaces
   * of a wildcard address) per message cost more than the rest of adding a Via.
   */
  private readonly outbound = new Map<TransportProtocol, [OutboundSide | undefined, OutboundSide | undefined]>();

  constructor(private readonly options: TransportOptions) {
    this.counters = options.counters ?? new Counters();
    this.tls = options.tls;
    this.udpReceived = this.counters.cell('transport.udp.received');
    this.udpSent = this.counters.cell('transport.udp.sent');
    this.logger = options.logger ?? silentLogger;
    this.maxHeaders = options.maxHeaders ?? 256;
    this.maxVias = options.maxVias ?? 70;
    this.maxConnectionsPerSource = options.maxConnectionsPerSource ?? 100;
    this.guard = options.sourceGuard;
    this.streamLimits = {
      maxMessageSize: options.maxMessageSize ?? 65535,
      maxHeaders: this.maxHeaders,
      idleTimeoutMs: options.tcpIdleTimeoutMs ?? 120_000,
      messageTimeoutMs: options.messageTimeoutMs ?? 10_000,
    };
    this.sizeThreshold = (options.mtu ?? 1500) - 200;
    this.held = options.startHeld ?? false;
    this.streamHolder = options.workers?.remoteStreams !== undefined ? options.workers.sendOnStream : undefined;
  }

  async start(): Promise<void> {
    const onError = (err: Error) => {
      this.counters.increment('transport.socket_errors');
      this.logger.warn({ err: err.message }, 'socket error');
    };
    const remoteStreams = this.options.workers?.remoteStreams;
    for (const spec of this.options.listen) {
      if (spec.protocol === 'udp') {
        const index = this.udp.length;
        const l = new UdpListener(
          // 256 KB (the kernel reports twice that), as Kamailio asks for: absorbs bursts of a few ms
          { host: spec.host, port: spec.port, receiveBufferSize: this.options.udpReceiveBufferSize ?? 262_144, exclusive: this.options.exclusiveUdp },
          (data, flow) => this.receiveDatagram(data, flow, index),
          onError,
        );
        await l.listen();
        this.udp.push(l);
      } else if (remoteStreams !== undefined) {
        continue;
      } else {
        const l = new StreamListener(spec.protocol, { host: spec.host, port: spec.port }, this.guardConnections(this.createServer(spec.protocol)), onError);
        await l.listen();
        this.streams.push(l);
      }
    }
    for (const spec of remoteStreams ?? []) {
      if (spec.protocol !== 'udp') this.streams.push(new RemoteStreamListener(spec.protocol, spec.host, spec.port));
    }
    for (const info of this.listeners()) {
      for (const host of [info.advertisedHost.toLowerCase(), info.host.toLowerCase()]) {
        let ports = this.localSentBy.get(host);
        if (ports === undefined) this.localSentBy.set(host, (ports = new Set()));
        ports.add(info.port);
      }
    }
    this.outbound.clear();
  }

  /**
   * New certificates (after `sipline start` got SIGHUP): the tls and wss listeners present them,
   * the per-domain ones included, to every connection accepted from now on, and connections we
   * open verify against the new CA; open connections keep theirs. Whether and how client
   * certificates are asked for stays as the listeners were started with.
   */
  reloadTls(settings: TlsSettings): void {
    // a bad key or certificate throws here, before anything was replaced
    const context = secureContextOptions(settings);
    tls.createSecureContext(context);
    this.sni.load(settings);
    for (const server of this.secureServers) server.setSecureContext(context);
    this.tls = settings;
  }

  /** Messages are handled from now on (see startHeld). */
  release(): void {
    this.held = false;
  }

  async stop(): Promise<void> {
    for (const c of this.connections.all()) c.close();
    await Promise.all([...this.udp.map((l) => l.close()), ...this.streams.map((l) => l.close())]);
    this.udp.length = 0;
    this.streams.length = 0;
    this.outbound.clear();
  }

  listeners(): ListenerInfo[] {
    return [...this.udp, ...this.streams].map((l) => ({
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
    const side = this.sendingSide(protocol, family);
    return { host: side.host, port: side.listener.port };
  }

  /** Whether a Via sent-by names this server (RFC 3261 §18.1.2). */
  isLocalSentBy(host: string, port: number | null): boolean {
    return this.localSentBy.get(host.toLowerCase())?.has(port ?? 5060) === true;
  }

  /**
   * Sends a request: pushes a Via with this branch and our sent-by (and rport, RFC 3581 §3),
   * switches to TCP when the message is too large for UDP (RFC 3261 §18.1.1), and returns the
   * flow actually used so the transaction knows whether to retransmit.
   */
  sendRequest(request: SipRequest, target: Destination, branch: string, onError?: SendErrorHandler): Flow {
    const family = addressFamily(target.address);
    let protocol = target.protocol;
    this.pushVia(request, protocol, family, branch);
    const tcpAtHand = protocol === 'udp' && this.pickListener('tcp', family) !== undefined;
    if (protocol === 'udp') {
      // unless it is too large for UDP with TCP at hand (below); a client transaction serializes
      // it again only to retransmit it
      const flow = this.sendUdpInPlace(request, target, tcpAtHand ? this.sizeThreshold : Infinity);
      if (flow !== undefined) return flow;
    }
    let bytes = request.toBuffer();
    if (tcpAtHand && bytes.length > this.sizeThreshold) {
      protocol = 'tcp';
      request.popVia();
      bytes = this.withVia(request, protocol, family, branch);
    }
    // over UDP the target itself will do (sendBytes reads protocol, address and port, and returns the shared flow)
    return this.sendBytes(bytes, protocol === 'udp' && target.protocol === 'udp' ? target : { protocol, address: target.address, port: target.port }, onError);
  }

  /** Sends an already complete message (retransmissions, ACK for non-2xx, stateless forwarding). */
  sendBytes(bytes: Buffer, destination: Destination | Flow, onError?: SendErrorHandler): Flow {
    if (destination.protocol !== 'udp' && this.streamHolder !== undefined) {
      // worker mode: the stream connections live in the home worker
      this.streamHolder(bytes, destination);
      this.counters.increment(COUNTERS[destination.protocol].sent);
      return { protocol: destination.protocol, address: destination.address, port: destination.port };
    }
    if (destination.protocol === 'udp') {
      const flow = destination as Flow;
      const listener = flow.udp ?? this.pickListener('udp', addressFamily(destination.address));
      if (listener === undefined) {
        onError?.(new Error(`no UDP listener for ${destination.address}`));
        return { protocol: 'udp', address: destination.address, port: destination.port };
      }
      (listener as UdpListener).send(bytes, destination.port, destination.address);
      this.udpSent.value++;
      return flow.udp === listener ? flow : (listener as UdpListener).flowTo(destination.address, destination.port);
    }
    let connection = (destination as Flow).connection;
    if (connection === undefined || !connection.isOpen) connection = this.connections.get(destination) ?? this.connect(destination, onError);
    if (connection === undefined) return destination;
    connection.send(bytes);
    this.counters.increment(COUNTERS[destination.protocol].sent);
    return connection.flow;
  }

  /**
   * Over UDP, a message written straight into its listener's batched send area
   * (SipMessage.writeInto: no Buffer of its own, one copy fewer): the flow it took, or undefined
   * when it was not sent so (node:dgram, no listener, longer than `maxLength`): send its bytes then.
   */
  private sendUdpInPlace(message: SipRequest | SipResponse, destination: Destination | Flow, maxLength = Infinity): Flow | undefined {
    const flow = destination as Flow;
    const listener = (flow.udp ?? this.pickListener('udp', addressFamily(destination.address))) as UdpListener | undefined;
    if (listener === undefined || !listener.sendMessage(message, destination.port, destination.address, maxLength)) return undefined;
    this.udpSent.value++;
    return flow.udp === listener ? flow : listener.flowTo(destination.address, destination.port);
  }

  /**
   * Sends a response along the flow of its request, or where RFC 3261 §18.2.2 says when that flow
   * is gone; returns where it went. A server transaction passes back what the last call returned:
   * over UDP every response of a transaction goes where the first went (§18.2.2 reads only the
   * top Via, which the responses of one request share), so the route is worked out once.
   */
  sendResponse(response: SipResponse, flow: Flow | undefined, onError?: SendErrorHandler, knownRoute?: Flow | Destination): Flow | Destination | undefined {
    let route: Flow | Destination;
    if (knownRoute !== undefined && flow?.protocol === 'udp') route = knownRoute;
    else {
      try {
        route = this.routeResponse(response, flow);
      } catch (err) {
        onError?.(err as Error);
        return undefined;
      }
    }
    // the serializations a response is kept for (retransmission) are made by whoever keeps it
    if (route.protocol === 'udp' && this.sendUdpInPlace(response, route) !== undefined) return route;
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
    if (flow?.protocol === 'udp' && destination.protocol === 'udp') {
      return flow.udp !== undefined ? flow.udp.flowTo(destination.address, destination.port) : { protocol: 'udp', address: destination.address, port: destination.port };
    }
    return destination;
  }

  // ---- inbound --------------------------------------------------------------------------

  /** A datagram another worker received on UDP listener `listener` and handed to this one (worker mode). */
  receiveHandedOver(data: Buffer, listener: number, address: string, port: number): void {
    const udp = this.udp[listener];
    if (udp === undefined) return;
    this.counters.increment('transport.udp.handed_in');
    this.receiveDatagram(data, udp.flowTo(address, port), -1);
  }

  /** `listener`: the index of the UDP listener, or -1 for a datagram handed over by another worker. */
  private receiveDatagram(data: Buffer, flow: Flow, listener: number): void {
    this.udpReceived.value++;
    // a banned source costs one map lookup: none of its datagrams is parsed (unless to answer 503)
    if (this.guard !== undefined && this.guard.isBanned(flow.address)) {
      this.refuseBannedDatagram(data, flow);
      return;
    }
    if (listener >= 0 && this.options.workers !== undefined && this.options.workers.handOver(data, listener, flow)) {
      this.counters.increment('transport.udp.handed_out');
      return;
    }
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
    this.counters.increment(COUNTERS[flow.protocol].received);
    if (this.guard !== undefined && this.guard.isBanned(flow.address)) {
      // a stream of a banned source is closed: nothing more of it is read
      this.counters.increment('transport.banned_dropped');
      flow.connection?.close();
      return;
    }
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
    // worker mode: a response on a stream answers a request that any worker may have sent
    // (the others send over this worker's connections): it goes to that worker's transaction
    const workers = this.options.workers;
    if (workers?.handOverResponse !== undefined && !item.message.isRequest && workers.handOverResponse(item.message, flow)) {
      this.counters.increment('transport.stream_responses_handed_out');
      return;
    }
    this.accept(item.message, flow);
  }

  /** A response another worker received over one of its stream connections, for a transaction of this one (worker mode). */
  receiveHandedOverResponse(data: Buffer, destination: Destination): void {
    this.counters.increment('transport.stream_responses_handed_in');
    const message = this.parseQuietly(data);
    if (message === null) {
      this.counters.increment('sip.dropped');
      return;
    }
    this.accept(message, { protocol: destination.protocol, address: destination.address, port: destination.port });
  }

  /** A whole message parsed and validated, or null when it is not one (for paths that answer nothing to bad bytes). */
  private parseQuietly(data: Buffer): AnyMessage | null {
    try {
      const message = parseMessage(data, { datagram: true, maxHeaders: this.maxHeaders });
      validateMessage(message);
      return message;
    } catch {
      return null;
    }
  }

  private accept(message: AnyMessage, flow: Flow): void {
    if (this.held) {
      this.counters.increment('transport.held_dropped');
      return;
    }
    if (message.isRequest) {
      // Flood protection counts requests, not responses: a response answers a request of ours, so
      // its rate is bounded by what we send, and a busy peer relaying many answers (a gateway, a
      // callee's phone) must not be banned for them. What cannot be an answer to us (a response
      // to someone else's Via, bytes that do not parse) counts like a request.
      if (this.guard !== undefined && !this.guard.admit(flow.address)) {
        this.refuseBanned(message, flow);
        return;
      }
      // validateMessage parsed every Via already: counting them costs nothing more
      if (message.vias.length > this.maxVias) {
        this.counters.increment('transport.too_many_vias');
        this.rejectInbound(new SipMessageError('too-many-headers', `more than ${this.maxVias} Via values`, message), flow, false);
        return;
      }
      stampReceived(message, flow);
    } else {
      const via = message.via;
      if (!this.isLocalSentBy(via.host, via.port)) {
        // RFC 3261 §18.1.2: a response whose top Via is not ours is silently discarded
        this.counters.increment('transport.responses_not_for_us');
        this.guard?.admit(flow.address);
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
  private rejectInbound(err: unknown, flow: Flow, count = true): void {
    if (count && this.guard !== undefined && !this.guard.admit(flow.address)) {
      this.counters.increment('transport.banned_dropped');
      return;
    }
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

  /** A datagram of a banned source: dropped, or (security.flood.action: 503) parsed to answer 503. */
  private refuseBannedDatagram(data: Buffer, flow: Flow): void {
    if (this.guard?.banAction !== '503') {
      this.counters.increment('transport.banned_dropped');
      return;
    }
    const message = this.parseQuietly(data);
    if (message === null) {
      this.counters.increment('transport.banned_dropped');
      return;
    }
    this.refuseBanned(message, flow);
  }

  /** A request of a banned source: nothing, or a stateless 503 with Retry-After set to the rest of the ban. */
  private refuseBanned(message: AnyMessage, flow: Flow): void {
    if (this.guard?.banAction !== '503' || !message.isRequest || message.method === 'ACK') {
      this.counters.increment('transport.banned_dropped');
      return;
    }
    try {
      stampReceived(message, flow);
      const response = createResponse(message, 503, { headers: [['Retry-After', String(this.guard.banRemainingSec(flow.address))]] });
      this.sendBytes(response.toBuffer(), flow);
      this.counters.increment('transport.banned_answered');
    } catch {
      this.counters.increment('transport.banned_dropped');
    }
  }

  // ---- streams --------------------------------------------------------------------------

  /**
   * Bans and the per-source connection limit for a stream listener, checked on the raw TCP
   * accept of every kind of server (net, tls, http, https emit 'connection' first), before a TLS
   * or WebSocket handshake costs anything: such a connection is closed at once. Trusted peers are
   * exempt from the limit.
   */
  private guardConnections(server: net.Server): net.Server {
    server.prependListener('connection', (socket: net.Socket) => {
      const address = normalizeAddress(socket.remoteAddress ?? '');
      if (this.guard !== undefined && this.guard.isBanned(address)) {
        this.counters.increment('transport.banned_dropped');
        socket.destroy();
        return;
      }
      const open = this.connectionsBySource.get(address) ?? 0;
      if (open >= this.maxConnectionsPerSource && !(this.guard?.isTrusted(address) ?? false)) {
        this.counters.increment('transport.connections_refused');
        socket.destroy();
        return;
      }
      this.connectionsBySource.set(address, open + 1);
      socket.once('close', () => {
        const left = (this.connectionsBySource.get(address) ?? 1) - 1;
        if (left <= 0) this.connectionsBySource.delete(address);
        else this.connectionsBySource.set(address, left);
      });
    });
    return server;
  }

  /** The server that accepts connections of a listener: net for TCP, tls for TLS, http(s) with a WebSocket upgrade for WS/WSS. */
  private createServer(protocol: Exclude<TransportProtocol, 'udp'>): net.Server {
    if (protocol === 'tcp') return net.createServer((socket) => this.acceptSocket('tcp', socket));
    const settings = this.tls;
    if ((protocol === 'tls' || protocol === 'wss') && settings === undefined) {
      throw new Error(`a ${protocol} listener needs a certificate and a private key (tls.certificate, tls.private_key)`);
    }
    const tlsOptions = settings === undefined ? {} : tlsServerOptions(settings, this.sni);
    if (protocol === 'tls') {
      const server = tls.createServer(tlsOptions, (socket) => this.acceptTlsSocket(socket));
      server.on('tlsClientError', (err) => this.refuseTls(err.message));
      this.secureServers.push(server);
      return server;
    }
    const server = protocol === 'ws' ? http.createServer() : https.createServer(tlsOptions);
    if (protocol === 'wss') {
      server.on('tlsClientError', (err) => this.refuseTls(err.message));
      this.secureServers.push(server as https.Server);
    }
    // the handshake must complete as fast as a TLS one; after it, the WebSocket's idle timeout applies
    server.headersTimeout = settings?.handshakeTimeoutMs ?? 10_000;
    server.requestTimeout = settings?.handshakeTimeoutMs ?? 10_000;
    acceptWebSockets(
      server,
      this.streamLimits.maxMessageSize,
      (socket, request) => this.acceptWebSocket(protocol, socket, request),
      (why, request) => {
        this.counters.increment(COUNTERS[protocol].refused);
        this.logger.info({ peer: `${protocol}:${normalizeAddress(request.socket.remoteAddress ?? '')}:${request.socket.remotePort}`, why }, 'WebSocket handshake refused');
      },
    );
    return server;
  }

  private acceptSocket(protocol: 'tcp' | 'tls', socket: net.Socket, trustedPeer?: string): void {
    if (socket.destroyed) return; // refused by guardConnections
    const connection = new StreamConnection(protocol, socket, undefined, this.streamLimits, this.streamEvents);
    connection.trustedPeer = trustedPeer;
    this.counters.increment(COUNTERS[protocol].accepted);
    this.connections.add(connection.flow, connection);
  }

  /** A TLS client whose certificate is not acceptable (mutual TLS, `tls.verify_clients`) is disconnected before any SIP. */
  private acceptTlsSocket(socket: tls.TLSSocket): void {
    const settings = this.tls as TlsSettings;
    const peer = checkClient(socket, settings);
    if (peer === null) {
      this.refuseTls(`client certificate refused (${socket.authorizationError ?? 'not a trusted peer'})`);
      socket.destroy();
      return;
    }
    this.acceptSocket('tls', socket, peer);
  }

  private acceptWebSocket(protocol: 'ws' | 'wss', socket: WebSocket, request: http.IncomingMessage): void {
    let peer: string | undefined;
    if (protocol === 'wss') {
      const checked = checkClient(request.socket as tls.TLSSocket, this.tls as TlsSettings);
      if (checked === null) {
        this.refuseTls('client certificate refused');
        socket.terminate();
        return;
      }
      peer = checked;
    }
    const connection = new WebSocketConnection(protocol, socket, request, this.streamLimits, this.streamEvents, peer);
    this.counters.increment(COUNTERS[protocol].accepted);
    this.connections.add(connection.flow, connection);
  }

  private refuseTls(why: string): void {
    this.counters.increment('transport.tls.refused');
    this.logger.info({ why }, 'TLS connection refused');
  }

  /**
   * Opens a connection for a request to a destination without one: TCP, or TLS verified as
   * `tls` says. A WebSocket client cannot be connected to (RFC 7118 §5): without its own
   * connection it is unreachable, and the sender learns it as a transport error.
   */
  private connect(destination: Destination, onError?: SendErrorHandler): Connection | undefined {
    const protocol = destination.protocol;
    if (protocol !== 'tcp' && protocol !== 'tls') {
      this.counters.increment(COUNTERS[protocol].unreachable);
      queueMicrotask(() => onError?.(new Error(`no ${protocol} connection to ${destinationKey(destination)}: a WebSocket client is reached over its own connection only`)));
      return undefined;
    }
    const family = addressFamily(destination.address);
    const listener = this.pickListener(protocol, family) ?? this.pickListener('tcp', family);
    const localAddress = listener !== undefined && !WILDCARDS.has(listener.host) ? listener.host : undefined;
    const target: Destination = { protocol, address: normalizeAddress(destination.address), port: destination.port };
    const tcp = net.connect({ host: destination.address, port: destination.port, localAddress });
    const socket = protocol === 'tls' ? tls.connect({ ...tlsClientOptions(this.tls, destination), socket: tcp }) : tcp;
    // a failed TCP connect under TLS surfaces as an error of the TLS socket
    if (socket !== tcp) tcp.on('error', (err) => socket.destroy(err));
    const connection = new StreamConnection(protocol, socket, target, this.streamLimits, this.streamEvents);
    const connectTimeout = setTimeout(() => {
      socket.destroy(new Error(`connect to ${destinationKey(target)} timed out`));
    }, this.options.tcpConnectTimeoutMs ?? 10_000);
    // a TLS connection is usable once its handshake is done (the server certificate verified)
    socket.once(protocol === 'tls' ? 'secureConnect' : 'connect', () => clearTimeout(connectTimeout));
    socket.once('error', (err) => {
      clearTimeout(connectTimeout);
      this.counters.increment(COUNTERS[protocol].connect_errors);
      onError?.(err);
    });
    connection.aliases.push(target);
    this.connections.add(target, connection);
    this.counters.increment(COUNTERS[protocol].connected);
    return connection;
  }

  private readonly streamEvents = {
    onItem: (item: FramedItem, flow: Flow) => this.receiveFramed(item, flow),
    onFramingError: (error: SipParseError, flow: Flow) => {
      this.counters.increment(COUNTERS[flow.protocol].broken_streams);
      this.logger.info({ peer: destinationKey(flow), err: error.message }, 'closing a stream that cannot be framed');
    },
    onMessageTimeout: (flow: Flow) => {
      this.counters.increment('transport.message_timeouts');
      this.logger.info({ peer: destinationKey(flow) }, 'closing a stream whose message did not complete in time');
    },
    onClose: (connection: Connection) => this.connections.remove(connection),
  };

  // ---- helpers --------------------------------------------------------------------------

  private withVia(request: SipRequest, protocol: TransportProtocol, family: 4 | 6, branch: string): Buffer {
    this.pushVia(request, protocol, family, branch);
    return request.toBuffer();
  }

  private pushVia(request: SipRequest, protocol: TransportProtocol, family: 4 | 6, branch: string): void {
    const side = this.sendingSide(protocol, family);
    // rport asks for the response at our source port (RFC 3581 §3)
    request.pushVia(side.viaStart + branch + ';rport');
  }

  private pickListener(protocol: TransportProtocol, family: 4 | 6): Listener | undefined {
    return this.outboundSide(protocol, family).listener;
  }

  private outboundSide(protocol: TransportProtocol, family: 4 | 6): OutboundSide {
    let sides = this.outbound.get(protocol);
    if (sides === undefined) this.outbound.set(protocol, (sides = [undefined, undefined]));
    const index = family === 6 ? 1 : 0;
    let side = sides[index];
    if (side === undefined) {
      const listener = this.findListener(protocol, family);
      const host = listener === undefined ? '' : this.advertise(listener.host);
      const viaStart = listener === undefined ? '' : new Via(protocol.toUpperCase(), host, listener.port).toString() + ';branch=';
      sides[index] = side = { listener, host, viaStart };
    }
    return side;
  }

  /** The side a request leaves by; throws when no listener can send over that transport. */
  private sendingSide(protocol: TransportProtocol, family: 4 | 6): OutboundSide & { listener: Listener } {
    const side = this.outboundSide(protocol, family);
    if (side.listener === undefined) throw new Error(`no ${protocol} listener for IPv${family}`);
    return side as OutboundSide & { listener: Listener };
  }

  private findListener(protocol: TransportProtocol, family: 4 | 6): Listener | undefined {
    if (protocol === 'udp') return this.udp.find((l) => l.family === family) ?? this.udp[0];
    let any: StreamListener | RemoteStreamListener | undefined;
    for (const l of this.streams) {
      if (l.protocol !== protocol) continue;
      if (l.family === family) return l;
      any ??= l;
    }
    return any;
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

type Listener = UdpListener | StreamListener | RemoteStreamListener;

/** The listener that sends over one transport and address family, and how our Via for it starts. */
interface OutboundSide {
  listener: Listener | undefined;
  host: string;
  viaStart: string;
}

/**
 * Counter names per transport, built once: counting on the stream paths must not build strings
 * per message. TCP keeps the names it always had.
 */
const COUNTERS = Object.fromEntries(
  (['udp', 'tcp', 'tls', 'ws', 'wss'] as const).map((p) => [
    p,
    {
      sent: `transport.${p}.sent`,
      received: `transport.${p}.received`,
      accepted: `transport.${p}.accepted`,
      connected: `transport.${p}.connected`,
      connect_errors: `transport.${p}.connect_errors`,
      broken_streams: `transport.${p}.broken_streams`,
      refused: `transport.${p}.refused`,
      unreachable: `transport.${p}.unreachable`,
    },
  ]),
) as Record<TransportProtocol, Record<'sent' | 'received' | 'accepted' | 'connected' | 'connect_errors' | 'broken_streams' | 'refused' | 'unreachable', string>>;

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
