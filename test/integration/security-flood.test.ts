/**
 * Flood protection with the default settings (200 requests per 2 s per source, issue #5 item 3):
 * sipp floods OPTIONS from 127.0.0.2 at 2,000 per second; the source is banned, its datagrams are
 * then dropped unparsed, while alice and bob on 127.0.0.3 and 127.0.0.4 keep registering and
 * calling through the same server. Then the 503 action, on a server configured for it.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { newTag } from '../../src/shared/index.ts';
import { call, register, startPhone, startProxy, type Phone, type Proxy } from '../support/proxy.ts';
import { freePort, SippProcess, waitFor } from '../support/sipp.ts';

const FLOODER = '127.0.0.2';

function answerCalls(phone: Phone): void {
  phone.ua.onRequest = (incoming) => {
    const method = incoming.request.method;
    if (method === 'INVITE') phone.ua.answer(incoming, 200, { toTag: newTag() });
    else incoming.respond(method === 'BYE' ? 200 : 501);
  };
}

describe('a sipp flood gets its source banned; other clients go on', { timeout: 90_000 }, () => {
  let proxy: Proxy;
  let alice: Phone;
  let bob: Phone;

  before(async () => {
    proxy = await startProxy();
    alice = await startPhone('alice', ['udp'], undefined, '127.0.0.3');
    bob = await startPhone('bob', ['udp'], undefined, '127.0.0.4');
    answerCalls(bob);
    assert.equal((await register(bob, proxy)).status, 200, 'bob is registered before the flood');
  });
  after(async () => {
    await Promise.all([alice?.ua.close(), bob?.ua.close()]);
    await proxy?.server.stop();
  });

  test('OPTIONS at 2,000/s from 127.0.0.2: banned within the first second; alice registers and calls bob meanwhile', { timeout: 60_000 }, async () => {
    const counters = proxy.server.counters;
    const sipp = await SippProcess.start({
      scenario: 'options.xml',
      remote: proxy.address(),
      transport: 'u1',
      port: await freePort(FLOODER),
      localIp: FLOODER,
      calls: 12_000,
      timeoutSeconds: 12,
      extra: ['-r', '2000', '-l', '4000', '-max_non_invite_retrans', '1'],
    });
    try {
      await waitFor(() => counters.get('security.flood.bans') >= 1 || !sipp.running, 10_000, 'the flooding source to be banned');
      assert.equal(sipp.running, true, `sipp is flooding\n${sipp.running ? '' : (await sipp.done).describe()}`);
      assert.equal(proxy.server.security.flood?.isBanned(FLOODER), true, '127.0.0.2 is banned');
      const answeredAtBan = counters.get('transport.udp.received') - counters.get('transport.banned_dropped');

      // the flood goes on; the legitimate clients do their work through the same server
      for (let round = 0; round < 3; round++) {
        const registered = await register(alice, proxy);
        assert.equal(registered.status, 200, `alice registers during the flood (round ${round + 1})`);
        const outgoing = await call(alice, proxy, 'sip:bob@example.test');
        const final = await outgoing.final;
        assert.equal(final.status, 200, `alice's call to bob is answered during the flood (round ${round + 1})`);
        const bye = await outgoing.bye();
        assert.equal(bye.status, 200, `the call ends with BYE 200 (round ${round + 1})`);
      }
      await waitFor(() => counters.get('transport.banned_dropped') >= 500, 10_000, 'datagrams of the banned source to be dropped');
      assert.equal(sipp.running, true, 'sipp was still flooding while the clients worked');
      assert.equal(counters.get('security.flood.bans'), 1, 'one ban: the legitimate clients were not banned');
      assert.equal(proxy.server.security.flood?.isBanned('127.0.0.3'), false, 'alice is not banned');
      assert.ok(answeredAtBan < 2000, `the flood was stopped early: ${answeredAtBan} datagrams processed before the ban`);
    } finally {
      sipp.kill();
      await sipp.done;
      sipp.cleanup();
    }
  });
});

describe('security.flood.action: 503', { timeout: 30_000 }, () => {
  let proxy: Proxy;
  before(async () => {
    proxy = await startProxy({ security: { flood: { requests: 5, windowSec: 2, banSec: 60, action: '503' } } });
  });
  after(async () => {
    await proxy?.server.stop();
  });

  test('a banned source gets 503 with Retry-After, statelessly, and other sources are served', { timeout: 20_000 }, async () => {
    const flooder = dgram.createSocket('udp4');
    const answers: string[] = [];
    flooder.on('message', (d) => answers.push(d.toString('latin1')));
    await new Promise<void>((resolve) => flooder.bind(0, FLOODER, () => resolve()));
    const port = flooder.address().port;
    const options = (n: number) =>
      [
        `OPTIONS sip:127.0.0.1:${proxy.udpPort} SIP/2.0`,
        `Via: SIP/2.0/UDP ${FLOODER}:${port};branch=z9hG4bK-flood-${n};rport`,
        'Max-Forwards: 70',
        `From: <sip:flood@${FLOODER}>;tag=${n}`,
        `To: <sip:127.0.0.1:${proxy.udpPort}>`,
        `Call-ID: flood-${n}@${FLOODER}`,
        `CSeq: ${n} OPTIONS`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
    try {
      for (let n = 1; n <= 8; n++) flooder.send(options(n), proxy.udpPort, '127.0.0.1');
      await waitFor(() => answers.length >= 8, 5000, 'an answer to each of the 8 requests');
      const statuses = answers.map((a) => a.slice(8, 11));
      assert.deepEqual(statuses.slice(0, 5), ['200', '200', '200', '200', '200'], `the first 5 are within the limit: ${statuses.join(' ')}`);
      assert.deepEqual(statuses.slice(5), ['503', '503', '503'], `the rest get 503: ${statuses.join(' ')}`);
      const retryAfter = /\r\nRetry-After: (\d+)\r\n/.exec(answers[7])?.[1];
      assert.ok(retryAfter !== undefined && Number(retryAfter) > 50 && Number(retryAfter) <= 60, `Retry-After is the rest of the ban: ${retryAfter}`);
      const alice = await startPhone('alice', ['udp'], undefined, '127.0.0.3');
      try {
        assert.equal((await register(alice, proxy)).status, 200, 'another source still registers');
      } finally {
        await alice.ua.close();
      }
    } finally {
      flooder.close();
    }
  });
});
