// A deterministic loopback for the transaction layer (like PJSIP's transport loop): a fake
// transport that records what the transactions send, a ManualClock and a hand-driven TimerWheel.
// Real-socket tests live elsewhere; here timing has to be exact to the millisecond.
import { Counters, ManualClock, TimerWheel } from '../../src/shared/index.ts';
import {
  createRequest,
  createResponse,
  parseMessage,
  Parameters,
  Via,
  type AnyMessage,
  type SipRequest,
  type SipResponse,
} from '../../src/sip/index.ts';
import {
  TransactionLayer,
  type ClientTransactionHandle,
  type ClientTransactionHandler,
  type ServerTransactionHandle,
  type TransactionUser,
} from '../../src/transaction/index.ts';
import type { Destination, Flow, InboundHandler, SendErrorHandler, TransportLayer } from '../../src/transport/index.ts';

export const T1 = 500;
export const T2 = 4000;
export const T4 = 5000;
/** Tick of the wheel used by the harness (the default: 10 ms, 1024 slots). */
export const TICK = 10;

export const LOCAL = { host: '192.0.2.1', port: 5060 };
export const PEER: Destination = { protocol: 'udp', address: '203.0.113.5', port: 5060 };
export const UDP_FLOW: Flow = { protocol: 'udp', address: '198.51.100.7', port: 5070 };
export const TCP_FLOW: Flow = { protocol: 'tcp', address: '198.51.100.7', port: 5070 };

export interface SentRecord {
  /** Clock time when the layer handed the message to the transport. */
  at: number;
  via: 'sendRequest' | 'sendBytes' | 'sendResponse';
  bytes: Buffer;
  message: AnyMessage;
  destination: Destination | undefined;
}

/**
 * Implements the three methods the transaction layer calls on TransportLayer. sendRequest pushes
 * a Via with the given branch (and rport), as the real one does; everything sent is parsed back
 * so that tests assert on the wire form.
 */
export class LoopbackTransport {
  onMessage: InboundHandler = () => {};
  readonly counters = new Counters();
  readonly sent: SentRecord[] = [];
  /** Number of messages sent, also counted when `record` is off. */
  sendCount = 0;
  /** Set to false for the scale tests: count only. */
  record = true;
  /** When set, the next send reports this error through its onError callback (synchronously). */
  failNext: Error | null = null;

  constructor(private readonly clock: ManualClock) {}

  sendRequest(request: SipRequest, target: Destination, branch: string, onError?: SendErrorHandler): Flow {
    const params = new Parameters().set('branch', branch).set('rport');
    request.pushVia(new Via(target.protocol.toUpperCase(), LOCAL.host, LOCAL.port, params));
    return this.push('sendRequest', request.toBuffer(), target, onError);
  }

  sendBytes(bytes: Buffer, destination: Destination | Flow, onError?: SendErrorHandler): Flow {
    return this.push('sendBytes', bytes, destination, onError);
  }

  sendResponse(response: SipResponse, flow: Flow | undefined, onError?: SendErrorHandler): Flow {
    return this.push('sendResponse', response.toBuffer(), flow, onError);
  }

  private push(via: SentRecord['via'], bytes: Buffer, destination: Destination | undefined, onError?: SendErrorHandler): Flow {
    this.sendCount++;
    const flow: Flow = { protocol: destination?.protocol ?? 'udp', address: destination?.address ?? '', port: destination?.port ?? 0 };
    if (this.failNext !== null) {
      const err = this.failNext;
      this.failNext = null;
      onError?.(err);
      return flow;
    }
    if (this.record) this.sent.push({ at: this.clock.now(), via, bytes, message: parseMessage(bytes), destination });
    return flow;
  }

  clear(): void {
    this.sent.length = 0;
  }
}

/** The transaction user: records everything the layer passes up. */
export class RecordingUser implements TransactionUser {
  readonly requests: Array<{ at: number; request: SipRequest; tx: ServerTransactionHandle }> = [];
  readonly acks: Array<{ at: number; ack: SipRequest; flow: Flow }> = [];
  readonly strays: SipResponse[] = [];
  readonly failures: Array<{ at: number; kind: 'timeout' | 'transport'; request: SipRequest; flow: Flow }> = [];
  /** Called for each new request, e.g. to answer it at once. */
  onNew: ((request: SipRequest, tx: ServerTransactionHandle) => void) | null = null;

  constructor(private readonly clock: ManualClock) {}

  onRequest(request: SipRequest, tx: ServerTransactionHandle): void {
    this.requests.push({ at: this.clock.now(), request, tx });
    this.onNew?.(request, tx);
  }
  onAck(ack: SipRequest, flow: Flow): void {
    this.acks.push({ at: this.clock.now(), ack, flow });
  }
  onStrayResponse(response: SipResponse): void {
    this.strays.push(response);
  }
  /** Further 2xx of INVITE client transactions kept as their key (ClientTransactionHandler.acceptedRoute). */
  readonly accepted: Array<{ response: SipResponse; route: Flow }> = [];
  onAcceptedResponse(response: SipResponse, route: Flow): void {
    this.accepted.push({ response, route });
  }
  onServerFailure(kind: 'timeout' | 'transport', request: SipRequest, flow: Flow): void {
    this.failures.push({ at: this.clock.now(), kind, request, flow });
  }
}

/** A client transaction handler recording responses with their arrival time. */
export class RecordingHandler implements ClientTransactionHandler {
  readonly responses: Array<{ at: number; response: SipResponse; tx: ClientTransactionHandle }> = [];
  constructor(private readonly clock: ManualClock) {}
  onResponse(response: SipResponse, tx: ClientTransactionHandle): void {
    this.responses.push({ at: this.clock.now(), response, tx });
  }
  get statuses(): number[] {
    return this.responses.map((r) => r.response.status);
  }
}

export interface HarnessOptions {
  /** timers.linger (ms): Kamailio's wait timer instead of 64*T1. */
  linger?: number;
  autoTrying?: 'immediate' | 'delayed' | 'off';
  start?: number;
}

/** One TransactionLayer on the loopback, with its clock and wheel. */
export class Harness {
  readonly clock: ManualClock;
  readonly wheel: TimerWheel;
  readonly transport: LoopbackTransport;
  readonly user: RecordingUser;
  readonly layer: TransactionLayer;

  constructor(options: HarnessOptions = {}) {
    this.clock = new ManualClock(options.start ?? 0);
    this.wheel = new TimerWheel(this.clock, { autoDrive: false });
    this.transport = new LoopbackTransport(this.clock);
    this.user = new RecordingUser(this.clock);
    this.layer = new TransactionLayer(this.transport as unknown as TransportLayer, this.user, {
      wheel: this.wheel,
      timers: { T1, T2, T4, ...(options.linger === undefined ? {} : { linger: options.linger }) },
      autoTrying: options.autoTrying,
    });
  }

  get now(): number {
    return this.clock.now();
  }

  /** Moves the clock to `t` one tick at a time, firing the timers due on the way. */
  runTo(t: number): void {
    while (this.clock.now() < t) {
      this.clock.set(Math.min(t, this.clock.now() + TICK));
      this.wheel.advance();
    }
  }

  runFor(ms: number): void {
    this.runTo(this.clock.now() + ms);
  }

  handler(): RecordingHandler {
    return new RecordingHandler(this.clock);
  }

  /** Delivers a message as the transport would: parsed from its wire form. */
  deliver(message: string | Buffer | AnyMessage, flow: Flow = UDP_FLOW): void {
    const bytes = typeof message === 'string' ? Buffer.from(message) : Buffer.isBuffer(message) ? message : message.toBuffer();
    this.layer.receive(parseMessage(bytes), flow);
  }

  /** What was sent at or after `since`. */
  sentSince(since: number): SentRecord[] {
    return this.transport.sent.filter((s) => s.at >= since);
  }
}

/** A request as the TU hands it to sendRequest: no Via yet. */
export function outgoingRequest(method: string, options: { cseq?: number; route?: boolean } = {}): SipRequest {
  const headers: Array<[string, string]> = [
    ['Max-Forwards', '70'],
    ['From', 'Alice <sip:alice@example.com>;tag=a-tag-1'],
    ['To', 'Bob <sip:bob@example.com>'],
    ['Call-ID', 'call-1@192.0.2.1'],
    ['CSeq', `${options.cseq ?? 1} ${method}`],
  ];
  if (options.route !== false) {
    headers.splice(1, 0, ['Route', '<sip:p1.example.com;lr>'], ['Route', '<sip:p2.example.com;lr>']);
  }
  if (method === 'INVITE') headers.push(['Contact', '<sip:alice@192.0.2.1>']);
  return createRequest({ method, uri: 'sip:bob@example.com', headers });
}

/**
 * The response a peer would send to a request we sent (taken from the wire), itself put through
 * the wire form.
 */
export function answer(request: AnyMessage, status: number, toTag = 'b-tag-1'): SipResponse {
  if (!request.isRequest) throw new Error('answer() needs a request');
  const response = createResponse(request, status, { toTag });
  return parseMessage(response.toBuffer()) as SipResponse;
}

export interface IncomingOptions {
  method?: string;
  branch?: string | null;
  sentBy?: string;
  transport?: string;
  uri?: string;
  callId?: string;
  cseq?: number;
  cseqMethod?: string;
  fromTag?: string;
  toTag?: string;
}

/** The text of a request arriving from a peer. `branch: null` gives an RFC 2543 Via without one. */
export function incoming(options: IncomingOptions = {}): string {
  const method = options.method ?? 'INVITE';
  const branch = options.branch === undefined ? 'z9hG4bK-peer-1' : options.branch;
  const via = `SIP/2.0/${options.transport ?? 'UDP'} ${options.sentBy ?? '198.51.100.7:5070'}${branch === null ? '' : `;branch=${branch}`}`;
  const to = `Bob <sip:bob@example.com>${options.toTag !== undefined ? `;tag=${options.toTag}` : ''}`;
  const lines = [
    `${method} ${options.uri ?? 'sip:bob@example.com'} SIP/2.0`,
    `Via: ${via}`,
    'Max-Forwards: 70',
    `From: Alice <sip:alice@example.com>;tag=${options.fromTag ?? 'a-tag-1'}`,
    `To: ${to}`,
    `Call-ID: ${options.callId ?? 'call-in-1@198.51.100.7'}`,
    `CSeq: ${options.cseq ?? 1} ${options.cseqMethod ?? method}`,
  ];
  if (method === 'INVITE') lines.push('Contact: <sip:alice@198.51.100.7:5070>');
  lines.push('Content-Length: 0', '', '');
  return lines.join('\r\n');
}

/** Narrows a recorded message to a response. */
export function asResponse(m: AnyMessage): SipResponse {
  if (m.isRequest) throw new Error(`expected a response, got ${m.method}`);
  return m;
}

export function asRequest(m: AnyMessage): SipRequest {
  if (!m.isRequest) throw new Error(`expected a request, got ${m.status}`);
  return m;
}
