// SqliteStore on a real file in a fresh temporary folder: the shared repository contract, the
// migrations, and changeMarker() across two stores on one file (the CLI provisioning a running server).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore, type StoredBinding } from '../../src/store/index.ts';
import { storeContract, storedBinding, subscriber } from './store-contract.ts';

let dir: string;
let files = 0;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sipline-sqlite-'));
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A path for a new database file, in a folder that does not exist yet. */
function freshPath(): string {
  return join(dir, `db${++files}`, 'sipline.db');
}

/** Reads the file with a separate, plain connection. */
function inspect<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path, { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

storeContract('SqliteStore', () => {
  const store = new SqliteStore(freshPath());
  return { store, dispose: () => store.close() };
});

describe('SqliteStore: file and migrations', () => {
  test('creates the folder and the file, in WAL mode', async () => {
    const path = freshPath();
    const store = new SqliteStore(path);
    try {
      assert.ok(existsSync(path));
      assert.equal(inspect(path, (db) => db.pragma('journal_mode', { simple: true })), 'wal');
    } finally {
      await store.close();
    }
  });

  test('migrations apply once: re-opening the same file keeps schema and data', async () => {
    const path = freshPath();
    const first = new SqliteStore(path);
    await first.putSubscriber(subscriber('alice'));
    await first.putDomain({ name: 'example.com', realm: 'example.com', aliases: ['sip.example.com'] });
    await first.writeBindings([storedBinding()], []);
    await first.close();

    const second = new SqliteStore(path); // would throw "table domains already exists" if re-applied
    try {
      assert.deepEqual(await second.getSubscriber('alice', 'example.com'), subscriber('alice'));
      assert.deepEqual(await second.listDomains(), [{ name: 'example.com', realm: 'example.com', aliases: ['sip.example.com'] }]);
      assert.deepEqual(await second.loadBindings(), [storedBinding()]);
    } finally {
      await second.close();
    }
    await new SqliteStore(path).close(); // and a third time

    const versions = inspect(path, (db) => db.prepare('SELECT version, applied_at FROM schema_migrations').all() as Array<{ version: number; applied_at: number }>);
    assert.deepEqual(
      versions.map((v) => v.version),
      [1, 2, 3, 4],
    );
    assert.ok(versions[0].applied_at > 0);
    const tables = inspect(path, (db) =>
      (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name),
    );
    assert.deepEqual(tables, ['bindings', 'domains', 'presence_rules', 'schema_migrations', 'stored_messages', 'subscribers', 'trusted_peers']);
  });

  test('a batch of bindings that fails part way changes nothing', async () => {
    const store = new SqliteStore(freshPath());
    try {
      const kept = storedBinding({ contact: 'sip:alice@192.0.2.10' });
      await store.writeBindings([kept], []);
      const broken = storedBinding({ contact: 'sip:alice@192.0.2.11', callId: null as unknown as string }); // NOT NULL
      await assert.rejects(store.writeBindings([storedBinding({ contact: 'sip:alice@192.0.2.12' }), broken], [kept]));
      assert.deepEqual(await store.loadBindings(), [kept]);
    } finally {
      await store.close();
    }
  });

  test('numbers survive: fractional q, large times, reg-id', async () => {
    const store = new SqliteStore(freshPath());
    try {
      const b: StoredBinding = storedBinding({ q: 0.123, expiresAt: 4_102_444_800_000, updatedAt: 4_102_444_000_123, cseq: 2 ** 31 - 1, regId: 2 ** 31 - 1, instance: '<urn:uuid:1>' });
      await store.writeBindings([b], []);
      assert.deepEqual(await store.loadBindings(), [b]);
    } finally {
      await store.close();
    }
  });
});

describe('SqliteStore: changeMarker() across stores on one file', () => {
  test('changes after another store on the same file commits, and only then', async () => {
    const path = freshPath();
    const server = new SqliteStore(path);
    const cli = new SqliteStore(path);
    try {
      const m0 = await server.changeMarker();
      assert.equal(await server.changeMarker(), m0, 'stable when nothing happens');
      await cli.getSubscriber('alice', 'example.com');
      await cli.listDomains();
      assert.equal(await server.changeMarker(), m0, 'reads by the other store change nothing');

      await cli.putSubscriber(subscriber('alice'));
      const m1 = await server.changeMarker();
      assert.notEqual(m1, m0, 'a commit by the other store is seen');
      assert.deepEqual(await server.getSubscriber('alice', 'example.com'), subscriber('alice'));
      assert.equal(await server.changeMarker(), m1, 'stable again afterwards');

      await cli.importSubscribers([subscriber('bob'), subscriber('carol')]);
      const m2 = await server.changeMarker();
      assert.notEqual(m2, m1);
      assert.equal((await server.listSubscribers()).length, 3);

      await cli.putDomain({ name: 'example.com', realm: 'example.com', aliases: [] });
      const m3 = await server.changeMarker();
      assert.notEqual(m3, m2);
      await cli.deleteSubscriber('alice', 'example.com');
      assert.notEqual(await server.changeMarker(), m3);
    } finally {
      await cli.close();
      await server.close();
    }
  });
});
