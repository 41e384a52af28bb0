// Non-INVITE client transaction: RFC 3261 §17.1.2 (Figure 6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answer, asRequest, Harness, outgoingRequest, PEER, T1, T2, T4 } from './loopback.ts';

function start(h: Harness, method = 'OPTIONS', destination = PEER) {
  const handler = h.handler();
  const tx = h.layer.sendRequest(outgoingRequest(method), destination, handler);
  return { handler, tx, wire: asRequest(h.transport.sent[0].message) };
}

const times = (h: Harness) => h.transport.sent.map((s) => s.at);

test('§17.1.2.2 Timer E in Trying: intervals double from T1 and are capped at T2', () => {
  const h = new Harness();
  const { tx, wire } = start(h);
  assert.equal(wire.method, 'OPTIONS');
  assert.equal(wire.via.branch, tx.branch);
  h.runTo(31_999);
  // 500, 1000, 2000, 4000 (= T2), then every T2: 11 transmissions before Timer F
  assert.deepEqual(times(h), [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
  const first = h.transport.sent[0].bytes;
  for (const s of h.transport.sent.slice(1)) assert.deepEqual(s.bytes, first);
});

test('§17.1.2.2 Timer F: at 64*T1 the TU gets a synthesized 408 and the transaction is removed', () => {
  const h = new Harness();
  const { handler, tx } = start(h, 'REGISTER');
  h.runTo(64 * T1 - 10);
  assert.equal(handler.responses.length, 0);
  h.runTo(64 * T1);
  assert.deepEqual(handler.statuses, [408]);
  assert.equal(handler.responses[0].at, 32_000);
  assert.equal(handler.responses[0].response.cseq.method, 'REGISTER');
  assert.equal(tx.failed, 'timeout');
  assert.equal(tx.terminated, true);
  assert.equal(h.layer.clientCount, 0);
  assert.equal(h.wheel.size, 0);
  const n = h.transport.sent.length;
  h.runFor(60_000);
  assert.equal(h.transport.sent.length, n);
});

test('§17.1.2.2 in Proceeding Timer E fires every T2; Timer F still yields 408', () => {
  const h = new Harness();
  const { handler, wire } = start(h);
  h.runTo(700); // after the first retransmission; Timer E is due at 1500
  h.deliver(answer(wire, 100));
  assert.deepEqual(handler.statuses, [100]);
  h.runTo(31_999);
  // the pending E fires at 1500, then T2 each time
  assert.deepEqual(times(h), [0, 500, 1500, 1500 + T2, 1500 + 2 * T2, 1500 + 3 * T2, 1500 + 4 * T2, 1500 + 5 * T2, 1500 + 6 * T2, 1500 + 7 * T2]);
  h.runTo(32_000);
  assert.deepEqual(handler.statuses, [100, 408]);
  assert.equal(h.layer.clientCount, 0);
});

test('§17.1.2.2 a provisional received during the first doubling switches to T2 at once after the next E', () => {
  const h = new Harness();
  const { wire } = start(h);
  h.deliver(answer(wire, 180)); // Proceeding before any retransmission
  h.runTo(10_000);
  assert.deepEqual(times(h), [0, 500, 500 + T2, 500 + 2 * T2]);
});

test('§17.1.2.2 a final response stops retransmissions; Timer K = T4 absorbs retransmitted finals', () => {
  const h = new Harness();
  const { handler, wire, tx } = start(h);
  h.runTo(2000);
  h.deliver(answer(wire, 180));
  h.deliver(answer(wire, 200));
  assert.deepEqual(handler.statuses, [180, 200]);
  const sent = h.transport.sent.length;
  h.runTo(2000 + T4 - 10);
  assert.equal(tx.terminated, false);
  h.deliver(answer(wire, 200)); // retransmission: absorbed
  h.deliver(answer(wire, 180)); // late provisional: absorbed
  assert.deepEqual(handler.statuses, [180, 200]);
  assert.equal(h.user.strays.length, 0);
  h.runTo(2000 + T4);
  assert.equal(tx.terminated, true);
  assert.equal(h.layer.clientCount, 0);
  assert.equal(h.wheel.size, 0);
  assert.equal(h.transport.sent.length, sent, 'nothing sent after the final response');
  h.deliver(answer(wire, 200));
  assert.equal(h.user.strays.length, 1);
});

test('§17.1.2.2 reliable transport (tcp): no Timer E, Timer K is zero', () => {
  const h = new Harness();
  const tcp = { protocol: 'tcp' as const, address: '203.0.113.5', port: 5060 };
  const { handler, wire, tx } = start(h, 'OPTIONS', tcp);
  h.runTo(20_000);
  assert.equal(h.transport.sent.length, 1);
  h.deliver(answer(wire, 404), tcp);
  assert.deepEqual(handler.statuses, [404]);
  assert.equal(tx.terminated, true);
  assert.equal(h.layer.clientCount, 0);
  assert.equal(h.wheel.size, 0);
});

test('§17.1.2.2 reliable transport (tcp): Timer F still yields 408 at 64*T1', () => {
  const h = new Harness();
  const { handler } = start(h, 'OPTIONS', { protocol: 'tcp', address: '203.0.113.5', port: 5060 });
  h.runTo(64 * T1);
  assert.deepEqual(handler.statuses, [408]);
  assert.equal(handler.responses[0].at, 64 * T1);
  assert.equal(h.transport.sent.length, 1);
});

test('§8.1.3.1 a transport error in Trying gives the TU a 503', () => {
  const h = new Harness();
  const handler = h.handler();
  h.transport.failNext = new Error('no route');
  const tx = h.layer.sendRequest(outgoingRequest('MESSAGE'), PEER, handler);
  assert.deepEqual(handler.statuses, [503]);
  assert.equal(tx.failed, 'transport');
  assert.equal(h.layer.clientCount, 0);
  assert.equal(h.wheel.size, 0);
});
