// Watcher authorization (RFC 3856 §5.1): rule precedence (watcher AOR, domain, "*"), the default
// policies, and reload() reporting the presentities whose rules changed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WatcherAuthorization } from '../../../src/services/presence/index.ts';
import { MemoryStore } from '../../../src/store/index.ts';

const alice = 'alice@example.test';

test('the watcher\'s own rule wins over its domain\'s, which wins over "*"; then the default policy', async () => {
  const store = new MemoryStore();
  await store.putPresenceRule({ presentity: alice, watcher: '*', action: 'polite-block' });
  await store.putPresenceRule({ presentity: alice, watcher: 'other.test', action: 'block' });
  await store.putPresenceRule({ presentity: alice, watcher: 'bob@other.test', action: 'allow' });
  const auth = new WatcherAuthorization(store, 'same-domain');
  await auth.reload();
  assert.equal(auth.decide(alice, 'bob@other.test'), 'allow', 'the AOR rule');
  assert.equal(auth.decide(alice, 'eve@other.test'), 'block', 'the domain rule');
  assert.equal(auth.decide(alice, 'carol@example.test'), 'polite-block', 'the "*" rule');
  assert.equal(auth.decide(alice, alice), 'allow', 'a presentity always sees itself');
  assert.equal(auth.decide('bob@example.test', 'carol@example.test'), 'allow', 'no rules, same domain: allowed');
  assert.equal(auth.decide('bob@example.test', 'carol@elsewhere.test'), 'pending', 'no rules, another domain: pending');
});

test('default policies other than same-domain apply to everyone', () => {
  for (const policy of ['allow', 'pending', 'polite-block', 'block'] as const) {
    const auth = new WatcherAuthorization(new MemoryStore(), policy);
    assert.equal(auth.decide(alice, 'bob@example.test'), policy, `${policy} for a same-domain watcher`);
    assert.equal(auth.decide(alice, 'bob@elsewhere.test'), policy, `${policy} for another domain`);
  }
});

test('reload() reports the presentities whose rules were added, changed or removed', async () => {
  const store = new MemoryStore();
  const auth = new WatcherAuthorization(store, 'same-domain');
  await store.putPresenceRule({ presentity: alice, watcher: 'bob@example.test', action: 'block' });
  await store.putPresenceRule({ presentity: 'carol@example.test', watcher: '*', action: 'allow' });
  assert.deepEqual([...(await auth.reload())].sort(), [alice, 'carol@example.test'], 'both are new');
  assert.deepEqual([...(await auth.reload())], [], 'nothing changed since');
  await store.putPresenceRule({ presentity: alice, watcher: 'bob@example.test', action: 'allow' });
  await store.deletePresenceRule('carol@example.test', '*');
  assert.deepEqual([...(await auth.reload())].sort(), [alice, 'carol@example.test'], 'one changed, one removed');
  assert.equal(auth.decide(alice, 'bob@example.test'), 'allow', 'the new action applies');
});
