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
];
