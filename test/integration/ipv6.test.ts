/**
 * IPv6 on the loopback: two UserAgents on udp [::1] exchange OPTIONS and place a call (INVITE,
 * 200, ACK, BYE), so that Via sent-by, Contact and Request-URI all carry bracketed IPv6
 * references (RFC 3261 §25.1, RFC 5118) and route back correctly.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserAgent } from '../../src/ua/index.ts';
import { waitFor } from '../support/sipp.ts';
import { startCallee } from '../support/ua.ts';

test('OPTIONS and a call between two UserAgents on udp [::1]', { timeout: 15_000 }, async () => {
  const a = await UserAgent.create({ listen: [{ protocol: 'udp', host: '::1', port: 0 }], timers: { T1: 100 }, user: 'a' });
  const b = await startCallee([{ protocol: 'udp', host: '::1', port: 0 }], { T1: 100 });
  try {
    const portB = b.port('udp');
    const portA = a.transport.listeners()[0].port;
    const uri = `sip:callee@[::1]:${portB}`;

    // OPTIONS (the callee answers it 501 by its handler: a real round trip either way)
    const options = await a.request({ method: 'OPTIONS', uri });
    assert.equal(options.status, 501);
    assert.equal(options.via.host, '::1');
    assert.equal(options.via.port, portA);
    const inbound = b.inbound.find((t) => t.message.isRequest && t.message.method === 'OPTIONS');
    assert.ok(inbound !== undefined);
    assert.equal(inbound.flow.address, '::1');
    assert.equal(inbound.flow.port, portA);
    assert.match(inbound.message.get('via') ?? '', new RegExp(`^SIP/2\\.0/UDP \\[::1\\]:${portA};branch=z9hG4bK`));

    // with the default handler, OPTIONS gets 200
    const plain = await UserAgent.create({ listen: [{ protocol: 'udp', host: '::1', port: 0 }] });
    try {
      const ok = await a.request({ method: 'OPTIONS', uri: `sip:plain@[::1]:${plain.transport.listeners()[0].port}` });
      assert.equal(ok.status, 200);
    } finally {
      await plain.close();
    }

    // a call: the 2xx Contact and the ACK/BYE Request-URI are IPv6 references
    const call = await a.invite({ uri });
    const final = await call.final;
    assert.equal(final.status, 200);
    assert.ok(call.dialog !== undefined);
    assert.equal(call.dialog.remoteTarget.toString(), `sip:callee@[::1]:${portB}`);
    await waitFor(() => b.inbound.some((t) => t.message.isRequest && t.message.method === 'ACK'), 3000, 'the ACK over IPv6');
    const bye = await call.bye();
    assert.equal(bye.status, 200);
    assert.deepEqual(b.byes, b.invites);
  } finally {
    await a.close();
    await b.ua.close();
  }
});
