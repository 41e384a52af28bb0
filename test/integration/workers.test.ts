/**
 * Worker mode over real sockets: `sipline start --workers 2` as a real process (the CLI through
 * tsx), with UDP and TCP listeners on one loopback port, driven by sipp and by UserAgent phones.
 *
 * Each datagram is read by whichever worker the kernel wakes and handed to the worker that owns
 * it (src/cluster/datagram-owner.ts): a request by FNV-1a(Call-ID) mod 2, a response by the "~i"
 * tag of the top Via branch. The tests choose Call-IDs (through the project's own owner function)
 * or read them from sipp's traces to know which worker handled a call, and read the worker tag
 * of the branch the server put on the INVITE it forwarded, to prove where it was forwarded from.
 *
 *  1. Registrations are shared: bob (sipp UAS) registers through one worker, and sipp alice's
 *     calls (407 digest, each its own Call-ID) reach him from both workers; every call completes.
 *  2. CANCEL: calls on both workers to carol (sipp UAS that rings forever) are cancelled: 200 for
 *     each CANCEL, 487 for each INVITE, and carol gets the proxy's ACK for her 487.
 *  3. A callee registered over TCP (held by worker 0 only) is reached by calls whose INVITEs
 *     land on worker 1 (stream sends handed to worker 0); answered, rejected and cancelled calls,
 *     each beside a control call owned by worker 0. The callee's responses come back over TCP to
 *     worker 0; they must reach the client transaction of worker 1: the proxy ACKs a non-2xx
 *     final, sends the CANCEL once a provisional came, and no transaction times out later (408).
 *  4. SIGTERM: exit 0 and per-worker lines showing datagrams read and hand-overs both ways.
 *  5. Bindings written by a worker (the non-home one) survive a restart in worker mode.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { datagramOwner } from '../../src/cluster/index.ts';
import { newTag } from '../../src/shared/index.ts';
import type { SipRequest, SipResponse } from '../../src/sip/index.ts';
import type { Destination, TransportProtocol } from '../../src/transport/index.ts';
import type { OutgoingCall } from '../../src/ua/index.ts';
import { runCli, spawnCli } from '../support/cli.ts';
import { digestCredentials, parseSippMessages, received, sippUser, startPhone, type Phone, type TracedMessage } from '../support/proxy.ts';
import { delay, freePort, SippProcess, waitFor } from '../support/sipp.ts';

const DOMAIN = 'example.test';
const WORKERS = 2;
const PASSWORDS: Record<string, string> = {
  alice: 'alice-pw-1',
  bob: 'bob-pw-2',
  carol: 'carol-pw-3',
  dave: 'dave-pw-4',
  erin: 'erin-pw-5',
};

/** The worker that owns a request with this Call-ID (what the server computes from the raw datagram). */
function ownerOf(callId: string): number {
  const datagram = Buffer.from(`INVITE sip:x@${DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\nCall-ID: ${callId}\r\nCSeq: 1 INVITE\r\n\r\n`);
  return datagramOwner(datagram, WORKERS);
}

/** A fresh Call-ID owned by `worker`. */
function callIdFor(worker: number, prefix: string): string {
  for (;;) {
    const id = `${prefix}-${newTag()}@127.0.0.1`;
    if (ownerOf(id) === worker) return id;
  }
}

/** The worker tag ("~i") of a branch the server created, or null. */
function branchWorker(via: string): number | null {
  const m = /;\s*branch=[^;,\s]*~(\d+)(?=[;,\s]|$)/i.exec(via);
  return m === null ? null : Number(m[1]);
}

interface Server {
  child: ReturnType<typeof spawnCli>['child'];
  output: { stdout: string; stderr: string };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startServer(data: string, port: number): Promise<Server> {
  const { child, output } = spawnCli([
    'start',
    '--workers', String(WORKERS),
    '--listen', `udp:127.0.0.1:${port}`,
    '--listen', `tcp:127.0.0.1:${port}`,
    '--domain', DOMAIN,
    '--data', data,
    '--log-level', 'warn',
  ]);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await waitFor(
    () => /^sipline runs 2 worker processes$/m.test(output.stdout) || child.exitCode !== null,
    30_000,
    `the server to start (stdout: ${output.stdout}; stderr: ${output.stderr})`,
  );
  assert.equal(child.exitCode, null, `the server exited while starting: ${output.stdout}\n${output.stderr}`);
  assert.match(output.stdout, new RegExp(`^sipline listening on udp:127\\.0\\.0\\.1:${port}$`, 'm'), `UDP listener announced: ${output.stdout}`);
  assert.match(output.stdout, new RegExp(`^sipline listening on tcp:127\\.0\\.0\\.1:${port}$`, 'm'), `TCP listener announced: ${output.stdout}`);
  return { child, output, exited };
}

function running(server: Server | undefined): server is Server {
  return server !== undefined && server.child.exitCode === null && server.child.signalCode === null;
}

/** SIGTERM, bounded: resolves with the exit; SIGKILLs after `ms`. */
async function stopServer(server: Server, ms = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), ms);
  try {
    return await server.exited;
  } finally {
    clearTimeout(timer);
  }
}

interface WorkerLine {
  read: number;
  handedOut: number;
  handedIn: number;
}

function workerLines(stdout: string): Map<number, WorkerLine> {
  const lines = new Map<number, WorkerLine>();
  const re = /^sipline worker (\d+): (\d+) datagrams read, (\d+) handed to other workers, (\d+) handed in$/gm;
  for (let m = re.exec(stdout); m !== null; m = re.exec(stdout)) lines.set(Number(m[1]), { read: Number(m[2]), handedOut: Number(m[3]), handedIn: Number(m[4]) });
  return lines;
}

// ---- UserAgent helpers (the Proxy fixtures of support/proxy.ts take an in-process server) ----

function serverAt(port: number, protocol: TransportProtocol = 'udp'): Destination {
  return { protocol, address: '127.0.0.1', port };
}

/** REGISTER user@example.test with the given Call-ID, answering the 401 once. */
async function registerPhone(phone: Phone, port: number, callId: string, protocol: TransportProtocol = 'udp', expires = 600): Promise<SipResponse> {
  const aor = `<sip:${phone.user}@${DOMAIN}>`;
  const base = {
    method: 'REGISTER',
    uri: `sip:${DOMAIN}`,
    destination: serverAt(port, protocol),
    to: aor,
    from: `${aor};tag=${newTag()}`,
    callId,
    headers: [['Contact', `<${phone.ua.contactUri(protocol)}>`], ['Expires', String(expires)]] as Array<[string, string]>,
  };
  const first = await phone.ua.request({ ...base, cseq: 1 });
  if (first.status !== 401) return first;
  const credentials = digestCredentials(first.get('www-authenticate') ?? '', phone.user, PASSWORDS[phone.user], 'REGISTER', `sip:${DOMAIN}`);
  return phone.ua.request({ ...base, cseq: 2, headers: [...base.headers, ['Authorization', credentials]] });
}

/** INVITE through the server with this Call-ID; the 407 is answered once (same Call-ID, CSeq 2). */
async function placeCall(phone: Phone, port: number, uri: string, callId: string, onProvisional?: (r: SipResponse) => void): Promise<OutgoingCall> {
  const spec = { uri, destination: serverAt(port), from: `<sip:${phone.user}@${DOMAIN}>;tag=${newTag()}`, callId, onProvisional };
  const first = await phone.ua.invite({ ...spec, cseq: 1 });
  const final = await first.final;
  if (final.status !== 407) return first;
  const credentials = digestCredentials(final.get('proxy-authenticate') ?? '', phone.user, PASSWORDS[phone.user], 'INVITE', uri);
  return phone.ua.invite({ ...spec, cseq: 2, headers: [['Proxy-Authorization', credentials]] });
}

/** Bounds a promise: rejects with `what` (evaluated then, when a function) after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${typeof what === 'string' ? what : what()}`)), ms)),
  );
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Registers `user` with sipp (register-auth.xml) from `port`, with a Call-ID owned by `worker`. */
async function sippRegister(user: string, port: number, serverPort: number, worker: number): Promise<void> {
  const callId = callIdFor(worker, `reg-${user}`);
  const run = await SippProcess.start({
    scenario: 'register-auth.xml',
    remote: `127.0.0.1:${serverPort}`,
    transport: 'u1',
    port,
    calls: 1,
    timeoutSeconds: 10,
    traceMessages: true,
    extra: [...sippUser(user, PASSWORDS[user]), '-cid_str', callId],
  });
  try {
    const result = await run.done;
    assert.equal(result.code, 0, `REGISTER of ${user}: ${result.describe()}`);
    assert.equal(result.stats?.successful, 1, `REGISTER of ${user} succeeded: ${result.describe()}`);
    const sent = parseSippMessages(result.messages).filter((m) => m.direction === 'sent');
    assert.equal(sent[0]?.headers('call-id')[0], callId, `sipp used the chosen Call-ID (owned by worker ${worker})`);
    run.cleanup();
  } finally {
    run.kill();
  }
}

/**
 * sipp as a callee behind the proxy: uas-call.xml, with the Record-Route of the INVITE copied
 * into 180 and 200 (RFC 3261 §12.1.1), so that the caller's ACK and BYE follow the route set
 * through the proxy (sipp sends everything to the proxy; an in-dialog request without our Route
 * would get 404). Written to the test's directory at run time.
 */
const UAS_CALL_RECORD_ROUTE = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="sipline workers uas call">
  <recv request="INVITE" crlf="true"/>
  <send>
    <![CDATA[

      SIP/2.0 180 Ringing
      [last_Via:]
      [last_Record-Route:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:bob@[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]>
  </send>
  <!-- a phone rings before it answers: a 200 sent in the same millisecond as the 180 may overtake
       it between workers (one read it, the other owns it), as UDP may reorder anyway -->
  <pause milliseconds="30"/>
  <send retrans="500">
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_Record-Route:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:bob@[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
  <recv request="BYE"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
</scenario>
`;

/**
 * sipp as a callee behind the proxy that rings and never answers: uas-cancel.xml, except that the
 * 487 carries the INVITE's Via values (saved from the INVITE): sipp's [last_Via:] after the
 * CANCEL is the CANCEL's single Via, and a 487 without the caller's Via cannot be relayed
 * (every INVITE here carries two Via values: the proxy's and the caller's).
 */
const UAS_CANCEL_INVITE_VIA = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="sipline workers uas cancel">
  <recv request="INVITE" crlf="true">
    <action>
      <!-- from the proxy's Via to the end of the caller's (the last received= on loopback; POSIX '.' spans lines) -->
      <ereg regexp="Via: .*received=127\\.0\\.0\\.1" search_in="msg" check_it="true" assign_to="1"/>
    </action>
  </recv>
  <send>
    <![CDATA[

      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:carol@[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]>
  </send>
  <recv request="CANCEL"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <send retrans="500">
    <![CDATA[

      SIP/2.0 487 Request Terminated
      [$1]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      CSeq: [last_cseq_number] INVITE
      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
</scenario>
`;

let root: string;
let data: string;
let port: number;
let server: Server | undefined;

describe('sipline start --workers 2', { timeout: 420_000 }, () => {
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'sipline-workers-'));
    data = join(root, 'data');
    writeFileSync(join(root, 'uas-call-rr.xml'), UAS_CALL_RECORD_ROUTE);
    writeFileSync(join(root, 'uas-cancel-via.xml'), UAS_CANCEL_INVITE_VIA);
    const domain = await runCli(['domain', 'add', DOMAIN, '--data', data]);
    assert.equal(domain.code, 0, `domain add: ${domain.stderr}`);
    for (const [user, password] of Object.entries(PASSWORDS)) {
      const add = await runCli(['user', 'add', `${user}@${DOMAIN}`, '--password', password, '--data', data]);
      assert.equal(add.code, 0, `user add ${user}: ${add.stderr}`);
    }
    port = await freePort();
    server = await startServer(data, port);
  });

  after(async () => {
    if (running(server)) await stopServer(server, 5_000);
    rmSync(root, { recursive: true, force: true });
  });

  test('registrations are shared: sipp alice’s calls (407 digest) reach sipp bob from both workers, and all complete', { timeout: 90_000 }, async () => {
    assert.ok(running(server), 'the server runs');
    const calls = 60;
    const bobPort = await freePort();
    // bob registers through worker 0: worker 1 knows him only from the copy it got
    await sippRegister('bob', bobPort, port, 0);
    const bob = await SippProcess.start({ scenario: join(root, 'uas-call-rr.xml'), transport: 'u1', port: bobPort, calls, timeoutSeconds: 60, traceMessages: true });
    let alice: SippProcess | undefined;
    try {
      await bob.waitListening('udp', bobPort);
      alice = await SippProcess.start({
        scenario: 'proxy-uac-auth-call.xml',
        remote: `127.0.0.1:${port}`,
        transport: 'u1',
        port: await freePort(),
        calls,
        timeoutSeconds: 60,
        traceMessages: true,
        extra: ['-key', 'domain', DOMAIN, '-key', 'caller', 'alice', '-s', 'bob', '-au', 'alice', '-ap', PASSWORDS.alice, '-r', '10', '-l', '20'],
      });
      const a = await alice.done;
      assert.equal(a.code, 0, `alice: ${a.describe()}`);
      assert.equal(a.stats?.successful, calls, `every call of alice succeeded: ${a.describe()}`);
      assert.equal(a.stats?.failed, 0, `no call of alice failed: ${a.describe()}`);
      const b = await within(bob.done, 30_000, 'sipp bob to end');
      assert.equal(b.code, 0, `bob: ${b.describe()}`);
      assert.equal(b.stats?.successful, calls, `bob completed every call (INVITE, ACK, BYE): ${b.describe()}`);

      // which worker owned each call (alice's Call-IDs), and which worker forwarded it to bob
      const aliceMessages = parseSippMessages(a.messages);
      const callIds = new Set(aliceMessages.filter((m) => m.direction === 'sent' && m.startLine.startsWith('INVITE ')).map((m) => m.headers('call-id')[0]));
      assert.equal(callIds.size, calls, 'each call had its own Call-ID');
      const owners = [...callIds].map(ownerOf);
      assert.ok(owners.filter((o) => o === 0).length > 0 && owners.filter((o) => o === 1).length > 0, `Call-IDs owned by both workers: ${owners.join('')}`);

      const bobMessages = parseSippMessages(b.messages).filter((m) => m.direction === 'received');
      const firstOf = (method: string) => new Map(bobMessages.filter((m) => m.startLine.startsWith(`${method} `)).map((m) => [m.headers('call-id')[0], m] as [string, TracedMessage]));
      const invites = firstOf('INVITE');
      assert.equal(invites.size, calls, `bob got the INVITE of every call: ${invites.size}`);
      const forwardedBy = [0, 0];
      for (const invite of invites.values()) {
        const callId = invite.headers('call-id')[0];
        assert.ok(callIds.has(callId), `the INVITE at bob belongs to one of alice's calls: ${callId}`);
        const tag = branchWorker(invite.headers('via')[0] ?? '');
        assert.equal(tag, ownerOf(callId), `the INVITE of ${callId} was forwarded by its owner worker (top Via ${invite.headers('via')[0]})`);
        forwardedBy[tag as number]++;
      }
      assert.ok(forwardedBy[0] > 0 && forwardedBy[1] > 0, `both workers forwarded INVITEs to bob (worker 0: ${forwardedBy[0]}, worker 1: ${forwardedBy[1]})`);
      assert.equal(firstOf('ACK').size, calls, 'bob got the ACK of every call');
      assert.equal(firstOf('BYE').size, calls, 'bob got the BYE of every call');

      // alice got 100/180/200 for the authenticated INVITE and 200 for the BYE of every call
      const got = (status: number, method: string) =>
        new Set(aliceMessages.filter((m) => m.direction === 'received' && m.startLine.startsWith(`SIP/2.0 ${status} `) && (m.headers('cseq')[0] ?? '').endsWith(` ${method}`)).map((m) => m.headers('call-id')[0])).size;
      assert.equal(got(407, 'INVITE'), calls, 'a 407 per call');
      assert.equal(got(180, 'INVITE'), calls, 'a 180 per call');
      assert.equal(got(200, 'INVITE'), calls, 'a 200 per call');
      assert.equal(got(200, 'BYE'), calls, 'a 200 for each BYE');
      alice.cleanup();
      bob.cleanup();
    } finally {
      alice?.kill();
      bob.kill();
    }
  });

  test('CANCEL on both workers: 200 for each CANCEL, 487 for each INVITE, and carol gets the ACK of her 487', { timeout: 60_000 }, async () => {
    assert.ok(running(server), 'the server runs');
    const perWorker = 4;
    const carolPort = await freePort();
    // carol registers through worker 1 this time
    await sippRegister('carol', carolPort, port, 1);
    const carol = await SippProcess.start({ scenario: join(root, 'uas-cancel-via.xml'), transport: 'u1', port: carolPort, calls: 2 * perWorker, timeoutSeconds: 30, traceMessages: true });
    const alice = await startPhone('alice');
    try {
      await carol.waitListening('udp', carolPort);
      const callIds = [0, 1].flatMap((w) => Array.from({ length: perWorker }, (_, i) => callIdFor(w, `cancel-${i}`)));
      const stage = new Map<string, string>();
      const results = await within(
        Promise.all(
          callIds.map(async (callId) => {
            let rang!: () => void;
            const ringing = new Promise<void>((resolve) => (rang = resolve));
            stage.set(callId, 'INVITE sent');
            const outgoing = await placeCall(alice, port, `sip:carol@${DOMAIN}`, callId, (r) => r.status === 180 && rang());
            await ringing;
            stage.set(callId, '180 received, CANCEL sent');
            const cancelled = await outgoing.cancel();
            stage.set(callId, `CANCEL answered ${cancelled.status}`);
            const final = await outgoing.final;
            stage.set(callId, `final ${final.status}`);
            return { callId, cancel: cancelled.status, cancelMethod: cancelled.cseq.method, final: final.status };
          }),
        ),
        30_000,
        () => `the cancelled calls: ${[...stage].map(([id, s]) => `${id} (worker ${ownerOf(id)}): ${s}`).join('; ')}`,
      );
      for (const r of results) {
        assert.equal(r.cancelMethod, 'CANCEL', `the response is the CANCEL's (${r.callId})`);
        assert.equal(r.cancel, 200, `200 for the CANCEL of ${r.callId} (worker ${ownerOf(r.callId)})`);
        assert.equal(r.final, 487, `487 for the INVITE of ${r.callId} (worker ${ownerOf(r.callId)})`);
      }
      const c = await within(carol.done, 20_000, 'sipp carol to end (it waits for the ACK of each 487)');
      assert.equal(c.code, 0, `carol: ${c.describe()}`);
      assert.equal(c.stats?.successful, 2 * perWorker, `carol saw INVITE, CANCEL and the ACK of her 487 for every call: ${c.describe()}`);
      const carolMessages = parseSippMessages(c.messages).filter((m) => m.direction === 'received');
      const byCall = (method: string) => new Map(carolMessages.filter((m) => m.startLine.startsWith(`${method} `)).map((m) => [m.headers('call-id')[0], m] as [string, TracedMessage]));
      const invites = byCall('INVITE');
      const cancels = byCall('CANCEL');
      const acks = byCall('ACK');
      for (const callId of callIds) {
        const invite = invites.get(callId);
        assert.ok(invite !== undefined, `carol got the INVITE of ${callId}`);
        const via = invite.headers('via')[0] ?? '';
        assert.equal(branchWorker(via), ownerOf(callId), `the INVITE of ${callId} came from its owner worker (${via})`);
        assert.equal(cancels.get(callId)?.headers('via')[0], via, `the CANCEL of ${callId} carries the INVITE's Via (§9.1)`);
        assert.equal(acks.get(callId)?.headers('via')[0], via, `the ACK of the 487 of ${callId} carries the INVITE's branch (§17.1.1.3)`);
      }
      carol.cleanup();
    } finally {
      carol.kill();
      await alice.ua.close();
    }
  });

  describe('a callee registered over TCP (its connection held by worker 0)', { timeout: 120_000 }, () => {
    let alice: Phone;
    let dave: Phone;
    /** The answered calls, checked once more after Timer B and F (64*T1 = 32 s) could have fired. */
    let answered: { callIds: string[]; startedAt: number } | undefined;
    before(async () => {
      alice = await startPhone('alice');
      dave = await startPhone('dave', ['tcp']);
      // over TCP the REGISTER is read by worker 0 whatever its Call-ID
      const ok = await registerPhone(dave, port, callIdFor(1, 'reg-dave'), 'tcp');
      assert.equal(ok.status, 200, `dave registered over TCP: ${ok.status} ${ok.reason}`);
      await delay(300); // the binding travels to worker 1 through the primary
    });
    after(async () => {
      await Promise.all([alice?.ua.close(), dave?.ua.close()]);
    });

    test('answered calls owned by worker 1 (and some by worker 0) complete: INVITE/180/200/ACK/BYE/200', { timeout: 40_000 }, async () => {
      assert.ok(running(server), 'the server runs');
      dave.inbound.length = 0;
      dave.ua.onRequest = (incoming) => {
        if (incoming.request.method === 'INVITE') {
          const toTag = newTag();
          incoming.respond(180, { toTag });
          dave.ua.answer(incoming, 200, { toTag });
        } else if (incoming.request.method === 'BYE') {
          incoming.respond(200);
        } else {
          incoming.respond(501);
        }
      };
      const callIds = [...Array.from({ length: 6 }, (_, i) => callIdFor(1, `tcp-w1-${i}`)), ...Array.from({ length: 2 }, (_, i) => callIdFor(0, `tcp-w0-${i}`))];
      answered = { callIds, startedAt: performance.now() };
      const outcomes = await within(
        Promise.all(
          callIds.map(async (callId) => {
            const outgoing = await placeCall(alice, port, `sip:dave@${DOMAIN}`, callId);
            const final = await outgoing.final;
            if (final.status !== 200) return { callId, final: final.status, bye: 0 };
            await waitFor(() => received(dave, 'ACK').some((t) => t.message.callId === callId), 5000, `the ACK of ${callId} at dave`);
            const bye = await outgoing.bye();
            return { callId, final: final.status, bye: bye.status };
          }),
        ),
        30_000,
        'the calls to dave',
      );
      for (const o of outcomes) {
        assert.equal(o.final, 200, `the call ${o.callId} (worker ${ownerOf(o.callId)}) was answered`);
        assert.equal(o.bye, 200, `the BYE of ${o.callId} (worker ${ownerOf(o.callId)}) got 200`);
      }
      for (const callId of callIds) {
        const invites = received(dave, 'INVITE').filter((t) => t.message.callId === callId);
        assert.equal(invites.length, 1, `dave got one INVITE for ${callId}`);
        assert.equal(invites[0].flow.protocol, 'tcp', 'over TCP');
        const invite = invites[0].message as SipRequest;
        assert.equal(branchWorker(invite.getAll('via')[0]), ownerOf(callId), `the INVITE of ${callId} was forwarded by its owner worker (${invite.getAll('via')[0]})`);
        assert.equal(received(dave, 'ACK').filter((t) => t.message.callId === callId).length, 1, `dave got one ACK for ${callId}`);
        assert.equal(received(dave, 'BYE').filter((t) => t.message.callId === callId).length, 1, `dave got one BYE for ${callId}`);
      }
    });

    test('a call owned by worker 1 rejected with 486 over TCP: alice gets 486, and the proxy ACKs dave’s 486', { timeout: 30_000 }, async () => {
      assert.ok(running(server), 'the server runs');
      dave.inbound.length = 0;
      dave.ua.onRequest = (incoming) => {
        if (incoming.request.method === 'INVITE') incoming.respond(486);
        else incoming.respond(501);
      };
      const callIds = [callIdFor(0, 'busy-w0'), callIdFor(1, 'busy-w1')];
      for (const callId of callIds) {
        const outgoing = await placeCall(alice, port, `sip:dave@${DOMAIN}`, callId);
        const final = await within(outgoing.final, 10_000, `the final response of ${callId}`);
        assert.equal(final.status, 486, `alice got dave's 486 (${callId}, worker ${ownerOf(callId)})`);
      }
      await delay(1000);
      for (const callId of callIds) {
        const invite = received(dave, 'INVITE').find((t) => t.message.callId === callId);
        assert.ok(invite !== undefined, `dave got the INVITE of ${callId}`);
        const acks = received(dave, 'ACK').filter((t) => t.message.callId === callId);
        assert.equal(acks.length, 1, `dave got the proxy's ACK for his 486 on ${callId} (owned by worker ${ownerOf(callId)}; INVITE Via ${(invite.message as SipRequest).getAll('via')[0]})`);
      }
    });

    test('a call owned by worker 1 cancelled while dave rings over TCP: 200 for the CANCEL, 487, and dave’s 487 is ACKed', { timeout: 30_000 }, async () => {
      assert.ok(running(server), 'the server runs');
      dave.inbound.length = 0;
      dave.ua.onRequest = (incoming) => {
        if (incoming.request.method === 'INVITE') incoming.respond(180);
        else incoming.respond(501);
      };
      const callIds = [callIdFor(0, 'ring-w0'), callIdFor(1, 'ring-w1')];
      for (const callId of callIds) {
        let rang!: () => void;
        const ringing = new Promise<void>((resolve) => (rang = resolve));
        const outgoing = await placeCall(alice, port, `sip:dave@${DOMAIN}`, callId, (r) => r.status === 180 && rang());
        await within(ringing, 10_000, `the 180 of ${callId}`);
        const cancelled = await within(outgoing.cancel(), 10_000, `the response to the CANCEL of ${callId}`);
        assert.equal(cancelled.status, 200, `200 for the CANCEL of ${callId} (worker ${ownerOf(callId)})`);
        const seenByDave = () =>
          dave.inbound
            .filter((t) => t.message.callId === callId)
            .map((t) => (t.message.isRequest ? (t.message as SipRequest).method : `${(t.message as SipResponse).status}`))
            .join(', ');
        const final = await within(outgoing.final, 10_000, () => `the final response of ${callId} (worker ${ownerOf(callId)}); dave received: ${seenByDave()}`);
        assert.equal(final.status, 487, `487 for the INVITE of ${callId} (worker ${ownerOf(callId)})`);
      }
      await delay(1000);
      for (const callId of callIds) {
        assert.equal(received(dave, 'CANCEL').filter((t) => t.message.callId === callId).length, 1, `dave got the CANCEL of ${callId}`);
        assert.equal(received(dave, 'ACK').filter((t) => t.message.callId === callId).length, 1, `dave got the proxy's ACK for his 487 on ${callId} (worker ${ownerOf(callId)})`);
      }
    });

    test('the answered calls left no transaction behind: no 408 for their INVITE or BYE once Timers B and F (32 s) have passed', { timeout: 60_000 }, async () => {
      assert.ok(running(server), 'the server runs');
      if (answered === undefined) assert.fail('the answered calls ran first');
      // a client transaction that never saw dave's responses times out after 64*T1 (Timer B for the
      // INVITE, F for the BYE), and the proxy then answers the caller 408 (RFC 3261 §16.7 step 6)
      const wait = answered.startedAt + 64 * 500 + 3000 - performance.now();
      if (wait > 0) await delay(wait);
      const late = alice.inbound
        .filter((t) => !t.message.isRequest && answered?.callIds.includes(t.message.callId))
        .map((t) => t.message as SipResponse)
        .filter((r) => r.status >= 300 && !(r.status === 407 && r.cseq.seq === 1));
      const describeLate = [...new Set(late.map((r) => `${r.status} ${r.cseq.seq} ${r.cseq.method} for ${r.callId} (worker ${ownerOf(r.callId)})`))];
      assert.deepEqual(describeLate, [], 'no error response reached alice for calls that were answered and hung up');
    });
  });

  test('SIGTERM: exit 0, and each worker reports datagrams read and hand-overs in both directions', { timeout: 30_000 }, async () => {
    if (!running(server)) assert.fail('the server runs');
    const stdoutBefore = server.output.stdout.length;
    const { code, signal } = await stopServer(server);
    assert.equal(signal, null, `the primary exited by itself, not by a signal (stderr: ${server.output.stderr})`);
    assert.equal(code, 0, `exit code 0 (stderr: ${server.output.stderr})`);
    const lines = workerLines(server.output.stdout.slice(stdoutBefore));
    assert.deepEqual([...lines.keys()].sort(), [0, 1], `one line per worker: ${server.output.stdout.slice(stdoutBefore)}`);
    const w0 = lines.get(0) as WorkerLine;
    const w1 = lines.get(1) as WorkerLine;
    for (const [i, w] of [w0, w1].entries()) {
      assert.ok(w.read > 0, `worker ${i} read datagrams from the shared socket: ${JSON.stringify(w)}`);
      assert.ok(w.handedOut > 0, `worker ${i} handed datagrams to the other: ${JSON.stringify(w)}`);
      assert.ok(w.handedIn > 0, `worker ${i} was handed datagrams: ${JSON.stringify(w)}`);
      assert.ok(w.handedOut <= w.read, `worker ${i} hands over only what it read: ${JSON.stringify(w)}`);
    }
    assert.equal(w0.handedOut, w1.handedIn, `what worker 0 handed over reached worker 1 (loopback link): ${JSON.stringify({ w0, w1 })}`);
    assert.equal(w1.handedOut, w0.handedIn, `what worker 1 handed over reached worker 0 (loopback link): ${JSON.stringify({ w0, w1 })}`);
  });

  test('restart: a binding made through worker 1 before a stop reaches calls on both workers after it', { timeout: 90_000 }, async () => {
    assert.ok(!running(server), 'the first server has stopped');
    const erin = await startPhone('erin');
    const alice = await startPhone('alice');
    try {
      server = await startServer(data, port);
      const ok = await registerPhone(erin, port, callIdFor(1, 'reg-erin'), 'udp', 3600);
      assert.equal(ok.status, 200, `erin registered through worker 1: ${ok.status} ${ok.reason}`);
      await delay(500); // the location service writes bindings behind
      const stopped = await stopServer(server);
      assert.equal(stopped.code, 0, `the server stopped cleanly: ${server.output.stderr}`);

      const loc = await runCli(['location', `erin@${DOMAIN}`, '--data', data]);
      assert.equal(loc.code, 0, `location: ${loc.stderr}`);
      assert.match(loc.stdout, new RegExp(`sip:erin@127\\.0\\.0\\.1:${erin.port()}`), `the binding was persisted: ${loc.stdout}`);

      server = await startServer(data, port);
      erin.ua.onRequest = (incoming) => {
        if (incoming.request.method === 'INVITE') erin.ua.answer(incoming, 200, { toTag: newTag() });
        else if (incoming.request.method === 'BYE') incoming.respond(200);
        else incoming.respond(501);
      };
      for (const callId of [callIdFor(0, 'after-restart-w0'), callIdFor(1, 'after-restart-w1')]) {
        const outgoing = await placeCall(alice, port, `sip:erin@${DOMAIN}`, callId);
        const final = await within(outgoing.final, 10_000, `the final response of ${callId}`);
        assert.equal(final.status, 200, `erin, registered before the restart, answered the call owned by worker ${ownerOf(callId)}`);
        const bye = await within(outgoing.bye(), 10_000, `the BYE of ${callId}`);
        assert.equal(bye.status, 200, `200 for the BYE of ${callId}`);
        const invite = received(erin, 'INVITE').find((t) => t.message.callId === callId);
        assert.ok(invite !== undefined, `erin got the INVITE of ${callId}`);
        assert.equal(branchWorker((invite.message as SipRequest).getAll('via')[0]), ownerOf(callId), `forwarded by worker ${ownerOf(callId)}`);
      }
      const last = await stopServer(server);
      assert.equal(last.code, 0, `exit 0 after the restart: ${server.output.stderr}`);
    } finally {
      if (running(server)) server.child.kill('SIGKILL');
      await Promise.all([erin.ua.close(), alice.ua.close()]);
    }
  });
});
