// TransactionLayer as a whole: shutdown and the counters it keeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createResponse } from '../../src/sip/index.ts';
import { answer, asRequest, Harness, incoming, outgoingRequest, PEER, T4 } from './loopback.ts';

test('§17 shutdown drops every transaction and cancels its timers: no retransmission, no Timer B/F/H afterwards', () => {
  const h = new Harness({ autoTrying: 'delayed' });
  const inviteHandler = h.handler();
  const optionsHandler = h.handler();
  h.layer.sendRequest(outgoingRequest('INVITE'), PEER, inviteHandler);
  h.layer.sendRequest(outgoingRequest('OPTIONS', { cseq: 2 }), PEER, optionsHandler);
  h.deliver(incoming({ branch: 'z9hG4bK-s1' }));
  h.deliver(incoming({ branch: 'z9hG4bK-s2' }));
  h.deliver(incoming({ method: 'OPTIONS', branch: 'z9hG4bK-s3' }));
  const [s1, , s3] = h.user.requests.map((r) => r.tx);
  s1.respond(createResponse(s1.request, 486, { toTag: 't' })); // Completed: Timers G and H
  s3.respond(createResponse(s3.request, 200, { toTag: 't' })); // Completed: Timer J
  assert.equal(h.layer.clientCount, 2);
  assert.equal(h.layer.serverCount, 3);
  assert.ok(h.wheel.size > 0);

  h.layer.shutdown();
  assert.equal(h.layer.clientCount, 0);
  assert.equal(h.layer.serverCount, 0);
  assert.equal(h.wheel.size, 0, 'no timer of a dropped transaction is left');
  const sent = h.transport.sent.length;
  h.runTo(100_000);
  assert.equal(h.transport.sent.length, sent, 'nothing retransmitted after shutdown');
  assert.equal(inviteHandler.responses.length, 0, 'no synthesized 408 (Timer B)');
  assert.equal(optionsHandler.responses.length, 0, 'no synthesized 408 (Timer F)');
  assert.equal(h.user.failures.length, 0, 'no Timer H report');
});

for (const method of ['INVITE', 'OPTIONS']) {
  test(`§17.1.1.2 / §17.1.2.2 a ${method} handler that throws on the final response still gets Timer ${method === 'INVITE' ? 'D' : 'K'}: the transaction ends`, () => {
    const h = new Harness();
    let calls = 0;
    const tx = h.layer.sendRequest(outgoingRequest(method), PEER, {
      onResponse: () => {
        calls++;
        throw new Error('TU bug');
      },
    });
    const wire = asRequest(h.transport.sent[0].message);
    h.deliver(answer(wire, 486));
    assert.equal(calls, 1);
    assert.equal(h.layer.counters.get('transaction.user_errors'), 1, 'the layer caught and counted it');
    h.deliver(answer(wire, 486)); // a retransmission is still absorbed meanwhile
    assert.equal(calls, 1);
    h.runFor(method === 'INVITE' ? 32_000 : T4);
    assert.equal(tx.terminated, true);
    assert.equal(h.layer.clientCount, 0);
    assert.equal(h.wheel.size, 0);
  });
}
