// Matching of requests to server transactions (RFC 3261 §17.2.3, with the RFC 2543 fallback)
// and of responses to client transactions (§17.1.3), CANCEL included (§9.1, §9.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createResponse, parseMessage, type SipRequest } from '../../src/sip/index.ts';
import { serverKey } from '../../src/transaction/index.ts';
import { answer, asRequest, asResponse, Harness, incoming, outgoingRequest, PEER, T1 } from './loopback.ts';

function parsed(text: string): SipRequest {
  return asRequest(parseMessage(Buffer.from(text)));
}

// ---- server side, RFC 3261 rules -----------------------------------------------------------

test('§17.2.3 same branch but a different sent-by makes a different server transaction', () => {
  const h = new Harness({ autoTrying: 'off' });
  h.deliver(incoming({ branch: 'z9hG4bK-same', sentBy: '198.51.100.7:5070' }));
  h.deliver(incoming({ branch: 'z9hG4bK-same', sentBy: '198.51.100.8:5070' })); // other host
  h.deliver(incoming({ branch: 'z9hG4bK-same', sentBy: '198.51.100.7:5071' })); // other port
  assert.equal(h.user.requests.length, 3);
  assert.equal(h.layer.serverCount, 3);
  assert.equal(new Set(h.user.requests.map((r) => r.tx.key)).size, 3);
  // each one is answered on its own
  h.user.requests[1].tx.respond(createResponse(h.user.requests[1].request, 486, { toTag: 's' }));
  assert.equal(h.user.requests[0].tx.finalStatus, 0);
  assert.equal(h.user.requests[2].tx.finalStatus, 0);
});

test('§17.2.3 same branch and sent-by but a different method makes a different server transaction', () => {
  const h = new Harness({ autoTrying: 'off' });
  h.deliver(incoming({ method: 'INVITE', branch: 'z9hG4bK-m' }));
  h.deliver(incoming({ method: 'OPTIONS', branch: 'z9hG4bK-m' }));
  h.deliver(incoming({ method: 'INFO', branch: 'z9hG4bK-m' }));
  assert.deepEqual(
    h.user.requests.map((r) => [r.request.method, r.tx.isInvite]),
    [
      ['INVITE', true],
      ['OPTIONS', false],
      ['INFO', false],
    ],
  );
  assert.equal(h.layer.serverCount, 3);
  // a retransmission of each matches its own transaction
  h.deliver(incoming({ method: 'OPTIONS', branch: 'z9hG4bK-m' }));
  h.deliver(incoming({ method: 'INVITE', branch: 'z9hG4bK-m' }));
  assert.equal(h.user.requests.length, 3);
  assert.equal(h.layer.counters.get('transaction.retransmissions_absorbed'), 2);
});

test('§17.2.3 the sent-by host compares case-insensitively; the ACK matches the INVITE (method INVITE for ACK)', () => {
  const h = new Harness({ autoTrying: 'off' });
  h.deliver(incoming({ branch: 'z9hG4bK-case', sentBy: 'UA.Example.COM:5070' }));
  const tx = h.user.requests[0].tx;
  tx.respond(createResponse(tx.request, 404, { toTag: 's-404' }));
  h.deliver(incoming({ branch: 'z9hG4bK-case', sentBy: 'ua.example.com:5070' }));
  assert.equal(h.user.requests.length, 1);
  assert.equal(h.transport.sent.length, 2, 'the retransmission got the final again');
  assert.equal(serverKey(parsed(incoming({ method: 'ACK', branch: 'z9hG4bK-case', sentBy: 'ua.example.COM:5070' }))), tx.key);
  h.deliver(incoming({ method: 'ACK', branch: 'z9hG4bK-case', sentBy: 'ua.example.com:5070', toTag: 's-404' }));
  assert.equal(h.user.acks.length, 0, 'absorbed by the transaction');
  h.runTo(64 * T1 + 10);
  assert.equal(h.user.failures.length, 0, 'the ACK reached the transaction: no Timer H');
  assert.equal(h.transport.sent.length, 2, 'and Timer G stopped');
});

test('§9.2 CANCEL is its own transaction and finds its INVITE through findInviteForCancel', () => {
  const h = new Harness({ autoTrying: 'off' });
  h.deliver(incoming({ branch: 'z9hG4bK-c1' }));
  const invite = h.user.requests[0].tx;
  h.deliver(incoming({ method: 'CANCEL', branch: 'z9hG4bK-c1' }));
  assert.equal(h.user.requests.length, 2, 'CANCEL reaches the TU with a transaction of its own');
  const cancel = h.user.requests[1];
  assert.equal(cancel.tx.isInvite, false);
  assert.notEqual(cancel.tx.key, invite.key);
  assert.equal(h.layer.serverCount, 2);
  assert.equal(h.layer.findInviteForCancel(cancel.request), invite);
  // a CANCEL retransmission is absorbed by the CANCEL transaction
  h.deliver(incoming({ method: 'CANCEL', branch: 'z9hG4bK-c1' }));
  assert.equal(h.user.requests.length, 2);
  // no match: other branch, other sent-by
  assert.equal(h.layer.findInviteForCancel(parsed(incoming({ method: 'CANCEL', branch: 'z9hG4bK-other' }))), undefined);
  assert.equal(h.layer.findInviteForCancel(parsed(incoming({ method: 'CANCEL', branch: 'z9hG4bK-c1', sentBy: '198.51.100.9' }))), undefined);
  // a CANCEL for a non-INVITE finds nothing
  h.deliver(incoming({ method: 'OPTIONS', branch: 'z9hG4bK-c2' }));
  assert.equal(h.layer.findInviteForCancel(parsed(incoming({ method: 'CANCEL', branch: 'z9hG4bK-c2' }))), undefined);
  // answered with a 2xx (Accepted, kept as its key): found as answered, so the CANCEL has no effect (§9.2)
  invite.respond(createResponse(invite.request, 200, { toTag: 's' }));
  const answered = h.layer.findInviteForCancel(cancel.request);
  assert.ok(answered !== undefined);
  assert.equal(answered.key, invite.key);
  assert.equal(answered.finalStatus, 200);
  // once the INVITE transaction is gone, nothing matches
  h.runTo(64 * T1);
  assert.equal(invite.terminated, true);
  assert.equal(h.layer.findInviteForCancel(cancel.request), undefined);
});

// ---- server side, RFC 2543 fallback --------------------------------------------------------

test('§17.2.3 RFC 2543 (no z9hG4bK branch): a retransmission matches by Request-URI, tags, Call-ID, CSeq and Via', () => {
  const h = new Harness({ autoTrying: 'off' });
  const base = { branch: null, callId: 'old-1@198.51.100.7', cseq: 7 } as const;
  h.deliver(incoming(base));
  assert.equal(h.user.requests.length, 1);
  const tx = h.user.requests[0].tx;
  assert.ok(tx.key.startsWith('2543'));
  tx.respond(createResponse(tx.request, 180, { toTag: 's-2543' }));
  h.deliver(incoming(base));
  assert.equal(h.user.requests.length, 1, 'the retransmission is absorbed');
  assert.deepEqual(
    h.transport.sent.map((s) => asResponse(s.message).status),
    [180, 180],
  );
  // any difference makes a new transaction
  h.deliver(incoming({ ...base, cseq: 8 }));
  h.deliver(incoming({ ...base, callId: 'old-2@198.51.100.7' }));
  h.deliver(incoming({ ...base, fromTag: 'other' }));
  h.deliver(incoming({ ...base, uri: 'sip:carol@example.com' }));
  h.deliver(incoming({ ...base, sentBy: '198.51.100.7:5080' }));
  assert.equal(h.user.requests.length, 6);
  assert.equal(h.layer.serverCount, 6);
});

test('§17.2.3 RFC 2543: a branch without the magic cookie also falls back to the full comparison', () => {
  const h = new Harness({ autoTrying: 'off' });
  h.deliver(incoming({ branch: 'abc123', cseq: 1 }));
  h.deliver(incoming({ branch: 'abc123', cseq: 2 })); // same branch, but 2543 rules: different CSeq
  assert.equal(h.user.requests.length, 2);
  h.deliver(incoming({ branch: 'abc123', cseq: 2 }));
  assert.equal(h.user.requests.length, 2);
});

test('§17.2.3 RFC 2543: the ACK carrying the To tag of our final response matches the INVITE', () => {
  const h = new Harness({ autoTrying: 'off' });
  const base = { branch: null, callId: 'old-ack@198.51.100.7', cseq: 3 } as const;
  h.deliver(incoming(base));
  const tx = h.user.requests[0].tx;
  tx.respond(createResponse(tx.request, 486, { toTag: 'our-tag' }));
  h.runTo(700); // one Timer G retransmission
  assert.equal(h.transport.sent.length, 2);
  // an ACK with another To tag is not ours: it goes to the TU and the transaction keeps waiting
  h.deliver(incoming({ ...base, method: 'ACK', toTag: 'someone-else' }));
  assert.equal(h.user.acks.length, 1);
  h.runTo(1500);
  assert.equal(h.transport.sent.length, 3);
  // the right one confirms the transaction
  h.deliver(incoming({ ...base, method: 'ACK', toTag: 'our-tag' }));
  assert.equal(h.user.acks.length, 1);
  h.runTo(64 * T1 + 10);
  assert.equal(h.transport.sent.length, 3, 'Timer G stopped');
  assert.equal(h.user.failures.length, 0, 'Timer H did not fire');
  assert.equal(tx.terminated, true, 'Timer I ended it');
});

test('§17.2.3 RFC 2543: the ACK of a 2xx matches the INVITE in Accepted and is passed to the TU', () => {
  const h = new Harness({ autoTrying: 'off' });
  const base = { branch: null, callId: 'old-2xx@198.51.100.7', cseq: 4 } as const;
  h.deliver(incoming(base));
  const tx = h.user.requests[0].tx;
  tx.respond(createResponse(tx.request, 200, { toTag: 'ok-tag' }));
  h.deliver(incoming({ ...base, method: 'ACK', toTag: 'ok-tag' }));
  assert.equal(h.user.acks.length, 1);
  assert.equal(tx.terminated, false);
  h.deliver(incoming(base)); // INVITE retransmission: absorbed in Accepted
  assert.equal(h.user.requests.length, 1);
  assert.equal(h.transport.sent.length, 1);
});

test('§9.2 RFC 2543: findInviteForCancel matches a CANCEL without branch by the same fields', () => {
  const h = new Harness({ autoTrying: 'off' });
  const base = { branch: null, callId: 'old-c@198.51.100.7', cseq: 9 } as const;
  h.deliver(incoming(base));
  const invite = h.user.requests[0].tx;
  h.deliver(incoming({ ...base, method: 'CANCEL' }));
  assert.equal(h.user.requests.length, 2);
  assert.equal(h.layer.findInviteForCancel(h.user.requests[1].request), invite);
  assert.equal(h.layer.findInviteForCancel(parsed(incoming({ ...base, method: 'CANCEL', cseq: 10 }))), undefined);
});

// ---- client side -----------------------------------------------------------------------------

test('§17.1.3 a response matches by branch and CSeq method; anything else is stray', () => {
  const h = new Harness();
  const inviteHandler = h.handler();
  const optionsHandler = h.handler();
  h.layer.sendRequest(outgoingRequest('INVITE'), PEER, inviteHandler);
  h.layer.sendRequest(outgoingRequest('OPTIONS', { cseq: 2 }), PEER, optionsHandler);
  const invite = asRequest(h.transport.sent[0].message);
  const options = asRequest(h.transport.sent[1].message);
  assert.notEqual(invite.via.branch, options.via.branch);
  h.deliver(answer(invite, 180));
  h.deliver(answer(options, 200));
  assert.deepEqual(inviteHandler.statuses, [180]);
  assert.deepEqual(optionsHandler.statuses, [200]);
  // the INVITE's branch with another CSeq method: stray
  const wrongMethod = answer(invite, 200);
  wrongMethod.set('CSeq', '1 OPTIONS');
  h.deliver(wrongMethod);
  // an unknown branch: stray
  const wrongBranch = answer(invite, 200);
  wrongBranch.set('Via', 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-unknown');
  h.deliver(wrongBranch);
  // no branch at all: stray
  const noBranch = answer(invite, 200);
  noBranch.set('Via', 'SIP/2.0/UDP 192.0.2.1:5060');
  h.deliver(noBranch);
  assert.deepEqual(inviteHandler.statuses, [180]);
  assert.equal(h.user.strays.length, 3);
  assert.equal(h.layer.counters.get('transaction.stray_responses'), 3);
});

test('§9.1 / §17.1.3 sendCancel: CANCEL shares the INVITE branch but is a different client transaction', () => {
  const h = new Harness();
  const inviteHandler = h.handler();
  const cancelHandler = h.handler();
  const inviteTx = h.layer.sendRequest(outgoingRequest('INVITE', { cseq: 5 }), PEER, inviteHandler);
  const invite = asRequest(h.transport.sent[0].message);
  h.runTo(600);
  h.deliver(answer(invite, 180));
  const cancelTx = h.layer.sendCancel(inviteTx, cancelHandler, 'SIP;cause=487;text="gone"');
  assert.equal(h.layer.clientCount, 2);
  assert.equal(cancelTx.branch, inviteTx.branch);
  assert.equal(cancelTx.isInvite, false);
  const sent = h.transport.sent[h.transport.sent.length - 1];
  assert.equal(sent.via, 'sendBytes', 'the CANCEL already carries its Via');
  const cancel = asRequest(sent.message);
  assert.equal(cancel.method, 'CANCEL');
  assert.equal(cancel.uriString, invite.uriString);
  assert.equal(cancel.vias.length, 1);
  assert.equal(cancel.via.toString(), invite.via.toString());
  assert.equal(cancel.cseq.seq, 5);
  assert.equal(cancel.cseq.method, 'CANCEL');
  for (const name of ['from', 'to', 'call-id']) assert.equal(cancel.get(name), invite.get(name), name);
  assert.deepEqual(cancel.getAll('route'), invite.getAll('route'));
  assert.equal(cancel.get('reason'), 'SIP;cause=487;text="gone"');
  // responses go each to its own transaction
  h.deliver(answer(cancel, 200));
  h.deliver(answer(invite, 487));
  assert.deepEqual(cancelHandler.statuses, [200]);
  assert.deepEqual(inviteHandler.statuses, [180, 487]);
  // the INVITE's non-2xx is ACKed with the same branch; the CANCEL has Timer K
  const ack = asRequest(h.transport.sent[h.transport.sent.length - 1].message);
  assert.equal(ack.method, 'ACK');
  assert.equal(ack.via.branch, inviteTx.branch);
  h.runFor(32_000);
  assert.equal(h.layer.clientCount, 0);
  assert.equal(h.wheel.size, 0);
});

test('§9.1 a CANCEL is retransmitted by Timer E like any non-INVITE, with its own bytes', () => {
  const h = new Harness();
  const inviteTx = h.layer.sendRequest(outgoingRequest('INVITE'), PEER, h.handler());
  h.deliver(answer(h.transport.sent[0].message, 100));
  const cancelHandler = h.handler();
  h.layer.sendCancel(inviteTx, cancelHandler);
  h.runTo(1600);
  const cancels = h.transport.sent.filter((s) => s.message.isRequest && s.message.method === 'CANCEL');
  assert.deepEqual(
    cancels.map((s) => s.at),
    [0, 500, 1500],
  );
  assert.deepEqual(cancels[2].bytes, cancels[0].bytes);
  h.runTo(64 * T1);
  assert.deepEqual(cancelHandler.statuses, [408]);
  assert.equal(inviteTx.terminated, false, 'the INVITE transaction is in Proceeding, untouched');
});
