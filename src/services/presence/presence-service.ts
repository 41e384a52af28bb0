/**
 * The presence server (SIMPLE): the event state compositor for PUBLISH (RFC 3903), the notifier
 * for SUBSCRIBE to local presentities (RFC 6665, RFC 3856) and their watcher information
 * (RFC 3857, RFC 3858), watcher authorization from stored rules, and presence from registration
 * (Kamailio pua_usrloc): a presentity with live bindings and no publication appears online.
 * It answers with outcomes (status and headers); the routing layer sends the responses.
 */
import { newTag, randomToken, silentLogger, type Logger, type TimerWheel } from '../../shared/index.ts';
import type { SipRequest } from '../../sip/index.ts';
import { isReliable, type Destination, type Flow, type TransportProtocol } from '../../transport/index.ts';
import type { PresenceRuleRepository } from '../../store/ports.ts';
import { EventStateCompositor, type PublicationPolicy } from './event-state-compositor.ts';
import { Notifier, type NotifyTransport } from './notifier.ts';
import { composePresence, ownPart, PIDF_CONTENT_TYPE, readPidf, registrationTuples } from './pidf.ts';
import { Subscription, type PresencePackage } from './subscription.ts';
import { WatcherAuthorization, type DefaultPresencePolicy } from './watcher-authorization.ts';
import { WATCHERINFO_CONTENT_TYPE } from './watcher-info.ts';

export interface SubscriptionPolicy {
  defaultExpires: number;
  /** Shorter requests get 423 with Min-Expires (RFC 6665 §4.2.1.1). */
  minExpires: number;
  maxExpires: number;
  /** Most subscriptions (both packages) to one presentity; more get 403. */
  maxPerPresentity: number;
}

export interface PresencePolicy {
  publication: PublicationPolicy;
  subscription: SubscriptionPolicy;
  defaultPolicy: DefaultPresencePolicy;
  /** Whether a domain's users with bindings and no publication appear online. */
  fromRegistration(domain: string): boolean;
}

export const DEFAULT_PRESENCE_POLICY: PresencePolicy = {
  publication: { defaultExpires: 3600, minExpires: 60, maxExpires: 7200, maxPerPresentity: 32 },
  subscription: { defaultExpires: 3600, minExpires: 60, maxExpires: 7200, maxPerPresentity: 500 },
  defaultPolicy: 'same-domain',
  fromRegistration: () => false,
};

/** The registered contacts of an AOR (the location service, wired by app.ts). */
export type RegisteredContacts = (aor: string) => Array<{ contact: string; q: number }>;

export interface PresenceDependencies {
  wheel: TimerWheel;
  rules: PresenceRuleRepository;
  transport: NotifyTransport;
  /** Our Contact URI for dialogs over a transport and address family. */
  localContact(protocol: TransportProtocol, family: 4 | 6): string;
  registrations: RegisteredContacts;
  logger?: Logger;
  /** Wall-clock milliseconds. */
  now?: () => number;
}

/** An answer for the routing layer to send. */
export interface PresenceOutcome {
  status: number;
  reason?: string;
  headers: Array<[string, string]>;
  /** The To tag of a 200 that created a subscription dialog. */
  toTag?: string;
  /** To run once the response is sent (the first NOTIFY follows the 200). */
  after?: () => void;
}

/** The subscription's side of a SUBSCRIBE, as the routing layer determined it. */
export interface SubscribeParties {
  /** The presentity's AOR (the Request-URI's "user@domain"); absent in a dialog. */
  presentity?: string;
  /** The watcher's AOR: the authenticated user, else the From URI's "user@host". */
  watcher: string;
  flow: Flow;
}

/** Largest PIDF body accepted: devices publish a few hundred octets. */
const MAX_PIDF_SIZE = 16_384;
const PACKAGES: readonly string[] = ['presence', 'presence.winfo'];

export class PresenceService {
  private readonly compositor: EventStateCompositor;
  private readonly notifier: Notifier;
  private readonly authorization: WatcherAuthorization;
  private readonly now: () => number;
  private readonly logger: Logger;
  /** Presentities whose registrations changed, notified together on the next turn of the event loop. */
  private readonly registrationChanges = new Set<string>();
  private registrationTimer: NodeJS.Immediate | null = null;

  constructor(
    private readonly deps: PresenceDependencies,
    private readonly policy: PresencePolicy = DEFAULT_PRESENCE_POLICY,
  ) {
    this.now = deps.now ?? Date.now;
    this.logger = deps.logger ?? silentLogger;
    this.authorization = new WatcherAuthorization(deps.rules, policy.defaultPolicy);
    this.notifier = new Notifier({
      wheel: deps.wheel,
      transport: deps.transport,
      presenceDocument: (p) => this.presenceDocument(p),
      neutralDocument: (p) => composePresence(`sip:${p}`, []),
      now: this.now,
      logger: this.logger,
    });
    this.compositor = new EventStateCompositor(deps.wheel, policy.publication, this.now, (p) => this.notifier.presentityChanged(p));
  }

  /** Loads the authorization rules. */
  async start(): Promise<void> {
    await this.authorization.reload();
  }

  stop(): void {
    if (this.registrationTimer !== null) clearImmediate(this.registrationTimer);
    this.compositor.clear();
    this.notifier.clear();
  }

  /** Reads the rules again (the CLI changed them); subscriptions follow their new rules. */
  async reloadRules(): Promise<void> {
    for (const presentity of await this.authorization.reload()) {
      this.notifier.reauthorize(presentity, (watcher) => this.authorization.decide(presentity, watcher));
    }
  }

  get publicationCount(): number {
    return this.compositor.size;
  }

  get subscriptionCount(): number {
    return this.notifier.size;
  }

  /** The live subscriptions to a presentity, for the management API and tests. */
  subscriptionsOf(presentity: string): Array<{ package: PresencePackage; watcher: string; state: string; action: string }> {
    return this.notifier.subscriptionsOf(presentity).map((s) => ({ package: s.pkg, watcher: s.watcher, state: s.state, action: s.action }));
  }

  /** The document an allowed watcher of the presentity gets now. */
  presenceDocument(presentity: string): string {
    const entity = `sip:${presentity}`;
    const publications = this.compositor.publicationsOf(presentity);
    if (publications.length > 0) return composePresence(entity, publications.map((p) => p.state));
    if (this.policy.fromRegistration(domainOf(presentity))) {
      const contacts = this.deps.registrations(presentity);
      if (contacts.length > 0) return composePresence(entity, [ownPart(registrationTuples(contacts))]);
    }
    return composePresence(entity, []);
  }

  /**
   * A binding of the AOR was saved, removed or expired (LocationService.onChange). Runs inside
   * the registrar: without watchers it costs one map lookup; with watchers the NOTIFYs go out on
   * the next turn of the event loop, one per watcher whose view changed (a refresh changes none).
   */
  registrationChanged(aor: string): void {
    if (!this.notifier.hasSubscriptions(aor) || !this.policy.fromRegistration(domainOf(aor))) return;
    this.registrationChanges.add(aor);
    this.registrationTimer ??= setImmediate(() => {
      this.registrationTimer = null;
      const changed = [...this.registrationChanges];
      this.registrationChanges.clear();
      for (const p of changed) if (this.compositor.publicationsOf(p).length === 0) this.notifier.presentityChanged(p);
    });
  }

  /** PUBLISH for a presentity's presence (RFC 3903 §6); the publisher was authorized by the caller. */
  publish(request: SipRequest, presentity: string): PresenceOutcome {
    const event = eventPackage(request);
    if (event !== 'presence') return { status: 489, headers: [['Allow-Events', 'presence']] };
    let expires: number | undefined;
    try {
      expires = request.expires;
    } catch {
      return { status: 400, reason: 'Bad Expires', headers: [] };
    }
    let state;
    if (request.body.length > 0) {
      const type = mediaType(request.contentType);
      if (type !== PIDF_CONTENT_TYPE) return { status: 415, headers: [['Accept', PIDF_CONTENT_TYPE]] };
      if (request.body.length > MAX_PIDF_SIZE) return { status: 413, headers: [] };
      state = readPidf(request.body.toString('utf8')) ?? undefined;
      if (state === undefined) return { status: 400, reason: 'Invalid PIDF Document', headers: [] };
    }
    const ifMatch = request.get('sip-if-match')?.trim();
    const outcome = this.compositor.publish({ presentity, ifMatch, expires, state });
    if (outcome.status === 200) {
      const headers: Array<[string, string]> = [['Expires', String(outcome.expires)]];
      if (outcome.etag !== undefined) headers.unshift(['SIP-ETag', outcome.etag]);
      return { status: 200, headers };
    }
    if (outcome.status === 423) return { status: 423, headers: [['Min-Expires', String(outcome.minExpires)]] };
    return { status: outcome.status, reason: outcome.reason, headers: [] };
  }

  /** Whether an out-of-dialog SUBSCRIBE is for a package served here (others pass through). */
  serves(request: SipRequest): boolean {
    const event = eventPackage(request);
    return event !== undefined && PACKAGES.includes(event);
  }

  /**
   * SUBSCRIBE (RFC 6665 §4.2.1): a new subscription to a local presentity, or a refresh or
   * removal within the dialog of one of ours (481 when there is none).
   */
  subscribe(request: SipRequest, parties: SubscribeParties): PresenceOutcome {
    const event = eventPackage(request);
    const allowEvents: [string, string] = ['Allow-Events', PACKAGES.join(', ')];
    const toTag = request.to.tag;
    if (toTag !== undefined) return this.resubscribe(request, toTag, event, allowEvents);
    if (event === undefined || !PACKAGES.includes(event)) return { status: 489, headers: [allowEvents] };
    const pkg = event as PresencePackage;
    const presentity = parties.presentity;
    if (presentity === undefined) return { status: 404, headers: [] };
    const wanted = pkg === 'presence' ? PIDF_CONTENT_TYPE : WATCHERINFO_CONTENT_TYPE;
    if (!accepts(request.getAll('accept'), wanted)) return { status: 406, headers: [['Accept', wanted]] };
    const contact = request.contacts.contacts[0];
    if (contact === undefined || contact.uri.kind !== 'sip') return { status: 400, reason: 'Missing Contact', headers: [] };
    const seconds = this.expiresOf(request);
    if (typeof seconds !== 'number') return seconds;

    // RFC 3857 §5.1: only the presentity may learn who watches it
    const action = pkg === 'presence.winfo' ? (parties.watcher === presentity ? 'allow' : 'block') : this.authorization.decide(presentity, parties.watcher);
    if (action === 'block') return { status: 403, headers: [] };
    if (this.notifier.countFor(presentity) >= this.policy.subscription.maxPerPresentity) return { status: 403, reason: 'Too Many Subscriptions', headers: [] };

    const flow = parties.flow;
    const family = flow.address.includes(':') ? 6 : 4;
    const localContact = `<${this.deps.localContact(flow.protocol, family)}>`;
    const localTag = newTag();
    const subscription = new Subscription(
      randomToken(8),
      pkg,
      presentity,
      parties.watcher,
      request.from.uri.toString(),
      {
        callId: request.callId,
        localTag,
        remoteTag: request.from.tag ?? '',
        localUri: request.get('to') as string,
        remoteUri: request.get('from') as string,
        remoteTarget: contact.uri.toString(),
        routeSet: request.getAll('record-route'),
        remoteCSeq: request.cseq.seq,
        event: request.get('event') as string,
        localContact,
        flow: isReliable(flow.protocol) ? streamFlow(flow) : undefined,
      },
      action,
      0,
      (s) => this.notifier.terminate(s, 'timeout'),
    );
    subscription.state = action === 'pending' ? 'pending' : 'active';
    this.notifier.add(subscription, Math.max(seconds, 1));
    const headers: Array<[string, string]> = [
      ['Expires', String(seconds)],
      ['Contact', localContact],
    ];
    return {
      status: 200,
      headers,
      toTag: localTag,
      // RFC 6665 §4.2.1.1: Expires: 0 fetches the state once, in a NOTIFY that says terminated
      after: () => (seconds === 0 ? this.notifier.terminate(subscription, 'timeout') : this.notifier.activate(subscription, true)),
    };
  }

  private resubscribe(request: SipRequest, toTag: string, event: string | undefined, allowEvents: [string, string]): PresenceOutcome {
    const subscription = this.notifier.find(request.callId, toTag, request.from.tag ?? '');
    if (subscription === undefined) return { status: 481, headers: [] };
    if (event !== subscription.pkg) return { status: 489, headers: [allowEvents] };
    // RFC 3261 §12.2.2: a CSeq lower than the last one is out of order
    if (request.cseq.seq <= subscription.dialog.remoteCSeq) return { status: 500, reason: 'CSeq Out of Order', headers: [] };
    const seconds = this.expiresOf(request);
    if (typeof seconds !== 'number') return seconds;
    subscription.dialog.remoteCSeq = request.cseq.seq;
    // a target refresh (RFC 6665 §4.1.2.1)
    const contact = request.contacts.contacts[0];
    if (contact !== undefined && contact.uri.kind === 'sip') subscription.dialog.remoteTarget = contact.uri.toString();
    const headers: Array<[string, string]> = [
      ['Expires', String(seconds)],
      ['Contact', subscription.dialog.localContact],
    ];
    // RFC 6665 §4.2.1.4: Expires: 0 ends it, with a final NOTIFY
    if (seconds === 0) return { status: 200, headers, after: () => this.notifier.terminate(subscription, 'timeout') };
    return { status: 200, headers, after: () => this.notifier.refresh(subscription, seconds) };
  }

  /** The granted duration, or the 423/400 answer (RFC 6665 §4.2.1.1). */
  private expiresOf(request: SipRequest): number | PresenceOutcome {
    let requested: number | undefined;
    try {
      requested = request.expires;
    } catch {
      return { status: 400, reason: 'Bad Expires', headers: [] };
    }
    const p = this.policy.subscription;
    const seconds = requested ?? p.defaultExpires;
    if (seconds !== 0 && seconds < p.minExpires) return { status: 423, headers: [['Min-Expires', String(p.minExpires)]] };
    return Math.min(seconds, p.maxExpires);
  }
}

/** The event package of the Event header (RFC 6665 §8.2.1), lowercase, without parameters. */
function eventPackage(request: SipRequest): string | undefined {
  const value = request.get('event');
  if (value === undefined) return undefined;
  const semi = value.indexOf(';');
  return (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
}

function mediaType(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/** No Accept header means the package's default type (RFC 6665 §7.2); otherwise it must be listed. */
function accepts(values: string[], wanted: string): boolean {
  if (values.length === 0) return true;
  const types = values.flatMap((v) => v.split(',')).map((t) => mediaType(t));
  return types.some((t) => t === wanted || t === '*/*' || t === `${wanted.slice(0, wanted.indexOf('/'))}/*`);
}

function domainOf(aor: string): string {
  return aor.slice(aor.lastIndexOf('@') + 1);
}

function streamFlow(flow: Flow): Destination {
  return { protocol: flow.protocol, address: flow.address, port: flow.port };
}
