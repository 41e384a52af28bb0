/**
 * sipp calls a UAS built on UserAgent over TCP (one connection, -t t1): INVITE → 180 → 200 →
 * ACK → BYE → 200. Over a reliable transport nothing is retransmitted and the server
 * non-INVITE transactions end at once (Timer J is zero, RFC 3261 §17.2.2).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { delay, freePort, runSipp } from '../support/sipp.ts';
import { startCallee } from '../support/ua.ts';

test('sipp UAC over TCP: every call completes against a UserAgent UAS', { timeout: 40_000 }, async () => {
  const callee = await startCallee([{ protocol: 'tcp', host: '127.0.0.1', port: 0 }], { T1: 100 });
  try {
    const calls = 5;
    const result = await runSipp({
      scenario: 'uac-call.xml',
      remote: `127.0.0.1:${callee.port('tcp')}`,
      transport: 't1',
      port: await freePort(),
      calls,
      extra: ['-r', '20'],
    });
    assert.equal(result.code, 0, result.describe());
    assert.ok(result.stats !== null, result.describe());
    assert.equal(result.stats.successful, calls, result.describe());
    assert.equal(result.stats.failed, 0, result.describe());
    assert.equal(result.rows.find((r) => r.label === '180')?.messages, calls, result.describe());

    assert.equal(callee.invites.length, calls);
    assert.equal(new Set(callee.invites).size, calls);
    assert.deepEqual([...callee.byes].sort(), [...callee.invites].sort());
    assert.deepEqual(callee.other, []);
    // everything came over TCP, on sipp's single connection
    const inbound = callee.inbound;
    assert.ok(inbound.length >= 3 * calls);
    assert.ok(inbound.every((t) => t.flow.protocol === 'tcp'));
    assert.equal(new Set(inbound.map((t) => t.flow.connection)).size, 1, 'sipp -t t1 uses one connection');
    assert.equal(inbound.filter((t) => t.message.isRequest && t.message.method === 'ACK').length, calls);
    // the 200 to each INVITE was sent once: the ACK stopped the TU's retransmission (§13.3.1.4)
    await delay(250);
    assert.equal(callee.responses.filter((r) => r.status === 200 && r.cseq.method === 'INVITE').length, calls);
    // the Contact of our 2xx names TCP, so sipp's ACK and BYE were routed back to us over TCP
    const ok200 = callee.responses.find((r) => r.status === 200 && r.cseq.method === 'INVITE');
    assert.match(ok200?.get('contact') ?? '', /;transport=tcp>/);
    assert.equal(callee.ua.transport.counters.get('transport.udp.sent'), 0);
    // BYE transactions ended at once (Timer J is zero on TCP); the INVITE ones wait in Accepted
    // for Timer L, 64*T1 on every transport (RFC 6026 §8.7)
    assert.equal(callee.ua.transactions.serverCount, calls);
  } finally {
    await callee.ua.close();
  }
});
