// INVITE server transaction: RFC 3261 §17.2.1 (Figure 7) with RFC 6026 §7.1 (Accepted, Timer L).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createResponse } from '../../src/sip/index.ts';
import type { ServerTransactionHandle } from '../../src/transaction/index.ts';
import { asResponse, Harness, incoming, T1, T2, T4, TCP_FLOW, UDP_FLOW, type SentRecord } from './loopback.ts';

const INVITE = incoming({ branch: 'z9hG4bK-inv-1' });
/** The ACK of a non-2xx (§17.1.1.3): same branch as the INVITE, To tag of our response. */
const ackFor = (toTag: string, branch = 'z9hG4bK-inv-1') => incoming({ method: 'ACK', branch, toTag });

function receive(h: Harness, text = INVITE, flow = UDP_FLOW): ServerTransactionHandle {
  const before = h.user.requests.length;
  h.deliver(text, flow);
  assert.equal(h.user.requests.length, before + 1, 'a new request reaches the TU');
  return h.user.requests[before].tx;
}

const statuses = (sent: SentRecord[]) => sent.map((s) => asResponse(s.message).status);

test('§17.2.1 delayed 100 Trying: sent 200 ms after the INVITE when the TU has not answered', () => {
  const h = new Harness({ autoTrying: 'delayed' });
  const tx = receive(h);
  assert.equal(tx.isInvite, true);
  h.runTo(190);
  assert.equal(h.transport.sent.length, 0);
  h.runTo(200);
  assert.equal(h.transport.sent.length, 1);
  const trying = asResponse(h.transport.sent[0].message);
  assert.equal(trying.status, 100);
  assert.equal(trying.to.tag, undefined, '100 Trying carries no To tag (§8.2.6.2)');
  assert.equal(trying.via.branch, 'z9hG4bK-inv-1');
  assert.equal(trying.cseq.method, 'INVITE');
  assert.equal(h.transport.sent[0].at, 200);
  h.runTo(10_000);
  assert.equal(h.transport.sent.length, 1, 'Trying is sent once');
});

test('§17.2.1 delayed 100 Trying is not sent when the TU answers within 200 ms', () => {
  const h = new Harness({ autoTrying: 'delayed' });
  const tx = receive(h);
  h.runTo(150);
  tx.respond(createResponse(tx.request, 180, { toTag: 's-1' }));
  h.runTo(1000);
  assert.deepEqual(statuses(h.transport.sent), [180]);

  // answered synchronously from onRequest
  const h2 = new Harness({ autoTrying: 'delayed' });
  h2.user.onNew = (req, t) => t.respond(createResponse(req, 183, { toTag: 's-2' }));
  receive(h2);
  h2.runTo(1000);
  assert.deepEqual(statuses(h2.transport.sent), [183]);
});

test('§17.2.1 autoTrying immediate sends 100 at once; off never sends it', () => {
  const h = new Harness({ autoTrying: 'immediate' });
  receive(h);
  assert.deepEqual(statuses(h.transport.sent), [100]);
  const off = new Harness({ autoTrying: 'off' });
  receive(off);
  off.runTo(5000);
  assert.equal(off.transport.sent.length, 0);
});

test('§17.2.1 a retransmitted INVITE in Proceeding gets the last provisional again and does not reach the TU', () => {
  const h = new Harness({ autoTrying: 'off' });
  const tx = receive(h);
  h.runTo(50);
  h.deliver(INVITE); // nothing to resend yet
  assert.equal(h.transport.sent.length, 0);
  tx.respond(createResponse(tx.request, 180, { toTag: 's-1' }));
  tx.respond(createResponse(tx.request, 183, { toTag: 's-1' }));
  h.runTo(300);
  h.deliver(INVITE);
  h.deliver(INVITE);
  assert.deepEqual(statuses(h.transport.sent), [180, 183, 183, 183]);
  assert.deepEqual(h.transport.sent[3].bytes, h.transport.sent[1].bytes);
  assert.equal(h.user.requests.length, 1);
  assert.equal(h.layer.counters.get('transaction.retransmissions_absorbed'), 3);
  assert.equal(h.layer.serverCount, 1);
  // no timer retransmits a provisional (§17.2.1: the TU does that)
  h.runTo(60_000);
  assert.equal(h.transport.sent.length, 4);
});

test('§17.2.1 a 3xx-6xx over UDP: Timer G retransmits at T1, 2T1, 4T1, ... capped at T2 until the ACK', () => {
  const h = new Harness({ autoTrying: 'off' });
  const tx = receive(h);
  h.runTo(1000);
  tx.respond(createResponse(tx.request, 486, { toTag: 's-486' }));
  assert.equal(tx.finalStatus, 486);
  h.runTo(1000 + 16_000);
  const at = h.transport.sent.map((s) => s.at - 1000);
  assert.deepEqual(at, [0, 500, 1500, 3500, 7500, 7500 + T2, 7500 + 2 * T2]);
  for (const s of h.transport.sent) assert.deepEqual(s.bytes, h.transport.sent[0].bytes);
  // ACK: Confirmed, retransmissions stop
  h.deliver(ackFor('s-486'));
  assert.equal(h.user.acks.length, 0, 'the ACK of a non-2xx is absorbed by the transaction');
  const n = h.transport.sent.length;
  h.runFor(T4 - 10);
  assert.equal(h.transport.sent.length, n);
  assert.equal(tx.terminated, false);
});

test('§17.2.1 ACK moves Completed to Confirmed; Timer I (T4) then terminates; ACK retransmissions are absorbed', () => {
  const h = new Harness({ autoTrying: 'off' });
  const tx = receive(h);
  tx.respond(createResponse(tx.request, 603, { toTag: 's-603' }));
  h.runTo(2000);
  h.deliver(INVITE); // retransmission in Completed: the final again
  assert.deepEqual(statuses(h.transport.sent), [603, 603, 603, 603]); // 500, 1500 by Timer G, then this one
  h.deliver(ackFor('s-603'));
  h.runTo(2000 + T4 - 10);
  h.deliver(ackFor('s-603')); // retransmitted ACK in Confirmed
  h.deliver(INVITE); // INVITE retransmission in Confirmed: absorbed
  assert.equal(h.user.acks.length, 0);
  assert.equal(h.user.requests.length, 1);
  assert.equal(h.transport.sent.length, 4);
  assert.equal(tx.terminated, false);
  h.runTo(2000 + T4);
  assert.equal(tx.terminated, true);
  assert.equal(h.layer.serverCount, 0);
  assert.equal(h.wheel.size, 0);
  assert.equal(h.user.failures.length, 0);
});

test('§17.2.1 Timer H: no ACK within 64*T1 ends the transaction and tells the TU (onServerFailure timeout)', () => {
  const h = new Harness({ autoTrying: 'off' });
  const tx = receive(h);
  h.runTo(300);
  tx.respond(createResponse(tx.request, 480, { toTag: 's-480' }));
  h.runTo(300 + 64 * T1 - 10);
  assert.equal(h.user.failures.length, 0);
  // 10 retransmissions by Timer G: 500, 1500, 3500, 7500, then every T2 up to 31500
  assert.equal(h.transport.sent.length, 11);
  h.runTo(300 + 64 * T1);
  assert.equal(h.user.failures.length, 1);
  const f = h.user.failures[0];
  assert.equal(f.kind, 'timeout');
  assert.equal(f.at, 300 + 64 * T1);
  assert.equal(f.request, tx.request);
  assert.deepEqual(f.flow, UDP_FLOW);
  assert.equal(tx.terminated, true);
  assert.equal(h.layer.serverCount, 0);
  assert.equal(h.layer.counters.get('transaction.server_timeout'), 1);
  assert.equal(h.wheel.size, 0, 'Timer G is cancelled');
  h.runFor(60_000);
  assert.equal(h.transport.sent.length, 11);
});

test('§17.2.1 reliable transport (tcp): no Timer G, Timer H still applies, Timer I is zero', () => {
  const h = new Harness({ autoTrying: 'off' });
  const tx = receive(h, incoming({ branch: 'z9hG4bK-tcp-1', transport: 'TCP' }), TCP_FLOW);
  tx.respond(createResponse(tx.request, 486, { toTag: 's-1' }));
  h.runTo(64 * T1 - 10);
  assert.equal(h.transport.sent.length, 1);
  h.deliver(incoming({ method: 'ACK', branch: 'z9hG4bK-tcp-1', transport: 'TCP', toTag: 's-1' }), TCP_FLOW);
  assert.equal(tx.terminated, true);
  assert.equal(h.layer.serverCount, 0);
  assert.equal(h.wheel.size, 0);

  const h2 = new Harness({ autoTrying: 'off' });
  const tx2 = receive(h2, incoming({ branch: 'z9hG4bK-tcp-2', transport: 'TCP' }), TCP_FLOW);
  tx2.respond(createResponse(tx2.request, 486, { toTag: 's-2' }));
  h2.runTo(64 * T1);
  assert.equal(h2.transport.sent.length, 1);
  assert.deepEqual(
    h2.user.failures.map((f) => f.kind),
    ['timeout'],
  );
});

test('RFC 6026 §7.1: a 2xx moves the transaction to Accepted; INVITE retransmissions are absorbed, not passed to the TU', () => {
  const h = new Harness({ autoTrying: 'off' });
  const tx = receive(h);
  const request = tx.request;
  const ok = createResponse(request, 200, { toTag: 's-200' });
  tx.respond(ok);
  assert.equal(tx.finalStatus, 200);
  assert.throws(() => tx.request, /released/, 'in Accepted the request is released (only retransmissions are absorbed)');
  h.runTo(3000);
  h.deliver(INVITE);
  h.deliver(INVITE);
  assert.equal(h.user.requests.length, 1);
  assert.deepEqual(statuses(h.transport.sent), [200], 'the transaction does not retransmit the 2xx itself');
  // the TU's own 2xx retransmissions (§13.3.1.4) and other 2xx go out in Accepted
  tx.respond(ok);
  tx.respond(createResponse(request, 200, { toTag: 's-200b' }));
  tx.respond(createResponse(request, 486, { toTag: 's-200' })); // not after a 2xx
  assert.deepEqual(statuses(h.transport.sent), [200, 200, 200]);
  assert.equal(tx.finalStatus, 200);
});

test('RFC 6026 §7.1 Timer L: Accepted ends 64*T1 after the 2xx', () => {
  const h = new Harness({ autoTrying: 'off' });
  const tx = receive(h);
  h.runTo(120);
  tx.respond(createResponse(tx.request, 200, { toTag: 's-200' }));
  h.runTo(120 + 64 * T1 - 10);
  assert.equal(tx.terminated, false);
  h.runTo(120 + 64 * T1);
  assert.equal(tx.terminated, true);
  assert.equal(h.layer.serverCount, 0);
  assert.equal(h.wheel.size, 0);
  assert.equal(h.user.failures.length, 0);
  // a retransmission arriving after Timer L is a new request again
  h.deliver(INVITE);
  assert.equal(h.user.requests.length, 2);
});

test('§17.2.1 / RFC 6026 §7.1: the ACK for a 2xx (new branch) goes to onAck; the transaction is not affected', () => {
  const h = new Harness({ autoTrying: 'off' });
  const tx = receive(h);
  tx.respond(createResponse(tx.request, 200, { toTag: 's-200' }));
  h.runTo(400);
  h.deliver(ackFor('s-200', 'z9hG4bK-ack-new'));
  assert.equal(h.user.acks.length, 1);
  assert.equal(h.user.acks[0].ack.method, 'ACK');
  assert.equal(h.user.acks[0].ack.via.branch, 'z9hG4bK-ack-new');
  assert.deepEqual(h.user.acks[0].flow, UDP_FLOW);
  // an ACK that reuses the INVITE's branch in Accepted is also passed up (RFC 6026 Figure 7)
  h.deliver(ackFor('s-200'));
  assert.equal(h.user.acks.length, 2);
  assert.equal(tx.terminated, false);
  assert.equal(h.user.requests.length, 1);
  assert.equal(h.layer.serverCount, 1);
});

for (const status of [486, 200]) {
  test(`§17.2.4 a transport error on a ${status} final ends the transaction for good and tells the TU once`, () => {
    const h = new Harness({ autoTrying: 'off' });
    const tx = receive(h);
    h.transport.failNext = new Error('unreachable');
    tx.respond(createResponse(tx.request, status, { toTag: 's-1' }));
    assert.equal(tx.terminated, true);
    assert.deepEqual(
      h.user.failures.map((f) => f.kind),
      ['transport'],
    );
    assert.equal(h.layer.serverCount, 0);
    assert.equal(h.wheel.size, 0, 'no Timer G/H/L on a terminated transaction');
    h.runTo(60_000);
    assert.equal(tx.terminated, true);
    assert.equal(h.transport.sent.length, 0, 'nothing retransmitted');
    assert.equal(h.user.failures.length, 1, 'no later Timer H timeout');
  });
}

test('§17.2.1 Timer G reaches T2 and stays there (T2 cap)', () => {
  const h = new Harness({ autoTrying: 'off' });
  const tx = receive(h);
  tx.respond(createResponse(tx.request, 500, { toTag: 's-1' }));
  h.runTo(64 * T1 - 10);
  const gaps = h.transport.sent.slice(1).map((s, i) => s.at - h.transport.sent[i].at);
  assert.deepEqual(gaps, [500, 1000, 2000, 4000, 4000, 4000, 4000, 4000, 4000, 4000]);
  assert.ok(gaps.every((g) => g <= T2));
});

test('§17.2.4 a transport error on a Timer G retransmission terminates once and arms no further timer', () => {
  const h = new Harness({ autoTrying: 'off' });
  const tx = receive(h);
  tx.respond(createResponse(tx.request, 486, { toTag: 's-1' }));
  h.runTo(1000);
  assert.equal(h.transport.sent.length, 2); // the final and its retransmission at 500
  h.transport.failNext = new Error('unreachable');
  h.runTo(1500); // the retransmission at 1500 fails
  assert.equal(tx.terminated, true);
  assert.equal(h.layer.serverCount, 0);
  assert.equal(h.wheel.size, 0, 'neither Timer G nor Timer H is left on the wheel');
  h.runTo(60_000);
  assert.equal(h.transport.sent.length, 2);
  assert.deepEqual(
    h.user.failures.map((f) => f.kind),
    ['transport'],
  );
});
