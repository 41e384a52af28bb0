// The UDP listener: one flow object per peer (datagrams, routed responses and transactions share
// it), and sends that leave together after each turn of the event loop; on both sockets, the
// batched one of native/udp.c (Linux) and node:dgram.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UdpListener } from '../../src/transport/udp-listener.ts';

const ENGINES = process.platform === 'linux' ? (['batched', 'dgram'] as const) : (['dgram'] as const);

for (const engine of ENGINES) {

  test(`${engine}: flowTo: one shared flow per address and port, on this listener; ports of one address kept apart`, () => {
    const listener = new UdpListener({ host: '127.0.0.1', port: 0, engine }, () => {}, () => {});
    try {
      const a = listener.flowTo('127.0.0.2', 5060);
      assert.deepEqual({ ...a, udp: undefined }, { protocol: 'udp', address: '127.0.0.2', port: 5060, udp: undefined });
      assert.equal(a.udp, listener);
      assert.equal(listener.flowTo('127.0.0.2', 5060), a, 'the same object again');
      const b = listener.flowTo('127.0.0.2', 5062);
      assert.notEqual(b, a);
      assert.equal(b.port, 5062);
      assert.equal(listener.flowTo('127.0.0.3', 5060).address, '127.0.0.3');
      // many ports behind one address (a NAT): every answer is still the right flow
      for (let port = 6000; port < 6020; port++) assert.equal(listener.flowTo('127.0.0.4', port).port, port);
      assert.equal(listener.flowTo('127.0.0.4', 6019), listener.flowTo('127.0.0.4', 6019));
    } finally {
      void listener.close();
    }
  });

  test(`${engine}: a flow received on the socket is the one responses to that peer use`, async () => {
    const seen: unknown[] = [];
    const listener = new UdpListener({ host: '127.0.0.1', port: 0, engine }, (_data, flow) => seen.push(flow), () => {});
    await listener.listen();
    const peer = new UdpListener({ host: '127.0.0.1', port: 0, engine }, () => {}, () => {});
    await peer.listen();
    try {
      peer.send(Buffer.from('one'), listener.port, '127.0.0.1');
      peer.send(Buffer.from('two'), listener.port, '127.0.0.1');
      const deadline = Date.now() + 2_000;
      while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(seen.length, 2);
      assert.equal(seen[0], seen[1], 'both datagrams came with the same flow object');
      assert.equal(seen[0], listener.flowTo('127.0.0.1', peer.port));
    } finally {
      await Promise.all([listener.close(), peer.close()]);
    }
  });

  test(`${engine}: datagrams sent in one turn of the event loop leave together after it, in the order they were sent`, async () => {
    const got: string[] = [];
    const receiver = new UdpListener({ host: '127.0.0.1', port: 0, engine }, (data) => got.push(data.toString()), () => {});
    await receiver.listen();
    const sender = new UdpListener({ host: '127.0.0.1', port: 0, engine }, () => {}, () => {});
    await sender.listen();
    try {
      for (const text of ['100 Trying', '180 Ringing', '200 OK']) sender.send(Buffer.from(text), receiver.port, '127.0.0.1');
      const deadline = Date.now() + 2_000;
      while (got.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(got, ['100 Trying', '180 Ringing', '200 OK']);
      // what is still queued when the socket closes is sent first
      sender.send(Buffer.from('BYE'), receiver.port, '127.0.0.1');
      await sender.close();
      const until = Date.now() + 2_000;
      while (got.length < 4 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(got, ['100 Trying', '180 Ringing', '200 OK', 'BYE']);
    } finally {
      await Promise.all([receiver.close(), sender.close()]);
    }
  });
}
