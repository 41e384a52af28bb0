/**
 * Transport bridging through the proxy: sipp as alice over TCP calls bob, who registered over
 * UDP. The proxy Record-Routes twice (one URI per side, the TCP one with transport=tcp, RFC 5658
 * §4), so that each side's in-dialog requests reach it over their own transport; bob's BYE goes
 * back to alice over the TCP connection she opened (RFC 3261 §18: a connection to the peer is
 * reused, no new one opened).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newTag } from '../../src/shared/index.ts';
import type { SipRequest } from '../../src/sip/index.ts';
import type { Dialog } from '../../src/ua/index.ts';
import { freePort, SippProcess, waitFor } from '../support/sipp.ts';
import { parseSippMessages, received, register, startPhone, startProxy, USERS } from '../support/proxy.ts';

test('alice over TCP calls bob registered over UDP: double Record-Route, and bob’s BYE reaches alice over her TCP connection', { timeout: 30_000 }, async () => {
  const proxy = await startProxy();
  const bob = await startPhone('bob');
  let sipp: SippProcess | undefined;
  try {
    assert.equal((await register(bob, proxy)).status, 200);
    let dialog: Dialog | undefined;
    bob.ua.onRequest = (incoming) => {
      if (incoming.request.method !== 'INVITE') {
        incoming.respond(501);
        return;
      }
      const toTag = newTag();
      incoming.respond(180, { toTag });
      dialog = bob.ua.answer(incoming, 200, { toTag });
    };
    const connectedBefore = proxy.server.counters.get('transport.tcp.connected');
    const acceptedBefore = proxy.server.counters.get('transport.tcp.accepted');
    sipp = await SippProcess.start({
      scenario: 'proxy-uac-auth-call-bye-in.xml',
      remote: proxy.address('tcp'),
      transport: 't1',
      port: await freePort(),
      calls: 1,
      timeoutSeconds: 15,
      traceMessages: true,
      extra: ['-key', 'domain', 'example.test', '-key', 'caller', 'alice', '-s', 'bob', '-au', 'alice', '-ap', USERS.alice],
    });

    // bob hangs up once the ACK of his 200 arrived
    await waitFor(() => received(bob, 'ACK').length === 1 || !sipp!.running, 10_000, 'the ACK at bob');
    assert.ok(dialog !== undefined, 'bob answered');
    const ack = received(bob, 'ACK')[0].message as SipRequest;
    assert.equal(received(bob, 'ACK')[0].flow.protocol, 'udp');
    assert.equal(ack.has('route'), false, 'both of our Route values were removed');
    const invite = received(bob, 'INVITE')[0];
    assert.equal(invite.flow.protocol, 'udp');
    const rrUdp = `<sip:127.0.0.1:${proxy.udpPort};lr>`;
    const rrTcp = `<sip:127.0.0.1:${proxy.tcpPort};transport=tcp;lr>`;
    assert.deepEqual((invite.message as SipRequest).getAll('record-route'), [rrUdp, rrTcp], 'the UDP side on top, the TCP side below');
    assert.equal((invite.message as SipRequest).via.transport, 'UDP');

    const bye = await bob.ua.requestInDialog(dialog, 'BYE');
    assert.equal(bye.status, 200);

    const result = await sipp.done;
    assert.equal(result.code, 0, result.describe());
    assert.equal(result.stats?.successful, 1, result.describe());
    const messages = parseSippMessages(result.messages);
    const ok = messages.find((m) => m.direction === 'received' && m.startLine.startsWith('SIP/2.0 200 ') && m.headers('cseq')[0] === '2 INVITE');
    assert.ok(ok !== undefined, result.messages);
    assert.deepEqual(ok.headers('record-route'), [rrUdp, rrTcp], 'two Record-Route values, one with transport=tcp');
    const ackSent = messages.filter((m) => m.direction === 'sent' && m.startLine.startsWith('ACK '))[1];
    assert.deepEqual(ackSent.headers('route').flatMap((v) => v.split(/,\s*(?=<)/)), [rrTcp, rrUdp], "alice's route set is the Record-Route reversed");
    const byeIn = messages.find((m) => m.direction === 'received' && m.startLine.startsWith('BYE '));
    assert.ok(byeIn !== undefined, 'the BYE reached alice');
    assert.equal(byeIn.transport, 'TCP');
    assert.equal(byeIn.headers('route').length, 0);
    assert.ok(messages.every((m) => m.transport === 'TCP'), 'alice used TCP only');
    assert.equal(proxy.server.counters.get('transport.tcp.accepted') - acceptedBefore, 1, 'alice opened one connection');
    assert.equal(proxy.server.counters.get('transport.tcp.connected') - connectedBefore, 0, 'the proxy opened none: the BYE went over alice’s connection');
    sipp.cleanup();
  } finally {
    sipp?.kill();
    await bob.ua.close();
    await proxy.server.stop();
  }
});
