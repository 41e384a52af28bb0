import type { Logger } from '../shared/index.ts';
import { parseUri, type ResponseOptions, type SipRequest, type SipResponse, type Uri } from '../sip/index.ts';
import type { ProxyRequest, ResponseContext, Target } from '../proxy/index.ts';
import type { DigestAuthenticator, AuthKind } from '../services/auth/index.ts';
import type { DomainDirectory } from '../services/domains/index.ts';
import type { LocationService } from '../services/location/index.ts';
import type { MessageSilo, MessagingPolicy } from '../services/messaging/index.ts';
import type { PresenceOutcome, PresenceService } from '../services/presence/index.ts';
import type { Registrar, RegistrarPolicy } from '../services/registrar/index.ts';
import type { SecurityService, TrustedPeer } from '../services/security/index.ts';
import type { Domain, SubscriberRepository } from '../store/ports.ts';
import type { Flow } from '../transport/index.ts';
import { bindingTargets } from './binding-targets.ts';
import { targetsForBody } from './message-size.ts';

/** The services a routing script reaches through its context. */
export interface RoutingServices {
  domains: DomainDirectory;
  auth: DigestAuthenticator;
  subscribers: SubscriberRepository;
  location: LocationService;
  registrar: Registrar;
  registrarPolicy(domain: Domain): RegistrarPolicy;
  /** Whether a URI names this server itself (listen address or proxy name). */
  isLocalUri(uri: Uri): boolean;
  /** Trusted peers, brute-force protection for authenticate(), the concurrent call limit. */
  security: SecurityService;
  /** Pager-mode MESSAGE: the size limits, and the offline store (storeOffline()). */
  messaging: { policy: MessagingPolicy; offline: MessageSilo };
  /** The presence server (PUBLISH, SUBSCRIBE/NOTIFY); absent when presence.enabled is false. */
  presence?: PresenceService;
  logger: Logger;
}

export interface AuthenticatedUser {
  username: string;
  domain: string;
}

/**
 * What a routing script gets for one request: the request and where it came from, and the
 * operations of a Kamailio script (reply, authenticate, save, lookup, record_route, loose_route,
 * relay), each an explicit call whose outcome the script can see.
 */
export class RequestContext {
  authenticatedUser: AuthenticatedUser | undefined;
  private recordRouteWanted = false;
  private dropped = false;
  /** The trusted-peer entry of the source, once looked up (null: none). */
  private peer: TrustedPeer | null | undefined;
  /** The Call-ID of an INVITE counted by limitCalls(), until its final response. */
  private countedCall: string | undefined;

  constructor(
    private readonly proxied: ProxyRequest,
    private readonly services: RoutingServices,
    private readonly scriptHooks: { forwardHooks(proxied: ProxyRequest): ForwardHooks },
  ) {}

  get request(): SipRequest {
    return this.proxied.request;
  }

  get method(): string {
    return this.proxied.request.method;
  }

  /** The transport, address and port the request came from. */
  get source(): Flow {
    return this.proxied.flow;
  }

  get logger(): Logger {
    return this.services.logger;
  }

  /** A request inside a dialog (its To has a tag, RFC 3261 §12.2). */
  get inDialog(): boolean {
    return this.request.to.tag !== undefined;
  }

  /** We forwarded this request to ourselves and it came back changed (RFC 3261 §16.6 step 8). */
  get spiral(): boolean {
    return this.proxied.spiral;
  }

  /** The request followed a Record-Route of ours (the result of loose_route, RFC 3261 §16.4). */
  get looseRouted(): boolean {
    return this.proxied.routedByUs;
  }

  /** The Request-URI names this server itself (no user part, our address or a served domain). */
  get isForUs(): boolean {
    const uri = this.request.uri;
    return uri.kind === 'sip' && uri.user === null && (this.services.isLocalUri(uri) || this.services.domains.isLocal(uri.host));
  }

  /** The served domain of the From URI (a local user as sender), if any. */
  get fromDomain(): Domain | undefined {
    const uri = this.request.from.uri;
    return uri.kind === 'sip' ? this.services.domains.resolve(uri.host) : undefined;
  }

  /** The served domain of the Request-URI (a local destination), if any. */
  get targetDomain(): Domain | undefined {
    const uri = this.request.uri;
    if (uri.kind !== 'sip') return undefined;
    return this.services.domains.resolve(uri.host) ?? (this.services.isLocalUri(uri) ? this.services.domains.list()[0] : undefined);
  }

  /** Whether a final response was sent, the request forwarded, or dropped. */
  get handled(): boolean {
    return this.dropped || this.proxied.handled;
  }

  reply(status: number, options: ResponseOptions = {}): SipResponse {
    if (status >= 200) this.callAnswered(status);
    return this.proxied.reply(status, options);
  }

  /**
   * A final response without transaction state (Kamailio sl_send_reply): cheaper for requests
   * answered at once (OPTIONS keep-alives, rejections); a retransmission is answered again.
   */
  replyStateless(status: number, options: ResponseOptions = {}): SipResponse {
    this.callAnswered(status);
    return this.proxied.replyStateless(status, options);
  }

  /** Ends processing without an answer (the request is silently discarded). */
  drop(): void {
    this.callAnswered(0);
    this.dropped = true;
  }

  /**
   * The trusted-peer entry the request's source matches (Kamailio allow_source_address): by
   * address or CIDR block, and transport and source port where the entry names them.
   */
  get trustedPeer(): TrustedPeer | undefined {
    if (this.peer === undefined) {
      const flow = this.source;
      this.peer = this.services.security.trustedPeer(flow.address, flow.protocol, flow.port) ?? null;
    }
    return this.peer ?? undefined;
  }

  /** Whether the source is a trusted peer, of the given group when one is named. */
  isTrusted(group?: string): boolean {
    if (group === undefined) return this.trustedPeer !== undefined;
    const flow = this.source;
    return this.services.security.trustedPeer(flow.address, flow.protocol, flow.port, group) !== undefined;
  }

  /**
   * The concurrent call limit (security.max_calls_per_user) for an INVITE of the authenticated
   * user: false, after answering 403, when the user has as many calls as allowed. Otherwise the
   * call counts from now until the INVITE fails or a BYE ends it. True for anything else (no
   * authenticated user, another method, no limit configured).
   */
  limitCalls(): boolean {
    const user = this.authenticatedUser;
    if (user === undefined || this.method !== 'INVITE' || this.inDialog) return true;
    const callId = this.request.callId;
    if (!this.services.security.admitCall(`${user.username}@${user.domain}`, callId)) {
      this.reply(403, { reason: 'Too Many Calls' });
      return false;
    }
    this.countedCall = callId;
    return true;
  }

  /** The counted call got its final response (0: none will come): established by a 2xx, ended otherwise. */
  private callAnswered(status: number): void {
    if (this.countedCall === undefined) return;
    this.services.security.callAnswered(this.countedCall, status);
    this.countedCall = undefined;
  }

  /**
   * Digest authentication (RFC 3261 §22): 'www' as a registrar/UAS (401), 'proxy' as a proxy
   * (407). Verifies the credentials for the realm of the user's domain (To for REGISTER, From
   * otherwise); on failure sends the challenge itself and returns false. The authenticated user
   * must be the one the request speaks for (To user for REGISTER, From user otherwise).
   */
  async authenticate(kind: AuthKind = this.method === 'REGISTER' ? 'www' : 'proxy'): Promise<boolean> {
    const party = kind === 'www' ? this.request.to.uri : this.request.from.uri;
    const domain = party.kind === 'sip' ? this.services.domains.resolve(party.host) : undefined;
    if (domain === undefined || party.kind !== 'sip') {
      this.reply(403, { reason: 'Domain Not Served' });
      return false;
    }
    // Challenges go out statelessly (RFC 3261 §8.2.7 names them as the typical stateless answer;
    // Kamailio's auth_challenge does the same): a retransmitted request just gets a fresh
    // challenge, and no transaction lingers 64*T1 for every unauthenticated first attempt.
    const challenge = (stale: boolean) => {
      this.replyStateless(kind === 'www' ? 401 : 407, { headers: this.services.auth.challenge(domain.realm, kind, stale) });
      return false;
    };
    // Brute-force protection counts per account guessed (the credentials' username, which a
    // guesser varies, else the party's) and per source address. While either is blocked the
    // credentials are not verified: the answer is the challenge a wrong password gets, so a
    // guesser cannot tell the block from a miss, nor a right guess from a wrong one.
    const source = this.source.address;
    const guessed = `${this.services.auth.credentialsUsername(this.request, domain.realm, kind) ?? party.userDecoded}@${domain.name}`;
    if (this.services.security.authBlocked(guessed, source)) return challenge(false);
    // a spiral through this proxy carries the credentials it was authenticated with on its first
    // pass, nonce count included: that repetition is not a replay (§16.6 step 8)
    const result = await this.services.auth.verify(
      this.request,
      domain.realm,
      kind,
      (username) => this.services.subscribers.getSubscriber(username, domain.name),
      { repeatAllowed: this.proxied.spiral },
    );
    if (!result.ok) {
      // only credentials that were there and wrong are a failure: not the first request without
      // any, nor a right password on an expired nonce
      if (result.reason === 'failed') this.services.security.authFailed(guessed, source);
      return challenge(result.reason === 'stale');
    }
    this.services.security.authSucceeded(guessed, source);
    if (party.userDecoded !== result.username) {
      this.reply(403, { reason: 'Identity Mismatch' });
      return false;
    }
    this.authenticatedUser = { username: result.username, domain: domain.name };
    // credentials for this proxy's realm are not passed on to the next hop (RFC 3261 §22.3)
    if (kind === 'proxy') this.proxied.consumedRealm = domain.realm;
    return true;
  }

  /** Whether the Request-URI user exists in its served domain. */
  async userExists(): Promise<boolean> {
    const uri = this.request.uri;
    const domain = this.targetDomain;
    if (uri.kind !== 'sip' || uri.user === null || domain === undefined) return false;
    return (await this.services.subscribers.getSubscriber(uri.userDecoded ?? '', domain.name)) !== undefined;
  }

  /** The address-of-record of a SIP URI in a served domain: "user@domain". */
  aorOf(uri: Uri): string | undefined {
    if (uri.kind !== 'sip' || uri.user === null) return undefined;
    const domain = this.services.domains.resolve(uri.host);
    return domain === undefined ? undefined : `${uri.userDecoded}@${domain.name}`;
  }

  /** The registrar (Kamailio save): stores the REGISTER's bindings for its To AOR and replies. */
  save(): void {
    const to = this.request.to.uri;
    const aor = this.aorOf(to);
    const domain = to.kind === 'sip' ? this.services.domains.resolve(to.host) : undefined;
    if (aor === undefined || domain === undefined) {
      this.reply(to.kind === 'sip' ? 404 : 400);
      return;
    }
    const flow = this.source;
    const source = `${flow.protocol}:${flow.address.includes(':') ? `[${flow.address}]` : flow.address}:${flow.port}`;
    const outcome = this.services.registrar.register(this.request, aor, this.services.registrarPolicy(domain), source);
    this.reply(outcome.status, { reason: outcome.reason, headers: outcome.headers });
  }

  /**
   * Location lookup: the targets registered for the Request-URI's AOR (or the given one),
   * highest q first, with their Path and the flow they registered over.
   */
  lookup(aor?: string): Target[] {
    const key = aor ?? this.aorOf(this.request.uri);
    return key === undefined ? [] : bindingTargets(this.services.location, key);
  }

  /**
   * The size rules of a MESSAGE (RFC 3428 §9), to call before relaying one; any other method passes
   * unchecked. A body above messaging.max_body is refused whatever the path. A body above
   * messaging.max_udp_body (1300 octets by default: RFC 3428 §9 keeps MESSAGEs under 1300 octets
   * unless every hop is congestion-controlled, the size RFC 3261 §18.1.1 sends over TCP when the
   * path MTU is unknown) cannot go to a registered contact that is reachable over UDP only: those
   * of `targets` are left out. Returns the targets that can carry the request; when none is left,
   * or the body is too large at all, answers 413 Request Entity Too Large and returns null.
   * Without targets (a next hop in another domain, a server, which must support TCP, RFC 3261
   * §18) only messaging.max_body applies; the transport moves large requests to TCP itself.
   */
  checkMessageSize(targets: Target[] = []): Target[] | null {
    if (this.method !== 'MESSAGE') return targets;
    const size = this.request.body.length;
    const policy = this.services.messaging.policy;
    if (size > policy.maxBody) {
      this.reply(413, { headers: [['Warning', `399 - "the body is larger than ${policy.maxBody} octets"`]] });
      return null;
    }
    const fitting = targetsForBody(targets, size, policy.maxUdpBody);
    if (fitting.length === 0 && targets.length > 0) {
      this.reply(413, { headers: [['Warning', `399 - "the body is larger than ${policy.maxUdpBody} octets and the recipient is reachable over UDP only"`]] });
      return null;
    }
    return fitting;
  }

  /**
   * Offline storage of this MESSAGE (Kamailio msilo m_store) for the Request-URI's user (or the
   * given AOR), who has no binding: it is delivered when the user next registers, and the sender
   * gets 202 Accepted (RFC 3428 §7: accepted, not yet delivered). Returns false, answering nothing,
   * when the request is not a MESSAGE for a user of a served domain, its body is above
   * messaging.max_body, the store is off (messaging.offline.enabled) or the user's quota
   * (messaging.offline.max_per_user) is full: the script answers then. Whether the user exists and
   * who may leave messages is the script's decision (the default script: authenticated local
   * users and trusted peers, for existing users only).
   */
  async storeOffline(aor?: string): Promise<boolean> {
    if (this.method !== 'MESSAGE' || this.inDialog) return false;
    const key = aor ?? this.aorOf(this.request.uri);
    if (key === undefined || this.request.body.length > this.services.messaging.policy.maxBody) return false;
    if ((await this.services.messaging.offline.store(key, this.request)) !== 'stored') return false;
    this.reply(202);
    return true;
  }

  /**
   * The presence server's PUBLISH (RFC 3903): for a PUBLISH whose Request-URI is a user of a
   * served domain, answers it (200 with SIP-ETag, 412, 423, 489, 415, ...) and returns true. Only
   * the presentity itself (the authenticated user) or a trusted peer may publish: others get 403;
   * an unknown user 404. Returns false, answering nothing, for any other request or when presence
   * is off.
   */
  async handlePublish(): Promise<boolean> {
    const presence = this.services.presence;
    if (presence === undefined || this.method !== 'PUBLISH' || this.inDialog) return false;
    const presentity = this.aorOf(this.request.uri);
    if (presentity === undefined) return false;
    const user = this.authenticatedUser;
    if (!(user !== undefined ? `${user.username}@${user.domain}` === presentity : this.isTrusted())) {
      this.reply(403, { reason: 'Not The Presentity' });
      return true;
    }
    if (!(await this.userExists())) {
      this.reply(404);
      return true;
    }
    this.replyPresence(presence.publish(this.request, presentity));
    return true;
  }

  /**
   * The presence server's SUBSCRIBE (RFC 6665, RFC 3856, RFC 3857): a new subscription to the
   * presence (or, for the presentity itself, the watcher information) of a user of a served
   * domain, answered with 200 and followed at once by a NOTIFY; or, within a dialog, a refresh or
   * removal of a subscription of ours (its Request-URI is our Contact; 481 when unknown). The
   * watcher is the authenticated user, else the From URI. Returns false, answering nothing, for
   * other requests, events this server does not serve (message-summary and the like pass through
   * to the user's devices), in-dialog requests for others, or when presence is off.
   */
  async handleSubscribe(): Promise<boolean> {
    const presence = this.services.presence;
    if (presence === undefined || this.method !== 'SUBSCRIBE') return false;
    const flow = this.source;
    const from = this.request.from.uri;
    const user = this.authenticatedUser;
    const watcher = user !== undefined ? `${user.username}@${user.domain}` : from.kind === 'sip' ? (from.user === null ? from.host.toLowerCase() : `${from.userDecoded}@${from.host.toLowerCase()}`) : from.toString();
    if (this.inDialog) {
      if (!this.isForUs) return false;
      this.replyPresence(presence.subscribe(this.request, { watcher, flow }));
      return true;
    }
    const presentity = this.aorOf(this.request.uri);
    if (presentity === undefined || !presence.serves(this.request)) return false;
    // A watcher who is neither one of our authenticated users nor a trusted peer gets the same
    // answer for every presentity: 404 for unknown users and 200 (pending) for real ones would
    // list the users of the domain (issue 5's rule: no answer tells existing users apart).
    if (user === undefined && !this.isTrusted()) {
      this.reply(403, { reason: 'Watcher Not Authenticated' });
      return true;
    }
    if (!(await this.userExists())) {
      this.reply(404);
      return true;
    }
    this.replyPresence(presence.subscribe(this.request, { presentity, watcher, flow }));
    return true;
  }

  private replyPresence(outcome: PresenceOutcome): void {
    this.reply(outcome.status, { reason: outcome.reason, headers: outcome.headers, toTag: outcome.toTag });
    outcome.after?.();
  }

  /**
   * Forwards this request without disclosing either side's Via, Record-Route and Contact
   * (Kamailio topoh): the dialog it creates stays hidden and keeps routing through this proxy.
   * Requests of a dialog that is already hidden are hidden without asking.
   */
  hideTopology(): void {
    this.proxied.hideTopology = true;
  }

  /** Whether the request will be forwarded with its topology hidden. */
  get topologyHidden(): boolean {
    return this.proxied.hideTopology;
  }

  /** Adds Record-Route to the request when it is forwarded (Kamailio record_route). */
  recordRoute(): void {
    this.recordRouteWanted = true;
  }

  /**
   * Forwards statefully (Kamailio t_relay): to the given targets, or to the Request-URI. Targets of
   * equal q fork in parallel; lower q values are tried when the higher ones fail.
   */
  relay(targets?: Target[] | string | Uri): ResponseContext {
    let list: Target[];
    if (targets === undefined) list = [{ uri: this.request.uri }];
    else if (typeof targets === 'string') list = [{ uri: parseUri(targets) }];
    else if (Array.isArray(targets)) list = targets;
    else list = [{ uri: targets }];
    const hooks = this.scriptHooks.forwardHooks(this.proxied);
    const counted = this.countedCall;
    this.countedCall = undefined;
    // a script without reply hooks and a call nobody counts (the common case) need no hook object
    if (hooks.onReply === undefined && hooks.onFailure === undefined && counted === undefined) {
      return this.proxied.forward(list, this.recordRouteWanted ? RECORD_ROUTE : NO_RECORD_ROUTE);
    }
    return this.proxied.forward(list, {
      recordRoute: this.recordRouteWanted,
      hooks: {
        onResponse: hooks.onReply,
        onFailure: hooks.onFailure,
        onFinal: counted === undefined ? undefined : (r) => this.services.security.callAnswered(counted, r.status),
      },
    });
  }

  /**
   * Forwards statelessly (Kamailio forward()): one copy to the target or the Request-URI, no
   * transaction state kept; responses are relayed back statelessly (RFC 3261 §16.11).
   */
  forwardStateless(target?: Target | string): void {
    // without transaction state its final response is never seen: the call is not counted
    this.callAnswered(0);
    this.proxied.forwardStateless(typeof target === 'string' ? { uri: parseUri(target) } : target);
  }
}

/** What a routing script's onReply and onFailure become for one forwarded request. */
export interface ForwardHooks {
  onReply?: (r: SipResponse) => void;
  onFailure?: (best: SipResponse, rc: ResponseContext) => Promise<Target[] | void>;
}

const RECORD_ROUTE = Object.freeze({ recordRoute: true });
const NO_RECORD_ROUTE = Object.freeze({ recordRoute: false });

/** The response a script sees in onReply. */
export class ReplyContext {
  constructor(
    readonly request: SipRequest,
    readonly response: SipResponse,
  ) {}
}

/** What onFailure gets: the best response so far, and the means to try elsewhere or answer differently. */
export class FailureContext {
  readonly nextTargets: Target[] = [];
  constructor(
    readonly request: SipRequest,
    readonly response: SipResponse,
    private readonly proxied: ProxyRequest,
  ) {}

  /** Tries these targets next (serial failover, divert). */
  relay(targets: Target[] | string): void {
    if (typeof targets === 'string') this.nextTargets.push({ uri: parseUri(targets) });
    else this.nextTargets.push(...targets);
  }

  /** Answers with another final response instead of the best one. */
  reply(status: number, options: ResponseOptions = {}): void {
    this.proxied.reply(status, options);
  }
}
