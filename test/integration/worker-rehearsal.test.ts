/**
 * Worker mode and the start-up rehearsal (src/rehearsal.ts): every worker process rehearses on a
 * private server whose sockets are its own (bound exclusive, not shared through the cluster
 * primary), completes every planned flow, and then serves the real listener.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawnCli } from '../support/cli.ts';
import { waitFor } from '../support/sipp.ts';

test('sipline start --workers 2: each worker rehearses on sockets of its own, then both serve', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sipline-worker-rehearsal-'));
  // port 0: the workers share the real listener through the cluster primary, which hands a second
  // request for 127.0.0.1:0 the socket it already has; a private server's socket asked for the
  // same way would be that real listener
  const { child, output } = spawnCli(['start', '--workers', '2', '--listen', 'udp:127.0.0.1:0', '--domain', 'rehearsal.test', '--data', dir, '--log-level', 'info']);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const socket = dgram.createSocket('udp4');
  try {
    await waitFor(() => /^sipline runs 2 worker processes$/m.test(output.stdout) || child.exitCode !== null, 45_000, `the server to start (stdout: ${output.stdout}; stderr: ${output.stderr})`);
    assert.equal(child.exitCode, null, `the server exited while starting: ${output.stderr}`);
    const rehearsals = `${output.stdout}\n${output.stderr}`
      .split('\n')
      .filter((line) => line.includes('start-up rehearsal done'))
      .map((line) => JSON.parse(line.slice(line.indexOf('{'))) as { completed: number; failed: number; planned: number });
    assert.equal(rehearsals.length, 2, `one rehearsal per worker: ${output.stdout}\n${output.stderr}`);
    // a private socket shared with the other worker would split flows between two private servers,
    // whose nonces the other does not know: registrations would fail
    for (const r of rehearsals) assert.deepEqual({ completed: r.completed, failed: r.failed }, { completed: r.planned, failed: 0 }, 'every planned flow completed, as it should, on the private server');

    const port = Number(/^sipline listening on udp:127\.0\.0\.1:(\d+)$/m.exec(output.stdout)?.[1]);
    assert.ok(port > 0, `the listener's port is announced: ${output.stdout}`);
    // the real listener answers: OPTIONS to the server itself, from several Call-IDs (so both workers serve some)
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const answers = new Map<string, string>();
    socket.on('message', (data) => {
      const text = data.toString('latin1');
      const callId = /^Call-ID:\s*(\S+)/im.exec(text)?.[1];
      if (callId !== undefined) answers.set(callId, text.slice(0, text.indexOf('\r\n')));
    });
    const callIds = Array.from({ length: 8 }, (_, i) => `worker-rehearsal-${i}@127.0.0.1`);
    for (const [i, callId] of callIds.entries()) {
      const request = [
        `OPTIONS sip:127.0.0.1:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${socket.address().port};branch=z9hG4bK-wr${i};rport`,
        'Max-Forwards: 70',
        `From: <sip:probe@elsewhere.test>;tag=wr${i}`,
        `To: <sip:127.0.0.1:${port}>`,
        `Call-ID: ${callId}`,
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      socket.send(request, port, '127.0.0.1');
    }
    await waitFor(() => answers.size === callIds.length, 10_000, `answers to every OPTIONS (got ${[...answers.values()].join(', ')})`);
    for (const callId of callIds) assert.equal(answers.get(callId), 'SIP/2.0 200 OK');
  } finally {
    socket.close();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  }
});
