import { isIP } from 'node:net';
import { resolveUri } from '../dns/index.ts';
import { Counters, newCallId, newTag, silentLogger, type Logger, type Timer, type TimerTarget } from '../shared/index.ts';
import {
  createRequest,
  createResponse,
  parseUri,
  SipUri,
  type ResponseOptions,
  type SipRequest,
  type SipResponse,
  type Uri,
} from '../sip/index.ts';
import {
  TransactionLayer,
  type ClientTransactionHandle,
  type ServerTransactionHandle,
  type TransactionLayerOptions,
} from '../transaction/index.ts';
import { TransportLayer, type Destination, type Flow, type ListenSpec, type TlsSettings, type TransportProtocol } from '../transport/index.ts';
import { Dialog } from './dialog.ts';

export interface UserAgentOptions extends TransactionLayerOptions {
  listen: ListenSpec[];
  /** Certificates for a tls listener, and how TLS servers we connect to are verified. */
  tls?: TlsSettings;
  /** User part of our From and Contact. */
  user?: string;
  /** Domain of our From (default: the first listener's host). */
  domain?: string;
  logger?: Logger;
  counters?: Counters;
}

export interface RequestSpec {
  method: string;
  uri: string | Uri;
  /** Where to send; derived from the Request-URI (or the first Route) when absent. */
  destination?: Destination;
  to?: string;
  from?: string;
  callId?: string;
  cseq?: number;
  headers?: Array<[string, string]>;
  body?: string | Buffer;
  contentType?: string;
  /** Provisional responses, as they come. */
  onProvisional?: (response: SipResponse) => void;
}

/** What the UAS handler gets: the request, its server transaction, and ways to answer it. */
export interface IncomingRequest {
  readonly request: SipRequest;
  readonly transaction: ServerTransactionHandle;
  readonly flow: Flow;
  respond(status: number, options?: ResponseOptions): SipResponse;
}

/**
 * A small user agent over the stack (UAC and UAS cores, RFC 3261 §8, §12-15) for tests and
 * tools: it sends requests and waits for their final response, places calls (ACK for 2xx, BYE,
 * CANCEL), and hands incoming requests to a handler, retransmitting 2xx to INVITE until the ACK
 * arrives (§13.3.1.4).
 */
export class UserAgent {
  readonly transport: TransportLayer;
  readonly transactions: TransactionLayer;
  /** Handler for incoming requests; without one, OPTIONS gets 200 and everything else 501. */
  onRequest: ((incoming: IncomingRequest) => void) | null = null;
  readonly user: string;
  private readonly pendingAnswers = new Map<string, PendingAnswer>();
  /** @internal outgoing calls by Call-ID, to re-ACK a 2xx retransmitted after the transaction ended */
  readonly calls = new Map<string, OutgoingCall>();
  /** To tag chosen for each incoming request, so that provisional and final responses share it. */
  private readonly toTags = new WeakMap<SipRequest, string>();
  private readonly logger: Logger;
  private domain: string;

  private constructor(options: UserAgentOptions) {
    this.transport = new TransportLayer({ listen: options.listen, tls: options.tls, counters: options.counters ?? new Counters(), logger: options.logger });
    this.transactions = new TransactionLayer(this.transport, {
      onRequest: (request, tx) => this.receiveRequest(request, tx),
      onAck: (ack) => this.receiveAck(ack),
      onStrayResponse: (response) => this.receiveStrayResponse(response),
    }, options);
    this.user = options.user ?? 'ua';
    this.domain = options.domain ?? '';
    this.logger = options.logger ?? silentLogger;
  }

  static async create(options: UserAgentOptions): Promise<UserAgent> {
    const ua = new UserAgent(options);
    await ua.transport.start();
    if (ua.domain === '') ua.domain = ua.transport.listeners()[0].advertisedHost;
    return ua;
  }

  async close(): Promise<void> {
    for (const p of this.pendingAnswers.values()) p.stop();
    this.pendingAnswers.clear();
    this.transactions.shutdown();
    await this.transport.stop();
  }

  /** Our address for the given transport, as a Contact URI. */
  contactUri(protocol: TransportProtocol = 'udp'): SipUri {
    const { host, port } = this.transport.sentBy(protocol);
    const uri = new SipUri('sip', this.user, null, host, port);
    if (protocol !== 'udp') uri.params.set('transport', protocol);
    return uri;
  }

  get aor(): string {
    // an IPv6 address in a URI is an IPv6reference, in brackets (RFC 3261 §25.1, RFC 5118 §4.1)
    const host = isIP(this.domain) === 6 ? `[${this.domain}]` : this.domain;
    return `sip:${this.user}@${host}`;
  }

  /** Sends a request in a new client transaction; resolves with the final response (408/503 synthesized on failure). */
  async request(spec: RequestSpec): Promise<SipResponse> {
    const request = this.buildRequest(spec);
    const destination = spec.destination ?? (await resolveDestination(request));
    return new Promise((resolve) => {
      this.transactions.sendRequest(request, destination, {
        onResponse: (response) => {
          if (response.status < 200) spec.onProvisional?.(response);
          else resolve(response);
        },
      });
    });
  }

  /** Places a call: INVITE, then ACK on 2xx (§13.2.2.4). */
  async invite(spec: Omit<RequestSpec, 'method'>): Promise<OutgoingCall> {
    const request = this.buildRequest({ ...spec, method: 'INVITE' });
    const destination = spec.destination ?? (await resolveDestination(request));
    return new OutgoingCall(this, request, destination, spec.onProvisional);
  }

  /** Sends a request inside a dialog and resolves with its final response. */
  async requestInDialog(dialog: Dialog, method: string, headers: Array<[string, string]> = [], destination?: Destination): Promise<SipResponse> {
    const request = dialog.createRequest(method, headers);
    const target = destination ?? (await resolveUri(dialog.nextHop));
    return new Promise((resolve) => {
      this.transactions.sendRequest(request, target, {
        onResponse: (response) => {
          if (response.status >= 200) resolve(response);
        },
      });
    });
  }

  /**
   * Answers an INVITE with a 2xx: adds Contact, creates the UAS dialog, and retransmits the 2xx
   * (T1 doubling to T2) until the ACK arrives or 64*T1 passes (§13.3.1.4).
   */
  answer(incoming: IncomingRequest, status = 200, options: ResponseOptions = {}): Dialog {
    const headers = [...(options.headers ?? []), ['Contact', `<${this.contactUri(incoming.flow.protocol)}>`] as [string, string]];
    const response = createResponse(incoming.request, status, { ...options, headers, toTag: options.toTag ?? this.toTagFor(incoming.request) });
    for (const rr of incoming.request.getAll('record-route')) response.add('Record-Route', rr);
    incoming.transaction.respond(response);
    const key = answerKey(incoming.request.callId, incoming.request.cseq.seq);
    this.pendingAnswers.get(key)?.stop();
    this.pendingAnswers.set(key, new PendingAnswer(this, key, incoming.transaction, response));
    return Dialog.fromUas(incoming.request, response);
  }

  /** @internal */
  forgetAnswer(key: string): void {
    this.pendingAnswers.delete(key);
  }

  private buildRequest(spec: RequestSpec): SipRequest {
    const uri = typeof spec.uri === 'string' ? parseUri(spec.uri) : spec.uri;
    const to = spec.to ?? `<${uri.toString()}>`;
    const from = spec.from ?? `<${this.aor}>;tag=${newTag()}`;
    const headers: Array<[string, string]> = [
      ['From', from],
      ['To', to],
      ['Call-ID', spec.callId ?? newCallId()],
      ['CSeq', `${spec.cseq ?? 1} ${spec.method}`],
      ['Max-Forwards', '70'],
    ];
    const protocol = spec.destination?.protocol ?? (uri.kind === 'sip' ? ((uri.transport as TransportProtocol | undefined) ?? 'udp') : 'udp');
    if (spec.method === 'INVITE' || spec.method === 'REGISTER' || spec.method === 'SUBSCRIBE') {
      if (!(spec.headers ?? []).some(([n]) => n.toLowerCase() === 'contact' || n === 'm')) headers.push(['Contact', `<${this.contactUri(protocol)}>`]);
    }
    headers.push(...(spec.headers ?? []));
    return createRequest({ method: spec.method, uri, headers, body: spec.body, contentType: spec.contentType });
  }

  private toTagFor(request: SipRequest): string {
    let tag = this.toTags.get(request);
    if (tag === undefined) this.toTags.set(request, (tag = newTag()));
    return tag;
  }

  private receiveRequest(request: SipRequest, transaction: ServerTransactionHandle): void {
    const incoming: IncomingRequest = {
      request,
      transaction,
      flow: transaction.flow,
      respond: (status, options = {}) => {
        const response = createResponse(request, status, { ...options, toTag: options.toTag ?? this.toTagFor(request) });
        // a 101-299 to INVITE with a To tag establishes an (early) dialog: its Record-Route is the
        // request's (RFC 3261 §12.1.1), or the caller's early route set would miss the proxies
        if (request.method === 'INVITE' && status > 100 && status < 300) for (const rr of request.getAll('record-route')) response.add('Record-Route', rr);
        transaction.respond(response);
        return response;
      },
    };
    if (request.method === 'CANCEL') {
      // §9.2: 200 to the CANCEL, 487 to the INVITE if it is still pending
      const invite = this.transactions.findInviteForCancel(request);
      incoming.respond(invite !== undefined ? 200 : 481);
      if (invite !== undefined && invite.finalStatus === 0) invite.respond(createResponse(invite.request, 487, { toTag: this.toTagFor(invite.request) }));
      return;
    }
    if (this.onRequest !== null) {
      this.onRequest(incoming);
      return;
    }
    incoming.respond(request.method === 'OPTIONS' ? 200 : 501);
  }

  private receiveAck(ack: SipRequest): void {
    const key = answerKey(ack.callId, ack.cseq.seq);
    this.pendingAnswers.get(key)?.stop();
  }

  private receiveStrayResponse(response: SipResponse): void {
    // a 2xx retransmitted after the INVITE transaction ended: re-ACK through the call (§13.2.2.4)
    if (response.cseq.method === 'INVITE' && response.status >= 200 && response.status < 300) {
      this.calls.get(response.callId)?.reAck();
    }
  }

  /** @internal */
  get log(): Logger {
    return this.logger;
  }
}

function answerKey(callId: string, seq: number): string {
  return `${callId}\u0000${seq}`;
}

/** Retransmits a 2xx to INVITE until its ACK arrives (RFC 3261 §13.3.1.4). */
class PendingAnswer implements TimerTarget {
  private interval: number;
  private elapsed = 0;
  private timer: Timer | null;

  constructor(
    private readonly ua: UserAgent,
    private readonly key: string,
    private readonly transaction: ServerTransactionHandle,
    private readonly response: SipResponse,
  ) {
    this.interval = ua.transactions.timers.T1;
    this.timer = ua.transactions.wheel.schedule(this.interval, this, 0);
  }

  onTimer(): void {
    this.elapsed += this.interval;
    if (this.elapsed >= 64 * this.ua.transactions.timers.T1) {
      this.stop();
      return;
    }
    this.transaction.respond(this.response);
    this.interval = Math.min(2 * this.interval, this.ua.transactions.timers.T2);
    this.timer = this.ua.transactions.wheel.schedule(this.interval, this, 0);
  }

  stop(): void {
    this.ua.transactions.wheel.cancel(this.timer);
    this.timer = null;
    this.ua.forgetAnswer(this.key);
  }
}

/** An outgoing INVITE and, once answered, its dialog. */
export class OutgoingCall {
  readonly provisional: SipResponse[] = [];
  readonly final: Promise<SipResponse>;
  dialog: Dialog | undefined;
  private transaction: ClientTransactionHandle;
  private ack: SipRequest | undefined;
  private ackDestination: Destination | undefined;

  constructor(
    private readonly ua: UserAgent,
    readonly request: SipRequest,
    readonly destination: Destination,
    onProvisional?: (response: SipResponse) => void,
  ) {
    let settle!: (r: SipResponse) => void;
    this.final = new Promise((resolve) => (settle = resolve));
    let settled = false;
    ua.calls.set(request.callId, this);
    this.transaction = ua.transactions.sendRequest(request, destination, {
      onResponse: (response) => {
        if (response.status < 200) {
          this.provisional.push(response);
          onProvisional?.(response);
          return;
        }
        if (response.status < 300) void this.acknowledge(response);
        if (!settled) {
          settled = true;
          if (response.status >= 300) ua.calls.delete(request.callId);
          settle(response);
        }
      },
    });
  }

  /** CANCEL (§9.1); resolves with the CANCEL's final response. */
  cancel(): Promise<SipResponse> {
    return new Promise((resolve) => {
      this.ua.transactions.sendCancel(this.transaction, {
        onResponse: (response) => {
          if (response.status >= 200) resolve(response);
        },
      });
    });
  }

  /** BYE within the dialog (§15.1.1). */
  async bye(): Promise<SipResponse> {
    if (this.dialog === undefined) throw new Error('the call has no dialog');
    const response = await this.ua.requestInDialog(this.dialog, 'BYE');
    this.ua.calls.delete(this.request.callId);
    return response;
  }

  /** @internal re-sends the ACK for a retransmitted 2xx */
  reAck(): void {
    if (this.ack !== undefined && this.ackDestination !== undefined) this.ua.transactions.transport.sendBytes(this.ack.toBuffer(), this.ackDestination);
  }

  private async acknowledge(response: SipResponse): Promise<void> {
    if (this.ack !== undefined) {
      this.reAck();
      return;
    }
    this.dialog = Dialog.fromUac(this.request, response);
    const ack = this.dialog.createRequest('ACK', [], this.request.cseq.seq);
    this.ack = ack;
    this.ackDestination = await resolveUri(this.dialog.nextHop);
    this.ua.transactions.sendAck(ack, this.ackDestination);
  }
}

/** Next hop of a new request: the first Route if any, else the Request-URI (RFC 3261 §8.1.2). */
async function resolveDestination(request: SipRequest): Promise<Destination> {
  const route = request.routes[0];
  return resolveUri(route !== undefined ? route.uri : request.uri);
}
