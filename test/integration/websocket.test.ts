/**
 * SIP over WebSocket (RFC 7118) over real sockets on 127.0.0.1: JsSIP, the JavaScript SIP library
 * of browser phones, runs in a child process with the `ws` package as its WebSocket and registers
 * over ws:// and wss:// (a certificate from `sipline cert create`) with digest authentication,
 * then exchanges MESSAGEs in both directions with a UDP phone through the proxy. Requests to it
 * go over its own connection (its contact host is `.invalid`); the handshake needs the `sip`
 * subprotocol; a client whose connection is gone is unreachable at once, never looked up in DNS.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { certCreate } from '../../src/cli/cert-command.ts';
import { newTag } from '../../src/shared/index.ts';
import type { SipRequest, SipResponse } from '../../src/sip/index.ts';
import { JsSipAgent } from '../support/jssip.ts';
import { digestCredentials, DOMAIN, register, startPhone, startProxy, USERS, type Phone, type Proxy } from '../support/proxy.ts';

/** A request from a UDP phone through the proxy, answering a 407 once (RFC 3261 §22.3). */
async function messageFromPhone(phone: Phone, proxy: Proxy, uri: string, body: string): Promise<SipResponse> {
  const spec = {
    method: 'MESSAGE',
    uri,
    destination: proxy.destination('udp'),
    to: `<${uri}>`,
    from: `<sip:${phone.user}@${DOMAIN}>;tag=${newTag()}`,
    callId: `message-${newTag()}@${DOMAIN}`,
    body,
    contentType: 'text/plain',
  };
  const first = await phone.ua.request({ ...spec, cseq: 1 });
  if (first.status !== 407) return first;
  const credentials = digestCredentials(first.get('proxy-authenticate') ?? '', phone.user, USERS[phone.user], 'MESSAGE', uri);
  return phone.ua.request({ ...spec, cseq: 2, headers: [['Proxy-Authorization', credentials]] });
}

describe('SIP over WebSocket', { timeout: 120_000 }, () => {
  let certDir: string;
  let proxy: Proxy;
  let bob: Phone;
  const atBob: SipRequest[] = [];

  before(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'sipline-ws-cert-'));
    certCreate({ out: certDir, name: ['localhost', '127.0.0.1'], days: '2' }, { line: () => {}, note: () => {} });
    proxy = await startProxy({
      listen: [
        { protocol: 'udp', host: '127.0.0.1', port: 0 },
        { protocol: 'tcp', host: '127.0.0.1', port: 0 },
        { protocol: 'ws', host: '127.0.0.1', port: 0 },
        { protocol: 'wss', host: '127.0.0.1', port: 0 },
      ],
      tls: { certificate: readFileSync(join(certDir, 'cert.pem')), privateKey: readFileSync(join(certDir, 'key.pem')) },
    });
    bob = await startPhone('bob');
    bob.ua.onRequest = (incoming) => {
      atBob.push(incoming.request);
      incoming.respond(200);
    };
    assert.equal((await register(bob, proxy)).status, 200, 'bob registered over UDP');
  });
  after(async () => {
    await bob.ua.close();
    await proxy.server.stop();
    rmSync(certDir, { recursive: true, force: true });
  });

  for (const scheme of ['ws', 'wss'] as const) {
    test(`JsSIP over ${scheme}:// registers with digest auth and exchanges MESSAGEs with a UDP phone`, { timeout: 40_000 }, async () => {
      const user = scheme === 'ws' ? 'alice' : 'carol';
      const url = `${scheme}://127.0.0.1:${proxy.destination(scheme).port}`;
      const agent = new JsSipAgent({ url, uri: `sip:${user}@${DOMAIN}`, password: USERS[user], ca: scheme === 'wss' ? join(certDir, 'cert.pem') : undefined });
      try {
        const registered = await agent.waitEvent('registered', 15_000);
        assert.equal(registered.status, 200, 'REGISTER answered 200 after the challenge');
        const [binding] = proxy.server.location.lookup(`${user}@${DOMAIN}`);
        assert.ok(binding !== undefined, `${user} has a binding`);
        assert.match(binding.contact, /@[a-z0-9]+\.invalid;transport=ws$/, `a WebSocket contact (RFC 7118 §5): ${binding.contact}`);
        assert.match(binding.received ?? '', new RegExp(`^${scheme}:127\\.0\\.0\\.1:\\d+$`), `the binding remembers the ${scheme} flow`);

        // JsSIP → bob: challenged with 407, then relayed to UDP
        const before = atBob.length;
        agent.sendMessage(`sip:bob@${DOMAIN}`, `hello bob from ${user}`);
        const sent = await agent.waitEvent('messageSent', 10_000);
        assert.equal(sent.status, 200, 'bob answered the MESSAGE');
        const atBobNow = atBob.slice(before);
        assert.equal(atBobNow.length, 1, 'bob got one MESSAGE');
        assert.equal(atBobNow[0].body.toString(), `hello bob from ${user}`, 'the body arrived');
        assert.equal(atBobNow[0].vias[1].transport, scheme.toUpperCase(), `JsSIP's Via says ${scheme.toUpperCase()}`);
        assert.match(atBobNow[0].vias[1].host, /\.invalid$/, 'JsSIP sends a .invalid Via host');
        const recordRoute = atBobNow[0].getAll('record-route');
        assert.equal(recordRoute.length, 2, `double Record-Route WS/UDP: ${recordRoute.join(', ')}`);
        assert.equal(recordRoute[0], `<sip:127.0.0.1:${proxy.udpPort};lr>`, 'the UDP side on top');
        assert.match(recordRoute[1], new RegExp(`^<sip:[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+@127\\.0\\.0\\.1:${proxy.destination(scheme).port};transport=ws;lr>$`), 'the WebSocket side, with a flow token');

        // bob → JsSIP: over the WebSocket the client registered over, never to the .invalid host
        const response = await messageFromPhone(bob, proxy, `sip:${user}@${DOMAIN}`, `hello ${user}`);
        assert.equal(response.status, 200, `JsSIP answered: ${response.status}`);
        const received = await agent.waitEvent('message', 5_000);
        assert.equal(received.body, `hello ${user}`, 'the body arrived at JsSIP');
        assert.match(String(received.via), new RegExp(`^SIP/2\\.0/${scheme.toUpperCase()} `), `the proxy sent it over ${scheme.toUpperCase()}`);
      } finally {
        await agent.stop();
      }
    });
  }

  test('the handshake needs the sip subprotocol (RFC 7118 §4.1)', { timeout: 10_000 }, async () => {
    const url = `ws://127.0.0.1:${proxy.destination('ws').port}`;
    const without = await new Promise<string>((resolve) => {
      const ws = new WebSocket(url);
      ws.on('open', () => {
        ws.terminate();
        resolve('open');
      });
      ws.on('unexpected-response', (_req, res) => {
        resolve(`refused ${res.statusCode}`);
        ws.terminate();
      });
      ws.on('error', (err) => resolve(`error ${err.message}`));
    });
    assert.equal(without, 'refused 400', 'a handshake without "sip" is refused');
    const withSip = await new Promise<string>((resolve) => {
      const ws = new WebSocket(url, ['sip']);
      ws.on('open', () => {
        resolve(ws.protocol);
        ws.close();
      });
      ws.on('error', (err) => resolve(`error ${err.message}`));
    });
    assert.equal(withSip, 'sip', 'the server confirms the sip subprotocol');
  });

  test('a malformed message over a WebSocket gets 400, and one SIP message per frame is parsed', { timeout: 10_000 }, async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.destination('ws').port}`, ['sip']);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    try {
      const replies: string[] = [];
      ws.on('message', (data) => replies.push(data.toString()));
      const base = (cseq: string) =>
        [
          `OPTIONS sip:127.0.0.1:${proxy.destination('ws').port};transport=ws SIP/2.0`,
          'Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK-ws-1;rport',
          'Max-Forwards: 70',
          'From: <sip:alice@example.test>;tag=1',
          'To: <sip:127.0.0.1>',
          'Call-ID: ws-options-1',
          `CSeq: ${cseq}`,
          '',
          '',
        ].join('\r\n');
      ws.send(base('1 OPTIONS'));
      ws.send(base('x OPTIONS'));
      const deadline = Date.now() + 5000;
      while (replies.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(replies.length, 2, `two answers: ${replies.join('\n---\n')}`);
      assert.ok(replies.some((r) => r.startsWith('SIP/2.0 200 ')), 'OPTIONS without Content-Length answered 200');
      assert.ok(replies.some((r) => r.startsWith('SIP/2.0 400 ')), 'a bad CSeq answered 400');
      assert.ok(replies.every((r) => /^Via: SIP\/2\.0\/WS df7jal23ls0d\.invalid;branch=z9hG4bK-ws-1;rport=\d+;received=127\.0\.0\.1/m.test(r)), 'the answers came back over the WebSocket, Via stamped');
    } finally {
      ws.terminate();
    }
  });

  test('a WebSocket client whose connection is gone is unreachable at once (its .invalid host is never resolved)', { timeout: 30_000 }, async () => {
    const agent = new JsSipAgent({ url: `ws://127.0.0.1:${proxy.destination('ws').port}`, uri: `sip:carol@${DOMAIN}`, password: USERS.carol });
    await agent.waitEvent('registered', 15_000);
    // killed, not stopped: the binding stays behind as after a crash or a lost network
    (agent as unknown as { child: { kill(s: string): void } }).child.kill('SIGKILL');
    await agent.exited;
    const unreachableBefore = proxy.server.counters.get('transport.ws.unreachable');
    const started = Date.now();
    let response: SipResponse | undefined;
    // the server notices the closed connection when the kernel tells it: retry until then
    for (let i = 0; i < 50 && response?.status !== 500; i++) {
      response = await messageFromPhone(bob, proxy, `sip:carol@${DOMAIN}`, 'anyone there?');
      if (response.status !== 500) await new Promise((r) => setTimeout(r, 100));
    }
    // the branch fails with a transport error (503, RFC 3261 §8.1.3.1), sent upstream as 500 (§16.7 step 6)
    assert.equal(response?.status, 500, `the transport error is answered: ${response?.status}`);
    assert.ok(Date.now() - started < 10_000, 'answered without waiting for a timeout');
    assert.ok(proxy.server.counters.get('transport.ws.unreachable') > unreachableBefore, 'counted as unreachable');
  });
});
