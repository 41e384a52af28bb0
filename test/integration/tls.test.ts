/**
 * SIP over TLS (RFC 3261 §26, RFC 5630) over real sockets on 127.0.0.1: a bare node:tls client
 * registers with digest authentication and exchanges MESSAGEs with a UDP phone through the proxy
 * (requests to it reuse its connection, RFC 3261 §18); mutual TLS with an allow-list of peer names;
 * SNI picks a per-domain certificate; clients offering TLS 1.1 are refused; the proxy opens TLS
 * connections to `transport=tls` targets and verifies their certificates.
 */
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { newTag } from '../../src/shared/index.ts';
import type { SipRequest, SipResponse } from '../../src/sip/index.ts';
import { UserAgent, type Dialog } from '../../src/ua/index.ts';
import { Baresip, baresipAvailable } from '../support/baresip.ts';
import { call, digestCredentials, DOMAIN, register, startPhone, startProxy, USERS, type Phone, type Proxy } from '../support/proxy.ts';
import { SipStreamClient } from '../support/sip-stream-client.ts';
import { freePort, waitFor } from '../support/sipp.ts';
import { TestPki, type Pem } from '../support/tls-certs.ts';

const tlsListen = [
  { protocol: 'udp' as const, host: '127.0.0.1', port: 0 },
  { protocol: 'tcp' as const, host: '127.0.0.1', port: 0 },
  { protocol: 'tls' as const, host: '127.0.0.1', port: 0 },
];

/** Where node:tls clients connect: the proxy's TLS listener. */
const tlsAt = (p: Proxy) => ({ host: '127.0.0.1', port: p.destination('tls').port });

/** A request from a UDP phone through the proxy, answering a 407 once (RFC 3261 §22.3). */
async function requestAsPhone(phone: Phone, proxy: Proxy, method: string, uri: string, body: string): Promise<SipResponse> {
  const spec = {
    method,
    uri,
    destination: proxy.destination('udp'),
    to: `<${uri}>`,
    from: `<sip:${phone.user}@${DOMAIN}>;tag=${newTag()}`,
    callId: `${method.toLowerCase()}-${newTag()}@${DOMAIN}`,
    body,
    contentType: 'text/plain',
  };
  const first = await phone.ua.request({ ...spec, cseq: 1 });
  if (first.status !== 407) return first;
  const credentials = digestCredentials(first.get('proxy-authenticate') ?? '', phone.user, USERS[phone.user], method, uri);
  return phone.ua.request({ ...spec, cseq: 2, headers: [['Proxy-Authorization', credentials]] });
}

describe('SIP over TLS', { timeout: 90_000 }, () => {
  let pki: TestPki;
  let server: Pem;
  let other: Pem;
  let trunk: Pem;
  let rogue: Pem;
  let proxy: Proxy;

  before(() => {
    pki = new TestPki();
    server = pki.issue('server', 'sip.example.test', ['DNS:sip.example.test', 'IP:127.0.0.1']);
    other = pki.issue('other', 'other.example.test', ['DNS:other.example.test']);
    trunk = pki.issue('trunk', 'trunk.carrier.test', ['DNS:trunk.carrier.test']);
    rogue = pki.issue('rogue', 'rogue.carrier.test', ['DNS:rogue.carrier.test']);
  });
  after(() => pki.cleanup());

  describe('phones over TLS and UDP', () => {
    before(async () => {
      proxy = await startProxy({
        listen: tlsListen,
        tls: { certificate: server.certificate, privateKey: server.privateKey, ca: pki.ca.certificate, domains: { 'other.example.test': { certificate: other.certificate, privateKey: other.privateKey } } },
      });
    });
    after(async () => {
      await proxy.server.stop();
    });

    test('a node:tls client registers with digest auth and exchanges MESSAGEs with a UDP phone over its own connection', { timeout: 30_000 }, async () => {
      const bob = await startPhone('bob');
      const alice = await SipStreamClient.connectTls('alice', { ...tlsAt(proxy), ca: pki.ca.certificate, servername: 'sip.example.test' });
      try {
        assert.equal(alice.socket instanceof tls.TLSSocket && alice.socket.getProtocol(), 'TLSv1.3', 'TLS 1.3 negotiated');
        const aor = `<sip:alice@${DOMAIN}>`;
        const registered = await alice.authenticatedRequest('REGISTER', `sip:${DOMAIN}`, aor, USERS.alice, [`Contact: ${alice.contact}`, 'Expires: 600']);
        assert.equal(registered.status, 200, `REGISTER over TLS: ${registered.status}`);
        assert.ok(registered.getAll('contact').some((c) => c.includes(`127.0.0.1:${alice.localPort};transport=tls`)), `the binding is listed: ${registered.getAll('contact').join(' | ')}`);
        const binding = proxy.server.location.lookup(`alice@${DOMAIN}`)[0];
        assert.equal(binding?.received, `tls:127.0.0.1:${alice.localPort}`, 'the binding remembers the TLS flow it came over');
        assert.equal((await register(bob, proxy)).status, 200, 'bob registered over UDP');

        // alice (TLS) → bob (UDP)
        const atBob: SipRequest[] = [];
        bob.ua.onRequest = (incoming) => {
          atBob.push(incoming.request);
          incoming.respond(200);
        };
        const sent = await alice.authenticatedRequest('MESSAGE', `sip:bob@${DOMAIN}`, `<sip:bob@${DOMAIN}>`, USERS.alice, ['Content-Type: text/plain'], 'hello bob');
        assert.equal(sent.status, 200, `MESSAGE alice → bob: ${sent.status}`);
        assert.equal(atBob.length, 1, 'bob got one MESSAGE');
        assert.equal(atBob[0].body.toString(), 'hello bob', 'the body arrived');
        const vias = atBob[0].vias;
        assert.equal(vias[0].transport, 'UDP', 'the proxy forwarded over UDP');
        assert.equal(vias[1].transport, 'TLS', "alice's Via says TLS");
        assert.equal(vias[1].params.get('rport'), String(alice.localPort), 'rport filled in (RFC 3581)');

        // bob (UDP) → alice (TLS): over the connection alice opened, none opened by the proxy
        const connectedBefore = proxy.server.counters.get('transport.tls.connected');
        const reply = requestAsPhone(bob, proxy, 'MESSAGE', `sip:alice@${DOMAIN}`, 'hello alice');
        const atAlice = (await alice.waitFor((m) => m.isRequest && m.method === 'MESSAGE', 10_000, 'the MESSAGE at alice')) as SipRequest;
        assert.equal(atAlice.body.toString(), 'hello alice', 'the body arrived at alice');
        assert.equal(atAlice.via.transport, 'TLS', 'the proxy sent it over TLS');
        assert.equal(atAlice.uri.toString(), `sip:alice@127.0.0.1:${alice.localPort};transport=tls`, 'Request-URI is the registered contact');
        alice.respond(atAlice, 200, 'OK');
        assert.equal((await reply).status, 200, 'bob got the 200 of alice');
        assert.equal(proxy.server.counters.get('transport.tls.connected'), connectedBefore, 'the proxy reused alice’s connection');
      } finally {
        alice.close();
        await bob.ua.close();
      }
    });

    test('SNI picks the per-domain certificate; other names get the default one', { timeout: 10_000 }, async () => {
      const subject = (servername: string) =>
        new Promise<string>((resolve, reject) => {
          // not verified here: which certificate comes back is the question
          const socket = tls.connect({ ...tlsAt(proxy), servername, rejectUnauthorized: false }, () => {
            const cn = socket.getPeerCertificate().subject.CN;
            socket.destroy();
            resolve(String(cn));
          });
          socket.once('error', reject);
        });
      assert.equal(await subject('other.example.test'), 'other.example.test', 'SNI other.example.test');
      assert.equal(await subject('sip.example.test'), 'sip.example.test', 'SNI sip.example.test');
      assert.equal(await subject('unknown.example.test'), 'sip.example.test', 'an unknown name gets the default certificate');
    });

    test('a client offering only TLS 1.1 is refused in the handshake', { timeout: 10_000 }, async () => {
      const refusedBefore = proxy.server.counters.get('transport.tls.refused');
      const outcome = await new Promise<string>((resolve) => {
        // SECLEVEL=0 lets this client offer TLS 1.1 at all: the refusal must come from the server
        const socket = tls.connect({ ...tlsAt(proxy), ca: pki.ca.certificate, servername: 'sip.example.test', minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }, () => {
          socket.destroy();
          resolve('connected');
        });
        socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      });
      assert.notEqual(outcome, 'connected', 'the TLS 1.1 handshake must fail');
      await waitFor(() => proxy.server.counters.get('transport.tls.refused') > refusedBefore, 5_000, 'the refusal counted');
    });
  });

  describe('mutual TLS for peering trunks', () => {
    before(async () => {
      proxy = await startProxy({
        listen: tlsListen,
        tls: { certificate: server.certificate, privateKey: server.privateKey, ca: pki.ca.certificate, verifyClients: 'optional', trustedPeers: ['trunk.carrier.test'] },
      });
    });
    after(async () => {
      await proxy.server.stop();
    });

    /** Connects with a client certificate (or none) and sends OPTIONS; resolves with the status, or "closed". */
    async function optionsWith(cert: Pem | undefined): Promise<number | 'closed'> {
      let client: SipStreamClient;
      try {
        client = await SipStreamClient.connectTls('trunk', { ...tlsAt(proxy), ca: pki.ca.certificate, servername: 'sip.example.test', cert: cert?.certificate, key: cert?.privateKey });
      } catch {
        return 'closed';
      }
      try {
        const response = await client.request('OPTIONS', `sip:127.0.0.1:${tlsAt(proxy).port};transport=tls`, `<sip:127.0.0.1>`);
        return response.status;
      } catch {
        return 'closed';
      } finally {
        client.close();
      }
    }

    test('a peer whose certificate is in tls.trusted_peers is accepted', { timeout: 10_000 }, async () => {
      const original = proxy.server.counters.get('transport.tls.accepted');
      assert.equal(await optionsWith(trunk), 200, 'OPTIONS from the listed trunk is answered');
      assert.equal(proxy.server.counters.get('transport.tls.accepted'), original + 1, 'one TLS connection accepted');
    });

    test('a certificate of the same CA but not in the list is refused; no certificate is an ordinary client', { timeout: 10_000 }, async () => {
      const refusedBefore = proxy.server.counters.get('transport.tls.refused');
      assert.equal(await optionsWith(rogue), 'closed', 'the unlisted peer is disconnected before any SIP');
      assert.equal(proxy.server.counters.get('transport.tls.refused'), refusedBefore + 1, 'the refusal counted');
      assert.equal(await optionsWith(undefined), 200, 'a client without a certificate is served (verify_clients: optional)');
    });

    test('a certificate from another CA is refused', { timeout: 10_000 }, async () => {
      const stranger = new TestPki('another CA');
      try {
        const cert = stranger.issue('trunk', 'trunk.carrier.test', ['DNS:trunk.carrier.test']);
        assert.equal(await optionsWith(cert), 'closed', 'a trusted name signed by an unknown CA is refused');
      } finally {
        stranger.cleanup();
      }
    });
  });

  test(
    'baresip registers over TLS (verifying the server against sip_cafile); a UDP phone calls it, and the BYE reaches it over its connection',
    { timeout: 60_000, skip: baresipAvailable() ? false : 'baresip is not installed (scripts/install-peers.sh installs it)' },
    async () => {
      const p = await startProxy({ listen: tlsListen, tls: { certificate: server.certificate, privateKey: server.privateKey } });
      const bob = await startPhone('bob');
      let alice: Baresip | undefined;
      try {
        alice = await Baresip.start({
          user: 'alice',
          password: USERS.alice,
          domain: DOMAIN,
          proxy: `127.0.0.1:${p.destination('tls').port}`,
          transport: 'tls',
          caFile: pki.ca.certificateFile,
          sipPort: await freePort(),
          ctrlPort: await freePort(),
          answerMode: 'auto',
          lifetimeSeconds: 50,
        });
        await waitFor(() => p.server.location.lookup(`alice@${DOMAIN}`).length > 0, 15_000, 'the binding of alice');
        const binding = p.server.location.lookup(`alice@${DOMAIN}`)[0];
        assert.match(binding.contact, /;transport=tls/, `alice's contact asks for TLS: ${binding.contact}`);
        assert.match(binding.received ?? '', /^tls:127\.0\.0\.1:\d+$/, 'registered over TLS');
        assert.match(alice.output, /SIP\/2\.0 401 Unauthorized[\s\S]*Authorization: Digest username="alice"/, 'alice answered the challenge');
        assert.equal((await register(bob, p)).status, 200, 'bob registered over UDP');

        const connectedBefore = p.server.counters.get('transport.tls.connected');
        const outgoing = await call(bob, p, `sip:alice@${DOMAIN}`);
        const final = await outgoing.final;
        assert.equal(final.status, 200, `alice answered: ${final.status}`);
        const recordRoute = final.getAll('record-route');
        assert.equal(recordRoute.length, 2, `double Record-Route UDP/TLS: ${recordRoute.join(', ')}`);
        // the entry added last (alice's side, TLS) is on top, and names her connection
        assert.match(recordRoute[0], /^<sip:[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+@127\.0\.0\.1:\d+;transport=tls;lr>$/, 'the TLS side carries a flow token');
        assert.equal(recordRoute[1], `<sip:127.0.0.1:${p.udpPort};lr>`, 'the UDP side is plain');
        const dialog = outgoing.dialog as Dialog;
        assert.ok(dialog !== undefined, 'the call has a dialog');
        await alice.waitEvent('CALL_ESTABLISHED', 10_000);
        const bye = await bob.ua.requestInDialog(dialog, 'BYE');
        assert.equal(bye.status, 200, `BYE to alice over her TLS connection: ${bye.status}`);
        await alice.waitEvent('CALL_CLOSED', 10_000);
        assert.equal(p.server.counters.get('transport.tls.connected'), connectedBefore, 'the proxy opened no connection to alice');
        alice.cleanup();
      } finally {
        await alice?.stop();
        await bob.ua.close();
        await p.server.stop();
      }
    },
  );

  test('verify_clients: required refuses a client without a certificate', { timeout: 15_000 }, async () => {
    const strict = await startProxy({
      listen: tlsListen,
      tls: { certificate: server.certificate, privateKey: server.privateKey, ca: pki.ca.certificate, verifyClients: 'required', trustedPeers: ['trunk.carrier.test'] },
    });
    try {
      const connect = async (cert: Pem | undefined) => {
        try {
          const c = await SipStreamClient.connectTls('trunk', { ...tlsAt(strict), ca: pki.ca.certificate, servername: 'sip.example.test', cert: cert?.certificate, key: cert?.privateKey });
          try {
            return (await c.request('OPTIONS', `sip:127.0.0.1:${tlsAt(strict).port};transport=tls`, '<sip:127.0.0.1>')).status;
          } finally {
            c.close();
          }
        } catch {
          return 'closed';
        }
      };
      assert.equal(await connect(undefined), 'closed', 'no certificate: refused');
      assert.equal(await connect(trunk), 200, 'the listed trunk: served');
    } finally {
      await strict.server.stop();
    }
  });

  test('the proxy opens a verified TLS connection to a transport=tls target and reuses it', { timeout: 20_000 }, async () => {
    // carol is a UA with a TLS listener of her own (certificate for 127.0.0.1); the proxy verifies it against the CA
    const carolCert = pki.issue('carol', 'carol.example.test', ['IP:127.0.0.1']);
    const carol = await UserAgent.create({
      listen: [{ protocol: 'tls', host: '127.0.0.1', port: 0 }],
      user: 'carol',
      domain: DOMAIN,
      tls: { certificate: carolCert.certificate, privateKey: carolCert.privateKey, ca: pki.ca.certificate },
    });
    const p = await startProxy({ listen: tlsListen, tls: { certificate: server.certificate, privateKey: server.privateKey, ca: pki.ca.certificate } });
    const bob = await startPhone('bob');
    try {
      const carolPort = carol.transport.listeners()[0].port;
      p.server.location.save({
        aor: `carol@${DOMAIN}`,
        contact: `sip:carol@127.0.0.1:${carolPort};transport=tls`,
        expiresAt: Date.now() + 600_000,
        q: 1,
        callId: 'static',
        cseq: 1,
        path: [],
        instance: null,
        regId: null,
        received: null,
        userAgent: null,
        updatedAt: Date.now(),
      });
      const atCarol: SipRequest[] = [];
      carol.onRequest = (incoming) => {
        atCarol.push(incoming.request);
        incoming.respond(200);
      };
      assert.equal((await register(bob, p)).status, 200, 'bob registered');
      assert.equal((await requestAsPhone(bob, p, 'MESSAGE', `sip:carol@${DOMAIN}`, 'one')).status, 200, 'first MESSAGE delivered over TLS');
      assert.equal((await requestAsPhone(bob, p, 'MESSAGE', `sip:carol@${DOMAIN}`, 'two')).status, 200, 'second MESSAGE delivered over TLS');
      assert.deepEqual(atCarol.map((r) => r.body.toString()), ['one', 'two'], 'carol got both');
      assert.equal(atCarol[0].via.transport, 'TLS', 'sent over TLS');
      assert.equal(p.server.counters.get('transport.tls.connected'), 1, 'one connection opened, then reused');
    } finally {
      await bob.ua.close();
      await carol.close();
      await p.server.stop();
    }
  });
});
