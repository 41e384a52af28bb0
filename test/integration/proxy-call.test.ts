/**
 * Calls through the stateful proxy of the default routing script, over real UDP sockets:
 * - sipp as alice authenticates her INVITE (407, §22.3) and calls bob, a registered UserAgent: the
 *   proxy sends 100 itself (§16.2), relays 180 and 200 with its Record-Route (sip:...;lr, §16.6
 *   step 4), decrements Max-Forwards (§16.6 step 3), and the ACK and BYE that follow the route
 *   set are loose-routed to bob's contact (§16.4, §16.12);
 * - CANCEL of a ringing call: 200 to the CANCEL, CANCEL downstream, 487 upstream, and each hop
 *   ACKs its own 487 (§16.10, §17.1.1.3);
 * - 2xx retransmitted by bob (no ACK came) reach the caller through the INVITE transactions in
 *   Accepted (RFC 6026 §8.4), not as stray responses;
 * - 404 for an unknown user, 480 for a known one without a binding.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { newTag } from '../../src/shared/index.ts';
import type { SipRequest, SipResponse } from '../../src/sip/index.ts';
import { freePort, SippProcess, waitFor, delay } from '../support/sipp.ts';
import { call, digestCredentials, parseSippMessages, received, register, silentSocket, startPhone, startProxy, USERS, type Phone, type Proxy } from '../support/proxy.ts';

let proxy: Proxy;
let alice: Phone;
let bob: Phone;
let carol: Phone;

/** bob answers INVITE with 180 and then 200 (retransmitted until the ACK), BYE with 200. */
function answerCalls(phone: Phone): void {
  phone.ua.onRequest = (incoming) => {
    const method = incoming.request.method;
    if (method === 'INVITE') {
      const toTag = newTag();
      incoming.respond(180, { toTag });
      phone.ua.answer(incoming, 200, { toTag });
    } else if (method === 'BYE') {
      incoming.respond(200);
    } else {
      incoming.respond(501);
    }
  };
}

describe('calls through the proxy', { timeout: 90_000 }, () => {
  before(async () => {
    proxy = await startProxy();
    alice = await startPhone('alice');
    bob = await startPhone('bob');
    carol = await startPhone('carol');
    const ok = await register(bob, proxy);
    assert.equal(ok.status, 200);
  });
  after(async () => {
    await Promise.all([alice.ua.close(), bob.ua.close(), carol.ua.close()]);
    await proxy.server.stop();
  });

  test('sipp alice (407 + Proxy-Authorization) calls bob: 100, 180/200 with Record-Route, ACK and BYE loose-routed to bob', { timeout: 30_000 }, async () => {
    answerCalls(bob);
    bob.inbound.length = 0;
    const sippPort = await freePort();
    const sipp = await SippProcess.start({
      scenario: 'proxy-uac-auth-call.xml',
      remote: proxy.address(),
      transport: 'u1',
      port: sippPort,
      calls: 1,
      timeoutSeconds: 15,
      traceMessages: true,
      extra: ['-key', 'domain', 'example.test', '-key', 'caller', 'alice', '-s', 'bob', '-au', 'alice', '-ap', USERS.alice],
    });
    try {
      const result = await sipp.done;
      assert.equal(result.code, 0, result.describe());
      assert.equal(result.stats?.successful, 1, result.describe());
      const messages = parseSippMessages(result.messages);
      const got = (start: RegExp, cseq: string) => messages.filter((m) => m.direction === 'received' && start.test(m.startLine) && m.headers('cseq')[0] === cseq);
      const sent = (method: string) => messages.filter((m) => m.direction === 'sent' && m.startLine.startsWith(`${method} `));

      // the first INVITE is challenged by the proxy for its realm
      const challenge = got(/^SIP\/2\.0 407 /, '1 INVITE')[0];
      assert.ok(challenge !== undefined, result.messages);
      assert.match(challenge.headers('proxy-authenticate')[0] ?? '', /^Digest realm="example\.test", .*qop="auth"/);
      assert.match(sent('INVITE')[1].headers('proxy-authorization')[0] ?? '', /username="alice"/);

      // the proxy answers 100 itself, and relays 180 and 200 with its Record-Route
      const rr = `<sip:127.0.0.1:${proxy.udpPort};lr>`;
      assert.ok(got(/^SIP\/2\.0 100 /, '2 INVITE').length >= 1, 'a 100 Trying from the proxy');
      const ringing = got(/^SIP\/2\.0 180 /, '2 INVITE')[0];
      const ok = got(/^SIP\/2\.0 200 /, '2 INVITE')[0];
      assert.deepEqual(ringing.headers('record-route'), [rr]);
      assert.deepEqual(ok.headers('record-route'), [rr], 'one Record-Route, the proxy with ;lr');
      const bobContact = `sip:bob@127.0.0.1:${bob.port()}`;
      assert.deepEqual(ok.headers('contact'), [`<${bobContact}>`]);

      // sipp sent ACK and BYE to bob's contact with the proxy as Route (loose routing, §12.2.1.1)
      for (const m of [sent('ACK')[1], sent('BYE')[0]]) {
        assert.equal(m.startLine, `${m.startLine.split(' ')[0]} ${bobContact} SIP/2.0`);
        assert.deepEqual(m.headers('route'), [rr]);
      }
      assert.equal(got(/^SIP\/2\.0 200 /, '3 BYE').length >= 1, true, '200 to the BYE reached alice');

      // at bob: one INVITE (the authenticated one), Max-Forwards decremented, our Record-Route
      const invites = received(bob, 'INVITE').map((t) => t.message as SipRequest);
      assert.equal(invites.length, 1);
      const invite = invites[0];
      assert.equal(invite.uriString, bobContact, 'the Request-URI is the registered contact');
      assert.equal(invite.maxForwards, 69);
      assert.deepEqual(invite.getAll('record-route'), [rr]);
      assert.equal(invite.vias.length, 2, 'the proxy Via above alice');
      assert.equal(invite.cseq.seq, 2);
      // the credentials for the proxy's realm were consumed there (RFC 3261 §22.3): bob never sees them
      assert.equal(sent('INVITE')[1].headers('proxy-authorization').length, 1, 'alice sent them');
      assert.equal(invite.has('proxy-authorization'), false, 'the proxy did not pass them on');
      // ACK and BYE reached bob with the proxy's Route removed and the Request-URI untouched
      for (const method of ['ACK', 'BYE']) {
        const at = received(bob, method).map((t) => t.message as SipRequest);
        assert.equal(at.length, 1, `one ${method} at bob`);
        assert.equal(at[0].uriString, bobContact);
        assert.equal(at[0].has('route'), false, `${method} at bob has no Route left`);
        assert.equal(at[0].maxForwards, 69);
        assert.equal(at[0].vias.length, 2);
      }
      sipp.cleanup();
    } finally {
      sipp.kill();
    }
  });

  test('CANCEL of a ringing call: 200 for the CANCEL, CANCEL to bob, 487 to alice, each 487 ACKed hop by hop', { timeout: 20_000 }, async () => {
    bob.inbound.length = 0;
    bob.ua.onRequest = (incoming) => {
      // ring forever; the UserAgent answers CANCEL with 200 and the INVITE with 487 itself
      if (incoming.request.method === 'INVITE') incoming.respond(180);
      else incoming.respond(501);
    };
    let rang!: (r: SipResponse) => void;
    const ringing = new Promise<SipResponse>((resolve) => (rang = resolve));
    const outgoing = await call(alice, proxy, 'sip:bob@example.test', { onProvisional: (r) => r.status === 180 && rang(r) });
    assert.equal((await ringing).status, 180);
    const cancelled = await outgoing.cancel();
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.cseq.method, 'CANCEL');
    const final = await outgoing.final;
    assert.equal(final.status, 487);
    assert.equal(outgoing.dialog, undefined);

    await waitFor(() => received(bob, 'ACK').length >= 1, 3000, 'the ACK for the 487 at bob');
    await delay(300);
    const invite = received(bob, 'INVITE')[0].message as SipRequest;
    const cancels = received(bob, 'CANCEL').map((t) => t.message as SipRequest);
    assert.equal(cancels.length, 1, 'bob got the CANCEL');
    assert.equal(cancels[0].via.branch, invite.via.branch, 'the CANCEL matches the proxy INVITE branch (§9.1)');
    assert.equal(cancels[0].cseq.seq, invite.cseq.seq);
    const acks = received(bob, 'ACK').map((t) => t.message as SipRequest);
    assert.equal(acks.length, 1, "one ACK at bob: the proxy's own (alice's ACK ends at the proxy)");
    assert.equal(acks[0].vias.length, 1, 'a hop-by-hop ACK carries only the proxy Via');
    assert.equal(acks[0].via.branch, invite.via.branch, 'the ACK of a non-2xx shares the INVITE branch (§17.1.1.3)');
  });

  test('the ACK for a challenge sent statelessly ends at the proxy, even when its Request-URI is reachable', { timeout: 20_000 }, async () => {
    bob.inbound.length = 0;
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const answers: string[] = [];
    socket.on('message', (data) => answers.push(data.toString('latin1')));
    try {
      const port = socket.address().port;
      const bobContact = `sip:bob@127.0.0.1:${bob.port()}`;
      const common = (method: string) => [
        `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-sl-ack-1;rport`,
        'Max-Forwards: 70',
        'From: <sip:alice@example.test>;tag=a-sl',
        'Call-ID: stateless-ack@127.0.0.1',
        `CSeq: 1 ${method}`,
      ];
      // an INVITE straight to bob's contact, without credentials: 407 from the proxy
      socket.send([`INVITE ${bobContact} SIP/2.0`, ...common('INVITE'), `To: <${bobContact}>`, `Contact: <sip:alice@127.0.0.1:${port}>`, 'Content-Length: 0', '', ''].join('\r\n'), proxy.udpPort, '127.0.0.1');
      await waitFor(() => answers.some((a) => a.startsWith('SIP/2.0 407')), 3000, 'the 407');
      const challenge = answers.find((a) => a.startsWith('SIP/2.0 407')) ?? '';
      const to = /\r\nTo: ([^\r]*)/.exec(challenge)?.[1] ?? '';
      assert.match(to, /;tag=/, `the 407 carries a To tag: ${challenge}`);
      // its ACK (hop by hop, same branch, §17.1.1.3) names bob's reachable contact
      socket.send([`ACK ${bobContact} SIP/2.0`, ...common('ACK'), `To: ${to}`, 'Content-Length: 0', '', ''].join('\r\n'), proxy.udpPort, '127.0.0.1');
      await delay(500);
      assert.equal(received(bob, 'ACK').length, 0, 'the ACK of our own 407 is not relayed to bob');
      assert.equal(received(bob, 'INVITE').length, 0, 'nor was the unauthenticated INVITE');
    } finally {
      socket.close();
    }
  });

  test('RFC 6026: 2xx that bob retransmits (the caller never ACKs) reach the caller through the transactions in Accepted, none as strays', { timeout: 20_000 }, async () => {
    answerCalls(bob);
    // a caller that never ACKs: a socket that only listens
    const caller = await silentSocket();
    const { socket, port, received: answers } = caller;
    try {
      const uri = 'sip:bob@example.test';
      const invite = (cseq: number, branch: string, extra: string[] = []) =>
        [
          `INVITE ${uri} SIP/2.0`,
          `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=${branch};rport`,
          'Max-Forwards: 70',
          'From: <sip:alice@example.test>;tag=a-6026',
          `To: <${uri}>`,
          'Call-ID: rfc6026-accepted@127.0.0.1',
          `CSeq: ${cseq} INVITE`,
          `Contact: <sip:alice@127.0.0.1:${port}>`,
          ...extra,
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n');
      socket.send(invite(1, 'z9hG4bK-6026-1'), proxy.udpPort, '127.0.0.1');
      await waitFor(() => answers.some((a) => a.startsWith('SIP/2.0 407')), 3000, 'the 407');
      const challenge = /\r\nProxy-Authenticate: ([^\r]*)/.exec(answers.find((a) => a.startsWith('SIP/2.0 407')) ?? '')?.[1] ?? '';
      const strayBefore = proxy.server.counters.get('transaction.stray_responses');
      const credentials = digestCredentials(challenge, 'alice', USERS.alice, 'INVITE', uri);
      socket.send(invite(2, 'z9hG4bK-6026-2', [`Proxy-Authorization: ${credentials}`]), proxy.udpPort, '127.0.0.1');
      // bob retransmits its 200 at T1, 2*T1, ... until an ACK that never comes (§13.3.1.4)
      const oks = () => answers.filter((a) => a.startsWith('SIP/2.0 200') && a.includes('CSeq: 2 INVITE'));
      await waitFor(() => oks().length >= 3, 5000, 'the 200 and two retransmissions of it');
      const toTags = new Set(oks().map((a) => /\r\nTo: [^\r]*;tag=([^;\r]+)/.exec(a)?.[1]));
      assert.equal(toTags.size, 1, 'one answer from bob, retransmitted');
      assert.equal(received(bob, 'INVITE').filter((t) => (t.message as SipRequest).callId === 'rfc6026-accepted@127.0.0.1').length, 1);
      assert.equal(proxy.server.counters.get('transaction.stray_responses'), strayBefore, 'no retransmitted 2xx went the stray way');
    } finally {
      caller.close();
    }
  });

  test('404 for an unknown user, 480 for a subscriber without a binding', { timeout: 20_000 }, async () => {
    const before404 = bob.inbound.length;
    const unknown = await call(alice, proxy, 'sip:nobody@example.test');
    assert.equal((await unknown.final).status, 404);
    const offline = await call(alice, proxy, 'sip:carol@example.test');
    assert.equal((await offline.final).status, 480);
    assert.equal(carol.inbound.length, 0);
    assert.equal(bob.inbound.length, before404);
  });
});
