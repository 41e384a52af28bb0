// INVITE client transaction: RFC 3261 §17.1.1 (Figure 5) with RFC 6026 §7.2 (Accepted, Timer M).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answer, asRequest, Harness, outgoingRequest, PEER, T1, type SentRecord } from './loopback.ts';

function startInvite(h: Harness, destination = PEER) {
  const handler = h.handler();
  const tx = h.layer.sendRequest(outgoingRequest('INVITE'), destination, handler);
  const original = h.transport.sent[0];
  return { handler, tx, original, wire: asRequest(original.message) };
}

const times = (records: SentRecord[]) => records.map((s) => s.at);

test('§17.1.1.2 Timer A: the INVITE is retransmitted after 500, 1000, 2000, ... ms (doubling) until Timer B', () => {
  const h = new Harness();
  const { original, tx, handler } = startInvite(h);
  assert.equal(original.via, 'sendRequest');
  assert.equal(asRequest(original.message).via.branch, tx.branch);
  assert.ok(tx.branch.startsWith('z9hG4bK'));
  h.runTo(31_999);
  const sent = h.transport.sent;
  // original at 0, then intervals T1, 2T1, 4T1, ...: 7 transmissions in all before Timer B
  assert.deepEqual(times(sent), [0, 500, 1500, 3500, 7500, 15500, 31500]);
  for (const s of sent.slice(1)) {
    assert.equal(s.via, 'sendBytes');
    assert.deepEqual(s.bytes, original.bytes, 'a retransmission is the same bytes');
  }
  assert.equal(handler.responses.length, 0);
});

test('§17.1.1.2 Timer B: at 64*T1 in Calling the TU gets a synthesized 408 and the transaction is removed', () => {
  const h = new Harness();
  const { handler, tx, wire } = startInvite(h);
  assert.equal(h.layer.clientCount, 1);
  h.runTo(64 * T1 - 10);
  assert.equal(handler.responses.length, 0);
  assert.equal(tx.terminated, false);
  h.runTo(64 * T1);
  assert.deepEqual(handler.statuses, [408]);
  assert.equal(handler.responses[0].at, 32_000);
  const r = handler.responses[0].response;
  assert.equal(r.callId, wire.callId);
  assert.equal(r.cseq.method, 'INVITE');
  assert.equal(r.via.branch, tx.branch);
  assert.equal(tx.terminated, true);
  assert.equal(tx.failed, 'timeout');
  assert.equal(h.layer.clientCount, 0);
  assert.equal(h.wheel.size, 0, 'Timer A is cancelled too');
  // nothing further is sent
  const count = h.transport.sent.length;
  h.runFor(100_000);
  assert.equal(h.transport.sent.length, count);
  // a late response is stray: it no longer reaches the handler
  h.deliver(answer(wire, 180));
  assert.equal(handler.responses.length, 1);
  assert.equal(h.user.strays.length, 1);
  assert.equal(h.layer.counters.get('transaction.stray_responses'), 1);
});

test('§17.1.1.2 a 1xx moves Calling to Proceeding: retransmissions stop and Timer B no longer applies', () => {
  const h = new Harness();
  const { handler, tx, wire } = startInvite(h);
  h.runTo(2000);
  h.deliver(answer(wire, 100));
  h.deliver(answer(wire, 180));
  assert.deepEqual(handler.statuses, [100, 180]);
  assert.equal(handler.responses[1].tx, tx);
  h.runTo(60_000);
  assert.deepEqual(times(h.transport.sent), [0, 500, 1500], 'no retransmission after the provisional');
  assert.equal(tx.terminated, false, 'Timer B does not end a Proceeding transaction');
  assert.deepEqual(handler.statuses, [100, 180]);
  // and it still completes normally
  h.deliver(answer(wire, 486));
  assert.deepEqual(handler.statuses, [100, 180, 486]);
});

test('§17.1.1.3 a 3xx-6xx gets an ACK: same branch as the INVITE, To of the response, CSeq n ACK, Route copied', () => {
  const h = new Harness();
  const { handler, wire, tx } = startInvite(h);
  h.runTo(700);
  h.deliver(answer(wire, 180, 'b-tag-9'));
  const final = answer(wire, 486, 'b-tag-9');
  h.deliver(final);
  assert.deepEqual(handler.statuses, [180, 486]);
  const acks = h.transport.sent.filter((s) => s.message.isRequest && s.message.method === 'ACK');
  assert.equal(acks.length, 1);
  assert.equal(acks[0].via, 'sendBytes');
  assert.deepEqual(acks[0].destination, tx.flow, 'sent on the flow of the INVITE');
  const ack = asRequest(acks[0].message);
  assert.equal(ack.uriString, wire.uriString);
  assert.equal(ack.countFields('via'), 1);
  assert.equal(ack.vias.length, 1, 'a single Via');
  assert.equal(ack.via.toString(), wire.via.toString(), 'the top Via of the INVITE');
  assert.equal(ack.via.branch, tx.branch);
  assert.equal(ack.get('to'), final.get('to'));
  assert.equal(ack.to.tag, 'b-tag-9');
  assert.equal(ack.get('from'), wire.get('from'));
  assert.equal(ack.callId, wire.callId);
  assert.equal(ack.cseq.seq, wire.cseq.seq);
  assert.equal(ack.cseq.method, 'ACK');
  assert.deepEqual(ack.getAll('route'), wire.getAll('route'));
  assert.deepEqual(ack.getAll('route'), ['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
  assert.equal(ack.has('contact'), false);
  assert.equal(ack.body.length, 0);
});

test('§17.1.1.2 a retransmitted final response in Completed re-sends the ACK and does not reach the TU', () => {
  const h = new Harness();
  const { handler, wire } = startInvite(h);
  const final = answer(wire, 503);
  h.deliver(final);
  h.runFor(1000);
  h.deliver(final);
  h.runFor(1000);
  h.deliver(final);
  assert.deepEqual(handler.statuses, [503]);
  const acks = h.transport.sent.filter((s) => s.message.isRequest && s.message.method === 'ACK');
  assert.equal(acks.length, 3);
  assert.deepEqual(acks[1].bytes, acks[0].bytes);
  assert.deepEqual(acks[2].bytes, acks[0].bytes);
  // no INVITE retransmission after the final response
  assert.equal(h.transport.sent.filter((s) => s.message.isRequest && s.message.method === 'INVITE').length, 1);
});

test('§17.1.1.2 Timer D: Completed lasts 32 s on an unreliable transport, then the transaction is removed', () => {
  const h = new Harness();
  const { handler, wire, tx } = startInvite(h);
  h.runTo(1000);
  const final = answer(wire, 404);
  h.deliver(final);
  h.runTo(1000 + 32_000 - 10);
  assert.equal(tx.terminated, false);
  h.deliver(final);
  assert.equal(h.transport.sent.filter((s) => s.message.isRequest && s.message.method === 'ACK').length, 2);
  h.runTo(1000 + 32_000);
  assert.equal(tx.terminated, true);
  assert.equal(h.layer.clientCount, 0);
  assert.equal(h.wheel.size, 0);
  h.deliver(final);
  assert.deepEqual(handler.statuses, [404]);
  assert.equal(h.user.strays.length, 1);
  assert.equal(h.transport.sent.filter((s) => s.message.isRequest && s.message.method === 'ACK').length, 2);
});

test('RFC 6026 §7.2: a 2xx moves the transaction to Accepted, no ACK is generated, later 2xx still reach the TU', () => {
  const h = new Harness();
  const { handler, wire, tx } = startInvite(h);
  h.runTo(600);
  h.deliver(answer(wire, 200, 'fork-1'));
  assert.deepEqual(handler.statuses, [200]);
  const sentAfter = h.transport.sent.length;
  h.runTo(5000);
  h.deliver(answer(wire, 200, 'fork-1')); // retransmission
  h.deliver(answer(wire, 200, 'fork-2')); // another fork
  h.deliver(answer(wire, 180, 'fork-3')); // ignored in Accepted
  h.deliver(answer(wire, 486, 'fork-3')); // ignored in Accepted
  assert.deepEqual(handler.statuses, [200, 200, 200]);
  assert.deepEqual(
    handler.responses.map((r) => r.response.to.tag),
    ['fork-1', 'fork-1', 'fork-2'],
  );
  assert.equal(h.transport.sent.length, sentAfter, 'the transaction sends neither ACK nor retransmission');
  assert.deepEqual(times(h.transport.sent), [0, 500]);
  assert.equal(tx.terminated, false);
});

test('RFC 6026 §7.2 Timer M: Accepted ends 64*T1 after the first 2xx; a 2xx after that is stray', () => {
  const h = new Harness();
  const { handler, wire, tx } = startInvite(h);
  h.runTo(1230);
  h.deliver(answer(wire, 200));
  h.runTo(1230 + 64 * T1 - 10);
  assert.equal(tx.terminated, false);
  h.deliver(answer(wire, 200));
  assert.equal(handler.responses.length, 2);
  h.runTo(1230 + 64 * T1);
  assert.equal(tx.terminated, true);
  assert.equal(tx.failed, null);
  assert.equal(h.layer.clientCount, 0);
  assert.equal(h.wheel.size, 0, 'Timer B was cancelled by the 2xx');
  h.deliver(answer(wire, 200));
  assert.equal(handler.responses.length, 2);
  assert.equal(h.user.strays.length, 1, 'the UA core sees it through onStrayResponse (§17.1.1.2)');
});

test('RFC 6026 §7.2 with acceptedRoute: the layer keeps only the key; further 2xx reach the TU with that route until Timer M', () => {
  const h = new Harness();
  const upstream = { protocol: 'udp', address: '192.0.2.77', port: 5070 } as const;
  const handler = Object.assign(h.handler(), { acceptedRoute: () => upstream });
  const tx = h.layer.sendRequest(outgoingRequest('INVITE'), PEER, handler);
  const wire = asRequest(h.transport.sent[0].message);
  h.runTo(700);
  h.deliver(answer(wire, 200, 'fork-1'));
  assert.deepEqual(handler.statuses, [200], 'the first 2xx goes to the handler');
  assert.equal(h.layer.clientCount, 1, 'still counted while it lingers');
  assert.equal(h.wheel.size, 1, "Timers A and B cancelled; one timer for the table's entries");
  h.runTo(20_000);
  h.deliver(answer(wire, 200, 'fork-1')); // retransmission
  h.deliver(answer(wire, 200, 'fork-2')); // another fork
  h.deliver(answer(wire, 486, 'fork-3')); // ignored in Accepted
  assert.deepEqual(handler.statuses, [200], 'the handler was let go');
  assert.deepEqual(
    h.user.accepted.map((a) => [a.response.status, a.response.to.tag, a.route]),
    [
      [200, 'fork-1', upstream],
      [200, 'fork-2', upstream],
    ],
  );
  assert.equal(h.user.strays.length, 0);
  assert.equal(tx.terminated, false);
  h.runTo(700 + 64 * T1 - 10);
  assert.equal(tx.terminated, false);
  h.runTo(700 + 64 * T1);
  assert.equal(tx.terminated, true);
  assert.equal(h.layer.clientCount, 0);
  assert.equal(h.wheel.size, 0);
  h.deliver(answer(wire, 200, 'fork-1'));
  assert.equal(h.user.accepted.length, 2);
  assert.equal(h.user.strays.length, 1, 'after Timer M a 2xx is stray');
});

test('timers.linger shortens Timer M: Accepted ends at the linger, not 64*T1', () => {
  const h = new Harness({ linger: 5000 });
  const { wire, tx } = startInvite(h);
  h.runTo(100);
  h.deliver(answer(wire, 200));
  h.runTo(100 + 5000 - 10);
  assert.equal(tx.terminated, false);
  h.runTo(100 + 5000);
  assert.equal(tx.terminated, true);
  assert.equal(h.layer.clientCount, 0);
});

test('§17.1.1.2 reliable transport (tcp): no Timer A retransmissions, Timer B still applies', () => {
  const h = new Harness();
  const { handler, tx } = startInvite(h, { protocol: 'tcp', address: '203.0.113.5', port: 5060 });
  assert.equal(tx.flow?.protocol, 'tcp');
  assert.equal(asRequest(h.transport.sent[0].message).via.transport, 'TCP');
  h.runTo(64 * T1 - 10);
  assert.equal(h.transport.sent.length, 1, 'sent once');
  h.runTo(64 * T1);
  assert.deepEqual(handler.statuses, [408]);
  assert.equal(h.layer.clientCount, 0);
});

test('§17.1.1.2 reliable transport (tcp): Timer D is zero, the ACK is sent and the transaction ends at once', () => {
  const h = new Harness();
  const { handler, tx, wire } = startInvite(h, { protocol: 'tcp', address: '203.0.113.5', port: 5060 });
  h.deliver(answer(wire, 486), { protocol: 'tcp', address: '203.0.113.5', port: 5060 });
  assert.deepEqual(handler.statuses, [486]);
  assert.equal(tx.terminated, true);
  assert.equal(h.layer.clientCount, 0);
  assert.equal(h.wheel.size, 0);
  const ack = asRequest(h.transport.sent[1].message);
  assert.equal(ack.method, 'ACK');
  assert.equal(ack.via.branch, tx.branch);
});

test('§8.1.3.1 a transport error while Calling yields a synthesized 503 and ends the transaction', () => {
  const h = new Harness();
  const handler = h.handler();
  h.transport.failNext = new Error('network unreachable');
  const tx = h.layer.sendRequest(outgoingRequest('INVITE'), PEER, handler);
  assert.deepEqual(handler.statuses, [503]);
  assert.equal(tx.failed, 'transport');
  assert.equal(tx.terminated, true);
  assert.equal(h.layer.clientCount, 0);
  assert.equal(h.wheel.size, 0, 'no timer left behind');
});

test('§17.1.1 ACK is never sent through a client transaction', () => {
  const h = new Harness();
  assert.throws(() => h.layer.sendRequest(outgoingRequest('ACK'), PEER, h.handler()), /ACK/);
  const flow = h.layer.sendAck(outgoingRequest('ACK'), PEER);
  assert.equal(flow.protocol, 'udp');
  assert.equal(h.layer.clientCount, 0);
  const ack = asRequest(h.transport.sent[0].message);
  assert.ok(ack.via.branch?.startsWith('z9hG4bK'), 'the ACK for a 2xx has a branch of its own');
});
