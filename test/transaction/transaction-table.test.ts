// The transactions' hash table (open addressing, backward-shift deletion): the same answers as a
// Map through random churn that grows it and empties clusters from their middle, and deleteIf
// removes an entry only when it still holds the transaction that asks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashKey, TransactionTable } from '../../src/transaction/transaction-table.ts';

type Tx = { key: string };

test('get, set, deleteIf agree with a Map through churn and growth', () => {
  const table = new TransactionTable<Tx>(8);
  const reference = new Map<string, Tx>();
  let x = 0x1234567;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  for (let i = 0; i < 60_000; i++) {
    // keys from a tiny space first (a table of 8 slots, clusters wrapping around its end), then a
    // small one (many deletes of present keys), then a wider one (growth)
    const key = `z9hG4bK-${Math.floor(next() * (i < 10_000 ? 4 : i < 30_000 ? 500 : 20_000))}\u0000host:5060\u0000${next() < 0.5 ? 'INVITE' : 'BYE'}`;
    const roll = next();
    if (roll < 0.5) {
      const tx = { key };
      table.set(key, tx);
      reference.set(key, tx);
    } else if (roll < 0.9) {
      const held = reference.get(key);
      const asked = held !== undefined && next() < 0.9 ? held : { key };
      assert.equal(table.deleteIf(key, asked), held !== undefined && held === asked);
      if (held === asked) reference.delete(key);
    } else {
      assert.equal(table.get(key), reference.get(key));
    }
    assert.equal(table.size, reference.size);
  }
  for (const [key, tx] of reference) assert.equal(table.get(key, hashKey(key)), tx);
  assert.deepEqual(new Set(table.values()), new Set(reference.values()));
  table.clear();
  assert.equal(table.size, 0);
  for (const key of reference.keys()) assert.equal(table.get(key), undefined);
});

test('a table of 8 slots with up to 4 entries of ever new keys: clusters wrap around its end and are emptied from their middle', () => {
  const table = new TransactionTable<Tx>(8);
  const reference = new Map<string, Tx>();
  for (let i = 0; i < 20_000; i++) {
    if (reference.size < 4) {
      const tx = { key: `z9hG4bK-${i}\u0000h:5060\u0000BYE` };
      table.set(tx.key, tx);
      reference.set(tx.key, tx);
    } else {
      // a present key chosen by i: the oldest, a middle one or the newest
      const keys = [...reference.keys()];
      const key = keys[i % keys.length];
      assert.equal(table.deleteIf(key, reference.get(key) as Tx), true);
      reference.delete(key);
    }
    for (const [key, tx] of reference) assert.equal(table.get(key), tx, `entry ${key} lost at step ${i}`);
  }
});

test('a transaction that ends after another took its key does not remove the newer one', () => {
  const table = new TransactionTable<Tx>();
  const first = { key: 'k' };
  const second = { key: 'k' };
  table.set('k', first);
  table.set('k', second);
  assert.equal(table.size, 1);
  assert.equal(table.deleteIf('k', first), false);
  assert.equal(table.get('k'), second);
  assert.equal(table.deleteIf('k', second), true);
  assert.equal(table.get('k'), undefined);
});
