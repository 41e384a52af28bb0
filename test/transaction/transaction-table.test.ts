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

test('while a doubled table moves its entries over a few per set(), every entry stays reachable, replaceable and removable', () => {
  const table = new TransactionTable<Tx>(8);
  const reference = new Map<string, Tx>();
  const key = (n: number) => `z9hG4bK-${n}\u0000host:5060\u0000INVITE`;
  const moving = () => (table as unknown as { oldKeys?: unknown[] }).oldKeys !== undefined;
  let setsMidMove = 0;
  let valuesMidMove = false;
  for (let n = 0; n < 40_000; n++) {
    const tx = { key: key(n) };
    table.set(tx.key, tx);
    reference.set(tx.key, tx);
    // right after each set (mid-move after every doubling): an old entry, a replaced one, a removed one
    if (n % 7 === 3) {
      const older = key(n >> 1);
      assert.equal(table.get(older), reference.get(older), `get ${n >> 1} after set ${n}`);
    }
    if (n % 11 === 5) {
      const replaced = key(n - 5);
      const fresh = { key: replaced };
      table.set(replaced, fresh);
      reference.set(replaced, fresh);
    }
    if (n % 13 === 7) {
      const removed = key(n - 7 - (n % 1000));
      const held = reference.get(removed);
      assert.equal(table.deleteIf(removed, { key: removed }), false, 'not the transaction it holds');
      assert.equal(table.deleteIf(removed, held ?? { key: removed }), held !== undefined);
      reference.delete(removed);
    }
    assert.equal(table.size, reference.size);
    if (moving()) {
      setsMidMove++;
      if (!valuesMidMove && n > 20_000) {
        assert.deepEqual(new Set(table.values()), new Set(reference.values()), 'values() mid-move');
        valuesMidMove = true;
      }
    }
  }
  assert.ok(setsMidMove > 2_000 && valuesMidMove, `the checks above ran while entries were moving (${setsMidMove} sets)`);
  for (const [k, tx] of reference) assert.equal(table.get(k), tx);
  for (const [k, tx] of reference) assert.equal(table.deleteIf(k, tx), true);
  assert.equal(table.size, 0);
  for (const k of reference.keys()) assert.equal(table.get(k), undefined);
});
