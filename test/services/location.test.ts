// The location service (src/services/location): in-memory bindings, write-behind to the store,
// expiry purge, restart from the store. Time is injected; no test waits on the timers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocationService } from '../../src/services/location/index.ts';
import { MemoryStore, SqliteStore, type BindingRepository, type StoredBinding } from '../../src/store/index.ts';

const T0 = 1_700_000_000_000;
const AOR = 'alice@example.com';

function binding(overrides: Partial<StoredBinding> = {}): StoredBinding {
  return {
    aor: AOR,
    contact: 'sip:alice@192.0.2.10:5060',
    expiresAt: T0 + 3600_000,
    q: 1,
    callId: 'call-1@192.0.2.10',
    cseq: 1,
    path: [],
    instance: null,
    regId: null,
    received: 'udp:192.0.2.10:5060',
    userAgent: 'ua/1.0',
    updatedAt: T0,
    ...overrides,
  };
}

/** A repository that records every batch it is given, over a real MemoryStore. */
class RecordingRepository implements BindingRepository {
  readonly batches: Array<{ upserts: StoredBinding[]; removals: Array<{ aor: string; contact: string }> }> = [];
  failNext = 0;
  constructor(readonly store = new MemoryStore()) {}
  loadBindings(): Promise<StoredBinding[]> {
    return this.store.loadBindings();
  }
  async writeBindings(upserts: StoredBinding[], removals: Array<{ aor: string; contact: string }>): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('disk full');
    }
    this.batches.push({ upserts: structuredClone(upserts), removals: structuredClone(removals) });
    await this.store.writeBindings(upserts, removals);
  }
}

function setup(repository: BindingRepository = new MemoryStore()) {
  const clock = { t: T0 };
  const location = new LocationService(repository, { now: () => clock.t });
  return { clock, location };
}

const contacts = (list: Array<{ contact: string }>) => list.map((b) => b.contact);
const stored = async (repo: BindingRepository) => (await repo.loadBindings()).map((b) => b.contact).sort();

describe('LocationService in memory', () => {
  test('save and lookup: highest q first, other AORs apart', () => {
    const { location } = setup();
    location.save(binding({ contact: 'sip:alice@192.0.2.1', q: 0.1 }));
    location.save(binding({ contact: 'sip:alice@192.0.2.2', q: 1 }));
    location.save(binding({ contact: 'sip:alice@192.0.2.3', q: 0.5 }));
    location.save(binding({ aor: 'bob@example.com', contact: 'sip:bob@192.0.2.4' }));
    assert.deepEqual(contacts(location.lookup(AOR)), ['sip:alice@192.0.2.2', 'sip:alice@192.0.2.3', 'sip:alice@192.0.2.1']);
    assert.deepEqual(contacts(location.lookup('bob@example.com')), ['sip:bob@192.0.2.4']);
    assert.deepEqual(location.lookup('nobody@example.com'), []);
    assert.equal(location.size, 4);
    assert.equal([...location.all()].length, 4);
  });

  test('a refresh replaces the binding with the same key instead of adding one', () => {
    const { location, clock } = setup();
    const first = location.save(binding({ cseq: 1 }));
    clock.t += 60_000;
    const second = location.save(binding({ cseq: 2, expiresAt: clock.t + 3600_000, updatedAt: clock.t, q: 0.7 }));
    assert.equal(second.key, first.key);
    assert.equal(location.size, 1);
    const [b] = location.lookup(AOR);
    assert.equal(b.cseq, 2);
    assert.equal(b.q, 0.7);
    assert.equal(b.expiresAt, T0 + 60_000 + 3600_000);
    assert.equal(location.get(AOR, first.key), b);
  });

  test('a refresh updates the held binding in place: it expires at its new time, not the old one, and the store gets the new state', async () => {
    const repository = new RecordingRepository();
    const { location, clock } = setup(repository);
    const first = location.save(binding({ expiresAt: T0 + 60_000 }));
    await location.flush();
    clock.t += 30_000;
    const refreshed = location.save(binding({ callId: 'call-2@192.0.2.10', cseq: 7, expiresAt: clock.t + 120_000, updatedAt: clock.t, path: ['<sip:edge.example.com;lr>'], userAgent: 'ua/2.0' }));
    assert.equal(refreshed, first, 'the same object, brought up to date');
    assert.deepEqual(
      { callId: first.callId, cseq: first.cseq, path: first.path, userAgent: first.userAgent },
      { callId: 'call-2@192.0.2.10', cseq: 7, path: ['<sip:edge.example.com;lr>'], userAgent: 'ua/2.0' },
    );
    // past the old expiry: still there, and the purge leaves it
    clock.t = T0 + 61_000;
    assert.equal(location.purgeExpired(), 0);
    assert.deepEqual(contacts(location.lookup(AOR)), ['sip:alice@192.0.2.10:5060']);
    await location.flush();
    const written = repository.batches.at(-1)?.upserts ?? [];
    assert.deepEqual(written.map((b) => [b.cseq, b.expiresAt]), [[7, T0 + 30_000 + 120_000]]);
    // and at the new one it goes
    clock.t = T0 + 30_000 + 121_000;
    assert.equal(location.purgeExpired(), 1);
    assert.equal(location.size, 0);
  });

  test('persist: false (Kamailio usrloc db_mode 0) neither loads bindings from the store nor writes any to it', async () => {
    const repository = new RecordingRepository();
    await repository.store.writeBindings([binding({ aor: 'bob@example.com', contact: 'sip:bob@192.0.2.20' })], []);
    const location = new LocationService(repository, { now: () => T0, persist: false });
    assert.equal(await location.start(), 0, 'the stored binding is not loaded');
    try {
      location.save(binding());
      location.save(binding({ cseq: 2 }));
      location.save(binding({ contact: 'sip:alice@192.0.2.11:5060' }));
      location.remove(AOR, location.keyOf('sip:alice@192.0.2.11:5060', null, null));
      await location.flush();
      assert.deepEqual(repository.batches, [], 'nothing written');
      assert.deepEqual(contacts(location.lookup(AOR)), ['sip:alice@192.0.2.10:5060'], 'served from memory all the same');
      assert.deepEqual(await stored(repository), ['sip:bob@192.0.2.20'], 'the store is left as it was');
    } finally {
      await location.stop();
    }
  });

  test('contact URIs differing only in the case of the host are the same binding (RFC 3261 §19.1.4)', async () => {
    const repo = new MemoryStore();
    const { location } = setup(repo);
    location.save(binding({ contact: 'sip:alice@HOST.example.com' }));
    await location.flush();
    location.save(binding({ contact: 'sip:alice@host.example.com', cseq: 2 }));
    assert.equal(location.size, 1);
    assert.deepEqual(contacts(location.lookup(AOR)), ['sip:alice@host.example.com']);
    await location.flush();
    assert.deepEqual(await stored(repo), ['sip:alice@host.example.com'], 'the old spelling is removed from the store');
    // the user part is case-sensitive
    location.save(binding({ contact: 'sip:ALICE@host.example.com' }));
    assert.equal(location.size, 2);
  });

  test('instance-keyed bindings (RFC 5626) are replaced by +sip.instance and reg-id, whatever the contact', async () => {
    const repo = new MemoryStore();
    const { location } = setup(repo);
    const instance = '<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>';
    const a = location.save(binding({ contact: 'sip:alice@198.51.100.7:40000;ob', instance, regId: 1 }));
    await location.flush();
    // the flow came back through another NAT binding
    const b = location.save(binding({ contact: 'sip:alice@198.51.100.7:40999;ob', instance, regId: 1, cseq: 2 }));
    assert.equal(b.key, a.key);
    assert.equal(location.size, 1);
    assert.deepEqual(contacts(location.lookup(AOR)), ['sip:alice@198.51.100.7:40999;ob']);
    await location.flush();
    assert.deepEqual(await stored(repo), ['sip:alice@198.51.100.7:40999;ob'], 'the old contact is removed from the store');

    // another reg-id of the same instance is a second flow, another binding
    const c = location.save(binding({ contact: 'sip:alice@203.0.113.5:5060;ob', instance, regId: 2 }));
    assert.notEqual(c.key, a.key);
    assert.equal(location.size, 2);
    // the same contact without an instance is a third binding
    location.save(binding({ contact: 'sip:alice@192.0.2.200' }));
    assert.equal(location.size, 3);
    assert.equal(location.keyOf('sip:x@y', instance, 1), a.key);
  });

  test('onChange tells listeners of saves, removals and expiries, and a failing listener harms nothing', () => {
    const { location, clock } = setup();
    const seen: string[] = [];
    location.onChange(() => {
      throw new Error('a broken listener');
    });
    location.onChange((aor, change) => seen.push(`${change} ${aor}`));
    location.save(binding({ expiresAt: T0 + 60_000 }));
    const saved = location.lookup(AOR)[0];
    location.remove(AOR, saved.key);
    location.save(binding({ expiresAt: T0 + 60_000 }));
    clock.t = T0 + 61_000;
    location.purgeExpired();
    assert.deepEqual(seen, [`saved ${AOR}`, `removed ${AOR}`, `saved ${AOR}`, `expired ${AOR}`]);
  });

  test('remove and removeAll', async () => {
    const repo = new MemoryStore();
    const { location } = setup(repo);
    const a = location.save(binding({ contact: 'sip:alice@192.0.2.1' }));
    location.save(binding({ contact: 'sip:alice@192.0.2.2' }));
    location.save(binding({ contact: 'sip:alice@192.0.2.3' }));
    location.save(binding({ aor: 'bob@example.com', contact: 'sip:bob@192.0.2.4' }));
    await location.flush();

    assert.equal(location.remove(AOR, a.key), true);
    assert.equal(location.remove(AOR, a.key), false);
    assert.equal(location.remove('nobody@example.com', a.key), false);
    assert.deepEqual(contacts(location.lookup(AOR)).sort(), ['sip:alice@192.0.2.2', 'sip:alice@192.0.2.3']);
    assert.equal(location.get(AOR, a.key), undefined);
    assert.equal(location.size, 3);

    assert.equal(location.removeAll(AOR), 2);
    assert.equal(location.removeAll(AOR), 0);
    assert.deepEqual(location.lookup(AOR), []);
    assert.equal(location.size, 1);
    await location.flush();
    assert.deepEqual(await stored(repo), ['sip:bob@192.0.2.4']);
  });

  test('expired bindings are not looked up, and purgeExpired() removes them', async () => {
    const repo = new MemoryStore();
    const { location, clock } = setup(repo);
    location.save(binding({ contact: 'sip:alice@192.0.2.1', expiresAt: T0 + 10_000 }));
    location.save(binding({ contact: 'sip:alice@192.0.2.2', expiresAt: T0 + 10_500 }));
    location.save(binding({ contact: 'sip:alice@192.0.2.3', expiresAt: T0 + 60_000 }));
    // refreshed before it expired: the earlier expiry must not purge it
    location.save(binding({ contact: 'sip:alice@192.0.2.4', expiresAt: T0 + 5_000 }));
    location.save(binding({ contact: 'sip:alice@192.0.2.4', expiresAt: T0 + 60_000, cseq: 2 }));
    await location.flush();

    clock.t = T0 + 9_999;
    assert.equal(location.lookup(AOR).length, 4);
    clock.t = T0 + 10_000; // expiresAt is the first instant it is gone
    assert.deepEqual(contacts(location.lookup(AOR)).sort(), ['sip:alice@192.0.2.2', 'sip:alice@192.0.2.3', 'sip:alice@192.0.2.4']);
    clock.t = T0 + 12_000;
    assert.deepEqual(contacts(location.lookup(AOR)).sort(), ['sip:alice@192.0.2.3', 'sip:alice@192.0.2.4']);
    assert.deepEqual(contacts([...location.all()]).sort(), ['sip:alice@192.0.2.3', 'sip:alice@192.0.2.4']);
    assert.equal(location.size, 4, 'still held until purged');

    assert.equal(location.purgeExpired(), 2);
    assert.equal(location.size, 2);
    assert.equal(location.purgeExpired(), 0);
    await location.flush();
    assert.deepEqual(await stored(repo), ['sip:alice@192.0.2.3', 'sip:alice@192.0.2.4']);

    clock.t = T0 + 61_000;
    assert.equal(location.purgeExpired(), 2);
    assert.equal(location.size, 0);
    assert.deepEqual(location.lookup(AOR), []);
    await location.flush();
    assert.deepEqual(await stored(repo), []);
  });

  test('flush() writes pending upserts and removals in one batch, and nothing when nothing changed', async () => {
    const repo = new RecordingRepository();
    const { location } = setup(repo);
    const a = location.save(binding({ contact: 'sip:alice@192.0.2.1' }));
    await location.flush();
    assert.equal(repo.batches.length, 1);
    assert.equal(repo.batches[0].upserts.length, 1);
    assert.equal(await stored(repo.store).then((s) => s.length), 1);

    location.save(binding({ contact: 'sip:alice@192.0.2.2', path: ['<sip:edge.example.com;lr>'] }));
    location.save(binding({ contact: 'sip:alice@192.0.2.3' }));
    location.save(binding({ contact: 'sip:alice@192.0.2.3', cseq: 2 })); // saved twice: written once, last state
    location.remove(AOR, a.key);
    const gone = location.save(binding({ contact: 'sip:alice@192.0.2.9' }));
    location.remove(AOR, gone.key); // added and removed before any flush
    assert.equal(repo.batches.length, 1, 'write-behind: nothing written yet');

    await location.flush();
    assert.equal(repo.batches.length, 2);
    const batch = repo.batches[1];
    assert.deepEqual(batch.upserts.map((b) => [b.contact, b.cseq]).sort(), [
      ['sip:alice@192.0.2.2', 1],
      ['sip:alice@192.0.2.3', 2],
    ]);
    assert.ok(!batch.upserts.some((b) => 'key' in b), 'the in-memory key is not persisted');
    assert.deepEqual(batch.removals.map((r) => r.contact).sort(), ['sip:alice@192.0.2.1', 'sip:alice@192.0.2.9']);
    assert.deepEqual(await stored(repo.store), ['sip:alice@192.0.2.2', 'sip:alice@192.0.2.3']);
    assert.deepEqual((await repo.store.loadBindings()).find((b) => b.contact === 'sip:alice@192.0.2.2')?.path, ['<sip:edge.example.com;lr>']);

    await location.flush();
    assert.equal(repo.batches.length, 2, 'an empty flush writes nothing');
  });

  test('a failed flush is retried with the next one', async () => {
    const repo = new RecordingRepository();
    const { location } = setup(repo);
    location.save(binding({ contact: 'sip:alice@192.0.2.1' }));
    repo.failNext = 1;
    await location.flush(); // does not reject: the error is logged and the changes kept
    assert.deepEqual(await stored(repo.store), []);
    await location.flush();
    assert.deepEqual(await stored(repo.store), ['sip:alice@192.0.2.1']);
  });

  test('a binding removed while a failed flush was in flight stays removed', async () => {
    const repo = new RecordingRepository();
    const { location } = setup(repo);
    const b = location.save(binding({ contact: 'sip:alice@192.0.2.1' }));
    repo.failNext = 1;
    const failing = location.flush();
    location.remove(AOR, b.key); // the user unregisters before the write fails
    await failing;
    await location.flush();
    assert.deepEqual(location.lookup(AOR), []);
    assert.deepEqual(await stored(repo.store), [], 'the failed upsert must not resurrect the binding');
  });

  test('a binding saved again while a failed flush was in flight keeps its newest state', async () => {
    const repo = new RecordingRepository();
    const { location } = setup(repo);
    location.save(binding({ contact: 'sip:alice@192.0.2.1', cseq: 1 }));
    repo.failNext = 1;
    const failing = location.flush();
    location.save(binding({ contact: 'sip:alice@192.0.2.1', cseq: 2 }));
    await failing;
    await location.flush();
    assert.deepEqual(
      (await repo.store.loadBindings()).map((x) => x.cseq),
      [2],
    );
  });
});

describe('LocationService restart', () => {
  test('a new service on the same store starts with the persisted bindings and drops expired ones', async () => {
    const repo = new MemoryStore();
    const first = setup(repo);
    const instance = '<urn:uuid:00000000-0000-1000-8000-000000000001>';
    first.location.save(binding({ contact: 'sip:alice@192.0.2.1', expiresAt: T0 + 3600_000, q: 0.5, path: ['<sip:p1;lr>', '<sip:p2;lr>'] }));
    first.location.save(binding({ contact: 'sip:alice@192.0.2.2;ob', expiresAt: T0 + 3600_000, instance, regId: 1 }));
    first.location.save(binding({ contact: 'sip:alice@192.0.2.3', expiresAt: T0 + 30_000 }));
    const keys = new Map(first.location.lookup(AOR).map((b) => [b.contact, b.key]));
    await first.location.stop(); // flushes

    const second = setup(repo);
    second.clock.t = T0 + 60_000; // the third binding expired while the server was down
    assert.equal(await second.location.start(), 2);
    try {
      const live = second.location.lookup(AOR);
      assert.deepEqual(contacts(live), ['sip:alice@192.0.2.2;ob', 'sip:alice@192.0.2.1']);
      for (const b of live) assert.equal(b.key, keys.get(b.contact), 'keys are rebuilt the same way');
      assert.deepEqual(live[1].path, ['<sip:p1;lr>', '<sip:p2;lr>']);
      assert.equal(live[0].instance, instance);
      assert.equal(live[0].regId, 1);
      assert.deepEqual(await stored(repo), ['sip:alice@192.0.2.1', 'sip:alice@192.0.2.2;ob'], 'expired bindings are removed from the store too');
      // a re-registration of the restored instance replaces it, as before the restart
      second.location.save(binding({ contact: 'sip:alice@192.0.2.99;ob', instance, regId: 1, expiresAt: T0 + 7200_000 }));
      assert.equal(second.location.size, 2);
    } finally {
      await second.location.stop();
    }
    assert.deepEqual(await stored(repo), ['sip:alice@192.0.2.1', 'sip:alice@192.0.2.99;ob'], 'stop() flushes');
  });

  describe('with SqliteStore', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'sipline-location-'));
    });
    after(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    test('bindings survive a restart through a SQLite file', async () => {
      const path = join(dir, 'sipline.db');
      const store1 = new SqliteStore(path);
      const first = setup(store1);
      first.location.save(binding({ contact: 'sip:alice@192.0.2.1', path: ['<sip:edge.example.com;lr>'], q: 0.25 }));
      first.location.save(binding({ contact: 'sip:alice@192.0.2.2', expiresAt: T0 + 5_000, received: null, userAgent: null }));
      first.location.save(binding({ aor: 'bob@example.com', contact: 'sip:bob@192.0.2.3', instance: '<urn:uuid:b>', regId: 2 }));
      await first.location.stop();
      await store1.close();

      const store2 = new SqliteStore(path);
      const second = setup(store2);
      second.clock.t = T0 + 6_000;
      try {
        assert.equal(await second.location.start(), 2);
        const [a] = second.location.lookup(AOR);
        assert.deepEqual({ ...a }, { ...binding({ contact: 'sip:alice@192.0.2.1', path: ['<sip:edge.example.com;lr>'], q: 0.25 }), key: a.key });
        const [b] = second.location.lookup('bob@example.com');
        assert.equal(b.instance, '<urn:uuid:b>');
        assert.equal(b.regId, 2);
        assert.equal(b.key, second.location.keyOf('sip:other@192.0.2.3', '<urn:uuid:b>', 2));
        assert.deepEqual((await store2.loadBindings()).map((x) => x.contact).sort(), ['sip:alice@192.0.2.1', 'sip:bob@192.0.2.3']);
      } finally {
        await second.location.stop();
        await store2.close();
      }
    });
  });
});
