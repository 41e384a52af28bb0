/**
 * Transport names, ports and reachability for TLS and WebSocket (RFC 3261 §18, §26; RFC 7118):
 * default ports, Via transport tokens, `sips` URIs, response routing for a WS Via with an
 * `.invalid` host, a WebSocket client without its connection, a tls listener without a
 * certificate, and CRLF keep-alives over a WebSocket (RFC 5626 §4.4.1).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import tls from 'node:tls';
import { WebSocket } from 'ws';
import { uriProtocol } from '../../src/dns/index.ts';
import { parseUri, parseVia, SipUri } from '../../src/sip/index.ts';
import { defaultPort, protocolNamed, responseDestination, TransportLayer, type Flow } from '../../src/transport/index.ts';
import { TestPki } from '../support/tls-certs.ts';

describe('transport names and ports', () => {
  test('default ports: 5060 for UDP and TCP, 5061 for TLS, 80/443 for WS/WSS', () => {
    assert.deepEqual((['udp', 'tcp', 'tls', 'ws', 'wss'] as const).map(defaultPort), [5060, 5060, 5061, 80, 443], 'RFC 3261 §19.1.2, RFC 6455 §3');
  });

  test('transport names in any case; unknown ones are not ours', () => {
    assert.equal(protocolNamed('WSS'), 'wss', 'Via token WSS');
    assert.equal(protocolNamed('Tls'), 'tls', 'mixed case');
    assert.equal(protocolNamed('sctp'), undefined, 'SCTP is not a transport of ours');
  });

  test('the transport of a URI: sips means TLS, sips with transport=ws means WSS', () => {
    const of = (text: string) => uriProtocol(parseUri(text) as SipUri);
    assert.equal(of('sip:a@example.com'), 'udp', 'no transport parameter');
    assert.equal(of('sip:a@example.com;transport=tls'), 'tls', 'transport=tls');
    assert.equal(of('sips:a@example.com'), 'tls', 'sips (RFC 3261 §26.2.2)');
    assert.equal(of('sips:a@example.com;transport=tcp'), 'tls', 'sips over TCP is TLS (RFC 5630 §3.1.3)');
    assert.equal(of('sip:a@df7jal23ls0d.invalid;transport=ws'), 'ws', 'transport=ws');
    assert.equal(of('sips:a@df7jal23ls0d.invalid;transport=ws'), 'wss', 'sips with transport=ws');
    assert.equal(of('sip:a@example.com;transport=sctp'), undefined, 'SCTP is not supported');
  });

  test('a response to a WS Via goes to its received address, never to the .invalid host', () => {
    const d = responseDestination(parseVia('SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK1;received=127.0.0.1;rport=50000'));
    assert.deepEqual(d, { protocol: 'ws', address: '127.0.0.1', port: 80 }, 'received, and the WS default port (the connection is gone: nothing to open)');
    assert.throws(() => responseDestination(parseVia('SIP/2.0/SCTP 10.0.0.1;branch=z9hG4bK1')), /no transport SCTP/, 'an unknown transport cannot be answered');
  });
});

describe('the transport layer with TLS and WebSocket', () => {
  test('a tls listener without a certificate is refused with the keys to set', async () => {
    const layer = new TransportLayer({ listen: [{ protocol: 'tls', host: '127.0.0.1', port: 0 }] });
    await assert.rejects(layer.start(), /a tls listener needs a certificate and a private key \(tls\.certificate, tls\.private_key\)/, 'names the missing keys');
    await layer.stop();
  });

  test('a WebSocket destination without its connection is a transport error, reported asynchronously', async () => {
    const layer = new TransportLayer({ listen: [{ protocol: 'ws', host: '127.0.0.1', port: 0 }] });
    await layer.start();
    try {
      let reported: Error | undefined;
      let returned = false;
      layer.sendBytes(Buffer.from('OPTIONS sip:x SIP/2.0\r\n\r\n'), { protocol: 'ws', address: '127.0.0.1', port: 1 }, (err) => {
        assert.ok(returned, 'the error comes after sendBytes returned');
        reported = err;
      });
      returned = true;
      await new Promise((r) => setImmediate(r));
      assert.match(reported?.message ?? '', /no ws connection to ws:127\.0\.0\.1:1/, 'the error names the destination');
      assert.equal(layer.counters.get('transport.ws.unreachable'), 1, 'counted');
      assert.equal(layer.connectionCount, 0, 'nothing was opened');
    } finally {
      await layer.stop();
    }
  });

  test('a double CRLF over a WebSocket is a keep-alive ping answered with CRLF', async () => {
    const layer = new TransportLayer({ listen: [{ protocol: 'ws', host: '127.0.0.1', port: 0 }] });
    await layer.start();
    const ws = new WebSocket(`ws://127.0.0.1:${layer.listeners()[0].port}`, ['sip']);
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const pong = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
      ws.send('\r\n\r\n');
      assert.equal(await pong, '\r\n', 'RFC 5626 §4.4.1 pong');
      assert.equal(layer.connectionCount, 1, 'the WebSocket is in the connection table');
    } finally {
      ws.terminate();
      await layer.stop();
    }
  });

  test('a trusted peer of mutual TLS is known by name on its flow; a client without a certificate is not', { timeout: 20_000 }, async () => {
    const pki = new TestPki();
    const server = pki.issue('server', 'sip.example.test', ['IP:127.0.0.1']);
    const trunk = pki.issue('trunk', 'trunk.carrier.test', ['DNS:trunk.carrier.test']);
    const layer = new TransportLayer({
      listen: [{ protocol: 'tls', host: '127.0.0.1', port: 0 }],
      tls: { certificate: server.certificate, privateKey: server.privateKey, ca: pki.ca.certificate, verifyClients: 'optional', trustedPeers: ['Trunk.Carrier.Test'] },
    });
    const flows: Flow[] = [];
    layer.onMessage = (_message, flow) => flows.push(flow);
    await layer.start();
    try {
      const port = layer.listeners()[0].port;
      for (const cert of [trunk, undefined]) {
        const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
          const s = tls.connect({ host: '127.0.0.1', port, ca: pki.ca.certificate, cert: cert?.certificate, key: cert?.privateKey }, () => resolve(s));
          s.once('error', reject);
        });
        socket.write('OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:1;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n');
        const deadline = Date.now() + 5000;
        const count = cert === undefined ? 2 : 1;
        while (flows.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        socket.destroy();
      }
      assert.equal(flows.length, 2, 'both requests arrived');
      assert.equal(flows[0].protocol, 'tls', 'over TLS');
      assert.equal(flows[0].connection?.trustedPeer, 'trunk.carrier.test', 'the trunk is known by its certificate name');
      assert.equal(flows[1].connection?.trustedPeer, undefined, 'an ordinary client is nobody in particular');
    } finally {
      await layer.stop();
      pki.cleanup();
    }
  });
});
