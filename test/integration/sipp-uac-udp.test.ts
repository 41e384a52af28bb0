/**
 * sipp calls a UAS built on UserAgent over UDP: INVITE → 180 → 200 → ACK → BYE → 200, first on a
 * clean path, then with sipp losing 10% of its packets, where the server transactions must absorb
 * sipp's retransmissions so that the TU sees every INVITE once (RFC 3261 §17.2.1, §17.2.2).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { delay, freePort, runSipp } from '../support/sipp.ts';
import { startCallee } from '../support/ua.ts';

test('sipp UAC over UDP: every call completes against a UserAgent UAS', { timeout: 40_000 }, async () => {
  const callee = await startCallee([{ protocol: 'udp', host: '127.0.0.1', port: 0 }], { T1: 100 });
  try {
    const calls = 5;
    const result = await runSipp({
      scenario: 'uac-call.xml',
      remote: `127.0.0.1:${callee.port('udp')}`,
      transport: 'u1',
      port: await freePort(),
      calls,
      extra: ['-r', '20'],
    });
    assert.equal(result.code, 0, result.describe());
    assert.ok(result.stats !== null, result.describe());
    assert.equal(result.stats.successful, calls, result.describe());
    assert.equal(result.stats.failed, 0, result.describe());
    const byLabel = (label: string, direction: 'send' | 'recv') => result.rows.find((r) => r.label === label && r.direction === direction);
    assert.equal(byLabel('180', 'recv')?.messages, calls, result.describe());
    assert.equal(byLabel('INVITE', 'send')?.retrans, 0, 'a clean local path needs no INVITE retransmission');

    // the TU saw each INVITE and BYE once, with distinct Call-IDs
    assert.equal(callee.invites.length, calls);
    assert.equal(new Set(callee.invites).size, calls);
    assert.deepEqual([...callee.byes].sort(), [...callee.invites].sort());
    assert.deepEqual(callee.other, []);
    // each ACK reached us and stopped the 2xx retransmission (§13.3.1.4): wait past T1 and count
    await delay(250);
    const acks = callee.inbound.filter((t) => t.message.isRequest && t.message.method === 'ACK');
    assert.equal(acks.length, calls);
    const ok200 = callee.responses.filter((r) => r.status === 200 && r.cseq.method === 'INVITE');
    assert.equal(ok200.length, calls, 'no 2xx was retransmitted after its ACK');
    assert.equal(callee.ua.transactions.counters.get('transaction.retransmissions_absorbed'), 0);
  } finally {
    await callee.ua.close();
  }
});

test('sipp UAC over UDP with 10% loss: retransmissions are absorbed, the TU sees each INVITE once', { timeout: 60_000 }, async () => {
  // T1 as sipp's (500 ms): a server transaction must outlive the peer's retransmissions (64*T1),
  // or a late BYE copy after Timer J is, rightly, a new request (regression: a flaky count here)
  const callee = await startCallee([{ protocol: 'udp', host: '127.0.0.1', port: 0 }], { T1: 500 });
  try {
    const calls = 60;
    const result = await runSipp({
      scenario: 'uac-call-lossy.xml',
      remote: `127.0.0.1:${callee.port('udp')}`,
      transport: 'u1',
      port: await freePort(),
      calls,
      timeoutSeconds: 40,
      // sipp 3.6 has no -seed option: the loss pattern is random, hence the many calls
      extra: ['-r', '40', '-lost', '10', '-max_invite_retrans', '10', '-max_non_invite_retrans', '10'],
    });
    assert.equal(result.code, 0, result.describe());
    assert.ok(result.stats !== null, result.describe());
    assert.equal(result.stats.successful, calls, result.describe());
    assert.equal(result.stats.failed, 0, result.describe());

    // requests that reached us more than once, counted at the transport (before matching)
    const copies = new Map<string, number>();
    for (const { message } of callee.inbound) {
      if (!message.isRequest || message.method === 'ACK') continue;
      const key = `${message.method} ${message.via.branch}`;
      copies.set(key, (copies.get(key) ?? 0) + 1);
    }
    const duplicates = [...copies.values()].reduce((sum, n) => sum + n - 1, 0);
    const retransmittedBySipp = result.rows.filter((r) => r.direction === 'send').reduce((sum, r) => sum + r.retrans, 0);
    assert.ok(retransmittedBySipp > 0, `with 10% loss over ${calls} calls sipp must have retransmitted:\n${result.describe()}`);
    assert.ok(duplicates > 0, 'some retransmitted requests reached the UAS');
    // each duplicate was absorbed by its server transaction, none reached the TU
    assert.equal(callee.ua.transactions.counters.get('transaction.retransmissions_absorbed'), duplicates);
    assert.equal(callee.invites.length, calls);
    assert.equal(new Set(callee.invites).size, calls, 'each INVITE reached onRequest exactly once');
    assert.equal(callee.byes.length, calls);
    assert.equal(new Set(callee.byes).size, calls, 'each BYE reached onRequest exactly once');
    assert.deepEqual(callee.other, []);
  } finally {
    await callee.ua.close();
  }
});
