import { randomToken, type Logger, silentLogger } from '../shared/index.ts';
import { resolveNumericUri, resolveUri } from '../dns/index.ts';
import { createResponse, NameAddress, parseAuthHeader, type ResponseOptions, type SipRequest, type SipResponse, type Uri } from '../sip/index.ts';
import { TransactionTable, type ClientTransactionHandler, type ServerTransactionHandle, type TransactionLayer, type TransactionUser } from '../transaction/index.ts';
import { addressFamily, type Destination, type Flow } from '../transport/index.ts';
import type { LocalIdentity } from './local-identity.ts';
import { isLooped, loopHash, proxyBranch } from './loop-detection.ts';
import { validateProxyRequest } from './request-validation.ts';
import { Branch, ResponseContext, type BranchStarter, type ResponseHooks } from './response-context.ts';
import { FlowTokens } from './flow-token.ts';
import { preprocessRoute } from './route-processing.ts';
import { TopologyHiding, TopologyTokenError, type RestoredTopology } from './topology-hiding.ts';
import type { Target } from './target.ts';

export interface ProxyOptions {
  /** Extensions this proxy supports (for Proxy-Require, §16.3 step 5). */
  supportedExtensions?: Iterable<string>;
  /** Timer C (§16.6 step 11): longer than 3 minutes. */
  timerCMs?: number;
  /** Hide the topology of every dialog the proxy forwards statefully (see TopologyHiding). */
  hideTopology?: boolean;
  /** Key of the topology-hiding tokens; a fixed one keeps hidden dialogs routable across restarts. */
  topologySecret?: string;
  /** Key of the flow tokens (random when absent); the workers of one server share one. */
  flowTokenSecret?: Buffer;
  logger?: Logger;
}

export interface ForwardOptions {
  /** Insert Record-Route (§16.6 step 4); doubled when the outgoing transport differs. */
  recordRoute?: boolean;
  hooks?: ResponseHooks;
}

/**
 * A request received by the proxy, handed to the routing layer with what it can do next:
 * reply, forward statefully to a target set, or forward statelessly.
 */
export class ProxyRequest {
  /** Whether a Route of ours was removed (the request follows our Record-Route, §16.4). */
  readonly routedByUs: boolean;
  /**
   * The request spirals (§16.6 step 8): we forwarded it ourselves (our Via on top, sent from one
   * of our addresses) and it came back with a new Request-URI or Route (else it would be a loop).
   */
  readonly spiral: boolean;
  context: ResponseContext | null = null;
  /**
   * The connection named by a flow token in a Route of ours that this request followed
   * (FlowTokens): where it goes when it is forwarded to its Request-URI with no Route left.
   */
  flowRoute: Destination | undefined;
  /**
   * Forward without disclosing the Via, Record-Route and Contact of either side (TopologyHiding).
   * Set for requests of a hidden dialog, by the proxy's configuration, or by the routing script.
   */
  hideTopology: boolean;
  /**
   * The realm whose Proxy-Authorization credentials this proxy verified: consumed here (RFC 3261
   * §22.3; Kamailio's consume_credentials), so a copy for another hop goes without them.
   */
  consumedRealm: string | null = null;
  private replied = false;
  private receivedVias: string[] | undefined;

  constructor(
    private readonly core: ProxyCore,
    readonly request: SipRequest,
    readonly transaction: ServerTransactionHandle,
    routedByUs: boolean,
    spiral = false,
    hideTopology = false,
  ) {
    this.routedByUs = routedByUs;
    this.spiral = spiral;
    this.hideTopology = hideTopology;
  }

  /** The Via values the request arrived with, put back on responses of a hidden branch. */
  get vias(): string[] {
    return (this.receivedVias ??= this.request.getAll('via'));
  }

  get flow(): Flow {
    return this.transaction.flow;
  }

  /** Whether a final response has been sent or a forward started. */
  get handled(): boolean {
    return this.replied || this.context !== null;
  }

  reply(status: number, options: ResponseOptions = {}): SipResponse {
    const response = createResponse(this.request, status, options);
    if (status >= 200) this.replied = true;
    this.transaction.respond(response);
    return response;
  }

  /**
   * A final response without keeping transaction state (Kamailio sl_send_reply): sent along the
   * request's flow, and the server transaction is ended, so a retransmission of the request is
   * processed (and answered) again instead of being absorbed.
   */
  replyStateless(status: number, options: ResponseOptions = {}): SipResponse {
    if (status < 200) throw new Error('a stateless reply is a final response');
    const response = createResponse(this.request, status, { toTag: this.core.statelessToTag(), ...options });
    this.replied = true;
    this.transaction.terminate();
    this.core.transactions.transport.sendResponse(response, this.transaction.flow);
    return response;
  }

  /**
   * Forwards statelessly (§16.11): one copy to the target (or the Request-URI), no response
   * context; the server transaction is ended so that retransmissions are forwarded the same way,
   * with the same branch. Responses come back as stray responses and are relayed statelessly.
   */
  forwardStateless(target?: Target): void {
    if (this.handled) throw new Error('the request was already answered or forwarded');
    // without a transaction the Vias could not be put back on the responses
    if (this.hideTopology) throw new Error('a request whose topology is hidden must be forwarded statefully');
    this.replied = true;
    this.transaction.terminate();
    this.core.relayStateless(this.request, target, false, this.consumedRealm);
  }

  /** Forwards statefully to the targets (§16.6): parallel within a q value, serially across q values. */
  forward(targets: Target[], options: ForwardOptions = {}): ResponseContext {
    if (this.context !== null) throw new Error('the request was already forwarded');
    const context = new ResponseContext(this.transaction, targets, this.core.starterFor(this, options), options.hooks);
    this.context = context;
    this.core.track(this.transaction, context);
    context.start();
    return context;
  }
}

/**
 * The stateful proxy core (RFC 3261 §16) as a transaction user: validates requests (§16.3),
 * preprocesses Route (§16.4), hands them to the routing layer, forwards to target sets with
 * response contexts (§16.6, §16.7), processes CANCEL (§16.10), and relays ACKs for 2xx and stray
 * 2xx responses statelessly (§16.11).
 */
export class ProxyCore {
  /** The routing layer's entry: decides what to do with each request. */
  onRequest: (request: ProxyRequest) => void = (r) => void r.reply(500);
  private readonly supported: ReadonlySet<string>;
  /**
   * The response contexts of INVITEs being forwarded, by server transaction key, for CANCEL
   * (§16.10: only an INVITE is cancelled). Not a Map: one entry in and out per call, in a table of
   * a few hundred, kept a Map rehashing into new stores, and the replaced stores carried their
   * contexts through scavenges (see TransactionTable).
   */
  private readonly contexts = new TransactionTable<ResponseContext>();
  private readonly timerCMs: number;
  private readonly logger: Logger;
  private readonly topology: TopologyHiding;
  private readonly flowTokens: FlowTokens;
  private readonly hideByDefault: boolean;
  /**
   * The To-tag prefix of the final responses sent without a transaction: the ACK for such a
   * response (an INVITE challenged statelessly) has no transaction to end in, and must not be
   * relayed as if it were the ACK of a 2xx (Kamailio's sl module filters them the same way).
   */
  private readonly statelessTagPrefix = `sl${randomToken(6)}`;

  constructor(
    readonly transactions: TransactionLayer,
    readonly identity: LocalIdentity,
    options: ProxyOptions = {},
  ) {
    this.supported = new Set([...(options.supportedExtensions ?? [])].map((s) => s.toLowerCase()));
    this.timerCMs = options.timerCMs ?? 181_000;
    this.logger = options.logger ?? silentLogger;
    this.topology = new TopologyHiding(identity, options.topologySecret);
    this.flowTokens = new FlowTokens(options.flowTokenSecret);
    this.hideByDefault = options.hideTopology ?? false;
  }

  // ---- TransactionUser ------------------------------------------------------------------

  readonly user: TransactionUser = {
    onRequest: (request, tx) => this.receiveRequest(request, tx),
    onAck: (ack, flow) => this.relayAck(ack, flow),
    onStrayResponse: (response) => this.relayStrayResponse(response),
    onAcceptedResponse: (response, route) => this.relayAcceptedResponse(response, route),
  };

  receiveRequest(request: SipRequest, tx: ServerTransactionHandle): void {
    if (request.method === 'CANCEL') {
      this.receiveCancel(request, tx);
      return;
    }
    const rejection = validateProxyRequest(request, this.supported);
    if (rejection !== null) {
      tx.respond(createResponse(request, rejection.status, { headers: rejection.headers }));
      return;
    }
    let restored: RestoredTopology | null;
    try {
      restored = this.topology.restoreRequest(request);
    } catch (err) {
      if (!(err instanceof TopologyTokenError)) throw err;
      tx.respond(createResponse(request, 400, { reason: 'Invalid Topology Token' }));
      return;
    }
    if (isLooped(request, this.identity)) {
      tx.respond(createResponse(request, 482));
      return;
    }
    const top = request.vias[0];
    const spiral = top !== undefined && this.identity.isLocalSentBy(top.host, top.port) && this.identity.isLocalAddress(tx.flow.address);
    const removed: Uri[] = [];
    const routedByUs = preprocessRoute(request, this.identity, removed);
    if (restored !== null) this.topology.applyRoutes(request, restored);
    const hide = restored !== null || (this.hideByDefault && request.method !== 'REGISTER');
    const proxied = new ProxyRequest(this, request, tx, routedByUs || restored !== null, spiral, hide);
    if (removed.length > 0) proxied.flowRoute = this.flowTokens.nextHop(removed, tx.flow);
    this.onRequest(proxied);
  }

  // ---- forwarding -------------------------------------------------------------------------

  /** @internal */
  track(tx: ServerTransactionHandle, context: ResponseContext): void {
    if (tx.isInvite) this.contexts.set(tx.key, context);
  }

  /** @internal the branch operations a response context needs, bound to one request */
  starterFor(proxied: ProxyRequest, options: ForwardOptions): BranchStarter {
    const wheel = this.transactions.wheel;
    const hash = loopHash(proxied.request);
    const key = proxied.transaction.key;
    const starter: BranchStarter = {
      // after the final response a CANCEL has nothing left to do (§16.10), so the context is dropped
      finished: () => {
        if (proxied.context !== null && proxied.transaction.isInvite) this.contexts.deleteIf(key, proxied.context);
      },
      startBranch: (branch) => void this.startBranch(proxied, branch, options, hash, starter),
      cancelBranch: (branch) => {
        if (branch.cancelSent || branch.transaction === null || branch.done) return;
        branch.cancelSent = true;
        this.transactions.sendCancel(branch.transaction, { onResponse: () => {} });
      },
      scheduleTimerC: (branch) => {
        // every provisional restarts Timer C (§16.7 step 2): on the same Timer
        if (branch.timerC !== null) wheel.reschedule(branch.timerC, this.timerCMs);
        else branch.timerC = wheel.schedule(this.timerCMs, branch, 0);
      },
      clearTimerC: (branch) => {
        wheel.cancel(branch.timerC);
        branch.timerC = null;
      },
    };
    return starter;
  }

  /**
   * Starts one branch: builds its request and sends it through a new client transaction. Synchronous
   * when the next hop is known (a registered flow, an IP literal); only a DNS lookup waits.
   */
  private startBranch(proxied: ProxyRequest, branch: Branch, options: ForwardOptions, hash: string, starter: BranchStarter): void {
    let request: SipRequest;
    let destination: Destination | Promise<Destination>;
    try {
      request = this.buildBranchRequest(proxied, branch.target);
      destination = this.nextHop(proxied, branch.target, request);
    } catch (err) {
      this.branchFailed(proxied, branch, err);
      return;
    }
    if (destination instanceof Promise) {
      destination.then(
        (resolved) => this.sendBranch(proxied, branch, options, request, resolved, hash, starter),
        (err: unknown) => this.branchFailed(proxied, branch, err),
      );
    } else {
      this.sendBranch(proxied, branch, options, request, destination, hash, starter);
    }
  }

  private branchFailed(proxied: ProxyRequest, branch: Branch, err: unknown): void {
    this.logger.info({ err: (err as Error).message, callId: proxied.request.callId }, 'cannot forward to target');
    branch.context.receive(branch, createResponse(proxied.request, 502));
  }

  private sendBranch(proxied: ProxyRequest, branch: Branch, options: ForwardOptions, request: SipRequest, destination: Destination, hash: string, starter: BranchStarter): void {
    const context = branch.context;
    if (branch.cancelRequested) {
      context.receive(branch, createResponse(proxied.request, 487));
      return;
    }
    try {
      this.addRecordRoute(proxied, branch.target, options, request, destination);
    } catch (err) {
      this.branchFailed(proxied, branch, err);
      return;
    }
    this.dropConsumedCredentials(request, proxied.consumedRealm, destination);
    branch.transaction = this.transactions.sendRequest(request, destination, new BranchHandler(this, context, branch, proxied), proxyBranch(hash, randomToken(10)));
    // a send that failed at once has already given the branch its final response
    if (request.method === 'INVITE' && !branch.done) starter.scheduleTimerC(branch);
  }

  /** @internal a response on a branch, from its BranchHandler */
  branchResponse(handler: BranchHandler, response: SipResponse): void {
    this.stripOwnVia(handler, response);
    handler.context.receive(handler.branch, response);
  }

  /** @internal a further 2xx on a branch in Accepted (the only responses passed on there), from its AcceptedBranch */
  acceptedBranchResponse(handler: AcceptedBranch, response: SipResponse): void {
    this.stripOwnVia(handler, response);
    handler.server.respond(response);
  }

  /**
   * A further 2xx on a branch whose client transaction the layer keeps in compact form (the branch
   * named the upstream flow, BranchHandler.acceptedRoute): upstream as the server transaction in
   * Accepted would send it (RFC 6026 §8.4), by the request's flow and the response's Via.
   */
  private relayAcceptedResponse(response: SipResponse, upstream: Flow): void {
    response.popVia();
    if (!response.has('via')) return;
    this.transactions.transport.sendResponse(response, upstream);
  }

  /**
   * The Proxy-Authorization values for the realm this proxy verified (`realm`, null if none) do not
   * go on to another hop (RFC 3261 §22.3); a spiral back to this proxy keeps them, to be
   * authenticated again on its next pass.
   */
  private dropConsumedCredentials(request: SipRequest, realm: string | null, destination: Destination): void {
    if (realm === null || this.identity.isLocalHost(destination.address, destination.port)) return;
    request.removeWhere('Proxy-Authorization', (value) => {
      try {
        return parseAuthHeader(value, 'Proxy-Authorization').params.get('realm') === realm;
      } catch {
        return false; // not a credential this proxy could have verified
      }
    });
  }

  /** §16.7 step 3: our Via goes before anything else looks at the response; a hidden topology gets its Vias back. */
  private stripOwnVia(path: HiddenPath, response: SipResponse): void {
    response.popVia();
    if (path.hiddenVias !== null && path.hiddenFlow !== null) this.topology.hideResponse(response, path.hiddenVias, path.hiddenFlow);
  }

  /** The copy for one target (§16.6 steps 1-3, 5, 6): new Request-URI, Max-Forwards, Path, strict-route handling. */
  private buildBranchRequest(proxied: ProxyRequest, target: Target): SipRequest {
    const request = proxied.request.clone();
    request.setUri(target.uri);
    const maxForwards = request.maxForwards;
    request.setMaxForwards(maxForwards === undefined ? 70 : maxForwards - 1);
    if (target.path !== undefined) for (let i = target.path.length - 1; i >= 0; i--) request.add('Route', target.path[i], true);
    // §16.6 step 6: a strict router next (Route without lr) gets the Request-URI as its last Route
    const top = request.routes[0];
    if (top !== undefined && top.uri.kind === 'sip' && !top.uri.looseRouting) {
      request.add('Route', new NameAddress(request.uri).toString());
      request.popRoute();
      request.setUri(top.uri);
    }
    return request;
  }

  /** §16.6 step 7: the target's own flow, a flow token's connection, an IP literal, or DNS (RFC 3263). */
  private nextHop(proxied: ProxyRequest, target: Target, request: SipRequest): Destination | Promise<Destination> {
    if (target.destination !== undefined) return target.destination;
    if (proxied.flowRoute !== undefined && !request.has('route') && target.uri.toString() === proxied.request.uri.toString()) return proxied.flowRoute;
    const nextHopUri = request.routes[0]?.uri ?? request.uri;
    return resolveNumericUri(nextHopUri) ?? resolveUri(nextHopUri);
  }

  /** §16.6 step 4: Record-Route (or the hidden topology's own), once the outgoing transport is known. */
  private addRecordRoute(proxied: ProxyRequest, target: Target, options: ForwardOptions, request: SipRequest, destination: Destination): void {
    if (proxied.hideTopology) {
      this.topology.hideRequest(request, destination);
    } else if (options.recordRoute && request.method !== 'REGISTER') {
      const inbound = proxied.flow;
      const inFamily = addressFamily(inbound.address);
      const outFamily = addressFamily(destination.address);
      let inUri = this.identity.recordRoute(inbound.protocol, inFamily);
      let outUri = this.identity.recordRoute(destination.protocol, outFamily);
      // the side of a client reachable over its own connection only names that connection (FlowTokens);
      // the outbound side only when the target is such a client's registered flow
      if (inbound.connection !== undefined && FlowTokens.wanted(inbound.protocol)) inUri = this.flowTokens.stamp(inUri, inbound);
      if (target.destination !== undefined && FlowTokens.wanted(destination.protocol)) outUri = this.flowTokens.stamp(outUri, destination);
      // double Record-Route when the request changes transport or address family (RFC 5658), or carries flow tokens
      if (inUri !== outUri) request.prependRecordRoute(inUri);
      request.prependRecordRoute(outUri);
    }
  }

  /** CANCEL (§16.10): answered here with 200, and the matching response context cancels its branches. */
  private receiveCancel(cancel: SipRequest, tx: ServerTransactionHandle): void {
    const invite = this.transactions.findInviteForCancel(cancel);
    if (invite === undefined) {
      tx.respond(createResponse(cancel, 481));
      return;
    }
    tx.respond(createResponse(cancel, 200));
    const context = this.contexts.get(invite.key);
    if (context !== undefined) context.cancel();
    else if (invite.finalStatus === 0) invite.respond(createResponse(invite.request, 487));
  }

  /** @internal a To tag for a response sent without a transaction */
  statelessToTag(): string {
    return this.statelessTagPrefix + randomToken(6);
  }

  /** ACK for a 2xx (§16.11 / §13.2.2.4): routed by its Route headers, statelessly. */
  private relayAck(ack: SipRequest, flow: Flow): void {
    // the ACK of a non-2xx final response we sent statelessly ends here (§17.1.1.3: it is hop by hop)
    if (ack.to.tag?.startsWith(this.statelessTagPrefix) === true) return;
    let restored: RestoredTopology | null;
    try {
      restored = this.topology.restoreRequest(ack);
    } catch (err) {
      if (!(err instanceof TopologyTokenError)) throw err;
      return; // a forged token: there is nobody to tell, an ACK gets no response
    }
    const removed: Uri[] = [];
    preprocessRoute(ack, this.identity, removed);
    if (restored !== null) this.topology.applyRoutes(ack, restored);
    if (!ack.has('route') && this.identity.isLocalUri(ack.uri)) return; // an ACK for us
    const flowRoute = removed.length > 0 && !ack.has('route') ? this.flowTokens.nextHop(removed, flow) : undefined;
    this.relayStateless(ack, flowRoute === undefined ? undefined : { uri: ack.uri, destination: flowRoute }, restored !== null);
  }

  /**
   * Stateless relay of a request (§16.11): new Request-URI and Path from the target if given,
   * Max-Forwards decremented, and a branch computed from the request and its incoming branch so
   * that a retransmission leaves with the same branch.
   */
  relayStateless(request: SipRequest, target?: Target, hideTopology = false, consumedRealm: string | null = null): void {
    if (target !== undefined) {
      request.setUri(target.uri);
      if (target.path !== undefined) for (let i = target.path.length - 1; i >= 0; i--) request.add('Route', target.path[i], true);
    }
    const maxForwards = request.maxForwards;
    if (maxForwards === 0) return;
    request.setMaxForwards(maxForwards === undefined ? 70 : maxForwards - 1);
    const nextHop = request.routes[0]?.uri ?? request.uri;
    const branch = proxyBranch(loopHash(request), request.via.branch ?? '');
    const send = (destination: Destination) => {
      if (hideTopology) this.topology.hideRequest(request, destination);
      this.dropConsumedCredentials(request, consumedRealm, destination);
      this.transactions.transport.sendRequest(request, destination, branch);
    };
    const fixed = target?.destination ?? resolveNumericUri(nextHop);
    if (fixed !== undefined) send(fixed);
    else
      resolveUri(nextHop).then(send, (err: Error) =>
        this.logger.info({ err: err.message, callId: request.callId }, 'cannot relay statelessly'),
      );
  }

  /**
   * A response without a client transaction — a 2xx retransmitted after the transaction ended, or
   * an answer to a statelessly forwarded request — is forwarded statelessly (§16.7 step 1, §16.11).
   */
  private relayStrayResponse(response: SipResponse): void {
    response.popVia();
    if (!response.has('via')) return;
    this.transactions.transport.sendResponse(response, undefined);
  }

}

/** What a branch's handler keeps of a request forwarded with its topology hidden: the Vias to restore (null otherwise). */
interface HiddenPath {
  readonly hiddenVias: string[] | null;
  readonly hiddenFlow: Flow | null;
}

/**
 * The client transaction handler of one branch. It outlives the request's routing (2xx
 * retransmissions reach it for 64*T1, RFC 6026), so it holds the response context and the branch,
 * and for a hidden topology only the Vias to restore: never the ProxyRequest with its message.
 */
class BranchHandler implements ClientTransactionHandler, HiddenPath {
  readonly hiddenVias: string[] | null;
  readonly hiddenFlow: Flow | null;

  constructor(
    private readonly core: ProxyCore,
    readonly context: ResponseContext,
    readonly branch: Branch,
    proxied: ProxyRequest,
  ) {
    this.hiddenVias = proxied.hideTopology ? proxied.vias : null;
    this.hiddenFlow = proxied.hideTopology ? proxied.flow : null;
  }

  onResponse(response: SipResponse): void {
    this.core.branchResponse(this, response);
  }

  /**
   * Once the branch's INVITE got its 2xx, what still arrives on it (retransmissions of that 2xx,
   * RFC 6026 §8.4) only goes upstream through the server transaction, which forwards every 2xx in
   * its own Accepted state: the response context, the branch and its target are let go for the
   * 64*T1 the client transaction lingers.
   */
  acceptedHandler(): ClientTransactionHandler {
    return new AcceptedBranch(this.core, this.context.server, this.hiddenVias, this.hiddenFlow);
  }

  /**
   * Over UDP, with no topology to restore, a further 2xx needs only the request's flow: it goes
   * upstream by that socket and the response's Via (§18.2.2) exactly as the server transaction
   * would send it, so the client transaction is kept as its key alone (TransactionLayer). Over a
   * connection, or with Vias to restore, acceptedHandler() keeps what that needs.
   */
  acceptedRoute(): Flow | null {
    const flow = this.context.server.flow;
    return this.hiddenVias === null && flow.protocol === 'udp' ? flow : null;
  }
}

/** The handler of a branch in Accepted: 2xx retransmissions straight to the server transaction. */
class AcceptedBranch implements ClientTransactionHandler, HiddenPath {
  constructor(
    private readonly core: ProxyCore,
    readonly server: ServerTransactionHandle,
    readonly hiddenVias: string[] | null,
    readonly hiddenFlow: Flow | null,
  ) {}

  onResponse(response: SipResponse): void {
    this.core.acceptedBranchResponse(this, response);
  }
}
