// The batched UDP socket (native/udp.c through BatchedUdpSocket): built by `npm ci` on Linux and
// used by default; bursts larger than one recvmmsg batch arrive whole and in order with their
// sources; sends beyond one sendmmsg's capacity (count or bytes) leave in order; IPv6; errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { createResponse, parseMessage, type SipRequest } from '../../src/sip/index.ts';
import { formatIPv4, parseIPv4 } from '../../src/transport/ipv4.ts';
import type { Flow } from '../../src/transport/flow.ts';
import { nativeUdp } from '../../src/transport/native-udp.ts';
import { UdpListener } from '../../src/transport/udp-listener.ts';

async function until(done: () => boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

async function peer(address: string, type: 'udp4' | 'udp6' = 'udp4'): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type, recvBufferSize: 4 * 1024 * 1024 });
  socket.bind(0, address);
  await once(socket, 'listening');
  return socket;
}

/** A datagram of `size` bytes that says who sent it and its number, padded with a pattern. */
function datagram(from: string, n: number, size: number): Buffer {
  const head = Buffer.from(`${from} ${n} `);
  const out = Buffer.alloc(Math.max(size, head.length));
  head.copy(out);
  for (let i = head.length; i < out.length; i++) out[i] = (i * 7 + n) & 255;
  return out;
}

test('on Linux the batched socket is built and UDP listeners use it unless SIPLINE_UDP=dgram', async () => {
  const listener = new UdpListener({ host: '127.0.0.1', port: 0 }, () => {}, () => {});
  await listener.listen();
  try {
    const expected = process.platform === 'linux' && process.env.SIPLINE_UDP !== 'dgram' ? 'batched' : 'dgram';
    assert.equal(listener.engine, expected, expected === 'batched' ? 'npm ci builds build/Release/sipline_udp.node (scripts/build-native.mjs); see its output' : undefined);
    assert.equal(nativeUdp !== undefined, expected === 'batched');
  } finally {
    await listener.close();
  }
});


test('a burst from three peers, larger than one batch, arrives whole, in order per peer, with each source', async () => {
  const got: Array<{ data: Buffer; flow: Flow }> = [];
  const listener = new UdpListener({ host: '127.0.0.1', port: 0, engine: 'batched', receiveBufferSize: 4 * 1024 * 1024 }, (data, flow) => got.push({ data, flow }), () => {});
  await listener.listen();
  const peers = await Promise.all(['127.0.0.1', '127.0.0.2', '127.0.0.3'].map((a) => peer(a)));
  try {
    const sent = new Map<string, Buffer[]>();
    for (let n = 0; n < 150; n++) {
      for (const p of peers) {
        const from = `${p.address().address}:${p.address().port}`;
        // mostly SIP-sized, some large, one near the UDP maximum
        const size = n === 77 ? 65_000 : n % 10 === 0 ? 9_000 : 300 + n;
        const bytes = datagram(from, n, size);
        if (!sent.has(from)) sent.set(from, []);
        sent.get(from)!.push(bytes);
        p.send(bytes, listener.port, '127.0.0.1');
      }
    }
    await until(() => got.length >= 450);
    assert.equal(got.length, 450);
    for (const [from, list] of sent) {
      const mine = got.filter((g) => `${g.flow.address}:${g.flow.port}` === from);
      assert.equal(mine.length, list.length, `all of ${from}`);
      mine.forEach((g, i) => assert.ok(g.data.equals(list[i]), `datagram ${i} of ${from} intact and in order`));
      assert.ok(mine.every((g) => g.flow === mine[0].flow), 'one flow object per peer');
      assert.equal(mine[0].flow, listener.flowTo(mine[0].flow.address, mine[0].flow.port));
    }
    // each datagram has bytes of its own: changing one changes no other
    got[0].data.fill(0);
    assert.ok(got[1].data.equals(sent.get(`${got[1].flow.address}:${got[1].flow.port}`)!.find((b) => b.equals(got[1].data))!));
  } finally {
    for (const p of peers) p.close();
    await listener.close();
  }
});

test('sends beyond one sendmmsg (1,024 datagrams, 1 MB) in one turn all leave, in order', async () => {
  const receiver = await peer('127.0.0.1');
  const got: Buffer[] = [];
  receiver.on('message', (data) => got.push(data));
  const sender = new UdpListener({ host: '127.0.0.1', port: 0, engine: 'batched' }, () => {}, () => {});
  await sender.listen();
  try {
    const sent: Buffer[] = [];
    for (let n = 0; n < 1_500; n++) sent.push(datagram('s', n, 200));
    for (let n = 1_500; n < 1_525; n++) sent.push(datagram('s', n, 50_000));
    for (const bytes of sent) sender.send(bytes, receiver.address().port, '127.0.0.1');
    await until(() => got.length >= sent.length);
    assert.equal(got.length, sent.length);
    got.forEach((g, i) => assert.ok(g.equals(sent[i]), `datagram ${i} intact and in order`));
  } finally {
    receiver.close();
    await sender.close();
  }
});

test('IPv6: a datagram from ::1 comes with flow address ::1 and the answer reaches the peer', async () => {
  const flows: Flow[] = [];
  const listener = new UdpListener({ host: '::1', port: 0, engine: 'batched' }, (data, flow) => {
    flows.push(flow);
    listener.send(Buffer.concat([Buffer.from('re: '), data]), flow.port, flow.address);
  }, () => {});
  await listener.listen();
  const p = await peer('::1', 'udp6');
  const answers: string[] = [];
  p.on('message', (data) => answers.push(data.toString()));
  try {
    p.send('OPTIONS', listener.port, '::1');
    await until(() => answers.length >= 1);
    assert.deepEqual(answers, ['re: OPTIONS']);
    assert.equal(flows[0].address, '::1');
    assert.equal(flows[0].port, p.address().port);
  } finally {
    p.close();
    await listener.close();
  }
});

test('errors: a port in use rejects listen() with EADDRINUSE; a send to a bad address is reported, not thrown', async () => {
  const first = new UdpListener({ host: '127.0.0.1', port: 0, engine: 'batched' }, () => {}, () => {});
  await first.listen();
  const errors: Error[] = [];
  try {
    const second = new UdpListener({ host: '127.0.0.1', port: first.port, engine: 'batched' }, () => {}, () => {});
    await assert.rejects(second.listen(), (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE' && err.message === `bind EADDRINUSE 127.0.0.1:${first.port}`);
    const sender = new UdpListener({ host: '127.0.0.1', port: 0, engine: 'batched' }, () => {}, (err) => errors.push(err));
    await sender.listen();
    sender.send(Buffer.from('x'), 5060, 'not-an-address');
    sender.send(Buffer.from('x'), 5060, '::1'); // an IPv6 destination from an IPv4 socket
    sender.send(Buffer.from('ok'), first.port, '127.0.0.1');
    await until(() => errors.length >= 2);
    assert.equal(errors.length, 2);
    assert.match(errors[0].message, /not-an-address/);
    assert.equal((errors[1] as NodeJS.ErrnoException).code, 'EAFNOSUPPORT');
    await sender.close();
  } finally {
    await first.close();
  }
});

test('parseIPv4 / formatIPv4: dotted quads only, round trip', () => {
  assert.equal(parseIPv4('127.0.0.1'), 0x7f000001);
  assert.equal(parseIPv4('255.255.255.255'), 0xffffffff);
  assert.equal(formatIPv4(parseIPv4('10.20.30.40')), '10.20.30.40');
  assert.equal(formatIPv4(0xffffffff | 0), '255.255.255.255');
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', '::1', 'example.com', '1.2.3.4 ']) assert.equal(parseIPv4(bad), -1, bad);
});

test('a message written straight into the send area leaves with the bytes it would serialize to, between copied datagrams, in order; one that cannot write itself is refused', async () => {
  const listener = new UdpListener({ host: '127.0.0.1', port: 0, engine: 'batched' }, () => {}, () => {});
  await listener.listen();
  const receiver = await peer('127.0.0.1');
  const got: Buffer[] = [];
  receiver.on('message', (data) => got.push(data));
  try {
    const request = parseMessage(
      Buffer.from('OPTIONS sip:example.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:7001;branch=z9hG4bK-w1\r\nMax-Forwards: 70\r\nFrom: <sip:a@example.test>;tag=f1\r\nTo: <sip:example.test>\r\nCall-ID: w1@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n'),
    ) as SipRequest;
    const port = receiver.address().port;
    const expected: Buffer[] = [];
    for (let n = 0; n < 40; n++) {
      if (n % 2 === 0) {
        const response = createResponse(request, 200, { toTag: `t${n}` });
        assert.equal(listener.sendMessage(response, port, '127.0.0.1'), true);
        // serialized afterwards, for comparison only: writing it in place left nothing cached
        expected.push(response.toBuffer());
      } else {
        const bytes = datagram('copied', n, 200);
        listener.send(bytes, port, '127.0.0.1');
        expected.push(bytes);
      }
    }
    assert.equal(listener.sendMessage({ writeInto: () => -1 }, port, '127.0.0.1'), false, 'the caller sends its bytes instead');
    await until(() => got.length >= expected.length);
    assert.equal(got.length, expected.length);
    for (let i = 0; i < expected.length; i++) assert.deepEqual(got[i], expected[i], `datagram ${i}`);
  } finally {
    receiver.close();
    await listener.close();
  }
});
