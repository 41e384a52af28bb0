// The completed-transaction table (RFC 3261 §17.2.2, Completed state over UDP): every entry answers
// its own key with its own bytes until its Timer J, and not after; checked against a plain Map
// through load that rises and falls, so the ring wraps, grows, shrinks and deletes from the middle of
// probe clusters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, TimerWheel } from '../../src/shared/index.ts';
import { CompletedTransactionTable } from '../../src/transaction/completed-transaction-table.ts';
import type { Flow } from '../../src/transport/index.ts';

const J = 32_000;
const ROUTE_A: Flow = { protocol: 'udp', address: '127.0.0.2', port: 5060 };
const ROUTE_B: Flow = { protocol: 'udp', address: '127.0.0.3', port: 5062 };

function setup() {
  const clock = new ManualClock(5_000);
  const wheel = new TimerWheel(clock, { autoDrive: false });
  const sent: { bytes: Buffer; route: Flow }[] = [];
  const failed: Flow[] = [];
  let failNext = false;
  const table = new CompletedTransactionTable(
    wheel,
    (bytes, route, onError) => {
      sent.push({ bytes, route });
      if (failNext) onError(new Error('unreachable'));
    },
    (route) => failed.push(route),
  );
  const step = (ms: number) => {
    clock.advance(ms);
    wheel.advance();
  };
  return { clock, wheel, table, sent, failed, step, failWith: (v: boolean) => (failNext = v) };
}

/** A deterministic pseudo-random sequence (xorshift32), so that a failure can be replayed. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

test('each entry answers its own key with its own bytes and route until Timer J, then not', () => {
  const { table, sent, step } = setup();
  table.add('z9hG4bK-a\u0000host-a:5060\u0000REGISTER', Buffer.from('SIP/2.0 200 OK\r\nA\r\n\r\n'), ROUTE_A, J);
  step(10);
  table.add('z9hG4bK-b\u0000host-b:5060\u0000REGISTER', Buffer.from('SIP/2.0 403 Forbidden\r\nB\r\n\r\n'), ROUTE_B, J);
  assert.equal(table.size, 2);
  assert.equal(table.answer('z9hG4bK-c\u0000host-a:5060\u0000REGISTER'), false, 'an unknown key is a new request');
  assert.equal(table.answer('z9hG4bK-a\u0000host-a:5060\u0000OPTIONS'), false, 'the method is part of the key');
  assert.equal(table.answer('z9hG4bK-b\u0000host-b:5060\u0000REGISTER'), true);
  assert.equal(table.answer('z9hG4bK-a\u0000host-a:5060\u0000REGISTER'), true);
  assert.deepEqual(sent.map((s) => [s.bytes.toString(), s.route]), [
    ['SIP/2.0 403 Forbidden\r\nB\r\n\r\n', ROUTE_B],
    ['SIP/2.0 200 OK\r\nA\r\n\r\n', ROUTE_A],
  ]);
  step(J - 10);
  assert.equal(table.size, 1, 'the first ended at its Timer J');
  assert.equal(table.answer('z9hG4bK-a\u0000host-a:5060\u0000REGISTER'), false);
  assert.equal(table.answer('z9hG4bK-b\u0000host-b:5060\u0000REGISTER'), true);
  step(10);
  assert.equal(table.size, 0);
  assert.equal(table.answer('z9hG4bK-b\u0000host-b:5060\u0000REGISTER'), false);
});

test('a key of non-ASCII text (an RFC 2543 key holds URI and Via text) is matched whole', () => {
  const { table, sent } = setup();
  const key = '2543\u0000sip:jürgen@example.com\u0000\u0000tag\u0000call\u00001\u0000SIP/2.0/UDP h\u0000MESSAGE';
  table.add(key, Buffer.from('SIP/2.0 202 Accepted\r\n\r\n'), ROUTE_A, J);
  assert.equal(table.answer(key.replace('ü', 'u')), false);
  assert.equal(table.answer(key), true);
  assert.equal(sent[0].bytes.toString(), 'SIP/2.0 202 Accepted\r\n\r\n');
});

test('a failed resend ends the entry and is reported with its route (§17.2.4)', () => {
  const { table, failed, failWith } = setup();
  table.add('k1', Buffer.from('one'), ROUTE_A, J);
  table.add('k2', Buffer.from('two'), ROUTE_B, J);
  failWith(true);
  assert.equal(table.answer('k1'), true);
  failWith(false);
  assert.deepEqual(failed, [ROUTE_A]);
  assert.equal(table.answer('k1'), false, 'ended');
  assert.equal(table.answer('k2'), true, 'the other is untouched');
});

test('against a Map under rising and falling load: wraps, grows, shrinks, every answer right', () => {
  const { table, sent, step, wheel } = setup();
  const next = random(0x5eed);
  const reference = new Map<string, { bytes: string; route: Flow; due: number }>();
  let now = 5_000;
  let serial = 0;
  let checked = 0;
  // per 100 ms tick, with an 8 s linger: ramp up to 300 entries, hold, fall to a trickle, rise again
  const linger = 8_000;
  const perTick = (t: number) => (t < 150 ? 2 * t : t < 300 ? 300 : t < 500 ? 2 : 150);
  for (let t = 0; t < 650; t++) {
    for (let i = 0; i < perTick(t); i++) {
      const key = `z9hG4bK-${serial}-${'x'.repeat(Math.floor(next() * 40))}\u0000192.0.2.${serial % 250}:5060\u0000REGISTER`;
      // responses of very different sizes, a few larger than the initial ring
      const size = next() < 0.001 ? 300_000 : 200 + Math.floor(next() * 900);
      const bytes = `SIP/2.0 200 OK\r\nSerial: ${serial}\r\n${'y'.repeat(size)}`;
      const route = serial % 2 === 0 ? ROUTE_A : ROUTE_B;
      table.add(key, Buffer.from(bytes), route, linger);
      reference.set(key, { bytes, route, due: now + linger });
      serial++;
    }
    step(100);
    now += 100;
    for (const [key, entry] of reference) if (entry.due <= now) reference.delete(key);
    assert.equal(table.size, reference.size, `size at tick ${t}`);
    // every live key now and then; otherwise the oldest ones (whose bytes sit in chunks about to be
    // freed), the newest and a random sample; and one unknown key
    const keys = [...reference.keys()];
    const all = t % 10 === 0;
    const picks = all ? keys : [...keys.slice(0, 4), ...keys.slice(-2), ...Array.from({ length: 4 }, () => keys[Math.floor(next() * keys.length)])];
    for (const key of picks) {
      sent.length = 0;
      assert.equal(table.answer(key), true, `live key at tick ${t}`);
      assert.equal(sent[0].bytes.toString(), reference.get(key)?.bytes);
      assert.equal(sent[0].route, reference.get(key)?.route);
      checked++;
    }
    assert.equal(table.answer(`z9hG4bK-${serial + 7}\u0000unknown\u0000REGISTER`), false);
  }
  assert.ok(checked > 100_000, `${checked}`);
  step(linger + 100);
  assert.equal(table.size, 0);
  assert.equal(wheel.size, 0, 'no timer left once empty');
});

test('100,000 entries at once: the index grows while they are live, every one still answers', () => {
  const { table, sent, step } = setup();
  const key = (i: number) => `z9hG4bK-bulk-${i}\u0000192.0.2.1:5060\u0000REGISTER`;
  for (let i = 0; i < 100_000; i++) {
    table.add(key(i), Buffer.from(`SIP/2.0 200 OK\r\nN: ${i}\r\n\r\n`), i % 3 === 0 ? ROUTE_A : ROUTE_B, J);
    if (i % 10_000 === 9_999) step(10);
  }
  assert.equal(table.size, 100_000);
  for (let i = 0; i < 100_000; i += 7) {
    sent.length = 0;
    assert.equal(table.answer(key(i)), true, `entry ${i}`);
    assert.equal(sent[0].bytes.toString(), `SIP/2.0 200 OK\r\nN: ${i}\r\n\r\n`);
    assert.equal(sent[0].route, i % 3 === 0 ? ROUTE_A : ROUTE_B);
  }
  assert.equal(table.answer(key(100_000)), false);
  // they end in their ten batches
  step(J - 60);
  assert.equal(table.size, 50_000);
  assert.equal(table.answer(key(49_999)), false);
  assert.equal(table.answer(key(50_000)), true);
  step(100);
  assert.equal(table.size, 0);
});

test('while a grown index takes its entries over a few per add, old and new entries answer, expire and end early', () => {
  const { table, sent, step, failWith } = setup();
  const key = (i: number) => `z9hG4bK-grow-${i}\u0000192.0.2.9:5060\u0000REGISTER`;
  const answers = (i: number) => {
    sent.length = 0;
    return table.answer(key(i)) && sent[0].bytes.toString() === `N: ${i}`;
  };
  const fail = (i: number) => {
    failWith(true);
    assert.equal(table.answer(key(i)), true);
    failWith(false);
  };
  // 20,000 entries, then 14,000 more 1 s later: the index of 65,536 slots grows at the 32,768th,
  // and 1,232 adds later most of its old slots have not moved yet
  for (let i = 0; i < 20_000; i++) table.add(key(i), Buffer.from(`N: ${i}`), ROUTE_A, 6_000);
  step(1_000);
  for (let i = 20_000; i < 34_000; i++) table.add(key(i), Buffer.from(`N: ${i}`), ROUTE_A, 6_000);
  const moving = () => (table as unknown as { oldIndex: Int32Array | null }).oldIndex !== null;
  assert.ok(moving(), 'the old index is still being emptied');
  assert.ok(answers(0) && answers(19_999) && answers(20_000) && answers(33_999), 'old and new entries answer mid-move');
  // ended early: one in the old index, one added after the growth (in the new one)
  fail(10_000);
  fail(33_000);
  assert.equal(answers(10_000), false);
  assert.equal(answers(33_000), false);
  // the first 20,000 expire while most of the old index is still to move
  step(5_000);
  assert.equal(table.size, 14_000, 'an entry ended early leaves the FIFO in its turn');
  assert.equal(answers(0), false);
  assert.equal(answers(19_999), false);
  assert.ok(answers(20_000) && answers(25_000) && answers(33_999));
  // more adds finish the move; everything left still answers, and ends at its time
  assert.ok(moving(), 'still moving after the expiry');
  for (let i = 34_000; i < 44_000; i++) table.add(key(i), Buffer.from(`N: ${i}`), ROUTE_A, 6_000);
  assert.ok(!moving(), 'moved');
  for (let i = 20_000; i < 44_000; i += 3) if (i !== 33_000) assert.ok(answers(i), `entry ${i}`);
  step(1_100);
  assert.equal(table.size, 10_000);
  assert.equal(answers(25_000), false);
  assert.ok(answers(34_000) && answers(43_999));
  step(6_000);
  assert.equal(table.size, 0);
});
