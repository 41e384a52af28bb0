/**
 * Where responses and requests go: a response to a UDP request with ;rport goes back to the
 * request's source port with received and rport stamped (RFC 3581 §4); without rport it goes to
 * the sent-by port (RFC 3261 §18.2.2). A request too large for UDP goes over TCP when the sender
 * has a TCP listener (RFC 3261 §18.1.1).
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { UserAgent, type IncomingRequest } from '../../src/ua/index.ts';
import { delay, freePort, waitFor } from '../support/sipp.ts';

async function socket(): Promise<{ s: dgram.Socket; port: number; received: string[] }> {
  const s = dgram.createSocket('udp4');
  const received: string[] = [];
  s.on('message', (d) => received.push(d.toString('latin1')));
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  return { s, port: s.address().port, received };
}

function options(target: number, sentByPort: number, viaParams: string, tag: string): Buffer {
  return Buffer.from(
    [
      `OPTIONS sip:ua@127.0.0.1:${target} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${sentByPort};branch=z9hG4bK${tag}${viaParams}`,
      `From: <sip:probe@127.0.0.1>;tag=${tag}`,
      'To: <sip:ua@127.0.0.1>',
      `Call-ID: ${tag}@127.0.0.1`,
      'CSeq: 1 OPTIONS',
      'Max-Forwards: 70',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

test('rport: the response goes to the source port, with received and rport in its Via', { timeout: 10_000 }, async () => {
  const ua = await UserAgent.create({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }] });
  const source = await socket();
  const sentBy = await socket();
  try {
    const port = ua.transport.listeners()[0].port;
    // the Via names another port (as behind a NAT); ;rport asks for the source port
    source.s.send(options(port, sentBy.port, ';rport', 'rport1'), port, '127.0.0.1');
    await waitFor(() => source.received.length === 1, 3000, 'the response at the source port');
    const response = source.received[0];
    assert.match(response, /^SIP\/2\.0 200 OK\r\n/);
    const via = /\r\nVia: ([^\r]*)\r\n/.exec(response)?.[1] ?? '';
    assert.match(via, new RegExp(`^SIP/2\\.0/UDP 127\\.0\\.0\\.1:${sentBy.port};branch=z9hG4bKrport1;`));
    assert.match(via, new RegExp(`;rport=${source.port}(;|$)`));
    assert.match(via, /;received=127\.0\.0\.1(;|$)/);
    await delay(50);
    assert.equal(sentBy.received.length, 0, 'nothing went to the sent-by port');

    // without rport the response goes to the sent-by port (§18.2.2), Via untouched (same host)
    source.s.send(options(port, sentBy.port, '', 'norport2'), port, '127.0.0.1');
    await waitFor(() => sentBy.received.length === 1, 3000, 'the response at the sent-by port');
    assert.match(sentBy.received[0], /^SIP\/2\.0 200 OK\r\n/);
    assert.match(sentBy.received[0], new RegExp(`\\r\\nVia: SIP/2\\.0/UDP 127\\.0\\.0\\.1:${sentBy.port};branch=z9hG4bKnorport2\\r\\n`));
    await delay(50);
    assert.equal(source.received.length, 1);
  } finally {
    await ua.close();
    source.s.close();
    sentBy.s.close();
  }
});

test('a request over 1300 bytes switches from UDP to TCP (RFC 3261 §18.1.1)', { timeout: 10_000 }, async () => {
  const sender = await UserAgent.create({
    listen: [
      { protocol: 'udp', host: '127.0.0.1', port: 0 },
      { protocol: 'tcp', host: '127.0.0.1', port: 0 },
    ],
  });
  // the peer listens on UDP and TCP at the same port, as a URI without transport implies
  let peer: UserAgent | undefined;
  for (let attempt = 0; peer === undefined; attempt++) {
    const port = await freePort();
    try {
      peer = await UserAgent.create({
        listen: [
          { protocol: 'udp', host: '127.0.0.1', port },
          { protocol: 'tcp', host: '127.0.0.1', port },
        ],
      });
    } catch (err) {
      if (attempt > 5) throw err;
    }
  }
  const seen: IncomingRequest[] = [];
  peer.onRequest = (incoming) => {
    seen.push(incoming);
    incoming.respond(200);
  };
  try {
    const uri = `sip:peer@127.0.0.1:${peer.transport.listeners()[0].port}`;
    const small = await sender.request({ method: 'MESSAGE', uri, body: 'x'.repeat(200), contentType: 'text/plain' });
    assert.equal(small.status, 200);
    const large = await sender.request({ method: 'MESSAGE', uri, body: 'y'.repeat(1400), contentType: 'text/plain' });
    assert.equal(large.status, 200);

    assert.equal(seen.length, 2);
    assert.equal(seen[0].flow.protocol, 'udp', 'a small request stays on UDP');
    assert.equal(seen[0].request.via.transport, 'UDP');
    assert.equal(seen[1].flow.protocol, 'tcp', 'a large request goes over TCP');
    assert.ok(seen[1].request.toBuffer().length > 1300);
    assert.equal(seen[1].request.via.transport, 'TCP', 'the Via names the transport actually used');
    assert.equal(seen[1].request.body.length, 1400);
    assert.equal(sender.transport.counters.get('transport.tcp.connected'), 1);
  } finally {
    await sender.close();
    await peer.close();
  }
});

test('over the batched UDP socket a request is written in place, and its retransmissions (Timers A and E) are the same bytes (RFC 3261 §17.1.1.2, §17.1.2.2)', { timeout: 10_000 }, async () => {
  const ua = await UserAgent.create({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], timers: { T1: 40, T2: 4000, T4: 5000 } });
  const silent = await socket();
  try {
    for (const method of ['INVITE', 'OPTIONS']) {
      silent.received.length = 0;
      const spec = { uri: `sip:nobody@127.0.0.1:${silent.port}`, destination: { protocol: 'udp', address: '127.0.0.1', port: silent.port } } as const;
      // never answered: the transaction retransmits until the UA closes
      void (method === 'INVITE' ? ua.invite(spec) : ua.request({ ...spec, method }));
      // sent at 0, then after T1 and 3*T1 (doubling intervals)
      await waitFor(() => silent.received.length >= 3, 3000, `three ${method} transmissions`);
      const [first, ...again] = silent.received.slice(0, 3);
      assert.ok(first.startsWith(`${method} sip:nobody@127.0.0.1:${silent.port} SIP/2.0\r\n`), first);
      assert.match(first, /\r\nVia: SIP\/2\.0\/UDP 127\.0\.0\.1:\d+;branch=z9hG4bK[^;\r]+;rport\r\n/);
      for (const r of again) assert.equal(r, first, `a ${method} retransmission is the first transmission's bytes`);
    }
  } finally {
    silent.s.close();
    await ua.close();
  }
});
