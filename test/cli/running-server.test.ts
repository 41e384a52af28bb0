/**
 * Provisioning on a running server, each step a separate process: `sipline start` with --domain,
 * then `sipline user add` against the same data directory, then a REGISTER with digest
 * authentication (RFC 3261 §22.4) that gets 200 without a restart; `sipline location` then shows
 * the binding the server wrote behind. Also SIGHUP (script reload) and SIGTERM (exit 0).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { computeHa1, computeResponse } from '../../src/services/auth/index.ts';
import { parseAuthHeader } from '../../src/sip/index.ts';
import { UserAgent } from '../../src/ua/index.ts';
import { runCli, spawnCli } from '../support/cli.ts';
import { delay, freePort, waitFor } from '../support/sipp.ts';
import { TestPki } from '../support/tls-certs.ts';

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'sipline-running-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('provisioning a running server', { timeout: 90_000 }, () => {
  test('user add in another process takes effect at once: REGISTER with digest gets 200; location shows it', { timeout: 60_000 }, async () => {
    const data = join(root, 'data');
    const port = await freePort();
    const { child, output } = spawnCli(['start', '--listen', `udp:127.0.0.1:${port}`, '--domain', 'example.test', '--data', data, '--log-level', 'info']);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const ua = await UserAgent.create({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], user: 'alice' });
    try {
      await waitFor(() => /sipline routing script/.test(output.stdout) || child.exitCode !== null, 20_000, `the server to start (stderr: ${output.stderr})`);
      assert.match(output.stdout, new RegExp(`^sipline listening on udp:127\\.0\\.0\\.1:${port}$`, 'm'));
      assert.match(output.stdout, /^sipline serves domain example\.test$/m);
      assert.ok(output.stdout.includes(`sipline data in ${data} (store ${join(data, 'sipline.sqlite')})`), output.stdout);
      assert.match(output.stdout, /^sipline routing script: the default script$/m);

      const add = await runCli(['user', 'add', 'alice@example.test', '--password', 'pw', '--data', data]);
      assert.equal(add.code, 0, add.stderr);

      const destination = { protocol: 'udp' as const, address: '127.0.0.1', port };
      const callId = `cli-register-${Date.now()}@127.0.0.1`;
      const base = { method: 'REGISTER', uri: 'sip:example.test', to: '<sip:alice@example.test>', from: '<sip:alice@example.test>;tag=x', callId, destination };
      const challenge = await ua.request({ ...base, cseq: 1 });
      assert.equal(challenge.status, 401);
      const params = parseAuthHeader(challenge.get('www-authenticate') ?? '', 'WWW-Authenticate').params;
      assert.equal(params.get('realm'), 'example.test');
      const nonce = params.get('nonce') ?? '';
      const uri = 'sip:example.test';
      const ha1 = computeHa1('MD5', 'alice', 'example.test', 'pw');
      const qop = { nc: '00000001', cnonce: 'c0ffee' };
      const response = computeResponse({ algorithm: 'MD5', ha1, method: 'REGISTER', uri, nonce, qop });
      const authorization = `Digest username="alice", realm="example.test", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=${qop.nc}, cnonce="${qop.cnonce}"`;
      const ok = await ua.request({ ...base, cseq: 2, headers: [['Authorization', authorization]] });
      assert.equal(ok.status, 200, `REGISTER answered ${ok.status} ${ok.reason}`);
      assert.match(ok.get('contact') ?? '', /sip:alice@127\.0\.0\.1:\d+/);

      // the location service writes bindings behind (every 200 ms)
      await delay(400);
      const loc = await runCli(['location', '--data', data]);
      assert.equal(loc.code, 0, loc.stderr);
      const [header, row] = loc.stdout.trim().split('\n');
      assert.match(header, /^AOR\s+CONTACT\s+EXPIRES IN\s+Q\s+RECEIVED\s+USER AGENT$/);
      assert.match(row, /^alice@example\.test\s+<?sip:alice@127\.0\.0\.1:\d+>?\s+3[56]\d\ds\s+1\s+udp:127\.0\.0\.1:\d+\s+/);
      const one = await runCli(['location', 'sip:alice@example.test', '--data', data]);
      assert.equal(one.stdout.trim().split('\n').length, 2);
      const none = await runCli(['location', 'bob@example.test', '--data', data]);
      assert.equal(none.code, 0);
      assert.equal(none.stdout, '');
      assert.match(none.stderr, /no bindings for bob@example\.test/);

      // the server told the data directory which domains it serves
      assert.deepEqual(JSON.parse(readFileSync(join(data, 'server.json'), 'utf8')).domains, [{ name: 'example.test', realm: 'example.test', aliases: [] }]);

      // SIGHUP reloads the routing script and the server keeps answering
      child.kill('SIGHUP');
      await waitFor(() => /routing script reloaded/.test(output.stdout), 10_000, `the reload log line (stdout: ${output.stdout})`);
      const again = await ua.request({ ...base, callId: `${callId}-2`, cseq: 1 });
      assert.equal(again.status, 401);

      child.kill('SIGTERM');
      const { code, signal } = await exited;
      assert.equal(signal, null);
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await ua.close();
    }
  });

  test('SIGHUP reloads the TLS certificates from their files: new connections get the renewed one, without a restart', { timeout: 60_000 }, async () => {
    const pki = new TestPki();
    const before = pki.issue('before', 'sip.example.test', ['DNS:sip.example.test']);
    const renewed = pki.issue('renewed', 'sip.example.test', ['DNS:sip.example.test']);
    const dir = join(root, 'tls-reload');
    const certificate = join(root, 'served-cert.pem');
    const privateKey = join(root, 'served-key.pem');
    copyFileSync(before.certificateFile, certificate);
    copyFileSync(before.privateKeyFile, privateKey);
    const port = await freePort();
    const config = join(root, 'tls-reload.yaml');
    writeFileSync(config, `listen: [tls:127.0.0.1:${port}]\ndata: ${dir}\ntls:\n  certificate: ${certificate}\n  private_key: ${privateKey}\n`);
    const { child, output } = spawnCli(['start', '--config', config, '--log-level', 'info']);
    // the certificate a new TLS connection is shown, by serial number
    const served = () =>
      new Promise<string>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port, servername: 'sip.example.test', ca: pki.ca.certificate }, () => {
          resolve(socket.getPeerCertificate().serialNumber);
          socket.end();
        });
        socket.once('error', reject);
      });
    const serial = (pem: Buffer) => new X509Certificate(pem).serialNumber;
    try {
      await waitFor(() => /sipline routing script/.test(output.stdout) || child.exitCode !== null, 20_000, `the server to start (stderr: ${output.stderr})`);
      assert.equal(await served(), serial(before.certificate));
      // renewed in place, as certbot or an operator does, then SIGHUP
      copyFileSync(renewed.certificateFile, certificate);
      copyFileSync(renewed.privateKeyFile, privateKey);
      assert.equal(await served(), serial(before.certificate), 'nothing changes before the signal');
      child.kill('SIGHUP');
      await waitFor(() => /TLS certificates reloaded/.test(output.stdout), 10_000, `the reload log line (stdout: ${output.stdout})`);
      assert.equal(await served(), serial(renewed.certificate));
      // a broken file on the next SIGHUP: the certificate in use stays, with an error that says so
      writeFileSync(privateKey, 'not a key');
      child.kill('SIGHUP');
      await waitFor(() => /cannot reload the TLS certificates; the previous ones stay/.test(output.stdout + output.stderr), 10_000, 'the reload error');
      assert.equal(await served(), serial(renewed.certificate));
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      pki.cleanup();
    }
  });

  test('a port in use: exit 1 with the reason', { timeout: 30_000 }, async () => {
    const port = await freePort();
    const ua = await UserAgent.create({ listen: [{ protocol: 'udp', host: '127.0.0.1', port }] });
    try {
      const r = await runCli(['start', '--listen', `udp:127.0.0.1:${port}`, '--data', join(root, 'busy'), '--log-level', 'silent']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /cannot start: .*EADDRINUSE/);
    } finally {
      await ua.close();
    }
  });

  test('pretty logs are human-readable lines', { timeout: 30_000 }, async () => {
    const { child, output } = spawnCli(['start', '--listen', 'udp:127.0.0.1:0', '--data', join(root, 'pretty'), '--log-format', 'pretty']);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor(() => /sipline started/.test(output.stdout) || child.exitCode !== null, 20_000, `the server to start (stderr: ${output.stderr})`);
      assert.match(output.stdout, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: sipline started/m);
      assert.doesNotMatch(output.stdout, /^\{"level"/m);
      child.kill('SIGINT');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
