// The repository contract of src/store/ports.ts, shared by every Store adapter's tests: what the
// services may rely on whatever back end app.ts picks.
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { Domain, Store, StoredBinding, StoredMessage, Subscriber } from '../../src/store/index.ts';

export interface StoreFixture {
  store: Store;
  /** Releases the store (closes it, removes its files). */
  dispose(): Promise<void>;
}

export function subscriber(username: string, domain = 'example.com'): Subscriber {
  return { username, domain, ha1Md5: `md5-${username}-${domain}`, ha1Sha256: `sha256-${username}-${domain}` };
}

export function storedBinding(overrides: Partial<StoredBinding> = {}): StoredBinding {
  return {
    aor: 'alice@example.com',
    contact: 'sip:alice@192.0.2.10:5060',
    expiresAt: 1_700_000_600_000,
    q: 1,
    callId: 'call-1@192.0.2.10',
    cseq: 1,
    path: [],
    instance: null,
    regId: null,
    received: null,
    userAgent: null,
    updatedAt: 1_700_000_000_000,
    ...overrides,
  };
}

export function storedMessage(overrides: Partial<Omit<StoredMessage, 'id'>> = {}): Omit<StoredMessage, 'id'> {
  return {
    aor: 'bob@example.com',
    sender: 'sip:alice@example.com',
    receivedAt: 1_700_000_000_000,
    expiresAt: 1_700_000_600_000,
    contentType: 'text/plain;charset=UTF-8',
    body: Buffer.from('hello, bob \u00e9'),
    ...overrides,
  };
}

const byUser = (a: Subscriber, b: Subscriber) => (a.domain + '\u0000' + a.username).localeCompare(b.domain + '\u0000' + b.username);
const byBinding = (a: StoredBinding, b: StoredBinding) => (a.aor + '\u0000' + a.contact).localeCompare(b.aor + '\u0000' + b.contact);

/** Registers the contract tests for one adapter; `open` gives a fresh, empty store per test. */
export function storeContract(name: string, open: () => StoreFixture | Promise<StoreFixture>): void {
  describe(`${name}: repository contract`, () => {
    let fixture: StoreFixture;
    let store: Store;

    beforeEach(async () => {
      fixture = await open();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.dispose();
    });

    test('subscribers: put, get, replace, delete', async () => {
      assert.equal(await store.getSubscriber('alice', 'example.com'), undefined);
      await store.putSubscriber(subscriber('alice'));
      assert.deepEqual(await store.getSubscriber('alice', 'example.com'), subscriber('alice'));
      // the key is (username, domain): the same user in another domain is another subscriber
      assert.equal(await store.getSubscriber('alice', 'example.org'), undefined);

      const changed = { ...subscriber('alice'), ha1Md5: 'new-md5', ha1Sha256: 'new-sha256' };
      await store.putSubscriber(changed);
      assert.deepEqual(await store.getSubscriber('alice', 'example.com'), changed);
      assert.equal((await store.listSubscribers()).length, 1, 'put replaces, never duplicates');

      assert.equal(await store.deleteSubscriber('alice', 'example.com'), true);
      assert.equal(await store.getSubscriber('alice', 'example.com'), undefined);
      assert.equal(await store.deleteSubscriber('alice', 'example.com'), false, 'deleting twice reports nothing deleted');
    });

    test('subscribers: values handed out are copies, not the stored records', async () => {
      const s = subscriber('alice');
      await store.putSubscriber(s);
      s.ha1Md5 = 'mutated-after-put';
      const got = await store.getSubscriber('alice', 'example.com');
      assert.ok(got);
      assert.equal(got.ha1Md5, 'md5-alice-example.com');
      got.ha1Md5 = 'mutated-after-get';
      (await store.listSubscribers())[0].ha1Sha256 = 'mutated-after-list';
      assert.deepEqual(await store.getSubscriber('alice', 'example.com'), subscriber('alice'));
    });

    test('subscribers: list all or by domain', async () => {
      await store.putSubscriber(subscriber('carol', 'example.org'));
      await store.putSubscriber(subscriber('bob'));
      await store.putSubscriber(subscriber('alice'));
      const all = await store.listSubscribers();
      assert.deepEqual([...all].sort(byUser), [subscriber('alice'), subscriber('bob'), subscriber('carol', 'example.org')]);
      const com = await store.listSubscribers('example.com');
      assert.deepEqual([...com].sort(byUser), [subscriber('alice'), subscriber('bob')]);
      assert.deepEqual(await store.listSubscribers('example.org'), [subscriber('carol', 'example.org')]);
      assert.deepEqual(await store.listSubscribers('nowhere.example'), []);
    });

    test('subscribers: importing 10,000 in one call, replacing existing ones', async () => {
      await store.putSubscriber({ ...subscriber('user00042'), ha1Md5: 'old' });
      await store.putSubscriber(subscriber('other', 'example.org'));
      const list: Subscriber[] = [];
      for (let i = 0; i < 10_000; i++) list.push(subscriber(`user${String(i).padStart(5, '0')}`));
      assert.equal(await store.importSubscribers(list), 10_000);
      assert.equal((await store.listSubscribers('example.com')).length, 10_000);
      assert.equal((await store.listSubscribers()).length, 10_001);
      assert.deepEqual(await store.getSubscriber('user00042', 'example.com'), subscriber('user00042'), 'import replaces');
      assert.deepEqual(await store.getSubscriber('user09999', 'example.com'), subscriber('user09999'));
      assert.equal(await store.importSubscribers([]), 0);
    });

    test('domains: round trip with aliases, replace, delete', async () => {
      const a: Domain = { name: 'example.com', realm: 'example.com', aliases: ['sip.example.com', '192.0.2.1'] };
      const b: Domain = { name: 'example.org', realm: 'org-realm', aliases: [] };
      await store.putDomain(b);
      await store.putDomain(a);
      const listed = (await store.listDomains()).sort((x, y) => x.name.localeCompare(y.name));
      assert.deepEqual(listed, [a, b]);

      // handed-out values are copies
      listed[0].aliases.push('mutated.example.com');
      const replaced: Domain = { ...a, realm: 'new-realm', aliases: ['only.example.com'] };
      await store.putDomain(replaced);
      assert.deepEqual((await store.listDomains()).find((d) => d.name === 'example.com'), replaced);
      assert.equal((await store.listDomains()).length, 2);

      assert.equal(await store.deleteDomain('example.org'), true);
      assert.equal(await store.deleteDomain('example.org'), false);
      assert.deepEqual(await store.listDomains(), [replaced]);
    });

    test('bindings: upserts round-trip with path arrays and nulls', async () => {
      const full = storedBinding({
        contact: 'sip:alice@198.51.100.7:41234;transport=tcp;ob',
        q: 0.5,
        cseq: 7,
        path: ['<sip:edge1.example.com;lr>', '<sip:edge2.example.com;lr;ob>'],
        instance: '<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>',
        regId: 1,
        received: 'tcp:198.51.100.7:41234',
        userAgent: 'softphone/1.0 "quoted"',
      });
      const bare = storedBinding();
      const otherAor = storedBinding({ aor: 'bob@example.com' }); // same contact, another AOR: another binding
      assert.deepEqual(await store.loadBindings(), []);
      await store.writeBindings([full, bare, otherAor], []);
      assert.deepEqual((await store.loadBindings()).sort(byBinding), [full, bare, otherAor].sort(byBinding));
    });

    test('bindings: upsert replaces by aor + contact; removals apply; one batch does both', async () => {
      const a = storedBinding({ contact: 'sip:alice@192.0.2.10' });
      const b = storedBinding({ contact: 'sip:alice@192.0.2.11' });
      const c = storedBinding({ contact: 'sip:alice@192.0.2.12' });
      await store.writeBindings([a, b, c], []);

      const a2 = { ...a, cseq: 2, expiresAt: a.expiresAt + 60_000, path: ['<sip:p.example.com;lr>'], regId: null };
      const d = storedBinding({ contact: 'sip:alice@192.0.2.13', received: 'udp:192.0.2.13:5060' });
      await store.writeBindings(
        [a2, d],
        [
          { aor: b.aor, contact: b.contact },
          { aor: 'nobody@example.com', contact: 'sip:x@192.0.2.99' }, // removing what is not there is harmless
        ],
      );
      assert.deepEqual((await store.loadBindings()).sort(byBinding), [a2, c, d]);

      // a removal and an upsert of the same key in one batch: the upsert wins
      const c2 = { ...c, cseq: 9 };
      await store.writeBindings([c2], [{ aor: c.aor, contact: c.contact }]);
      assert.deepEqual((await store.loadBindings()).sort(byBinding), [a2, c2, d]);

      await store.writeBindings([], [a2, c2, d].map((x) => ({ aor: x.aor, contact: x.contact })));
      assert.deepEqual(await store.loadBindings(), []);
    });

    test('bindings: loaded values are copies', async () => {
      await store.writeBindings([storedBinding({ path: ['<sip:p.example.com;lr>'] })], []);
      const [loaded] = await store.loadBindings();
      loaded.path.push('<sip:mutated.example.com;lr>');
      loaded.cseq = 99;
      assert.deepEqual(await store.loadBindings(), [storedBinding({ path: ['<sip:p.example.com;lr>'] })]);
    });

    test('changeMarker() is stable while nothing changes', async () => {
      await store.putSubscriber(subscriber('alice'));
      const m = await store.changeMarker();
      assert.equal(typeof m, 'number');
      await store.getSubscriber('alice', 'example.com');
      await store.listSubscribers();
      await store.listDomains();
      await store.loadBindings();
      assert.equal(await store.changeMarker(), m);
    });

    test('stored messages: stored in order, listed per AOR oldest first, deleted one by one', async () => {
      assert.deepEqual(await store.messagesFor('bob@example.com'), [], 'nothing stored at first');
      const first = await store.storeMessage(storedMessage());
      const other = await store.storeMessage(storedMessage({ aor: 'carol@example.com', body: Buffer.from('for carol') }));
      const second = await store.storeMessage(storedMessage({ receivedAt: 1_700_000_000_001, contentType: null, body: Buffer.from([0, 1, 2, 255]) }));
      assert.ok(first < other && other < second, `ids increase in the order of storing: ${first}, ${other}, ${second}`);
      const forBob = await store.messagesFor('bob@example.com');
      assert.deepEqual(forBob, [
        { ...storedMessage(), id: first },
        { ...storedMessage({ receivedAt: 1_700_000_000_001, contentType: null, body: Buffer.from([0, 1, 2, 255]) }), id: second },
      ], 'both of bob\'s messages, oldest first, bodies byte for byte');
      assert.deepEqual([...(await store.messageCounts()).entries()].sort(), [['bob@example.com', 2], ['carol@example.com', 1]], 'counts per AOR');
      forBob[0].body.fill(0);
      assert.equal((await store.messagesFor('bob@example.com'))[0].body.toString('utf8'), 'hello, bob \u00e9', 'handed-out bodies are copies');
      assert.equal(await store.deleteMessage(first), true, 'the first is deleted');
      assert.equal(await store.deleteMessage(first), false, 'and is gone');
      assert.deepEqual((await store.messagesFor('bob@example.com')).map((m) => m.id), [second], 'the second is left');
      const third = await store.storeMessage(storedMessage());
      assert.ok(third > second, 'an id after a deletion is still above the remaining ones');
    });

    test('stored messages: expired ones are deleted, reporting their AORs', async () => {
      await store.storeMessage(storedMessage({ expiresAt: 1000 }));
      await store.storeMessage(storedMessage({ expiresAt: 2000 }));
      const kept = await store.storeMessage(storedMessage({ expiresAt: 3000 }));
      await store.storeMessage(storedMessage({ aor: 'carol@example.com', expiresAt: 1500 }));
      assert.deepEqual((await store.deleteExpiredMessages(2000)).sort(), ['bob@example.com', 'bob@example.com', 'carol@example.com'], 'expired at or before 2000');
      assert.deepEqual((await store.messagesFor('bob@example.com')).map((m) => m.id), [kept], 'the unexpired one stays');
      assert.deepEqual([...(await store.messageCounts()).entries()], [['bob@example.com', 1]], 'carol has none left');
      assert.deepEqual(await store.deleteExpiredMessages(2000), [], 'nothing more to delete');
    });

    test('trusted peers: put, replace by address+transport+port, list, delete', async () => {
      assert.deepEqual(await store.listPeers(), [], 'no peers at first');
      await store.putPeer({ address: '10.0.0.0/8', transport: 'udp', port: 5060, group: 'carrier1' });
      await store.putPeer({ address: '10.0.0.0/8', transport: null, port: null, group: null });
      await store.putPeer({ address: '2001:db8::/32', transport: 'tls', port: null, group: 'carrier2' });
      // the same address, transport and port again replaces the group
      await store.putPeer({ address: '10.0.0.0/8', transport: 'udp', port: 5060, group: 'carrier9' });
      const sorted = (await store.listPeers()).sort((a, b) => `${a.address}${a.transport}${a.port}`.localeCompare(`${b.address}${b.transport}${b.port}`));
      assert.deepEqual(
        sorted,
        [
          { address: '10.0.0.0/8', transport: null, port: null, group: null },
          { address: '10.0.0.0/8', transport: 'udp', port: 5060, group: 'carrier9' },
          { address: '2001:db8::/32', transport: 'tls', port: null, group: 'carrier2' },
        ],
        'three entries, the replaced one with its new group',
      );
      assert.equal(await store.deletePeer('10.0.0.0/8', 'udp', 5060), true, 'the udp:5060 entry is deleted');
      assert.equal(await store.deletePeer('10.0.0.0/8', 'udp', 5060), false, 'and is gone');
      assert.equal(await store.deletePeer('10.0.0.0/8', null, null), true, 'the any-transport entry is deleted');
      assert.deepEqual((await store.listPeers()).map((p) => p.address), ['2001:db8::/32'], 'one entry left');
    });

    test('presence rules: put, replace by presentity+watcher, list (all or one presentity) in order, delete', async () => {
      assert.deepEqual(await store.listPresenceRules(), [], 'no rules at first');
      await store.putPresenceRule({ presentity: 'alice@example.com', watcher: 'bob@example.com', action: 'pending' });
      await store.putPresenceRule({ presentity: 'alice@example.com', watcher: 'example.org', action: 'block' });
      await store.putPresenceRule({ presentity: 'carol@example.com', watcher: '*', action: 'polite-block' });
      // the same presentity and watcher again replaces the action
      await store.putPresenceRule({ presentity: 'alice@example.com', watcher: 'bob@example.com', action: 'allow' });
      assert.deepEqual(
        await store.listPresenceRules(),
        [
          { presentity: 'alice@example.com', watcher: 'bob@example.com', action: 'allow' },
          { presentity: 'alice@example.com', watcher: 'example.org', action: 'block' },
          { presentity: 'carol@example.com', watcher: '*', action: 'polite-block' },
        ],
        'three rules ordered by presentity and watcher, the replaced one with its new action',
      );
      assert.deepEqual((await store.listPresenceRules('carol@example.com')).map((r) => r.watcher), ['*'], 'the rules of one presentity');
      const listed = await store.listPresenceRules('alice@example.com');
      listed[0].action = 'block';
      assert.equal((await store.listPresenceRules('alice@example.com'))[0].action, 'allow', 'listed rules are copies');
      assert.equal(await store.deletePresenceRule('alice@example.com', 'example.org'), true, 'the domain rule is deleted');
      assert.equal(await store.deletePresenceRule('alice@example.com', 'example.org'), false, 'and is gone');
      assert.equal((await store.listPresenceRules()).length, 2, 'two rules left');
    });
  });
}
