/**
 * The event state compositor (ESC) of RFC 3903 for the presence package: publications per
 * presentity, one per publisher (device), each identified by an entity-tag and expiring on the
 * timer wheel (one wheel timer per publication; nothing scans the publications).
 */
import { randomToken, type Timer, type TimerTarget, type TimerWheel } from '../../shared/index.ts';
import type { PidfPart } from './pidf.ts';

export interface PublicationPolicy {
  /** Seconds a publication lasts when the PUBLISH asks for none. */
  defaultExpires: number;
  /** Shorter requests get 423 with Min-Expires (RFC 3903 §6 step 5). */
  minExpires: number;
  /** Longer requests are cut to this. */
  maxExpires: number;
  /** Most publications (devices) one presentity may have; more get 403. */
  maxPerPresentity: number;
}

/** The event state one publisher contributed. */
export class Publication implements TimerTarget {
  timer: Timer | null = null;
  /** Orders publications by their last change of state (newest first in the composed document). */
  changed = 0;
  constructor(
    readonly presentity: string,
    public etag: string,
    public state: PidfPart,
    public expiresAt: number,
    private readonly compositor: EventStateCompositor,
  ) {}

  onTimer(): void {
    this.compositor.expire(this);
  }
}

/** What the PUBLISH asked for, read from its headers and body. */
export interface PublishRequest {
  presentity: string;
  /** SIP-If-Match: the entity-tag of the publication to refresh, modify or remove. */
  ifMatch: string | undefined;
  /** Expires, undefined when absent. */
  expires: number | undefined;
  /** The new state (a body), undefined for a refresh or removal. */
  state: PidfPart | undefined;
}

export type PublishOutcome =
  | { status: 200; etag: string | undefined; expires: number; changed: boolean }
  | { status: 400 | 403 | 412 | 423; reason?: string; minExpires?: number };

/**
 * RFC 3903 §6 steps 3-8. Every successful PUBLISH gets a new entity-tag (§6 step 8, so a stale
 * copy of an old tag can never modify the state again); removal (Expires: 0) has none to give.
 */
export class EventStateCompositor {
  private readonly byEtag = new Map<string, Publication>();
  private readonly byPresentity = new Map<string, Set<Publication>>();
  private changes = 0;

  constructor(
    private readonly wheel: TimerWheel,
    private readonly policy: PublicationPolicy,
    /** Wall-clock milliseconds (publication expiry times are shown in seconds left). */
    private readonly now: () => number,
    /** Called when a presentity's published state changed (new, modified, removed, expired). */
    private readonly onChange: (presentity: string) => void,
  ) {}

  publish(request: PublishRequest): PublishOutcome {
    let publication: Publication | undefined;
    if (request.ifMatch !== undefined) {
      // §6 step 3: an unknown (or expired, or another presentity's) entity-tag is a failed condition
      publication = this.byEtag.get(request.ifMatch);
      if (publication === undefined || publication.presentity !== request.presentity) return { status: 412 };
    } else if (request.state === undefined) {
      // §6 step 4: an initial PUBLISH must carry the state
      return { status: 400, reason: 'Missing Event State' };
    }
    const requested = request.expires ?? this.policy.defaultExpires;
    if (requested === 0) {
      // §6 step 5: removal
      if (publication !== undefined) this.remove(publication);
      return { status: 200, etag: undefined, expires: 0, changed: publication !== undefined };
    }
    if (requested < this.policy.minExpires) return { status: 423, minExpires: this.policy.minExpires };
    const expires = Math.min(requested, this.policy.maxExpires);
    const expiresAt = this.now() + expires * 1000;
    const etag = randomToken(12);
    if (publication === undefined) {
      const set = this.byPresentity.get(request.presentity);
      if (set !== undefined && set.size >= this.policy.maxPerPresentity) return { status: 403, reason: 'Too Many Publications' };
      publication = new Publication(request.presentity, etag, request.state as PidfPart, expiresAt, this);
      publication.changed = ++this.changes;
      this.attach(publication);
      this.arm(publication, expires);
      this.onChange(request.presentity);
      return { status: 200, etag, expires, changed: true };
    }
    // refresh (no body) or modify (a body): the publication gets a new entity-tag either way
    this.byEtag.delete(publication.etag);
    publication.etag = etag;
    this.byEtag.set(etag, publication);
    publication.expiresAt = expiresAt;
    this.arm(publication, expires);
    const changed = request.state !== undefined;
    if (changed) {
      publication.state = request.state as PidfPart;
      publication.changed = ++this.changes;
      this.onChange(request.presentity);
    }
    return { status: 200, etag, expires, changed };
  }

  /**
   * The live publications of a presentity, the most recently changed first: watchers that read
   * only the first tuple (many phones do) see the latest state a device published, not a stale
   * publication another device (or the same one, after losing its entity-tag) left behind.
   */
  publicationsOf(presentity: string): Publication[] {
    const set = this.byPresentity.get(presentity);
    if (set === undefined) return [];
    const list = [...set];
    if (list.length > 1) list.sort((a, b) => b.changed - a.changed);
    return list;
  }

  get size(): number {
    return this.byEtag.size;
  }

  /** @internal the wheel timer of a publication fired (§6: state not refreshed in time is removed) */
  expire(publication: Publication): void {
    publication.timer = null;
    if (this.byEtag.get(publication.etag) !== publication) return;
    this.remove(publication);
  }

  /** Cancels every timer (server stop). */
  clear(): void {
    for (const p of this.byEtag.values()) this.wheel.cancel(p.timer);
    this.byEtag.clear();
    this.byPresentity.clear();
  }

  private arm(publication: Publication, seconds: number): void {
    this.wheel.cancel(publication.timer);
    publication.timer = this.wheel.schedule(seconds * 1000, publication, 0);
  }

  private attach(publication: Publication): void {
    this.byEtag.set(publication.etag, publication);
    let set = this.byPresentity.get(publication.presentity);
    if (set === undefined) this.byPresentity.set(publication.presentity, (set = new Set()));
    set.add(publication);
  }

  private remove(publication: Publication): void {
    this.wheel.cancel(publication.timer);
    publication.timer = null;
    this.byEtag.delete(publication.etag);
    const set = this.byPresentity.get(publication.presentity);
    set?.delete(publication);
    if (set !== undefined && set.size === 0) this.byPresentity.delete(publication.presentity);
    this.onChange(publication.presentity);
  }
}
