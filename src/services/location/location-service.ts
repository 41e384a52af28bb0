import { ownString, type Logger } from '../../shared/index.ts';
import type { BindingRepository, StoredBinding } from '../../store/ports.ts';
import { bindingKey, type Binding } from './binding.ts';
import { ExpiryQueue } from './expiry-queue.ts';

export type BindingChange = 'saved' | 'removed' | 'expired';

/** The Path of the many bindings that have none, shared (nothing edits a binding's path). */
const NO_PATH: string[] = Object.freeze([]) as unknown as string[];

export interface LocationOptions {
  /** How often dirty bindings are written to the store (write-behind). */
  flushIntervalMs?: number;
  now?: () => number;
  logger?: Logger;
  /**
   * Whether this process deletes expired bindings from the store (default true). In worker mode
   * every worker expires its copy of the table, and only the home worker writes the deletions.
   */
  persistExpiry?: boolean;
  /**
   * Whether bindings are written to the store and loaded from it at start (default true: Kamailio
   * usrloc db_mode 2, write-back). False keeps them in memory only (db_mode 0): nothing is read or
   * written, and a restart forgets every registration until the phones register again.
   */
  persist?: boolean;
}

/** `fromPeer`: the change was made by another worker of the server and copied here (worker mode). */
export type BindingListener = (aor: string, change: BindingChange, fromPeer: boolean) => void;

/**
 * The location service (RFC 3261 §10.3): bindings per address-of-record in memory, so a lookup
 * costs one map access whatever the number of bindings; changes are written behind to the store
 * in batches, and expired bindings are purged by a once-a-second timer through an expiry queue.
 */
export class LocationService {
  /**
   * The bindings of each AOR: the Binding itself while it is the only one (most users have one
   * device), a Map by key once there are more. A Map per AOR would cost a few hundred bytes per
   * user in a table of a million.
   */
  private readonly byAor = new Map<string, Binding | Map<string, Binding>>();
  private readonly expiry: ExpiryQueue<Binding>;
  private readonly dirty = new Map<string, Binding>();
  private readonly removed = new Map<string, { aor: string; contact: string }>();
  private readonly now: () => number;
  private flushTimer: NodeJS.Timeout | null = null;
  private purgeTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private count = 0;
  private readonly userAgents = new Map<string, string>();
  private readonly listeners: BindingListener[] = [];
  private readonly persist: boolean;

  constructor(
    private readonly repository: BindingRepository,
    private readonly options: LocationOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.expiry = new ExpiryQueue(this.now(), (b) => b.expiresAt);
    this.persist = options.persist !== false;
  }

  /** Loads the persisted bindings (dropping expired ones) and starts the flush and purge timers. */
  async start(): Promise<number> {
    const now = this.now();
    const stale: Array<{ aor: string; contact: string }> = [];
    for (const stored of this.persist ? await this.repository.loadBindings() : []) {
      if (stored.expiresAt <= now) stale.push({ aor: stored.aor, contact: stored.contact });
      else this.insert({ ...stored, key: bindingKey(stored.contact, stored.instance, stored.regId) });
    }
    if (stale.length > 0) await this.repository.writeBindings([], stale);
    this.flushTimer = setInterval(() => void this.flush(), this.options.flushIntervalMs ?? 200);
    this.purgeTimer = setInterval(() => this.purgeExpired(), 1000);
    this.flushTimer.unref();
    this.purgeTimer.unref();
    return this.count;
  }

  async stop(): Promise<void> {
    if (this.flushTimer !== null) clearInterval(this.flushTimer);
    if (this.purgeTimer !== null) clearInterval(this.purgeTimer);
    this.flushTimer = this.purgeTimer = null;
    await this.flush();
  }

  /**
   * Follows registrations: called after a binding of an AOR was added or refreshed ('saved'),
   * removed by its user ('removed') or expired ('expired'). Features that act on registration
   * (stored messages, presence from registration) subscribe here instead of importing the
   * registrar. Listeners run synchronously inside the change and must defer heavy work.
   */
  onChange(listener: BindingListener): void {
    this.listeners.push(listener);
  }

  get size(): number {
    return this.count;
  }

  /** Live bindings of an AOR, highest q first (RFC 3261 §16.6 target order). */
  lookup(aor: string): Binding[] {
    const entry = this.byAor.get(aor);
    if (entry === undefined) return [];
    const now = this.now();
    if (!(entry instanceof Map)) return entry.expiresAt > now ? [entry] : [];
    const out: Binding[] = [];
    for (const b of entry.values()) if (b.expiresAt > now) out.push(b);
    if (out.length > 1) out.sort((a, b) => b.q - a.q);
    return out;
  }

  keyOf(contact: string, instance: string | null, regId: number | null): string {
    return bindingKey(contact, instance, regId);
  }

  get(aor: string, key: string): Binding | undefined {
    const entry = this.byAor.get(aor);
    if (entry === undefined) return undefined;
    if (entry instanceof Map) return entry.get(key);
    return entry.key === key ? entry : undefined;
  }

  /**
   * Adds or replaces a binding. A refresh (the same contact under the same key: most REGISTERs)
   * updates the binding held in place, which then leaves no object or strings behind for the
   * garbage collector; holders of the Binding see the new expiry, as they would after a lookup.
   */
  save(stored: StoredBinding): Binding {
    const key = bindingKey(stored.contact, stored.instance, stored.regId);
    const old = this.get(stored.aor, key);
    if (old !== undefined && old.contact === stored.contact) return this.refresh(old, stored);
    // every field named (no spread): all bindings share one object shape, and a caller's extra fields stay out;
    // strings read from a REGISTER are copied (ownString), or each would keep the whole request text alive
    const contact = ownString(stored.contact);
    const binding: Binding = {
      aor: ownString(stored.aor),
      contact,
      expiresAt: stored.expiresAt,
      q: stored.q,
      callId: ownString(stored.callId),
      cseq: stored.cseq,
      path: ownPath(stored.path),
      instance: stored.instance,
      regId: stored.regId,
      received: stored.received,
      userAgent: stored.userAgent === null ? null : this.sharedUserAgent(stored.userAgent),
      updatedAt: stored.updatedAt,
      key: bindingKey(contact, stored.instance, stored.regId),
    };
    if (old !== undefined) this.detach(old);
    this.insert(binding);
    if (old !== undefined) this.markRemoved(old);
    this.markSaved(binding);
    this.changed(binding.aor, 'saved', false);
    return binding;
  }

  /** save() of a binding the AOR holds with the same contact: its fields brought up to date. */
  private refresh(b: Binding, stored: StoredBinding): Binding {
    if (b.expiresAt !== stored.expiresAt) {
      b.expiresAt = stored.expiresAt;
      this.expiry.add(b, b.expiresAt);
    }
    b.q = stored.q;
    // equal strings are kept: the new ones are slices of the request and die with it
    if (b.callId !== stored.callId) b.callId = ownString(stored.callId);
    b.cseq = stored.cseq;
    if (!samePath(b.path, stored.path)) b.path = ownPath(stored.path);
    if (b.received !== stored.received) b.received = stored.received;
    if (b.userAgent !== stored.userAgent) b.userAgent = stored.userAgent === null ? null : this.sharedUserAgent(stored.userAgent);
    b.updatedAt = stored.updatedAt;
    this.markSaved(b);
    this.changed(b.aor, 'saved', false);
    return b;
  }

  remove(aor: string, key: string): boolean {
    const b = this.get(aor, key);
    if (b === undefined) return false;
    this.detach(b);
    this.markRemoved(b);
    this.changed(aor, 'removed', false);
    return true;
  }

  removeAll(aor: string): number {
    const entry = this.byAor.get(aor);
    if (entry === undefined) return 0;
    const list = entry instanceof Map ? [...entry.values()] : [entry];
    for (const b of list) this.remove(aor, b.key);
    return list.length;
  }

  /** Every live binding, for the CLI and the management API. */
  *all(): IterableIterator<Binding> {
    const now = this.now();
    for (const entry of this.byAor.values()) {
      if (!(entry instanceof Map)) {
        if (entry.expiresAt > now) yield entry;
        continue;
      }
      for (const b of entry.values()) if (b.expiresAt > now) yield b;
    }
  }

  /** The AORs that hold bindings. */
  aors(): IterableIterator<string> {
    return this.byAor.keys();
  }

  /** Every binding the AOR holds (expired ones not yet purged included), as stored. */
  bindingsOf(aor: string): StoredBinding[] {
    const entry = this.byAor.get(aor);
    if (entry === undefined) return [];
    return entry instanceof Map ? [...entry.values()].map(toStored) : [toStored(entry)];
  }

  /**
   * Makes the AOR hold exactly these bindings, as another worker of the server has them after a
   * change it made (and persists itself): nothing is written to the store from here, and the
   * change listeners hear it with fromPeer set.
   */
  applyPeer(aor: string, bindings: readonly StoredBinding[]): void {
    const entry = this.byAor.get(aor);
    if (entry !== undefined) for (const b of entry instanceof Map ? [...entry.values()] : [entry]) this.detach(b);
    const now = this.now();
    for (const stored of bindings) {
      if (stored.expiresAt <= now) continue;
      this.insert({
        ...stored,
        path: stored.path.length === 0 ? NO_PATH : stored.path,
        userAgent: stored.userAgent === null ? null : this.sharedUserAgent(stored.userAgent),
        key: bindingKey(stored.contact, stored.instance, stored.regId),
      });
    }
    this.changed(aor, this.byAor.has(aor) ? 'saved' : 'removed', true);
  }

  /** Writes pending changes to the store in one batch. */
  flush(): Promise<void> {
    if (this.dirty.size === 0 && this.removed.size === 0) return this.flushing;
    const upserts = [...this.dirty.values()].map(toStored);
    const removals = [...this.removed.values()];
    this.dirty.clear();
    this.removed.clear();
    this.flushing = this.flushing
      .then(() => this.repository.writeBindings(upserts, removals))
      .catch((err: Error) => {
        this.options.logger?.error({ err: err.message }, 'could not persist bindings; will retry');
        // Re-queue only what nothing newer replaced: a binding saved again is already dirty, and one
        // removed meanwhile must stay removed (upserts are written after removals, so it would come back).
        for (const b of upserts) {
          const k = persistKey(b);
          if (!this.dirty.has(k) && !this.removed.has(k)) this.dirty.set(k, { ...b, key: bindingKey(b.contact, b.instance, b.regId) });
        }
        for (const r of removals) this.removed.set(`${r.aor}\u0000${r.contact}`, r);
      });
    return this.flushing;
  }

  purgeExpired(): number {
    const now = this.now();
    let purged = 0;
    for (const b of this.expiry.takeDue(now)) {
      const current = this.get(b.aor, b.key);
      if (current !== b || b.expiresAt > now) continue;
      this.detach(b);
      if (this.options.persistExpiry !== false) this.markRemoved(b);
      purged++;
      this.changed(b.aor, 'expired', false);
    }
    return purged;
  }

  /** One string per distinct User-Agent (a few models serve most users), bounded against hostile variety. */
  private sharedUserAgent(text: string): string {
    const known = this.userAgents.get(text);
    if (known !== undefined) return known;
    const own = ownString(text);
    if (this.userAgents.size < 1024) this.userAgents.set(own, own);
    return own;
  }

  private changed(aor: string, change: BindingChange, fromPeer: boolean): void {
    for (const listener of this.listeners) {
      try {
        listener(aor, change, fromPeer);
      } catch (err) {
        this.options.logger?.error({ err: (err as Error).message, aor }, 'a registration listener failed');
      }
    }
  }

  /** Adds a binding whose key the AOR does not hold (save() detached the old one first). */
  private insert(b: Binding): void {
    const entry = this.byAor.get(b.aor);
    if (entry === undefined) this.byAor.set(b.aor, b);
    else if (entry instanceof Map) entry.set(b.key, b);
    else this.byAor.set(b.aor, new Map([[entry.key, entry], [b.key, b]]));
    this.expiry.add(b, b.expiresAt);
    this.count++;
  }

  private detach(b: Binding): void {
    const entry = this.byAor.get(b.aor);
    if (entry === undefined) return;
    if (entry instanceof Map) {
      if (entry.get(b.key) !== b) return;
      entry.delete(b.key);
      // back to the single form when one binding is left
      if (entry.size === 1) this.byAor.set(b.aor, entry.values().next().value as Binding);
    } else {
      if (entry !== b) return;
      this.byAor.delete(b.aor);
    }
    this.expiry.remove(b);
    this.count--;
  }

  /** Queues the binding for the next flush (write-behind). */
  private markSaved(b: Binding): void {
    if (!this.persist) return;
    const k = persistKey(b);
    this.removed.delete(k);
    this.dirty.set(k, b);
  }

  private markRemoved(b: Binding): void {
    if (!this.persist) return;
    const k = persistKey(b);
    this.dirty.delete(k);
    this.removed.set(k, { aor: b.aor, contact: b.contact });
  }
}

function ownPath(path: string[]): string[] {
  return path.length === 0 ? NO_PATH : path.map(ownString);
}

function samePath(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function persistKey(b: { aor: string; contact: string }): string {
  return `${b.aor}\u0000${b.contact}`;
}

function toStored(b: Binding | StoredBinding): StoredBinding {
  return {
    aor: b.aor,
    contact: b.contact,
    expiresAt: b.expiresAt,
    q: b.q,
    callId: b.callId,
    cseq: b.cseq,
    path: b.path,
    instance: b.instance,
    regId: b.regId,
    received: b.received,
    userAgent: b.userAgent,
    updatedAt: b.updatedAt,
  };
}
