/**
 * The notifier (RFC 6665 §4.2.2): the subscriptions to local presentities, and the NOTIFY
 * requests this server originates for them — at once when a subscription is created or
 * refreshed, on every change of what the watcher may see, and a final one when it ends.
 */
import type { Logger, TimerWheel } from '../../shared/index.ts';
import { resolveNumericUri, resolveUri } from '../../dns/index.ts';
import { createRequest, parseNameAddress, parseUri, type SipRequest } from '../../sip/index.ts';
import type { Destination } from '../../transport/index.ts';
import type { PresenceAction } from '../../store/ports.ts';
import { PIDF_CONTENT_TYPE } from './pidf.ts';
import { dialogKey, Subscription, type TerminationReason } from './subscription.ts';
import { composeWatcherInfo, WATCHERINFO_CONTENT_TYPE, type WatcherEntry } from './watcher-info.ts';

/** How NOTIFYs leave: a client transaction of the server (wired in app.ts). */
export interface NotifyTransport {
  /**
   * Sends a request statefully; `done` gets its final status (408 when Timer F fired, 503 when
   * it could not be sent, RFC 3261 §8.1.3.1).
   */
  send(request: SipRequest, destination: Destination, done: (status: number) => void): void;
}

export interface NotifierOptions {
  wheel: TimerWheel;
  transport: NotifyTransport;
  /** The presence document of a presentity as an allowed watcher sees it. */
  presenceDocument(presentity: string): string;
  /** The neutral document (offline) that polite-blocked watchers see (RFC 5025 §3.2.1). */
  neutralDocument(presentity: string): string;
  now(): number;
  logger: Logger;
}

export class Notifier {
  private readonly byDialog = new Map<string, Subscription>();
  /** Subscriptions by presentity, presence and presence.winfo alike. */
  private readonly byPresentity = new Map<string, Set<Subscription>>();

  constructor(private readonly options: NotifierOptions) {}

  get size(): number {
    return this.byDialog.size;
  }

  find(callId: string, localTag: string, remoteTag: string): Subscription | undefined {
    return this.byDialog.get(dialogKey(callId, localTag, remoteTag));
  }

  /** The live subscriptions to a presentity (both packages). */
  subscriptionsOf(presentity: string): Subscription[] {
    const set = this.byPresentity.get(presentity);
    return set === undefined ? [] : [...set];
  }

  hasSubscriptions(presentity: string): boolean {
    return this.byPresentity.has(presentity);
  }

  countFor(presentity: string): number {
    return this.byPresentity.get(presentity)?.size ?? 0;
  }

  /** Starts serving a subscription accepted with a 200 (the caller sends the first NOTIFY with activate()). */
  add(subscription: Subscription, seconds: number): void {
    this.byDialog.set(subscription.key, subscription);
    let set = this.byPresentity.get(subscription.presentity);
    if (set === undefined) this.byPresentity.set(subscription.presentity, (set = new Set()));
    set.add(subscription);
    this.arm(subscription, seconds);
  }

  /**
   * After the 200 to the SUBSCRIBE: the NOTIFY that RFC 6665 §4.2.1.1 wants at once, and for a
   * new presence watcher, watcher information for the presentity's winfo subscribers.
   */
  activate(subscription: Subscription, isNew: boolean): void {
    this.notify(subscription, true);
    if (isNew && subscription.pkg === 'presence') this.watchersChanged(subscription.presentity);
  }

  /** A refresh (RFC 6665 §4.2.1.2): a new expiry, and a NOTIFY with the current state. */
  refresh(subscription: Subscription, seconds: number): void {
    this.arm(subscription, seconds);
    this.notify(subscription, true);
  }

  /**
   * Ends a subscription (RFC 6665 §4.2.2): a last NOTIFY with `Subscription-State: terminated`
   * and the reason, then it is gone; the presentity's winfo subscribers learn of it.
   */
  terminate(subscription: Subscription, reason: TerminationReason): void {
    if (subscription.state === 'terminated') return;
    subscription.state = 'terminated';
    subscription.lastEvent = reason === 'rejected' ? 'rejected' : reason === 'timeout' ? 'timeout' : reason === 'noresource' ? 'noresource' : reason === 'giveup' ? 'giveup' : 'deactivated';
    this.detach(subscription);
    this.send(subscription, reason);
    if (subscription.pkg === 'presence') this.watchersChanged(subscription.presentity, subscription);
  }

  /** The presentity's state changed: its presence watchers get a NOTIFY when what they see changed. */
  presentityChanged(presentity: string): void {
    const set = this.byPresentity.get(presentity);
    if (set === undefined) return;
    for (const s of set) if (s.pkg === 'presence') this.notify(s, false);
  }

  /**
   * The presentity's authorization rules changed (RFC 3857 §3.1: the watcher's subscription
   * follows): block terminates with reason=rejected, the others change what the watcher sees.
   */
  reauthorize(presentity: string, decide: (watcher: string) => PresenceAction): void {
    const set = this.byPresentity.get(presentity);
    if (set === undefined) return;
    let changed = false;
    for (const s of [...set]) {
      if (s.pkg !== 'presence') continue;
      const action = decide(s.watcher);
      if (action === s.action) continue;
      changed = true;
      if (action === 'block') {
        s.action = action;
        this.terminate(s, 'rejected');
        continue;
      }
      if (s.action === 'pending' && action !== 'pending') s.lastEvent = 'approved';
      s.action = action;
      s.state = action === 'pending' ? 'pending' : 'active';
      this.notify(s, true);
    }
    if (changed) this.watchersChanged(presentity);
  }

  /** Stops every timer; subscriptions are forgotten (server stop). */
  clear(): void {
    for (const s of this.byDialog.values()) this.options.wheel.cancel(s.timer);
    this.byDialog.clear();
    this.byPresentity.clear();
  }

  /** The winfo subscribers of a presentity get the current watcher list (and a watcher just gone). */
  private watchersChanged(presentity: string, gone?: Subscription): void {
    const set = this.byPresentity.get(presentity);
    if (set === undefined) return;
    for (const s of set) if (s.pkg === 'presence.winfo') this.notify(s, false, gone);
  }

  private arm(subscription: Subscription, seconds: number): void {
    const wheel = this.options.wheel;
    wheel.cancel(subscription.timer);
    subscription.expiresAt = this.options.now() + seconds * 1000;
    subscription.timer = wheel.schedule(seconds * 1000, subscription, 0);
  }

  private detach(subscription: Subscription): void {
    this.options.wheel.cancel(subscription.timer);
    subscription.timer = null;
    if (this.byDialog.get(subscription.key) === subscription) this.byDialog.delete(subscription.key);
    const set = this.byPresentity.get(subscription.presentity);
    set?.delete(subscription);
    if (set !== undefined && set.size === 0) this.byPresentity.delete(subscription.presentity);
  }

  /** `force`: send even when the watcher would see nothing new (initial NOTIFY, refresh, state change). */
  private notify(subscription: Subscription, force: boolean, gone?: Subscription): void {
    if (subscription.state === 'terminated') return;
    if (!force && subscription.pkg === 'presence' && this.bodyFor(subscription) === subscription.lastBody) return;
    this.send(subscription, undefined, gone);
  }

  private bodyFor(s: Subscription, gone?: Subscription): string | undefined {
    if (s.pkg === 'presence.winfo') {
      const watchers: WatcherEntry[] = [];
      for (const w of this.byPresentity.get(s.presentity) ?? []) if (w.pkg === 'presence') watchers.push(entryOf(w));
      if (gone !== undefined) watchers.push(entryOf(gone));
      return composeWatcherInfo(`sip:${s.presentity}`, s.winfoVersion, watchers);
    }
    // RFC 3856 §6.6.2: a pending watcher learns nothing of the presentity
    if (s.action === 'pending') return undefined;
    return s.action === 'polite-block' ? this.options.neutralDocument(s.presentity) : this.options.presenceDocument(s.presentity);
  }

  /**
   * One NOTIFY at a time per subscription, so that they arrive in order: a change while one is in
   * flight is sent (with the state of that moment) when it completes.
   */
  private send(s: Subscription, reason: TerminationReason | undefined, gone?: Subscription): void {
    if (s.notifying) {
      s.notifyAgain = true;
      if (reason !== undefined) s.finalReason = reason;
      return;
    }
    const body = this.bodyFor(s, gone);
    if (s.pkg === 'presence.winfo') s.winfoVersion++;
    s.lastBody = body;
    const request = this.buildNotify(s, reason, body);
    s.notifying = true;
    s.notifyAgain = false;
    const done = (status: number) => {
      s.notifying = false;
      if (reason !== undefined) return;
      if (status >= 300) {
        // RFC 6665 §4.2.2: a NOTIFY rejected (481: the subscriber forgot it) or unanswered (408)
        // ends the subscription without a further NOTIFY
        if (s.state !== 'terminated') {
          this.options.logger.info({ presentity: s.presentity, watcher: s.watcher, status }, 'NOTIFY failed; subscription removed');
          s.state = 'terminated';
          s.lastEvent = status === 408 || status === 503 ? 'giveup' : 'deactivated';
          this.detach(s);
          if (s.pkg === 'presence') this.watchersChanged(s.presentity, s);
        }
        return;
      }
      if (s.finalReason !== undefined) this.send(s, s.finalReason);
      else if (s.notifyAgain && s.state !== 'terminated') this.send(s, undefined);
    };
    this.destinationOf(s, request).then(
      (destination) => this.options.transport.send(request, destination, done),
      (err: Error) => {
        this.options.logger.info({ err: err.message, presentity: s.presentity }, 'cannot reach the subscriber');
        done(503);
      },
    );
  }

  /** An in-dialog request of the UAS side (RFC 3261 §12.2.1.1). */
  private buildNotify(s: Subscription, reason: TerminationReason | undefined, body: string | undefined): SipRequest {
    const d = s.dialog;
    const remaining = Math.max(0, Math.round((s.expiresAt - this.options.now()) / 1000));
    const state = reason !== undefined ? `terminated;reason=${reason}` : `${s.state};expires=${remaining}`;
    let uri = d.remoteTarget;
    const routes = [...d.routeSet];
    // a strict router first in the route set takes the Request-URI's place (§12.2.1.1)
    if (routes.length > 0) {
      const first = parseNameAddress(routes[0], 'Route').uri;
      if (first.kind === 'sip' && !first.looseRouting) {
        routes.shift();
        routes.push(`<${uri}>`);
        uri = first.toString();
      }
    }
    const headers: Array<[string, string]> = [
      ...routes.map((r): [string, string] => ['Route', r]),
      ['Max-Forwards', '70'],
      ['From', `${d.localUri};tag=${d.localTag}`],
      ['To', d.remoteUri],
      ['Call-ID', d.callId],
      ['CSeq', `${++s.localCSeq} NOTIFY`],
      ['Contact', d.localContact],
      ['Event', d.event],
      ['Subscription-State', state],
    ];
    const contentType = s.pkg === 'presence' ? PIDF_CONTENT_TYPE : WATCHERINFO_CONTENT_TYPE;
    return createRequest({ method: 'NOTIFY', uri, headers, body, contentType: body === undefined ? undefined : contentType });
  }

  private async destinationOf(s: Subscription, request: SipRequest): Promise<Destination> {
    const route = request.routes[0];
    if (route === undefined && s.dialog.flow !== undefined) return s.dialog.flow;
    const next = route?.uri ?? parseUri(request.uriString);
    return resolveNumericUri(next) ?? (await resolveUri(next));
  }
}

function entryOf(s: Subscription): WatcherEntry {
  const status = s.state === 'terminated' ? 'terminated' : s.action === 'pending' ? 'pending' : 'active';
  return { id: s.id, uri: s.watcherUri, status, event: s.lastEvent };
}
