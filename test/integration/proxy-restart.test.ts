/**
 * Bindings survive a restart: a server on a SQLite data directory registers bob, stops (flushing
 * the location service), and a new server on the same directory routes an INVITE for bob to the
 * contact he registered with the first one (RFC 3261 §10.3: the registrar's bindings are its
 * state, not the process's).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { newTag } from '../../src/shared/index.ts';
import type { SipRequest } from '../../src/sip/index.ts';
import { SqliteStore } from '../../src/store/index.ts';
import { call, provision, received, register, startPhone, startProxy, type Proxy } from '../support/proxy.ts';

test('a binding registered before a restart is found by the next server on the same data directory', { timeout: 20_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sipline-restart-'));
  const alice = await startPhone('alice');
  const bob = await startPhone('bob');
  let proxy: Proxy | undefined;
  try {
    // subscribers provisioned in the store, as `sipline user add` does
    const store = new SqliteStore(join(dataDir, 'sipline.sqlite'));
    await provision(store);
    await store.close();

    proxy = await startProxy({ dataDir });
    assert.equal(proxy.server.dataPath, join(dataDir, 'sipline.sqlite'));
    const ok = await register(bob, proxy, { expires: 3600 });
    assert.equal(ok.status, 200);
    const before = proxy.server.location.lookup('bob@example.test');
    assert.equal(before.length, 1);
    await proxy.server.stop();
    proxy = undefined;

    proxy = await startProxy({ dataDir });
    const after = proxy.server.location.lookup('bob@example.test');
    assert.equal(after.length, 1, 'the binding was restored');
    assert.equal(after[0].contact, before[0].contact);
    assert.equal(after[0].expiresAt, before[0].expiresAt);
    assert.equal(after[0].callId, before[0].callId);

    bob.ua.onRequest = (incoming) => {
      if (incoming.request.method === 'INVITE') bob.ua.answer(incoming, 200, { toTag: newTag() });
      else incoming.respond(200);
    };
    const outgoing = await call(alice, proxy, 'sip:bob@example.test');
    assert.equal((await outgoing.final).status, 200, 'alice authenticated against the stored subscriber and reached bob');
    const invite = received(bob, 'INVITE')[0].message as SipRequest;
    assert.equal(invite.uriString, `sip:bob@127.0.0.1:${bob.port()}`);
    assert.equal((await outgoing.bye()).status, 200);
  } finally {
    await proxy?.server.stop();
    await Promise.all([alice.ua.close(), bob.ua.close()]);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
