/**
 * Topology hiding over real UDP sockets: an "internal" side on 127.0.0.2 (a caller behind an
 * internal proxy whose Via and Record-Route it carries) calls an "external" side on 127.0.0.3
 * (a callee behind its own edge proxy) through sipline on 127.0.0.1 with the topology hidden.
 * Neither side may see an address of the other in Via, Record-Route or Contact, and the ACK and
 * BYE of the dialog must still reach the right party in both directions with the route set the
 * other side's proxies asked for.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseMessage, type AnyMessage, type SipRequest, type SipResponse } from '../../src/sip/index.ts';
import { startProxy, type Proxy } from '../support/proxy.ts';

/** A UDP peer that records what it receives and waits for a message by predicate. */
class Peer {
  readonly received: AnyMessage[] = [];
  private waiters: Array<{ match: (m: AnyMessage) => boolean; resolve: (m: AnyMessage) => void }> = [];
  private constructor(
    readonly socket: dgram.Socket,
    readonly host: string,
    readonly port: number,
  ) {
    socket.on('message', (data) => {
      const message = parseMessage(data, { datagram: true });
      this.received.push(message);
      const i = this.waiters.findIndex((w) => w.match(message));
      if (i >= 0) this.waiters.splice(i, 1)[0].resolve(message);
    });
  }

  static async bind(host: string): Promise<Peer> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, host, resolve));
    return new Peer(socket, host, socket.address().port);
  }

  send(text: string, port: number): void {
    this.socket.send(Buffer.from(text.replace(/\n/g, '\r\n')), port, '127.0.0.1');
  }

  wait(what: string, match: (m: AnyMessage) => boolean, timeoutMs = 5000): Promise<AnyMessage> {
    const seen = this.received.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.host} got no ${what}; received: ${this.received.map((m) => (m.isRequest ? m.method : (m as SipResponse).status)).join(' ')}`)), timeoutMs);
      this.waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  close(): void {
    this.socket.close();
  }
}

const isRequest = (method: string) => (m: AnyMessage) => m.isRequest && (m as SipRequest).method === method;
const isResponse = (status: number, method: string) => (m: AnyMessage) => !m.isRequest && (m as SipResponse).status === status && m.cseq.method === method;

/** Via, Record-Route, Route and Contact values of a message, for "discloses nothing" checks. */
function topologyHeaders(m: AnyMessage): string {
  return [...m.getAll('via'), ...m.getAll('record-route'), ...m.getAll('route'), ...m.getAll('contact')].join('\n');
}

// hidden by the script (ctx.hideTopology()) or by the one line of configuration (topology_hiding.enabled)
for (const mode of ['script', 'config'] as const)
describe(`topology hiding (${mode})`, { timeout: 60_000 }, () => {
  let proxy: Proxy;
  let inside: Peer;
  let outside: Peer;
  let dir: string;

  before(async () => {
    inside = await Peer.bind('127.0.0.2');
    outside = await Peer.bind('127.0.0.3');
    dir = mkdtempSync(join(tmpdir(), 'sipline-topoh-'));
    const script = join(dir, 'script.ts');
    // initial requests go to the external callee with the topology hidden; in-dialog ones follow their route
    writeFileSync(
      script,
      `export default {
  onRequest(ctx) {
    if (ctx.inDialog) {
      if (ctx.looseRouted) ctx.relay();
      else ctx.reply(404);
      return;
    }
    ${mode === 'script' ? 'ctx.hideTopology();' : ''}
    ctx.relay('sip:bob@127.0.0.3:${outside.port}');
  },
};
`,
    );
    proxy = await startProxy({ script, topologyHiding: { enabled: mode === 'config' } });
  });

  after(async () => {
    inside.close();
    outside.close();
    await proxy.server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a call and its ACK and BYE in both directions, with no address of either side disclosed to the other', async () => {
    const p = proxy.udpPort;
    const callId = `topoh-${mode}@10.20.30.40`;
    // the caller sits behind an internal proxy (10.9.8.7, and a Record-Route pointing back at the caller's host)
    inside.send(
      `INVITE sip:bob@example.net SIP/2.0
Via: SIP/2.0/UDP 127.0.0.2:${inside.port};branch=z9hG4bK-inv-1;rport
Via: SIP/2.0/UDP 10.9.8.7:5060;branch=z9hG4bK-internal-1
Record-Route: <sip:127.0.0.2:${inside.port};lr>
Max-Forwards: 70
From: <sip:alice@example.test>;tag=a1
To: <sip:bob@example.net>
Call-ID: ${callId}
CSeq: 1 INVITE
Contact: <sip:alice@127.0.0.2:${inside.port}>
Content-Length: 0

`,
      p,
    );
    const invite = (await outside.wait('INVITE', isRequest('INVITE'))) as SipRequest;
    assert.equal(invite.vias.length, 1, `one Via (ours) reaches the callee:\n${invite.toString()}`);
    assert.equal(invite.vias[0].host, '127.0.0.1', `the Via is the proxy's:\n${invite.toString()}`);
    assert.doesNotMatch(topologyHeaders(invite), /127\.0\.0\.2|10\.9\.8\.7/, `nothing of the inside reaches the callee:\n${invite.toString()}`);
    assert.equal(invite.recordRoutes.length, 1, `one Record-Route:\n${invite.toString()}`);
    const ourRoute = invite.getAll('record-route')[0];
    assert.match(ourRoute, /^<sip:127\.0\.0\.1:\d+;lr;th=[A-Za-z0-9_-]+>$/, 'our Record-Route carries the sealed entries behind it');
    const maskedCaller = invite.contacts.contacts[0].uri.toString();
    assert.match(maskedCaller, /^sip:127\.0\.0\.1:\d+;thc=[A-Za-z0-9_-]+$/, 'the caller\'s contact is masked');

    // the callee answers from behind its own edge proxy, which recorded itself above us
    const outsideEdge = `<sip:127.0.0.3:${outside.port};lr>`;
    outside.send(
      `SIP/2.0 200 OK
${invite.getAll('via').map((v) => `Via: ${v}`).join('\n')}
Record-Route: ${outsideEdge}
Record-Route: ${ourRoute}
From: <sip:alice@example.test>;tag=a1
To: <sip:bob@example.net>;tag=b1
Call-ID: ${callId}
CSeq: 1 INVITE
Contact: <sip:bob@127.0.0.3:${outside.port}>
Content-Length: 0

`,
      p,
    );
    const ok = (await inside.wait('200 for the INVITE', isResponse(200, 'INVITE'))) as SipResponse;
    assert.equal(ok.vias.length, 2, `the caller gets its own two Vias back:\n${ok.toString()}`);
    assert.equal(ok.vias[1].host, '10.9.8.7', 'the internal proxy\'s Via is restored');
    assert.doesNotMatch(topologyHeaders(ok), /127\.0\.0\.3/, `nothing of the outside reaches the caller:\n${ok.toString()}`);
    const rr = ok.getAll('record-route');
    assert.equal(rr.length, 2, `our entry and the internal proxy's:\n${ok.toString()}`);
    assert.match(rr[0], /^<sip:127\.0\.0\.1:\d+;lr;th=[A-Za-z0-9_-]+>$/, 'our entry seals the callee side');
    assert.equal(rr[1], `<sip:127.0.0.2:${inside.port};lr>`, 'the inside\'s own entry stays');
    const maskedCallee = ok.contacts.contacts[0].uri.toString();
    assert.match(maskedCallee, /^sip:127\.0\.0\.1:\d+;thc=/, 'the callee\'s contact is masked');

    // ACK from the caller (its internal proxy already passed): Route = our entry, to the masked contact
    inside.send(
      `ACK ${maskedCallee} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.2:${inside.port};branch=z9hG4bK-ack-1;rport
Route: ${rr[0]}
Max-Forwards: 70
From: <sip:alice@example.test>;tag=a1
To: <sip:bob@example.net>;tag=b1
Call-ID: ${callId}
CSeq: 1 ACK
Content-Length: 0

`,
      p,
    );
    const ack = (await outside.wait('ACK', isRequest('ACK'))) as SipRequest;
    assert.equal(ack.uriString, `sip:bob@127.0.0.3:${outside.port}`, 'the ACK reaches the real contact');
    assert.deepEqual(ack.getAll('route'), [outsideEdge], 'through the route the callee side recorded');
    assert.equal(ack.vias.length, 1, 'with our Via only');
    assert.doesNotMatch(topologyHeaders(ack), /127\.0\.0\.2/, `nothing of the inside in the ACK:\n${ack.toString()}`);

    // BYE from the callee: its route set is the Record-Route as it received it, minus its own edge
    outside.send(
      `BYE ${maskedCaller} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.3:${outside.port};branch=z9hG4bK-bye-1;rport
Route: ${ourRoute}
Max-Forwards: 70
From: <sip:bob@example.net>;tag=b1
To: <sip:alice@example.test>;tag=a1
Call-ID: ${callId}
CSeq: 1 BYE
Contact: <sip:bob@127.0.0.3:${outside.port}>
Content-Length: 0

`,
      p,
    );
    const bye = (await inside.wait('BYE', isRequest('BYE'))) as SipRequest;
    assert.equal(bye.uriString, `sip:alice@127.0.0.2:${inside.port}`, 'the BYE reaches the caller\'s real contact');
    assert.deepEqual(bye.getAll('route'), [`<sip:127.0.0.2:${inside.port};lr>`], 'through the internal proxy the caller side recorded');
    assert.equal(bye.vias.length, 1, 'with our Via only');
    assert.doesNotMatch(topologyHeaders(bye), /127\.0\.0\.3/, `nothing of the outside in the BYE:\n${bye.toString()}`);
    assert.match(bye.contacts.contacts[0].uri.toString(), /^sip:127\.0\.0\.1:\d+;thc=/, 'the BYE\'s Contact is masked too');

    inside.send(
      `SIP/2.0 200 OK
${bye.getAll('via').map((v) => `Via: ${v}`).join('\n')}
From: <sip:bob@example.net>;tag=b1
To: <sip:alice@example.test>;tag=a1
Call-ID: ${callId}
CSeq: 1 BYE
Contact: <sip:alice@127.0.0.2:${inside.port}>
Content-Length: 0

`,
      p,
    );
    const byeOk = (await outside.wait('200 for the BYE', isResponse(200, 'BYE'))) as SipResponse;
    assert.equal(byeOk.vias.length, 1, 'the callee gets its own Via back');
    assert.equal(byeOk.vias[0].branch, 'z9hG4bK-bye-1', 'the callee\'s own branch');
    assert.doesNotMatch(topologyHeaders(byeOk), /127\.0\.0\.2/, `nothing of the inside in the BYE's 200:\n${byeOk.toString()}`);
  });

  test('a forged or foreign topology token is refused with 400', async () => {
    outside.send(
      `BYE sip:127.0.0.1:${proxy.udpPort};thc=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA SIP/2.0
Via: SIP/2.0/UDP 127.0.0.3:${outside.port};branch=z9hG4bK-forged-1;rport
Max-Forwards: 70
From: <sip:bob@example.net>;tag=b9
To: <sip:alice@example.test>;tag=a9
Call-ID: forged@x
CSeq: 1 BYE
Content-Length: 0

`,
      proxy.udpPort,
    );
    const answer = (await outside.wait('400', (m) => !m.isRequest && m.callId === 'forged@x')) as SipResponse;
    assert.equal(answer.status, 400, `forged token: ${answer.toString()}`);
    assert.equal(inside.received.filter((m) => m.callId === 'forged@x').length, 0, 'nothing was forwarded');
  });
});
