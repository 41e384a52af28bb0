/**
 * Worker mode over real sockets: `sipline start --workers 2` as its own process tree (a primary
 * and two workers sharing the UDP socket), provisioned through the CLI, then:
 * - sipp as alice places 60 authenticated calls (each its own Call-ID, so both workers own some)
 *   to bob, registered through one worker: every call completes (407, INVITE, 100/180/200, ACK,
 *   BYE loose-routed) whichever worker handled it — bindings are shared, responses, ACKs and
 *   BYEs find their transactions;
 * - CANCEL of ringing calls: each gets 487 and the CANCEL 200, whichever worker read it;
 * - carol registered over TCP (held by worker 0) is called over UDP many times: the workers
 *   that do not hold her connection hand their sends to the one that does;
 * - a MESSAGE to dave while he is offline is stored (202) by worker 0 and delivered once when he
 *   registers through worker 1 (worker 0 hears of the registration as a copy);
 * - presence from registration: bob watches erin; erin's REGISTER, owned by worker 1, reaches the
 *   presence server of worker 0 as a copied binding, and bob's NOTIFY says open;
 * - SIGTERM: exit 0, and each worker reports that it read datagrams and that hand-overs went
 *   both ways.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { datagramOwner } from '../../src/cluster/index.ts';
import { newTag } from '../../src/shared/index.ts';
import type { Destination, TransportProtocol } from '../../src/transport/index.ts';
import { runCli, spawnCli } from '../support/cli.ts';
import { call, digestCredentials, DOMAIN, received, register, startPhone, USERS, type Phone, type Proxy } from '../support/proxy.ts';
import { freePort, SippProcess, waitFor } from '../support/sipp.ts';

let root: string;
let port: number;
let server: ReturnType<typeof spawnCli>;
let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
/** The register/call helpers need only the server's addresses. */
let proxy: Proxy;
let bob: Phone;
let carol: Phone;
let alice: Phone;

/** A Call-ID that `worker` owns (the server's own owner function, over a minimal request). */
function callIdOwnedBy(worker: number, prefix: string): string {
  for (let i = 0; ; i++) {
    const candidate = `${prefix}-${i}@${DOMAIN}`;
    if (datagramOwner(Buffer.from(`REGISTER sip:${DOMAIN} SIP/2.0\r\nCall-ID: ${candidate}\r\n\r\n`), 2) === worker) return candidate;
  }
}

/** Answers INVITE with 180 then, 30 ms later, 200 (or rings for ever when `ringOnly`), BYE with 200. */
function answer(phone: Phone, ringOnly = false): void {
  phone.ua.onRequest = (incoming) => {
    const method = incoming.request.method;
    if (method === 'INVITE') {
      const toTag = newTag();
      incoming.respond(180, { toTag });
      // a phone rings before it answers: a 200 sent in the same millisecond as the 180 may
      // overtake it between workers (one read it, the other owns it), as UDP may reorder anyway
      if (!ringOnly) setTimeout(() => phone.ua.answer(incoming, 200, { toTag }), 30);
    } else if (method === 'BYE') {
      incoming.respond(200);
    } else {
      incoming.respond(501);
    }
  };
}

describe('worker mode (--workers 2)', { timeout: 150_000 }, () => {
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'sipline-workers-'));
    const data = join(root, 'data');
    const domain = await runCli(['domain', 'add', DOMAIN, '--data', data]);
    assert.equal(domain.code, 0, domain.stderr);
    for (const [user, password] of Object.entries({ ...USERS, dave: 'dave-secret', erin: 'erin-secret' })) {
      const added = await runCli(['user', 'add', `${user}@${DOMAIN}`, '--password', password, '--data', data]);
      assert.equal(added.code, 0, added.stderr);
    }
    port = await freePort();
    const config = join(root, 'sipline.yaml');
    writeFileSync(config, 'presence:\n  from_registration: true\n');
    server = spawnCli(['start', '--config', config, '--workers', '2', '--listen', `udp:127.0.0.1:${port}`, '--listen', `tcp:127.0.0.1:${port}`, '--domain', DOMAIN, '--data', data, '--log-level', 'warn']);
    exited = new Promise((resolve) => server.child.once('exit', (code, signal) => resolve({ code, signal })));
    await waitFor(() => /sipline runs 2 worker processes/.test(server.output.stdout) || server.child.exitCode !== null, 30_000, `the server to start (stderr: ${server.output.stderr})`);
    assert.equal(server.child.exitCode, null, `the server exited: ${server.output.stderr}`);
    assert.match(server.output.stdout, new RegExp(`^sipline listening on udp:127\\.0\\.0\\.1:${port}$`, 'm'));
    assert.match(server.output.stdout, new RegExp(`^sipline listening on tcp:127\\.0\\.0\\.1:${port}$`, 'm'));
    const destination = (protocol: TransportProtocol = 'udp'): Destination => ({ protocol, address: '127.0.0.1', port });
    proxy = { server: undefined as never, udpPort: port, tcpPort: port, destination, address: () => `127.0.0.1:${port}` };
    bob = await startPhone('bob');
    carol = await startPhone('carol', ['tcp']);
    alice = await startPhone('alice');
    assert.equal((await register(bob, proxy)).status, 200, 'bob registers over UDP');
    assert.equal((await register(carol, proxy, { protocol: 'tcp' })).status, 200, 'carol registers over TCP');
  });

  after(async () => {
    await Promise.all([bob?.ua.close(), carol?.ua.close(), alice?.ua.close()]);
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  test('60 sipp calls with digest auth reach bob through both workers, each completes', { timeout: 60_000 }, async () => {
    answer(bob);
    const sipp = await SippProcess.start({
      scenario: 'proxy-uac-auth-call.xml',
      remote: `127.0.0.1:${port}`,
      transport: 'u1',
      port: await freePort(),
      calls: 60,
      timeoutSeconds: 45,
      extra: ['-r', '20', '-key', 'domain', DOMAIN, '-key', 'caller', 'alice', '-s', 'bob', '-au', 'alice', '-ap', USERS.alice],
    });
    const result = await sipp.done;
    assert.equal(result.code, 0, result.describe());
    assert.equal(result.stats?.successful, 60, result.describe());
    assert.equal(result.stats?.failed, 0, result.describe());
  });

  test('CANCEL of ringing calls: 487 to each INVITE, 200 to each CANCEL', { timeout: 40_000 }, async () => {
    answer(bob, true);
    try {
      for (let i = 0; i < 12; i++) {
        let rang!: () => void;
        const ringing = new Promise<void>((resolve) => (rang = resolve));
        const outgoing = await call(alice, proxy, `sip:bob@${DOMAIN}`, { onProvisional: (r) => r.status === 180 && rang() });
        await ringing;
        const cancelled = await outgoing.cancel();
        assert.equal(cancelled.status, 200, `call ${i}: the CANCEL gets 200`);
        const final = await outgoing.final;
        assert.equal(final.status, 487, `call ${i}: the INVITE ends with 487`);
      }
    } finally {
      answer(bob);
    }
  });

  test('calls over UDP to a phone registered over TCP, from whichever worker handles them', { timeout: 40_000 }, async () => {
    answer(carol);
    for (let i = 0; i < 16; i++) {
      const outgoing = await call(alice, proxy, `sip:carol@${DOMAIN}`);
      const final = await outgoing.final;
      assert.equal(final.status, 200, `call ${i} to carol over TCP: ${final.status} ${final.reason}`);
      const bye = await outgoing.bye();
      assert.equal(bye.status, 200, `call ${i}: BYE through the proxy to carol`);
    }
  });

  test('a MESSAGE for an offline user is stored and delivered when he registers', { timeout: 40_000 }, async () => {
    const text = `hello from worker mode ${newTag()}`;
    const base = { method: 'MESSAGE', uri: `sip:dave@${DOMAIN}`, destination: proxy.destination(), to: `<sip:dave@${DOMAIN}>`, from: `<sip:alice@${DOMAIN}>;tag=${newTag()}`, callId: `msg-${newTag()}`, body: text, contentType: 'text/plain' };
    const challenge = await alice.ua.request({ ...base, cseq: 1 });
    assert.equal(challenge.status, 407, 'alice authenticates her MESSAGE');
    const credentials = digestCredentials(challenge.get('proxy-authenticate') ?? '', 'alice', USERS.alice, 'MESSAGE', base.uri);
    const stored = await alice.ua.request({ ...base, cseq: 2, headers: [['Proxy-Authorization', credentials]] });
    assert.equal(stored.status, 202, `stored for dave: ${stored.status} ${stored.reason}`);
    const dave = await startPhone('dave');
    try {
      dave.ua.onRequest = (incoming) => incoming.respond(200);
      // worker 1 handles the REGISTER; worker 0, which stored the message, hears of it as a copy
      assert.equal((await register(dave, proxy, { password: 'dave-secret', callId: callIdOwnedBy(1, 'reg-dave') })).status, 200, 'dave registers');
      await waitFor(() => received(dave, 'MESSAGE').length > 0, 10_000, 'the stored MESSAGE to reach dave');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const messages = received(dave, 'MESSAGE');
      assert.equal(messages.length, 1, 'delivered once, not once per worker');
      assert.equal(messages[0].message.body.toString(), text);
    } finally {
      await dave.ua.close();
    }
  });

  test('presence from registration follows a REGISTER that another worker handled', { timeout: 40_000 }, async () => {
    const notifies: string[] = [];
    bob.ua.onRequest = (incoming) => {
      if (incoming.request.method === 'NOTIFY') notifies.push(incoming.request.body.toString());
      incoming.respond(incoming.request.method === 'NOTIFY' ? 200 : 501);
    };
    const base = {
      method: 'SUBSCRIBE',
      uri: `sip:erin@${DOMAIN}`,
      destination: proxy.destination(),
      to: `<sip:erin@${DOMAIN}>`,
      from: `<sip:bob@${DOMAIN}>;tag=${newTag()}`,
      callId: `sub-${newTag()}`,
    };
    const headers: Array<[string, string]> = [['Event', 'presence'], ['Accept', 'application/pidf+xml'], ['Expires', '60'], ['Contact', `<${bob.ua.contactUri('udp')}>`]];
    const challenge = await bob.ua.request({ ...base, cseq: 1, headers });
    assert.equal(challenge.status, 407, 'bob authenticates his SUBSCRIBE');
    const credentials = digestCredentials(challenge.get('proxy-authenticate') ?? '', 'bob', USERS.bob, 'SUBSCRIBE', base.uri);
    const subscribed = await bob.ua.request({ ...base, cseq: 2, headers: [...headers, ['Proxy-Authorization', credentials]] });
    assert.ok(subscribed.status === 200 || subscribed.status === 202, `subscribed: ${subscribed.status} ${subscribed.reason}`);
    await waitFor(() => notifies.length >= 1, 10_000, 'the first NOTIFY');
    assert.doesNotMatch(notifies[0], /<basic>open<\/basic>/, 'erin is not online yet');

    // a REGISTER Call-ID that worker 1 owns: the binding reaches worker 0 only as a copy
    const callId = callIdOwnedBy(1, 'reg-erin');
    const erin = await startPhone('erin');
    try {
      assert.equal((await register(erin, proxy, { password: 'erin-secret', callId })).status, 200, 'erin registers through worker 1');
      await waitFor(() => notifies.some((n) => /<basic>open<\/basic>/.test(n)), 10_000, `a NOTIFY saying erin is online (got ${notifies.length})`);
    } finally {
      await erin.ua.close();
    }
  });

  test('SIGTERM stops every worker; both read datagrams and handed them over', { timeout: 30_000 }, async () => {
    server.child.kill('SIGTERM');
    const { code, signal } = await exited;
    assert.equal(signal, null, server.output.stderr);
    assert.equal(code, 0, server.output.stderr);
    const report = [...server.output.stdout.matchAll(/^sipline worker (\d): (\d+) datagrams read, (\d+) handed to other workers, (\d+) handed in$/gm)].map((m) => ({
      worker: Number(m[1]),
      read: Number(m[2]),
      out: Number(m[3]),
      in: Number(m[4]),
    }));
    assert.deepEqual(
      report.map((r) => r.worker).sort(),
      [0, 1],
      `one line per worker: ${server.output.stdout}`,
    );
    for (const r of report) {
      assert.ok(r.read > 0, `worker ${r.worker} read datagrams: ${JSON.stringify(r)}`);
      assert.ok(r.out > 0, `worker ${r.worker} handed datagrams to the other: ${JSON.stringify(r)}`);
      assert.ok(r.in > 0, `worker ${r.worker} was handed datagrams: ${JSON.stringify(r)}`);
    }
  });
});
