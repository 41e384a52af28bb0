/**
 * Pager-mode instant messages (RFC 3428) through the default script over real sockets, sipp as the
 * sender (MESSAGE, 407, MESSAGE with credentials) and the test UA as the recipients: a MESSAGE
 * forked to two registered contacts of bob (both receive it, alice gets the first 2xx), offline
 * store-and-forward (202 while bob is offline, delivered in order with Date, the original From,
 * Content-Type and body when he registers), a 480 from the recipient keeping the message for the
 * next registration, the per-user quota, 413 for a body too large for a UDP-only contact (and the
 * same body reaching a TCP contact), strangers getting 404 without anything stored, and the
 * delivery across a restart on a SQLite data directory.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { newTag } from '../../src/shared/index.ts';
import type { SipRequest } from '../../src/sip/index.ts';
import { SqliteStore } from '../../src/store/index.ts';
import type { ServerConfig } from '../../src/app.ts';
import { freePort, SippProcess, waitFor } from '../support/sipp.ts';
import { DOMAIN, parseSippMessages, provision, received, register, startPhone, startProxy, USERS, type Phone, type Proxy } from '../support/proxy.ts';

/** sipp as alice sends `count` MESSAGEs to `to`; returns the final status of each, in order. */
async function sendMessages(proxy: Proxy, to: string, count: number, body = 'hello', transport: 'u1' | 't1' = 'u1'): Promise<number[]> {
  const run = await SippProcess.start({
    scenario: 'message-auth.xml',
    remote: proxy.address(transport === 'u1' ? 'udp' : 'tcp'),
    transport,
    port: await freePort(),
    calls: count,
    timeoutSeconds: 15,
    traceMessages: true,
    extra: ['-key', 'domain', DOMAIN, '-key', 'caller', 'alice', '-key', 'body', body, '-s', to, '-au', 'alice', '-ap', USERS.alice, '-l', '1'],
  });
  try {
    const result = await run.done;
    assert.equal(result.code, 0, result.describe());
    const finals = parseSippMessages(result.messages)
      .filter((m) => m.direction === 'received' && /^SIP\/2\.0 [2-6]\d\d /.test(m.startLine) && !m.startLine.startsWith('SIP/2.0 407'))
      .map((m) => Number(m.startLine.split(' ')[1]));
    assert.equal(finals.length, count, `one final response per MESSAGE: ${finals.join(', ')}\n${result.describe()}`);
    run.cleanup();
    return finals;
  } finally {
    run.kill();
  }
}

/** A phone that answers every MESSAGE with the next status of `answers` (200 when they run out). */
async function messagePhone(user: string, answers: number[] = [], protocols: Array<'udp' | 'tcp'> = ['udp']): Promise<Phone> {
  const phone = await startPhone(user, protocols);
  phone.ua.onRequest = (incoming) => incoming.respond(incoming.request.method === 'MESSAGE' ? answers.shift() ?? 200 : 200);
  return phone;
}

const bodies = (phone: Phone) => received(phone, 'MESSAGE').map((t) => (t.message as SipRequest).body.toString('utf8').trim());

describe('MESSAGE through sipline (sipp sender, test UA recipients)', { timeout: 120_000 }, () => {
  let proxy: Proxy;
  const phones: Phone[] = [];
  const phone = async (user: string, answers: number[] = [], protocols: Array<'udp' | 'tcp'> = ['udp']) => {
    const p = await messagePhone(user, answers, protocols);
    phones.push(p);
    return p;
  };

  before(async () => {
    proxy = await startProxy();
  });
  after(async () => {
    await Promise.all(phones.map((p) => p.ua.close()));
    await proxy.server.stop();
  });

  test('a MESSAGE is forked to both contacts of bob; each receives it, alice gets the first 2xx', { timeout: 30_000 }, async () => {
    const bob1 = await phone('bob');
    const bob2 = await phone('bob');
    // bob2 answers late: its 200 must not reach alice a second time (a non-INVITE has one final response)
    bob2.ua.onRequest = (incoming) => setTimeout(() => incoming.respond(200), 300);
    assert.equal((await register(bob1, proxy)).status, 200, 'bob1 registered');
    assert.equal((await register(bob2, proxy)).status, 200, 'bob2 registered');
    assert.equal(proxy.server.location.lookup('bob@example.test').length, 2, 'two bindings for bob');

    assert.deepEqual(await sendMessages(proxy, 'bob', 1, 'fork'), [200], 'alice gets one 200');
    await waitFor(() => bodies(bob2).length === 1, 5000, 'the MESSAGE at bob2');
    assert.deepEqual(bodies(bob1), ['fork 1'], 'bob1 received it');
    assert.deepEqual(bodies(bob2), ['fork 1'], 'bob2 received it');
    const copy = received(bob1, 'MESSAGE')[0].message as SipRequest;
    assert.equal(copy.from.uri.toString(), 'sip:alice@example.test', 'from alice');
    assert.equal(copy.contentType, 'text/plain;charset=UTF-8', 'with its Content-Type');
    assert.equal(proxy.server.messages.pendingFor('bob@example.test'), 0, 'nothing stored: bob is online');
    await Promise.all([bob1, bob2].map((p) => register(p, proxy, { expires: 0 })));
  });

  test('offline: three MESSAGEs get 202; when carol registers they arrive in order with Date, From, Content-Type and body', { timeout: 40_000 }, async () => {
    const started = Date.now();
    assert.deepEqual(await sendMessages(proxy, 'carol', 3, 'while you were out'), [202, 202, 202], 'each is stored: 202 Accepted');
    assert.equal(proxy.server.messages.pendingFor('carol@example.test'), 3, 'three wait for carol');

    const carol = await phone('carol');
    assert.equal((await register(carol, proxy)).status, 200, 'carol registered');
    await waitFor(() => bodies(carol).length === 3, 10_000, 'three MESSAGEs at carol');
    assert.deepEqual(bodies(carol), ['while you were out 1', 'while you were out 2', 'while you were out 3'], 'in the order they were sent');
    for (const t of received(carol, 'MESSAGE')) {
      const m = t.message as SipRequest;
      assert.equal(m.from.uri.toString(), 'sip:alice@example.test', 'From is alice, the original sender');
      assert.equal(m.to.uri.toString(), 'sip:carol@example.test', 'To is carol\'s AOR');
      assert.equal(m.uriString, `sip:carol@127.0.0.1:${carol.port()}`, 'sent to her registered contact');
      assert.equal(m.contentType, 'text/plain;charset=UTF-8', 'the original Content-Type');
      const date = Date.parse(m.get('date') ?? '');
      assert.match(m.get('date') ?? '', /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/, 'an RFC 1123 Date (RFC 3261 §20.17)');
      assert.ok(date >= Math.floor(started / 1000) * 1000 && date <= Date.now(), `the Date is when it was sent: ${m.get('date')}`);
    }
    await waitFor(() => proxy.server.messages.pendingFor('carol@example.test') === 0, 5000, 'the delivered messages deleted');
    assert.equal((await proxy.server.store.messagesFor('carol@example.test')).length, 0, 'nothing left in the store');
    await register(carol, proxy, { expires: 0 });
  });

  test('a recipient answering 480 keeps the message; the next registration delivers it and a 200 removes it', { timeout: 40_000 }, async () => {
    assert.deepEqual(await sendMessages(proxy, 'carol', 1, 'try again'), [202], 'stored');
    const carol = await phone('carol', [480]);
    assert.equal((await register(carol, proxy)).status, 200, 'carol registered');
    await waitFor(() => bodies(carol).length === 1, 10_000, 'the MESSAGE at carol');
    // the 480 went back; give the server a moment to have acted on it
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(proxy.server.messages.pendingFor('carol@example.test'), 1, 'the refused message is kept');

    assert.equal((await register(carol, proxy)).status, 200, 'carol registers again (a refresh)');
    await waitFor(() => bodies(carol).length === 2, 10_000, 'the MESSAGE again');
    assert.deepEqual(bodies(carol), ['try again 1', 'try again 1'], 'the same message, delivered again');
    await waitFor(() => proxy.server.messages.pendingFor('carol@example.test') === 0, 5000, 'the message deleted after the 200');
    await register(carol, proxy, { expires: 0 });
  });

  test('a body above 1300 octets gets 413 for a contact reachable over UDP only, and reaches a TCP contact', { timeout: 40_000 }, async () => {
    const big = 'x'.repeat(1400);
    const bobUdp = await phone('bob');
    assert.equal((await register(bobUdp, proxy)).status, 200, 'bob registered over UDP');
    assert.deepEqual(await sendMessages(proxy, 'bob', 1, big, 't1'), [413], '413 Request Entity Too Large');
    assert.equal(bodies(bobUdp).length, 0, 'nothing reached bob');
    assert.deepEqual(await sendMessages(proxy, 'bob', 1, 'short'), [200], 'a short one still goes through');
    await register(bobUdp, proxy, { expires: 0 });

    const bobTcp = await phone('bob', [], ['tcp']);
    assert.equal((await register(bobTcp, proxy, { protocol: 'tcp' })).status, 200, 'bob registered over TCP');
    assert.deepEqual(await sendMessages(proxy, 'bob', 1, big, 't1'), [200], 'the large body goes to the TCP contact');
    assert.deepEqual(bodies(bobTcp), [`${big} 1`], 'intact');
    await register(bobTcp, proxy, { expires: 0, protocol: 'tcp' });
  });

  test('a stranger gets 404 for an offline user and nothing is stored', { timeout: 20_000 }, async () => {
    const mallory = await startPhone('mallory');
    phones.push(mallory);
    const response = await mallory.ua.request({
      method: 'MESSAGE',
      uri: 'sip:carol@example.test',
      destination: proxy.destination(),
      from: `<sip:mallory@elsewhere.test>;tag=${newTag()}`,
      to: '<sip:carol@example.test>',
      callId: `msg-${newTag()}`,
      cseq: 1,
      headers: [['Content-Type', 'text/plain']],
      body: 'who is there?',
    });
    assert.equal(response.status, 404, 'the same 404 as for a user who does not exist');
    assert.equal(proxy.server.messages.pendingFor('carol@example.test'), 0, 'nothing stored');
  });
});

test('the per-user quota: MESSAGEs beyond messaging.offline.max_per_user get 480', { timeout: 30_000 }, async () => {
  const proxy = await startProxy({ messaging: { offline: { maxPerUser: 2 } } } satisfies Partial<ServerConfig>);
  try {
    assert.deepEqual(await sendMessages(proxy, 'bob', 3, 'quota'), [202, 202, 480], 'two stored, the third refused as if there were no store');
    assert.equal(proxy.server.messages.pendingFor('bob@example.test'), 2, 'two wait');
  } finally {
    await proxy.server.stop();
  }
});

test('offline delivery survives a restart: stored by one server, delivered by the next on the same data directory', { timeout: 40_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sipline-messaging-'));
  let proxy: Proxy | undefined;
  const bob = await messagePhone('bob');
  try {
    const store = new SqliteStore(join(dataDir, 'sipline.sqlite'));
    await provision(store);
    await store.close();

    proxy = await startProxy({ dataDir });
    assert.deepEqual(await sendMessages(proxy, 'bob', 2, 'before the restart'), [202, 202], 'stored');
    await proxy.server.stop();
    proxy = undefined;

    proxy = await startProxy({ dataDir });
    assert.equal(proxy.server.messages.pendingFor('bob@example.test'), 2, 'the new server knows two wait');
    assert.equal((await register(bob, proxy)).status, 200, 'bob registered with the new server');
    await waitFor(() => bodies(bob).length === 2, 10_000, 'both MESSAGEs at bob');
    assert.deepEqual(bodies(bob), ['before the restart 1', 'before the restart 2'], 'in order');
    for (const t of received(bob, 'MESSAGE')) assert.ok((t.message as SipRequest).get('date') !== undefined, 'with a Date');
    await waitFor(() => proxy?.server.messages.pendingFor('bob@example.test') === 0, 5000, 'deleted after delivery');
  } finally {
    await proxy?.server.stop();
    await bob.ua.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
