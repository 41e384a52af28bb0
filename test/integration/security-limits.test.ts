/**
 * Hardening limits over real sockets (issue #5 item 7), on a server configured with small limits:
 * too many Via values get 400; a source cannot open more stream connections than allowed (others
 * still can); a stream whose message trickles in slower than the message timeout is closed
 * (slowloris) while an idle connection and a message in two quick chunks are fine. And the
 * concurrent call limit per user (item 4).
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { newTag } from '../../src/shared/index.ts';
import { call, register, startPhone, startProxy, type Phone, type Proxy } from '../support/proxy.ts';
import { delay, waitFor } from '../support/sipp.ts';

function options(port: number, host: string, transport: string, extraVias: number, n: number): string {
  const vias = Array.from({ length: extraVias }, (_, i) => `Via: SIP/2.0/UDP 192.0.2.${i + 1}:5060;branch=z9hG4bK-up-${n}-${i}`);
  return [
    `OPTIONS sip:127.0.0.1:${port} SIP/2.0`,
    `Via: SIP/2.0/${transport} ${host};branch=z9hG4bK-limits-${n};rport`,
    ...vias,
    'Max-Forwards: 70',
    `From: <sip:probe@${host}>;tag=${n}`,
    `To: <sip:127.0.0.1:${port}>`,
    `Call-ID: limits-${n}@${host}`,
    `CSeq: ${n} OPTIONS`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** A TCP connection from a given loopback address, collecting what it receives, with its close noted. */
async function connect(port: number, localAddress: string): Promise<{ socket: net.Socket; data: () => string; closed: () => boolean }> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress });
  let data = '';
  let closed = false;
  socket.on('data', (d) => (data += d.toString('latin1')));
  socket.on('close', () => (closed = true));
  socket.on('error', () => (closed = true));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return { socket, data: () => data, closed: () => closed };
}

describe('hardening limits', { timeout: 60_000 }, () => {
  let proxy: Proxy;
  before(async () => {
    proxy = await startProxy({ limits: { maxVias: 5, maxConnectionsPerSource: 3, messageTimeoutSec: 1 } });
  });
  after(async () => {
    await proxy?.server.stop();
  });

  test('a request with more Via values than max_vias gets 400; one at the limit is served', { timeout: 10_000 }, async () => {
    const socket = dgram.createSocket('udp4');
    const answers: string[] = [];
    socket.on('message', (d) => answers.push(d.toString('latin1')));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.11', () => resolve()));
    const host = `127.0.0.11:${socket.address().port}`;
    try {
      socket.send(options(proxy.udpPort, host, 'UDP', 4, 1), proxy.udpPort, '127.0.0.1');
      await waitFor(() => answers.length === 1, 3000, 'an answer to 5 Vias');
      assert.match(answers[0], /^SIP\/2\.0 200 /, `5 Via values are within the limit: ${answers[0].split('\r\n')[0]}`);
      socket.send(options(proxy.udpPort, host, 'UDP', 5, 2), proxy.udpPort, '127.0.0.1');
      await waitFor(() => answers.length === 2, 3000, 'an answer to 6 Vias');
      assert.match(answers[1], /^SIP\/2\.0 400 /, `6 Via values get 400: ${answers[1].split('\r\n')[0]}`);
      assert.match(answers[1], /\r\nWarning: 399 sipline "more than 5 Via values"\r\n/, 'the Warning names the defect');
      assert.equal(proxy.server.counters.get('transport.too_many_vias'), 1, 'counted');
    } finally {
      socket.close();
    }
  });

  test('a fourth connection from one source is closed at once; another source still connects', { timeout: 15_000 }, async () => {
    const open = [];
    for (let i = 0; i < 3; i++) open.push(await connect(proxy.tcpPort, '127.0.0.12'));
    const fourth = await connect(proxy.tcpPort, '127.0.0.12');
    await waitFor(() => fourth.closed(), 3000, 'the fourth connection from 127.0.0.12 to be closed');
    await delay(200);
    assert.ok(open.every((c) => !c.closed()), 'the first three stay open');
    assert.equal(proxy.server.counters.get('transport.connections_refused'), 1, 'one refusal counted');

    const other = await connect(proxy.tcpPort, '127.0.0.13');
    other.socket.write(options(proxy.tcpPort, '127.0.0.13:5060', 'TCP', 0, 3));
    await waitFor(() => other.data().includes('\r\n\r\n'), 3000, 'an answer over the other source\'s connection');
    assert.match(other.data(), /^SIP\/2\.0 200 /, 'another source is served');

    // when one of the three closes, the source may connect again
    open[0].socket.destroy();
    await delay(200);
    const again = await connect(proxy.tcpPort, '127.0.0.12');
    again.socket.write(options(proxy.tcpPort, '127.0.0.12:5060', 'TCP', 0, 4));
    await waitFor(() => again.data().includes('\r\n\r\n') || again.closed(), 3000, 'an answer or a close');
    assert.match(again.data(), /^SIP\/2\.0 200 /, 'a freed slot can be used');
    for (const c of [...open, other, again]) c.socket.destroy();
  });

  test('slowloris: a message trickling in is cut off after the message timeout; idle and quick senders are not', { timeout: 20_000 }, async () => {
    const slow = await connect(proxy.tcpPort, '127.0.0.14');
    const idle = await connect(proxy.tcpPort, '127.0.0.15');
    const quick = await connect(proxy.tcpPort, '127.0.0.16');
    const text = options(proxy.tcpPort, '127.0.0.14:5060', 'TCP', 0, 5);
    const started = Date.now();
    let sent = 0;
    // one octet every 100 ms: the idle timer never fires, but the message takes ~20 s
    const trickle = setInterval(() => {
      if (!slow.closed() && sent < text.length) slow.socket.write(text[sent++]);
    }, 100);
    try {
      // two halves 300 ms apart: complete well within the timeout
      const quickText = options(proxy.tcpPort, '127.0.0.16:5060', 'TCP', 0, 6);
      quick.socket.write(quickText.slice(0, 40));
      await delay(300);
      quick.socket.write(quickText.slice(40));
      await waitFor(() => slow.closed(), 5000, 'the slow sender to be disconnected');
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 900 && elapsed < 3000, `closed after about the 1 s message timeout (${elapsed} ms)`);
      assert.ok(sent < text.length, 'before its message was complete');
      assert.equal(proxy.server.counters.get('transport.message_timeouts'), 1, 'one message timeout counted');
      await delay(1200);
      assert.equal(idle.closed(), false, 'an idle connection (no message begun) is left alone');
      assert.equal(quick.closed(), false, 'a message in two quick chunks is fine');
      assert.match(quick.data(), /^SIP\/2\.0 200 /, 'and answered');
    } finally {
      clearInterval(trickle);
      for (const c of [slow, idle, quick]) c.socket.destroy();
    }
  });
});

describe('security.max_calls_per_user', { timeout: 60_000 }, () => {
  let proxy: Proxy;
  let alice: Phone;
  let bob: Phone;
  before(async () => {
    proxy = await startProxy({ security: { maxCallsPerUser: 1 } });
    alice = await startPhone('alice');
    bob = await startPhone('bob');
    bob.ua.onRequest = (incoming) => {
      const method = incoming.request.method;
      if (method === 'INVITE') bob.ua.answer(incoming, 200, { toTag: newTag() });
      else incoming.respond(200);
    };
    assert.equal((await register(bob, proxy)).status, 200, 'bob is registered');
  });
  after(async () => {
    await Promise.all([alice?.ua.close(), bob?.ua.close()]);
    await proxy?.server.stop();
  });

  test('a second concurrent call is refused with 403 (and does not count); a BYE frees the slot', { timeout: 30_000 }, async () => {
    const first = await call(alice, proxy, 'sip:bob@example.test');
    assert.equal((await first.final).status, 200, 'the first call is answered');
    const second = await call(alice, proxy, 'sip:bob@example.test');
    const refused = await second.final;
    assert.equal(refused.status, 403, 'a second call at the same time is refused');
    assert.equal(refused.reason, 'Too Many Calls');
    assert.equal(proxy.server.counters.get('security.calls.refused'), 1, 'the refusal is counted');
    assert.equal((await first.bye()).status, 200, 'the first call ends');

    const third = await call(alice, proxy, 'sip:bob@example.test');
    assert.equal((await third.final).status, 200, 'after the BYE a new call fits');
    assert.equal((await third.bye()).status, 200, 'and ends');
    assert.equal(proxy.server.security.calls.activeCalls('alice@example.test'), 0, 'no call counted after the BYEs');
  });
});
