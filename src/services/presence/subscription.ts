/**
 * A subscription this server serves as notifier (RFC 6665 §4.2): the dialog the SUBSCRIBE
 * created (RFC 6665 §4.1.2.1, RFC 3261 §12.1.1 as UAS), what the watcher is allowed to see, and
 * the NOTIFY in flight. Its expiry is one timer on the wheel.
 */
import type { Timer, TimerTarget } from '../../shared/index.ts';
import type { Destination } from '../../transport/index.ts';
import type { PresenceAction } from '../../store/ports.ts';
import type { WatcherEvent } from './watcher-info.ts';

/** The event packages served here: presence (RFC 3856) and its watcher information (RFC 3857). */
export type PresencePackage = 'presence' | 'presence.winfo';

/** RFC 6665 §4.1.3 / §8.2.3: the subscription states and termination reasons of Subscription-State. */
export type SubscriptionState = 'pending' | 'active' | 'terminated';
export type TerminationReason = 'timeout' | 'rejected' | 'deactivated' | 'noresource' | 'giveup';

export interface SubscriptionDialog {
  callId: string;
  /** Our tag (the To tag of our 200). */
  localTag: string;
  /** The subscriber's tag (its From tag). */
  remoteTag: string;
  /** The To of the SUBSCRIBE without tag: our From in NOTIFYs. */
  localUri: string;
  /** The From of the SUBSCRIBE, tag included: the To of NOTIFYs. */
  remoteUri: string;
  /** The subscriber's Contact URI: the Request-URI of NOTIFYs (§12.1.1). */
  remoteTarget: string;
  /** The Record-Route values of the SUBSCRIBE, in order: the Route set of NOTIFYs (§12.1.1). */
  routeSet: string[];
  remoteCSeq: number;
  /** The Event header of the SUBSCRIBE, id parameter included: NOTIFYs repeat it (RFC 6665 §8.2.1). */
  event: string;
  /** Our Contact in the 200 and in NOTIFYs. */
  localContact: string;
  /** Where a SUBSCRIBE over TCP, TLS or WebSocket came from: NOTIFYs without a Route set go back over that connection. */
  flow: Destination | undefined;
}

export class Subscription implements TimerTarget {
  timer: Timer | null = null;
  localCSeq = 0;
  state: SubscriptionState = 'active';
  /** What moved the watcher to its state, for watcher information (RFC 3858 §4). */
  lastEvent: WatcherEvent = 'subscribe';
  /** The version of the next watcherinfo document (presence.winfo subscriptions, RFC 3858 §4). */
  winfoVersion = 0;
  /** A NOTIFY is waiting for its final response; further ones wait (one at a time keeps them in order). */
  notifying = false;
  /** Another NOTIFY is due when the one in flight completes. */
  notifyAgain = false;
  /** The subscription ended while a NOTIFY was in flight: the final one goes when it completes. */
  finalReason: TerminationReason | undefined;
  /** The body of the last NOTIFY, to send none when a change changed nothing the watcher sees. */
  lastBody: string | undefined;

  constructor(
    readonly id: string,
    readonly pkg: PresencePackage,
    readonly presentity: string,
    /** The watcher's AOR ("user@domain"; the domain alone when its From had no user). */
    readonly watcher: string,
    /** The watcher's URI as it subscribed, for watcher information. */
    readonly watcherUri: string,
    readonly dialog: SubscriptionDialog,
    public action: PresenceAction,
    public expiresAt: number,
    private readonly onExpiry: (subscription: Subscription) => void,
  ) {}

  get key(): string {
    return dialogKey(this.dialog.callId, this.dialog.localTag, this.dialog.remoteTag);
  }

  onTimer(): void {
    this.timer = null;
    this.onExpiry(this);
  }
}

export function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}\u0000${localTag}\u0000${remoteTag}`;
}
