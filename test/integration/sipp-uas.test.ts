/**
 * Our UserAgent as caller against sipp as callee, over UDP and TCP: INVITE → 180 → 200, the ACK
 * for the 2xx (sipp waits for it), BYE → 200 (RFC 3261 §13.2.2.4, §15.1.1); and CANCEL of a
 * ringing call: 200 to the CANCEL, 487 to the INVITE, and the ACK the INVITE client transaction
 * sends for the 487 (§9.1, §17.1.1.3).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SipResponse } from '../../src/sip/index.ts';
import { UserAgent } from '../../src/ua/index.ts';
import { freePort, SippProcess } from '../support/sipp.ts';

type Proto = 'udp' | 'tcp';

async function caller(): Promise<UserAgent> {
  return UserAgent.create({
    listen: [
      { protocol: 'udp', host: '127.0.0.1', port: 0 },
      { protocol: 'tcp', host: '127.0.0.1', port: 0 },
    ],
    timers: { T1: 100 },
    user: 'caller',
  });
}

function target(protocol: Proto, port: number): string {
  return `sip:sipp@127.0.0.1:${port}${protocol === 'tcp' ? ';transport=tcp' : ''}`;
}

for (const protocol of ['udp', 'tcp'] as const) {
  test(`UserAgent calls a sipp UAS over ${protocol}: 200, ACK, BYE`, { timeout: 40_000 }, async () => {
    const calls = 2;
    const port = await freePort();
    const sipp = await SippProcess.start({ scenario: 'uas-call.xml', transport: protocol === 'udp' ? 'u1' : 't1', port, calls });
    const ua = await caller();
    try {
      await sipp.waitListening(protocol, port);
      for (let i = 0; i < calls; i++) {
        const call = await ua.invite({ uri: target(protocol, port) });
        const final = await call.final;
        assert.equal(final.status, 200);
        assert.deepEqual(call.provisional.map((r) => r.status), [180]);
        assert.ok(call.dialog !== undefined, 'the 2xx established a dialog');
        assert.match(call.dialog.remoteTag, /SIPpTag01/);
        assert.equal(call.dialog.remoteTarget.toString(), `sip:sipp@127.0.0.1:${port};transport=${protocol.toUpperCase()}`);
        const bye = await call.bye();
        assert.equal(bye.status, 200);
        assert.equal(bye.cseq.method, 'BYE');
        assert.equal(bye.cseq.seq, 2, 'BYE takes the next local CSeq of the dialog (§12.2.1.1)');
      }
      const result = await sipp.done;
      assert.equal(result.code, 0, result.describe());
      assert.equal(result.stats?.successful, calls, result.describe());
      assert.equal(result.stats?.failed, 0, result.describe());
      const ack = result.rows.find((r) => r.label === 'ACK');
      assert.equal(ack?.messages, calls, result.describe());
      const ok = result.rows.filter((r) => r.label === '200' && r.direction === 'send');
      assert.equal(ok[0].retrans, 0, 'our ACK arrived before sipp retransmitted its 2xx');
      if (protocol === 'tcp') {
        assert.equal(ua.transport.counters.get('transport.udp.sent'), 0);
        assert.equal(ua.transport.counters.get('transport.tcp.connected'), 1, 'the dialog reused the connection of the INVITE');
      }
      sipp.cleanup();
    } finally {
      sipp.kill();
      await ua.close();
    }
  });

  test(`UserAgent cancels a ringing call to a sipp UAS over ${protocol}: 200 to CANCEL, 487 to INVITE`, { timeout: 40_000 }, async () => {
    const port = await freePort();
    const sipp = await SippProcess.start({ scenario: 'uas-cancel.xml', transport: protocol === 'udp' ? 'u1' : 't1', port, calls: 1 });
    const ua = await caller();
    try {
      await sipp.waitListening(protocol, port);
      let ringing!: (r: SipResponse) => void;
      const rang = new Promise<SipResponse>((resolve) => (ringing = resolve));
      const call = await ua.invite({ uri: target(protocol, port), onProvisional: (r) => ringing(r) });
      assert.equal((await rang).status, 180);
      const cancelled = await call.cancel();
      assert.equal(cancelled.status, 200);
      assert.equal(cancelled.cseq.method, 'CANCEL');
      assert.equal(cancelled.via.branch, call.request.via.branch, 'the CANCEL shares the INVITE branch (§9.1)');
      const final = await call.final;
      assert.equal(final.status, 487);
      assert.equal(call.dialog, undefined);
      // sipp ends its call only when it got the ACK for the 487
      const result = await sipp.done;
      assert.equal(result.code, 0, result.describe());
      assert.equal(result.stats?.successful, 1, result.describe());
      assert.equal(result.rows.find((r) => r.label === 'ACK')?.messages, 1, result.describe());
      sipp.cleanup();
    } finally {
      sipp.kill();
      await ua.close();
    }
  });
}
