/**
 * Target sets with more than one contact (RFC 3261 §16.6, §16.7), through the default script's
 * lookup and relay: contacts of equal q fork in parallel, the first 2xx goes upstream and the
 * other branch is cancelled (§16.7 step 10); lower q values are tried only when the higher ones
 * failed, whether with a 503 or with silence (Timer B, 64*T1 with T1 = 50 ms); and when every
 * branch answers 503 the caller gets 500, never 503 (§16.7 step 6).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newTag } from '../../src/shared/index.ts';
import type { SipRequest, SipResponse } from '../../src/sip/index.ts';
import { delay, waitFor } from '../support/sipp.ts';
import { call, received, register, silentSocket, startPhone, startProxy, type Phone } from '../support/proxy.ts';

/** Answers INVITE with 180, then `status` after `afterMs` (2xx through ua.answer); BYE with 200. Records when. */
function answer(phone: Phone, status: number | null, afterMs = 0): { answeredAt: number[] } {
  const log = { answeredAt: [] as number[] };
  phone.ua.onRequest = (incoming) => {
    const method = incoming.request.method;
    if (method === 'BYE') {
      incoming.respond(200);
      return;
    }
    if (method !== 'INVITE') {
      incoming.respond(501);
      return;
    }
    const toTag = newTag();
    incoming.respond(180, { toTag });
    if (status === null) return; // rings until cancelled
    setTimeout(() => {
      log.answeredAt.push(performance.now());
      if (status < 300) phone.ua.answer(incoming, status, { toTag });
      else incoming.respond(status, { toTag });
    }, afterMs);
  };
  return log;
}

function arrival(phone: Phone, method: string): number {
  const t = phone.inbound.find((x) => x.message.isRequest && x.message.method === method);
  assert.ok(t !== undefined, `${phone.user} received no ${method}`);
  return t.at;
}

async function setup(timers?: { T1: number }) {
  const proxy = await startProxy({ timers });
  const alice = await startPhone('alice');
  const first = await startPhone('bob');
  const second = await startPhone('bob');
  const close = async () => {
    await Promise.all([alice.ua.close(), first.ua.close(), second.ua.close()]);
    await proxy.server.stop();
  };
  return { proxy, alice, first, second, close };
}

test('forking: two contacts of equal q ring in parallel; one answers 200, the other is cancelled; alice gets one dialog', { timeout: 20_000 }, async () => {
  const { proxy, alice, first, second, close } = await setup();
  try {
    assert.equal((await register(first, proxy)).status, 200);
    assert.equal((await register(second, proxy)).status, 200);
    assert.equal(proxy.server.location.lookup('bob@example.test').length, 2);
    const answered = answer(first, 200, 300);
    answer(second, null);

    const outgoing = await call(alice, proxy, 'sip:bob@example.test');
    const final = await outgoing.final;
    assert.equal(final.status, 200);
    assert.ok(outgoing.dialog !== undefined);
    assert.equal(outgoing.dialog.remoteTarget.toString(), `sip:bob@127.0.0.1:${first.port()}`);

    // both INVITEs were out before the first answer came: parallel, not serial
    assert.ok(arrival(second, 'INVITE') < answered.answeredAt[0], 'the second contact rang before the first answered');
    assert.ok(arrival(first, 'INVITE') < answered.answeredAt[0]);
    await waitFor(() => received(second, 'CANCEL').length === 1 && received(second, 'ACK').length === 1, 3000, 'CANCEL and the ACK for its 487 at the second contact');
    assert.equal((received(second, 'CANCEL')[0].message as SipRequest).via.branch, (received(second, 'INVITE')[0].message as SipRequest).via.branch);
    await waitFor(() => received(first, 'ACK').length === 1, 3000, 'the ACK for the 2xx at the first contact');

    // alice saw exactly one 2xx dialog (one To tag among 2xx to the INVITE) and no 487
    const finals = alice.inbound
      .map((t) => t.message)
      .filter((m): m is SipResponse => !m.isRequest && m.cseq.method === 'INVITE' && m.cseq.seq === outgoing.request.cseq.seq && m.status >= 200);
    assert.equal(new Set(finals.filter((r) => r.status < 300).map((r) => r.to.tag)).size, 1);
    assert.deepEqual([...new Set(finals.map((r) => r.status))], [200]);

    const bye = await outgoing.bye();
    assert.equal(bye.status, 200);
    assert.equal(received(first, 'BYE').length, 1);
    assert.equal(received(second, 'BYE').length, 0);
  } finally {
    await close();
  }
});

test('serial failover: q=1.0 answers 503, then q=0.5 is tried and answers 200', { timeout: 20_000 }, async () => {
  const { proxy, alice, first, second, close } = await setup();
  try {
    assert.equal((await register(first, proxy, { contact: `<${first.ua.contactUri()}>;q=1.0` })).status, 200);
    assert.equal((await register(second, proxy, { contact: `<${second.ua.contactUri()}>;q=0.5` })).status, 200);
    const failed = answer(first, 503, 100);
    answer(second, 200);
    const outgoing = await call(alice, proxy, 'sip:bob@example.test');
    const final = await outgoing.final;
    assert.equal(final.status, 200);
    assert.equal(outgoing.dialog?.remoteTarget.toString(), `sip:bob@127.0.0.1:${second.port()}`);
    assert.ok(arrival(second, 'INVITE') > failed.answeredAt[0], 'the q=0.5 contact is tried only after the q=1.0 one failed');
    assert.ok(!outgoing.provisional.some((r) => r.status === 503));
    assert.equal((await outgoing.bye()).status, 200);
  } finally {
    await close();
  }
});

test('serial failover: q=1.0 never answers, Timer B (64*T1 = 3.2 s) ends it, q=0.5 answers 200', { timeout: 20_000 }, async () => {
  const { proxy, alice, first, second, close } = await setup({ T1: 50 });
  const silent = await silentSocket();
  try {
    assert.equal((await register(first, proxy, { contact: `<sip:bob@127.0.0.1:${silent.port}>;q=1.0` })).status, 200);
    assert.equal((await register(second, proxy, { contact: `<${second.ua.contactUri()}>;q=0.5` })).status, 200);
    answer(second, 200);
    const started = performance.now();
    const outgoing = await call(alice, proxy, 'sip:bob@example.test');
    const final = await outgoing.final;
    const elapsed = performance.now() - started;
    assert.equal(final.status, 200);
    assert.equal(outgoing.dialog?.remoteTarget.toString(), `sip:bob@127.0.0.1:${second.port()}`);
    assert.ok(silent.received.length >= 5, `the silent contact got the INVITE and its retransmissions (${silent.received.length})`);
    assert.match(silent.received[0], /^INVITE sip:bob@127\.0\.0\.1:\d+ SIP\/2\.0\r\n/);
    assert.ok(elapsed >= 3100 && elapsed < 6000, `the second contact answered after ${elapsed.toFixed(0)} ms (Timer B = 3.2 s)`);
    assert.equal((await outgoing.bye()).status, 200);
  } finally {
    silent.close();
    await close();
  }
});

test('every branch answers 503: the caller gets 500, never 503 (§16.7 step 6)', { timeout: 20_000 }, async () => {
  const { proxy, alice, first, second, close } = await setup();
  try {
    assert.equal((await register(first, proxy, { contact: `<${first.ua.contactUri()}>;q=1.0` })).status, 200);
    assert.equal((await register(second, proxy, { contact: `<${second.ua.contactUri()}>;q=0.5` })).status, 200);
    answer(first, 503);
    answer(second, 503);
    const outgoing = await call(alice, proxy, 'sip:bob@example.test');
    const final = await outgoing.final;
    assert.equal(final.status, 500);
    assert.equal(received(first, 'INVITE').length, 1);
    assert.equal(received(second, 'INVITE').length, 1, 'both contacts were tried');
    await delay(200);
    const statuses = alice.inbound.map((t) => t.message).filter((m): m is SipResponse => !m.isRequest).map((r) => r.status);
    assert.ok(!statuses.includes(503), `alice got ${statuses.join(', ')}`);
  } finally {
    await close();
  }
});
