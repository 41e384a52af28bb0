import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Domain, PresenceAction, PresenceRule, Store, StoredBinding, StoredMessage, StoredPeer, Subscriber } from '../ports.ts';
import { MIGRATIONS } from './migrations.ts';

interface SubscriberRow {
  username: string;
  domain: string;
  ha1_md5: string;
  ha1_sha256: string;
}

interface BindingRow {
  aor: string;
  contact: string;
  expires_at: number;
  q: number;
  call_id: string;
  cseq: number;
  path: string;
  instance: string | null;
  reg_id: number | null;
  received: string | null;
  user_agent: string | null;
  updated_at: number;
}

interface MessageRow {
  id: number;
  aor: string;
  sender: string;
  received_at: number;
  expires_at: number;
  content_type: string | null;
  body: Buffer;
}

/**
 * The embedded default store: one SQLite file (WAL mode, so the CLI can provision while the
 * server runs). The only place with SQL.
 */
export class SqliteStore implements Store {
  private readonly db: Database.Database;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    const applied = new Set(
      (this.db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version),
    );
    for (const m of MIGRATIONS) {
      if (applied.has(m.version)) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(m.version, Date.now());
      })();
    }
  }

  async getSubscriber(username: string, domain: string): Promise<Subscriber | undefined> {
    const row = this.db.prepare('SELECT * FROM subscribers WHERE username = ? AND domain = ?').get(username, domain) as SubscriberRow | undefined;
    return row === undefined ? undefined : toSubscriber(row);
  }

  async putSubscriber(s: Subscriber): Promise<void> {
    this.db
      .prepare('INSERT OR REPLACE INTO subscribers (username, domain, ha1_md5, ha1_sha256) VALUES (?, ?, ?, ?)')
      .run(s.username, s.domain, s.ha1Md5, s.ha1Sha256);
  }

  async deleteSubscriber(username: string, domain: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM subscribers WHERE username = ? AND domain = ?').run(username, domain).changes > 0;
  }

  async listSubscribers(domain?: string): Promise<Subscriber[]> {
    const rows = (
      domain === undefined
        ? this.db.prepare('SELECT * FROM subscribers ORDER BY domain, username').all()
        : this.db.prepare('SELECT * FROM subscribers WHERE domain = ? ORDER BY username').all(domain)
    ) as SubscriberRow[];
    return rows.map(toSubscriber);
  }

  async importSubscribers(list: Subscriber[]): Promise<number> {
    const insert = this.db.prepare('INSERT OR REPLACE INTO subscribers (username, domain, ha1_md5, ha1_sha256) VALUES (?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const s of list) insert.run(s.username, s.domain, s.ha1Md5, s.ha1Sha256);
    })();
    return list.length;
  }

  async listDomains(): Promise<Domain[]> {
    const rows = this.db.prepare('SELECT * FROM domains ORDER BY name').all() as Array<{ name: string; realm: string; aliases: string }>;
    return rows.map((r) => ({ name: r.name, realm: r.realm, aliases: JSON.parse(r.aliases) as string[] }));
  }

  async putDomain(d: Domain): Promise<void> {
    this.db.prepare('INSERT OR REPLACE INTO domains (name, realm, aliases) VALUES (?, ?, ?)').run(d.name, d.realm, JSON.stringify(d.aliases));
  }

  async deleteDomain(name: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM domains WHERE name = ?').run(name).changes > 0;
  }

  async loadBindings(): Promise<StoredBinding[]> {
    const rows = this.db.prepare('SELECT * FROM bindings').all() as BindingRow[];
    return rows.map((r) => ({
      aor: r.aor,
      contact: r.contact,
      expiresAt: r.expires_at,
      q: r.q,
      callId: r.call_id,
      cseq: r.cseq,
      path: JSON.parse(r.path) as string[],
      instance: r.instance,
      regId: r.reg_id,
      received: r.received,
      userAgent: r.user_agent,
      updatedAt: r.updated_at,
    }));
  }

  async writeBindings(upserts: StoredBinding[], removals: Array<{ aor: string; contact: string }>): Promise<void> {
    const del = this.db.prepare('DELETE FROM bindings WHERE aor = ? AND contact = ?');
    const put = this.db.prepare(
      `INSERT OR REPLACE INTO bindings (aor, contact, expires_at, q, call_id, cseq, path, instance, reg_id, received, user_agent, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.db.transaction(() => {
      for (const r of removals) del.run(r.aor, r.contact);
      for (const b of upserts) {
        put.run(b.aor, b.contact, b.expiresAt, b.q, b.callId, b.cseq, JSON.stringify(b.path), b.instance, b.regId, b.received, b.userAgent, b.updatedAt);
      }
    })();
  }

  async listPeers(): Promise<StoredPeer[]> {
    const rows = this.db.prepare('SELECT * FROM trusted_peers ORDER BY address, transport, port').all() as Array<{ address: string; transport: string; port: number; peer_group: string | null }>;
    return rows.map((r) => ({ address: r.address, transport: r.transport === '' ? null : r.transport, port: r.port === 0 ? null : r.port, group: r.peer_group }));
  }

  async putPeer(p: StoredPeer): Promise<void> {
    this.db
      .prepare('INSERT OR REPLACE INTO trusted_peers (address, transport, port, peer_group) VALUES (?, ?, ?, ?)')
      .run(p.address, p.transport ?? '', p.port ?? 0, p.group);
  }

  async deletePeer(address: string, transport: string | null, port: number | null): Promise<boolean> {
    return this.db.prepare('DELETE FROM trusted_peers WHERE address = ? AND transport = ? AND port = ?').run(address, transport ?? '', port ?? 0).changes > 0;
  }

  async storeMessage(m: Omit<StoredMessage, 'id'>): Promise<number> {
    const result = this.db
      .prepare('INSERT INTO stored_messages (aor, sender, received_at, expires_at, content_type, body) VALUES (?, ?, ?, ?, ?, ?)')
      .run(m.aor, m.sender, m.receivedAt, m.expiresAt, m.contentType, m.body);
    return Number(result.lastInsertRowid);
  }

  async messagesFor(aor: string): Promise<StoredMessage[]> {
    const rows = this.db.prepare('SELECT * FROM stored_messages WHERE aor = ? ORDER BY id').all(aor) as MessageRow[];
    return rows.map((r) => ({ id: r.id, aor: r.aor, sender: r.sender, receivedAt: r.received_at, expiresAt: r.expires_at, contentType: r.content_type, body: r.body }));
  }

  async deleteMessage(id: number): Promise<boolean> {
    return this.db.prepare('DELETE FROM stored_messages WHERE id = ?').run(id).changes > 0;
  }

  async messageCounts(): Promise<Map<string, number>> {
    const rows = this.db.prepare('SELECT aor, COUNT(*) AS n FROM stored_messages GROUP BY aor').all() as Array<{ aor: string; n: number }>;
    return new Map(rows.map((r) => [r.aor, r.n]));
  }

  async deleteExpiredMessages(now: number): Promise<string[]> {
    return this.db.transaction(() => {
      const rows = this.db.prepare('SELECT aor FROM stored_messages WHERE expires_at <= ?').all(now) as Array<{ aor: string }>;
      this.db.prepare('DELETE FROM stored_messages WHERE expires_at <= ?').run(now);
      return rows.map((r) => r.aor);
    })();
  }

  async listPresenceRules(presentity?: string): Promise<PresenceRule[]> {
    const rows = (
      presentity === undefined
        ? this.db.prepare('SELECT * FROM presence_rules ORDER BY presentity, watcher').all()
        : this.db.prepare('SELECT * FROM presence_rules WHERE presentity = ? ORDER BY watcher').all(presentity)
    ) as Array<{ presentity: string; watcher: string; action: string }>;
    return rows.map((r) => ({ presentity: r.presentity, watcher: r.watcher, action: r.action as PresenceAction }));
  }

  async putPresenceRule(r: PresenceRule): Promise<void> {
    this.db.prepare('INSERT OR REPLACE INTO presence_rules (presentity, watcher, action) VALUES (?, ?, ?)').run(r.presentity, r.watcher, r.action);
  }

  async deletePresenceRule(presentity: string, watcher: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM presence_rules WHERE presentity = ? AND watcher = ?').run(presentity, watcher).changes > 0;
  }

  async changeMarker(): Promise<number> {
    // PRAGMA data_version changes whenever another connection commits
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

function toSubscriber(r: SubscriberRow): Subscriber {
  return { username: r.username, domain: r.domain, ha1Md5: r.ha1_md5, ha1Sha256: r.ha1_sha256 };
}
