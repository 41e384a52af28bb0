/**
 * Loop detection (RFC 3261 §16.3 step 4, §16.6 step 8) over real sockets. A contact that points
 * back at the proxy sends the request to itself: the second pass has a new Request-URI (the
 * contact), so it is a spiral and goes on; the third pass is the same request as the second
 * (same Request-URI, tags, Call-ID, CSeq, Route, credentials) with our Via on it, so it has
 * looped: 482. A spiral that ends somewhere else (bob's contact is carol's AOR at the proxy)
 * completes the call.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newTag } from '../../src/shared/index.ts';
import type { SipRequest } from '../../src/sip/index.ts';
import { delay } from '../support/sipp.ts';
import { call, received, register, startPhone, startProxy } from '../support/proxy.ts';

test('a contact pointing back at the proxy: the same request comes back a second time and is rejected with 482', { timeout: 20_000 }, async () => {
  const proxy = await startProxy();
  const bob = await startPhone('bob');
  const caller = await startPhone('mallory');
  try {
    assert.equal((await register(bob, proxy, { contact: `<sip:bob@127.0.0.1:${proxy.udpPort}>` })).status, 200);
    const receivedBefore = proxy.server.counters.get('transport.udp.received');
    // from another domain: no authentication asked, the INVITE goes straight to routing
    const outgoing = await call(caller, proxy, 'sip:bob@example.test', { from: `<sip:mallory@remote.test>;tag=${newTag()}` });
    const final = await outgoing.final;
    assert.equal(final.status, 482);
    assert.equal(final.vias.length, 1, 'the 482 came back through every branch to the caller');
    await delay(200);
    // spiral then loop: the caller's INVITE and ACK, the INVITE of pass 2 and of pass 3, a 100 from
    // each, the 482 of pass 3 and of pass 2 and their ACKs: 10 datagrams. Had pass 2 been taken
    // for a loop there would be 6 (INVITE, INVITE, 100, 482, ACK, ACK).
    const datagrams = proxy.server.counters.get('transport.udp.received') - receivedBefore;
    assert.ok(datagrams >= 10, `the proxy received ${datagrams} datagrams: the INVITE should spiral once, then loop`);
    assert.equal(bob.inbound.filter((t) => t.message.isRequest).length, 0);
  } finally {
    await Promise.all([bob.ua.close(), caller.ua.close()]);
    await proxy.server.stop();
  }
});

test('a spiral (the Request-URI changes on each pass) is not a loop: bob’s contact is carol at the proxy, carol answers', { timeout: 20_000 }, async () => {
  const proxy = await startProxy();
  const alice = await startPhone('alice');
  const bob = await startPhone('bob');
  const carol = await startPhone('carol');
  try {
    assert.equal((await register(bob, proxy, { contact: `<sip:carol@127.0.0.1:${proxy.udpPort}>` })).status, 200);
    assert.equal((await register(carol, proxy)).status, 200);
    carol.ua.onRequest = (incoming) => {
      if (incoming.request.method === 'INVITE') carol.ua.answer(incoming, 200, { toTag: newTag() });
      else incoming.respond(200);
    };
    // alice is a local user: her credentials travel with the request through both passes
    const outgoing = await call(alice, proxy, 'sip:bob@example.test');
    const final = await outgoing.final;
    assert.equal(final.status, 200);
    const invite = received(carol, 'INVITE')[0].message as SipRequest;
    assert.equal(invite.uriString, `sip:carol@127.0.0.1:${carol.port()}`);
    assert.equal(invite.vias.length, 3, 'alice, then the proxy twice');
    assert.equal(invite.maxForwards, 68);
    assert.equal(invite.getAll('record-route').length, 2, 'each pass Record-Routed');
    assert.equal((await outgoing.bye()).status, 200);
    assert.equal(received(carol, 'BYE').length, 1);
    assert.equal(bob.inbound.filter((t) => t.message.isRequest).length, 0);
  } finally {
    await Promise.all([alice.ua.close(), bob.ua.close(), carol.ua.close()]);
    await proxy.server.stop();
  }
});
