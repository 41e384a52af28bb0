// MemoryStore against the shared repository contract.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/store/index.ts';
import { storeContract, subscriber } from './store-contract.ts';

storeContract('MemoryStore', () => {
  const store = new MemoryStore();
  return { store, dispose: () => store.close() };
});

test('MemoryStore: changeMarker() moves with every provisioning change', async () => {
  const store = new MemoryStore();
  const m0 = await store.changeMarker();
  await store.putSubscriber(subscriber('alice'));
  const m1 = await store.changeMarker();
  assert.notEqual(m1, m0);
  await store.putDomain({ name: 'example.com', realm: 'example.com', aliases: [] });
  const m2 = await store.changeMarker();
  assert.notEqual(m2, m1);
  await store.importSubscribers([subscriber('bob')]);
  const m3 = await store.changeMarker();
  assert.notEqual(m3, m2);
  await store.deleteSubscriber('alice', 'example.com');
  assert.notEqual(await store.changeMarker(), m3);
});
