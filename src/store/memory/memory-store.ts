import type { Domain, PresenceRule, Store, StoredBinding, StoredMessage, StoredPeer, Subscriber } from '../ports.ts';

/** An in-memory store: for tests and for a server that needs nothing to persist. */
export class MemoryStore implements Store {
  private readonly subscribers = new Map<string, Subscriber>();
  private readonly domains = new Map<string, Domain>();
  private readonly bindings = new Map<string, StoredBinding>();
  private readonly peers = new Map<string, StoredPeer>();
  private readonly presenceRules = new Map<string, PresenceRule>();
  /** Offline messages by id; a Map iterates in insertion order, which is id order. */
  private readonly messages = new Map<number, StoredMessage>();
  private lastMessageId = 0;
  private version = 0;

  async getSubscriber(username: string, domain: string): Promise<Subscriber | undefined> {
    // copies, as for domains and bindings: a caller editing the result must not edit the store
    const s = this.subscribers.get(key(username, domain));
    return s === undefined ? undefined : { ...s };
  }

  async putSubscriber(s: Subscriber): Promise<void> {
    this.subscribers.set(key(s.username, s.domain), { ...s });
    this.version++;
  }

  async deleteSubscriber(username: string, domain: string): Promise<boolean> {
    this.version++;
    return this.subscribers.delete(key(username, domain));
  }

  async listSubscribers(domain?: string): Promise<Subscriber[]> {
    return [...this.subscribers.values()].filter((s) => domain === undefined || s.domain === domain).map((s) => ({ ...s }));
  }

  async importSubscribers(list: Subscriber[]): Promise<number> {
    for (const s of list) this.subscribers.set(key(s.username, s.domain), { ...s });
    this.version++;
    return list.length;
  }

  async listDomains(): Promise<Domain[]> {
    return [...this.domains.values()].map((d) => ({ ...d, aliases: [...d.aliases] }));
  }

  async putDomain(d: Domain): Promise<void> {
    this.domains.set(d.name, { ...d, aliases: [...d.aliases] });
    this.version++;
  }

  async deleteDomain(name: string): Promise<boolean> {
    this.version++;
    return this.domains.delete(name);
  }

  async loadBindings(): Promise<StoredBinding[]> {
    return [...this.bindings.values()].map((b) => ({ ...b, path: [...b.path] }));
  }

  async writeBindings(upserts: StoredBinding[], removals: Array<{ aor: string; contact: string }>): Promise<void> {
    for (const r of removals) this.bindings.delete(`${r.aor}\u0000${r.contact}`);
    for (const b of upserts) this.bindings.set(`${b.aor}\u0000${b.contact}`, { ...b, path: [...b.path] });
  }

  async listPeers(): Promise<StoredPeer[]> {
    return [...this.peers.values()].map((p) => ({ ...p })).sort((a, b) => peerKey(a.address, a.transport, a.port).localeCompare(peerKey(b.address, b.transport, b.port)));
  }

  async putPeer(p: StoredPeer): Promise<void> {
    this.peers.set(peerKey(p.address, p.transport, p.port), { ...p });
    this.version++;
  }

  async deletePeer(address: string, transport: string | null, port: number | null): Promise<boolean> {
    this.version++;
    return this.peers.delete(peerKey(address, transport, port));
  }

  async storeMessage(message: Omit<StoredMessage, 'id'>): Promise<number> {
    const id = ++this.lastMessageId;
    this.messages.set(id, { ...message, id, body: Buffer.from(message.body) });
    return id;
  }

  async messagesFor(aor: string): Promise<StoredMessage[]> {
    const out: StoredMessage[] = [];
    for (const m of this.messages.values()) if (m.aor === aor) out.push({ ...m, body: Buffer.from(m.body) });
    return out;
  }

  async deleteMessage(id: number): Promise<boolean> {
    return this.messages.delete(id);
  }

  async messageCounts(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const m of this.messages.values()) counts.set(m.aor, (counts.get(m.aor) ?? 0) + 1);
    return counts;
  }

  async deleteExpiredMessages(now: number): Promise<string[]> {
    const aors: string[] = [];
    for (const m of this.messages.values()) {
      if (m.expiresAt > now) continue;
      this.messages.delete(m.id);
      aors.push(m.aor);
    }
    return aors;
  }

  async listPresenceRules(presentity?: string): Promise<PresenceRule[]> {
    return [...this.presenceRules.values()]
      .filter((r) => presentity === undefined || r.presentity === presentity)
      .map((r) => ({ ...r }))
      .sort((a, b) => ruleKey(a.presentity, a.watcher).localeCompare(ruleKey(b.presentity, b.watcher)));
  }

  async putPresenceRule(r: PresenceRule): Promise<void> {
    this.presenceRules.set(ruleKey(r.presentity, r.watcher), { ...r });
    this.version++;
  }

  async deletePresenceRule(presentity: string, watcher: string): Promise<boolean> {
    this.version++;
    return this.presenceRules.delete(ruleKey(presentity, watcher));
  }

  async changeMarker(): Promise<number> {
    return this.version;
  }

  async close(): Promise<void> {}
}

function key(username: string, domain: string): string {
  return `${username}@${domain}`;
}

function peerKey(address: string, transport: string | null, port: number | null): string {
  return `${address}\u0000${transport ?? ''}\u0000${port ?? 0}`;
}

function ruleKey(presentity: string, watcher: string): string {
  return `${presentity}\u0000${watcher}`;
}
