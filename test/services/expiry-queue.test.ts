// The location service's expiry queue: keys by the second they expire in, moved lazily on refresh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExpiryQueue } from '../../src/services/location/expiry-queue.ts';

interface Key {
  name: string;
  expiresAt: number;
}

function queue(): ExpiryQueue<Key> {
  return new ExpiryQueue<Key>(0, (k) => k.expiresAt);
}

test('a key is due once the second it expires in has passed, not before', () => {
  const q = queue();
  const a = { name: 'a', expiresAt: 2_500 };
  q.add(a, a.expiresAt);
  assert.deepEqual(q.takeDue(2_999), []);
  assert.deepEqual(q.takeDue(3_000), [a]);
  assert.equal(q.size, 0);
  assert.deepEqual(q.takeDue(10_000), [], 'due once');
});

test('a refresh to a later expiry leaves the key queued where it was; it moves when that second comes, and is due at its new expiry', () => {
  const q = queue();
  const a = { name: 'a', expiresAt: 2_500 };
  q.add(a, a.expiresAt);
  for (const t of [3_600, 4_800, 7_200]) {
    a.expiresAt = t;
    q.add(a, t);
  }
  assert.equal(q.size, 1, 'one entry, however often it was refreshed');
  assert.deepEqual(q.takeDue(3_000), [], 'found not due in its old second');
  assert.equal(q.size, 1, 'and moved on');
  assert.deepEqual(q.takeDue(7_999), []);
  assert.deepEqual(q.takeDue(8_000), [a]);
});

test('a refresh to an earlier expiry moves the key at once', () => {
  const q = queue();
  const a = { name: 'a', expiresAt: 9_000 };
  q.add(a, a.expiresAt);
  a.expiresAt = 1_200;
  q.add(a, a.expiresAt);
  assert.deepEqual(q.takeDue(2_000), [a]);
  assert.deepEqual(q.takeDue(20_000), [], 'not left in its first second too');
});

test('a removed key is never due, wherever it was queued', () => {
  const q = queue();
  const a = { name: 'a', expiresAt: 1_500 };
  const b = { name: 'b', expiresAt: 1_700 };
  q.add(a, a.expiresAt);
  q.add(b, b.expiresAt);
  b.expiresAt = 5_000;
  q.add(b, b.expiresAt); // still queued in second 1
  q.remove(a);
  q.remove(b);
  assert.equal(q.size, 0);
  assert.deepEqual(q.takeDue(10_000), []);
});

test('an expiry already in the past is due at the next second processed', () => {
  const q = new ExpiryQueue<Key>(50_000, (k) => k.expiresAt);
  const a = { name: 'a', expiresAt: 10_000 };
  q.add(a, a.expiresAt);
  assert.deepEqual(q.takeDue(50_999), []);
  assert.deepEqual(q.takeDue(51_000), [a]);
});
