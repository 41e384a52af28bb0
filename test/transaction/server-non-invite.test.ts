// Non-INVITE server transaction: RFC 3261 §17.2.2 (Figure 8).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createResponse } from '../../src/sip/index.ts';
import { asResponse, Harness, incoming, T1, TCP_FLOW, UDP_FLOW } from './loopback.ts';

const OPTIONS = incoming({ method: 'OPTIONS', branch: 'z9hG4bK-opt-1' });

function receive(h: Harness, text = OPTIONS, flow = UDP_FLOW) {
  h.deliver(text, flow);
  return h.user.requests[h.user.requests.length - 1].tx;
}

const statuses = (h: Harness) => h.transport.sent.map((s) => asResponse(s.message).status);

test('§17.2.2 a retransmission in Trying is absorbed: nothing sent, the TU sees the request once', () => {
  const h = new Harness();
  const tx = receive(h);
  assert.equal(tx.isInvite, false);
  h.runTo(500);
  h.deliver(OPTIONS);
  h.runTo(1500);
  h.deliver(OPTIONS);
  assert.equal(h.user.requests.length, 1);
  assert.equal(h.transport.sent.length, 0);
  assert.equal(h.layer.counters.get('transaction.retransmissions_absorbed'), 2);
  h.runTo(60_000);
  assert.equal(h.transport.sent.length, 0, 'no 100 Trying, no timers for non-INVITE (§17.2.2)');
  assert.equal(h.layer.serverCount, 1, 'Trying lasts until the TU answers');
});

test('§17.2.2 a retransmission in Proceeding is answered with the last provisional', () => {
  const h = new Harness();
  const tx = receive(h, incoming({ method: 'SUBSCRIBE', branch: 'z9hG4bK-sub-1' }));
  tx.respond(createResponse(tx.request, 100));
  tx.respond(createResponse(tx.request, 183, { toTag: 's-1' }));
  h.deliver(incoming({ method: 'SUBSCRIBE', branch: 'z9hG4bK-sub-1' }));
  assert.deepEqual(statuses(h), [100, 183, 183]);
  assert.deepEqual(h.transport.sent[2].bytes, h.transport.sent[1].bytes);
  assert.equal(h.user.requests.length, 1);
});

test('§17.2.2 a retransmission in Completed is answered with the final response; later responses from the TU are ignored', () => {
  const h = new Harness();
  const tx = receive(h);
  // the TU keeps the request it was given: the transaction releases it once Completed
  const request = tx.request;
  tx.respond(createResponse(request, 200, { toTag: 's-1' }));
  assert.equal(tx.finalStatus, 200);
  assert.throws(() => tx.request, /released/);
  h.runTo(10_000);
  h.deliver(OPTIONS);
  h.deliver(OPTIONS);
  assert.deepEqual(statuses(h), [200, 200, 200]);
  assert.deepEqual(h.transport.sent[1].bytes, h.transport.sent[0].bytes);
  tx.respond(createResponse(request, 500, { toTag: 's-1' }));
  tx.respond(createResponse(request, 180, { toTag: 's-1' }));
  assert.deepEqual(statuses(h), [200, 200, 200]);
  assert.equal(tx.finalStatus, 200);
  assert.equal(h.user.requests.length, 1);
});

test('§17.2.2 the final response is not retransmitted by a timer (no Timer G for non-INVITE)', () => {
  const h = new Harness();
  const tx = receive(h);
  tx.respond(createResponse(tx.request, 404, { toTag: 's-1' }));
  h.runTo(64 * T1 - 10);
  assert.deepEqual(statuses(h), [404]);
});

test('§17.2.2 Timer J = 64*T1 on an unreliable transport, then the transaction is gone', () => {
  const h = new Harness();
  h.runTo(70);
  const tx = receive(h);
  h.runTo(250);
  tx.respond(createResponse(tx.request, 200, { toTag: 's-1' }));
  h.runTo(250 + 64 * T1 - 10);
  assert.equal(h.layer.serverCount, 1);
  // just before Timer J a retransmission still gets the final response, byte for byte
  h.deliver(OPTIONS);
  assert.equal(h.user.requests.length, 1);
  assert.equal(h.transport.sent.length, 2);
  assert.deepEqual(h.transport.sent[1].bytes, h.transport.sent[0].bytes);
  assert.deepEqual(h.transport.sent[1].destination, h.transport.sent[0].destination);
  h.runTo(250 + 64 * T1);
  assert.equal(h.layer.serverCount, 0);
  assert.equal(h.wheel.size, 0);
  // after Timer J the same request is new again
  h.deliver(OPTIONS);
  assert.equal(h.user.requests.length, 2);
  assert.equal(h.transport.sent.length, 2);
});

test('§17.2.2 completed transactions answer their own retransmissions among many, each with its own response', () => {
  const h = new Harness();
  const texts = Array.from({ length: 3000 }, (_, i) => incoming({ method: i % 2 ? 'OPTIONS' : 'MESSAGE', branch: `z9hG4bK-many-${i}` }));
  texts.forEach((text, i) => {
    const tx = receive(h, text);
    h.runTo(h.clock.now() + 7);
    tx.respond(createResponse(tx.request, 200 + (i % 7), { toTag: `s-${i}` }));
  });
  assert.equal(h.layer.serverCount, 3000);
  const before = h.transport.sent.length;
  for (const i of [0, 1, 1234, 2999]) h.deliver(texts[i]);
  const again = h.transport.sent.slice(before).map((s) => asResponse(s.message));
  assert.deepEqual(again.map((r) => r.status), [200, 201, 200 + (1234 % 7), 200 + (2999 % 7)]);
  assert.deepEqual(again.map((r) => r.to.tag), ['s-0', 's-1', 's-1234', 's-2999']);
  assert.equal(h.user.requests.length, 3000);
  // they end in the order they completed, 7 ms apart
  h.runTo(h.clock.now() + 64 * T1 - 3000 * 7 + 700);
  assert.ok(h.layer.serverCount > 2800 && h.layer.serverCount < 3000, `${h.layer.serverCount}`);
  h.deliver(texts[0]);
  assert.equal(h.user.requests.length, 3001, 'the first one ended: its request is new again');
  h.deliver(texts[2999]);
  assert.equal(h.user.requests.length, 3001, 'the last one is still absorbed');
});

test('timers.linger shortens Timer J (Kamailio wait timer): gone 5 s after the final response, not 64*T1', () => {
  const h = new Harness({ linger: 5000 });
  h.runTo(70);
  const tx = receive(h);
  tx.respond(createResponse(tx.request, 200, { toTag: 's-1' }));
  h.runTo(70 + 5000 - 10);
  assert.equal(h.layer.serverCount, 1, 'still absorbing retransmissions');
  h.deliver(OPTIONS);
  assert.equal(h.user.requests.length, 1, 'a retransmission within the linger is absorbed');
  assert.equal(h.transport.sent.length, 2, 'and answered with the final response');
  h.runTo(70 + 5000);
  assert.equal(h.layer.serverCount, 0, 'ended at the linger');
  h.deliver(OPTIONS);
  assert.equal(h.user.requests.length, 2, 'a new request after it');
});

test('§17.2.2 Timer J = 0 on a reliable transport: terminated as soon as the final is sent', () => {
  const h = new Harness();
  const text = incoming({ method: 'OPTIONS', branch: 'z9hG4bK-opt-tcp', transport: 'TCP' });
  const tx = receive(h, text, TCP_FLOW);
  tx.respond(createResponse(tx.request, 100));
  assert.equal(tx.terminated, false);
  tx.respond(createResponse(tx.request, 200, { toTag: 's-1' }));
  assert.equal(tx.terminated, true);
  assert.equal(h.layer.serverCount, 0);
  assert.equal(h.wheel.size, 0);
  assert.deepEqual(h.transport.sent[1].destination, TCP_FLOW, 'sent on the request flow');
});

test('§17.2.4 a transport error on the final response terminates without arming Timer J and tells the TU', () => {
  const h = new Harness();
  const tx = receive(h);
  h.transport.failNext = new Error('unreachable');
  tx.respond(createResponse(tx.request, 200, { toTag: 's-1' }));
  assert.equal(tx.terminated, true);
  assert.equal(h.layer.serverCount, 0);
  assert.equal(h.wheel.size, 0);
  assert.deepEqual(
    h.user.failures.map((f) => [f.kind, f.request.method]),
    [['transport', 'OPTIONS']],
  );
  assert.equal(h.layer.counters.get('transaction.server_transport'), 1);
});

test('§17.2 a TU that throws on a request does not break the layer', () => {
  const h = new Harness();
  h.user.onNew = () => {
    throw new Error('TU bug');
  };
  h.deliver(OPTIONS);
  assert.equal(h.layer.counters.get('transaction.user_errors'), 1);
  assert.equal(h.layer.serverCount, 1);
  h.user.onNew = null;
  h.deliver(incoming({ method: 'OPTIONS', branch: 'z9hG4bK-opt-2' }));
  assert.equal(h.user.requests.length, 2);
});
