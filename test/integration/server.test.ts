/**
 * The stack server (startServer from src/app.ts) over real sockets: sipp OPTIONS over UDP and
 * TCP, an INVITE rejected with 404 and ACKed (Completed → Confirmed, no 404 retransmission), and
 * what the transport does with malformed input: 400 for a request it can answer (RFC 3261
 * §18.3, §8.2), silent drop for one it cannot, drop for garbage, and a closed connection for a
 * TCP stream that cannot be framed. Then the real CLI as a child process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startServer, type RunningServer } from '../../src/app.ts';
import { MemoryStore } from '../../src/store/index.ts';
import { UserAgent } from '../../src/ua/index.ts';
import { delay, freePort, runSipp, waitFor } from '../support/sipp.ts';

let server: RunningServer;
let udpPort: number;
let tcpPort: number;

function port(protocol: 'udp' | 'tcp'): number {
  const l = server.listeners.find((x) => x.protocol === protocol);
  assert.ok(l !== undefined);
  return l.port;
}

/** A dgram client that collects what comes back. */
async function datagramClient(): Promise<{ socket: dgram.Socket; port: number; received: string[]; send(text: string | Buffer): void }> {
  const socket = dgram.createSocket('udp4');
  const received: string[] = [];
  socket.on('message', (d) => received.push(d.toString('latin1')));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const local = socket.address().port;
  return { socket, port: local, received, send: (text) => socket.send(typeof text === 'string' ? Buffer.from(text, 'latin1') : text, udpPort, '127.0.0.1') };
}

let seq = 0;
function rawRequest(method: string, localPort: number, extra: string[], body = ''): string {
  seq++;
  return [
    `${method} sip:127.0.0.1:${udpPort} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${localPort};branch=z9hG4bKraw${seq}x${Date.now()};rport`,
    `From: <sip:raw@127.0.0.1>;tag=raw${seq}`,
    `To: <sip:probe@127.0.0.1>`,
    `Call-ID: raw-${seq}-${Date.now()}@127.0.0.1`,
    `Max-Forwards: 70`,
    ...extra,
    '',
    body,
  ].join('\r\n');
}

describe('stack server', { timeout: 60_000 }, () => {
  before(async () => {
    server = await startServer({
      listen: [
        { protocol: 'udp', host: '127.0.0.1', port: 0 },
        { protocol: 'tcp', host: '127.0.0.1', port: 0 },
      ],
      store: new MemoryStore(),
      logLevel: 'silent',
    });
    udpPort = port('udp');
    tcpPort = port('tcp');
  });
  after(async () => {
    await server.stop();
  });

  for (const [transport, mode] of [['udp', 'u1'], ['tcp', 't1']] as const) {
    test(`sipp OPTIONS over ${transport} gets 200 with Allow`, { timeout: 30_000 }, async () => {
      const calls = 3;
      const result = await runSipp({
        scenario: 'options.xml',
        remote: `127.0.0.1:${transport === 'udp' ? udpPort : tcpPort}`,
        transport: mode,
        port: await freePort(),
        calls,
        extra: ['-r', '20'],
      });
      assert.equal(result.code, 0, result.describe());
      assert.equal(result.stats?.successful, calls, result.describe());
      assert.equal(result.stats?.failed, 0, result.describe());
      assert.equal(result.rows.find((r) => r.label === '200')?.messages, calls, result.describe());
    });
  }

  test('sipp INVITE gets 404, its ACK confirms the transaction and stops the 404 retransmissions', { timeout: 30_000 }, async () => {
    const calls = 2;
    const sentBefore = server.counters.get('transport.udp.sent');
    const result = await runSipp({
      scenario: 'invite-404.xml',
      remote: `127.0.0.1:${udpPort}`,
      transport: 'u1',
      port: await freePort(),
      calls,
      extra: ['-r', '10'],
    });
    assert.equal(result.code, 0, result.describe());
    assert.equal(result.stats?.successful, calls, result.describe());
    const row404 = result.rows.find((r) => r.label === '404');
    assert.equal(row404?.messages, calls, result.describe());
    // sipp paused 1.2 s after its ACK, longer than T1 = 500 ms (the first Timer G): no 404 came again
    assert.equal(row404?.retrans, 0, result.describe());
    // the proxy sends 100 Trying at once (RFC 3261 §16.2), then the 404, and nothing else
    assert.equal(server.counters.get('transport.udp.sent') - sentBefore, 2 * calls, 'one 100 and one 404 per INVITE and nothing else');
    assert.equal(server.counters.get('transaction.server_timeout'), 0);
  });

  test('malformed requests over UDP get 400 where a response can be formed; the server keeps answering', { timeout: 10_000 }, async () => {
    const client = await datagramClient();
    try {
      const errorsBefore = server.counters.get('sip.parse_errors');
      const droppedBefore = server.counters.get('sip.dropped');
      const answeredBefore = server.counters.get('sip.bad_requests_answered');

      // Content-Length larger than the datagram's body: 400 (RFC 3261 §18.3)
      client.send(rawRequest('OPTIONS', client.port, ['CSeq: 1 OPTIONS', 'Content-Length: 50'], 'short'));
      await waitFor(() => client.received.length === 1, 2000, '400 for a bad Content-Length');
      assert.match(client.received[0], /^SIP\/2\.0 400 /);
      assert.match(client.received[0], /\r\nCSeq: 1 OPTIONS\r\n/);
      assert.match(client.received[0], /\r\nWarning: 399 sipline "[^"]*Content-Length[^"]*"\r\n/i);
      // the response went to our source port with received/rport stamped (RFC 3581 §4)
      const via = /\r\nVia: ([^\r]*)\r\n/.exec(client.received[0])?.[1] ?? '';
      assert.match(via, new RegExp(`^SIP/2\\.0/UDP 127\\.0\\.0\\.1:${client.port};branch=z9hG4bKraw`));
      assert.match(via, new RegExp(`;rport=${client.port}(;|$)`));
      assert.match(via, /;received=127\.0\.0\.1(;|$)/);

      // a Content-Length that is not a number: 400
      client.send(rawRequest('OPTIONS', client.port, ['CSeq: 2 OPTIONS', 'Content-Length: abc']));
      await waitFor(() => client.received.length === 2, 2000, '400 for Content-Length: abc');
      assert.match(client.received[1], /^SIP\/2\.0 400 /);

      // a CSeq without a number: 400
      client.send(rawRequest('OPTIONS', client.port, ['CSeq: abc OPTIONS', 'Content-Length: 0']));
      await waitFor(() => client.received.length === 3, 2000, '400 for a bad CSeq');
      assert.match(client.received[2], /^SIP\/2\.0 400 /);

      // no CSeq at all: a response must echo CSeq (§8.2.6.2), so the request is dropped and counted
      client.send(rawRequest('OPTIONS', client.port, ['Content-Length: 0']));
      // garbage: dropped and counted
      client.send(Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe, 0x47, 0x41, 0x52, 0x42, 0x41, 0x47, 0x45, 0x0d, 0x0a, 0x0d, 0x0a]));
      await waitFor(() => server.counters.get('sip.parse_errors') - errorsBefore === 5, 2000, 'five parse errors counted');
      assert.equal(server.counters.get('sip.dropped') - droppedBefore, 2, 'the request without CSeq and the garbage were dropped');
      assert.equal(server.counters.get('sip.bad_requests_answered') - answeredBefore, 3);

      // still answering: a good OPTIONS gets 200
      client.send(rawRequest('OPTIONS', client.port, ['CSeq: 7 OPTIONS', 'Content-Length: 0']));
      await waitFor(() => client.received.length === 4, 2000, '200 for a good OPTIONS');
      assert.match(client.received[3], /^SIP\/2\.0 200 OK\r\n/);
      assert.match(client.received[3], /\r\nCSeq: 7 OPTIONS\r\n/);
      await delay(100);
      assert.equal(client.received.length, 4, 'nothing came back for the dropped ones');
    } finally {
      client.socket.close();
    }
  });

  test('a TCP stream without Content-Length is closed and counted; new connections still work', { timeout: 10_000 }, async () => {
    const brokenBefore = server.counters.get('transport.tcp.broken_streams');
    const socket = net.connect(tcpPort, '127.0.0.1');
    let data = '';
    socket.on('data', (d) => (data += d.toString('latin1')));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const local = socket.localPort ?? 0;
    socket.write(rawRequest('OPTIONS', local, ['CSeq: 1 OPTIONS']).replace('SIP/2.0/UDP', 'SIP/2.0/TCP'));
    await closed;
    assert.equal(data, '', 'a stream that cannot be framed gets no response');
    assert.equal(server.counters.get('transport.tcp.broken_streams') - brokenBefore, 1);

    // the server is fine: a UA over TCP gets 200 to OPTIONS
    const ua = await UserAgent.create({ listen: [{ protocol: 'tcp', host: '127.0.0.1', port: 0 }] });
    try {
      const response = await ua.request({ method: 'OPTIONS', uri: `sip:127.0.0.1:${tcpPort};transport=tcp` });
      assert.equal(response.status, 200);
    } finally {
      await ua.close();
    }
  });
});

test('a server on 0.0.0.0 knows every address of the machine as its own: OPTIONS sip:127.0.0.1 gets 200, not 403 Relaying Denied', { timeout: 15_000 }, async () => {
  const wildcard = await startServer({ listen: [{ protocol: 'udp', host: '0.0.0.0', port: 0 }], store: new MemoryStore(), logLevel: 'silent', advertisedHost: '192.0.2.2' });
  const socket = dgram.createSocket('udp4');
  const answers: string[] = [];
  socket.on('message', (d) => answers.push(d.toString('latin1')));
  try {
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const local = socket.address().port;
    const target = wildcard.listeners[0].port;
    const text = [
      `OPTIONS sip:127.0.0.1:${target} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK-wildcard-1`,
      'Max-Forwards: 70',
      'From: <sip:probe@monitor.example>;tag=w1',
      `To: <sip:127.0.0.1:${target}>`,
      'Call-ID: wildcard@127.0.0.1',
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    socket.send(text, target, '127.0.0.1');
    await waitFor(() => answers.length > 0, 5000, 'an answer to the OPTIONS');
    assert.match(answers[0], /^SIP\/2\.0 200 /, `answered by the server itself: ${answers[0]}`);
  } finally {
    socket.close();
    await wildcard.stop();
  }
});

describe('sipline CLI', { timeout: 30_000 }, () => {
  test('starts, prints its listeners, answers OPTIONS and stops on SIGTERM', { timeout: 20_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--listen', 'udp:127.0.0.1:0', '--listen', 'tcp:127.0.0.1:0', '--log-level', 'warn'], {
      cwd: new URL('../..', import.meta.url).pathname,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const ua = await UserAgent.create({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }] });
    try {
      await waitFor(() => /listening on tcp:/.test(stdout) || child.exitCode !== null, 15_000, `the CLI to start (stderr: ${stderr})`);
      const udp = /sipline listening on udp:127\.0\.0\.1:(\d+)\n/.exec(stdout);
      const tcp = /sipline listening on tcp:127\.0\.0\.1:(\d+)\n/.exec(stdout);
      assert.ok(udp !== null && tcp !== null, `stdout: ${stdout}\nstderr: ${stderr}`);
      assert.notEqual(Number(udp[1]), 0, 'the bound port is printed, not the requested 0');
      const response = await ua.request({ method: 'OPTIONS', uri: `sip:127.0.0.1:${udp[1]}` });
      assert.equal(response.status, 200);
      assert.match(response.get('allow') ?? '', /OPTIONS/);
      child.kill('SIGTERM');
      const { code, signal } = await exited;
      assert.equal(signal, null, 'the CLI handles SIGTERM itself');
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await ua.close();
    }
  });

  test('bad --listen exits 2 and names the option', { timeout: 20_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--listen', 'foo'], {
      cwd: new URL('../..', import.meta.url).pathname,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    try {
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      assert.equal(code, 2);
      assert.match(stderr, /--listen "foo"/);
      assert.match(stderr, /PROTOCOL:HOST\[:PORT\]/);
    } finally {
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
