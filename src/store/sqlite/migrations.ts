/**
 * Schema migrations, applied in order once each; the applied versions are recorded in
 * schema_migrations. Never edit a released migration: add the next one.
 */
export const MIGRATIONS: Array<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
      CREATE TABLE domains (
        name TEXT PRIMARY KEY,
        realm TEXT NOT NULL,
        aliases TEXT NOT NULL DEFAULT '[]'
      );
      CREATE TABLE subscribers (
        username TEXT NOT NULL,
        domain TEXT NOT NULL,
        ha1_md5 TEXT NOT NULL,
        ha1_sha256 TEXT NOT NULL,
        PRIMARY KEY (username, domain)
      );
      CREATE TABLE bindings (
        aor TEXT NOT NULL,
        contact TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        q REAL NOT NULL,
        call_id TEXT NOT NULL,
        cseq INTEGER NOT NULL,
        path TEXT NOT NULL DEFAULT '[]',
        instance TEXT,
        reg_id INTEGER,
        received TEXT,
        user_agent TEXT,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (aor, contact)
      );
      CREATE INDEX bindings_expiry ON bindings (expires_at);
    `,
  },
  {
    // trusted peers (Kamailio permissions): '' and 0 stand for "any transport" and "any port",
    // so that the primary key also holds for the entries without them (NULLs are never equal)
    version: 2,
    sql: `
      CREATE TABLE trusted_peers (
        address TEXT NOT NULL,
        transport TEXT NOT NULL DEFAULT '',
        port INTEGER NOT NULL DEFAULT 0,
        peer_group TEXT,
        PRIMARY KEY (address, transport, port)
      );
    `,
  },
  {
    // offline messages (Kamailio msilo): delivered in id order when the recipient registers; a new
    // rowid is always above every existing one, which is all the order needs
    version: 3,
    sql: `
      CREATE TABLE stored_messages (
        id INTEGER PRIMARY KEY,
        aor TEXT NOT NULL,
        sender TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        content_type TEXT,
        body BLOB NOT NULL
      );
      CREATE INDEX stored_messages_aor ON stored_messages (aor, id);
      CREATE INDEX stored_messages_expiry ON stored_messages (expires_at);
    `,
  },
  {
    // presence authorization rules (RFC 3856 §5.1): one action per presentity and watcher
    version: 4,
    sql: `
      CREATE TABLE presence_rules (
        presentity TEXT NOT NULL,
        watcher TEXT NOT NULL,
        action TEXT NOT NULL,
        PRIMARY KEY (presentity, watcher)
      );
    `,
  },
];
