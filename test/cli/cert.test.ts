/**
 * `sipline cert create`: a self-signed certificate and key for development TLS, usable as a
 * server certificate at once (a TLS listener starts with it and a client trusting it connects).
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { TransportLayer } from '../../src/transport/index.ts';
import { runCli } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'sipline-cert-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('sipline cert create', { timeout: 60_000 }, () => {
  test('writes cert.pem and key.pem for the given names; a TLS server runs with them', { timeout: 30_000 }, async () => {
    const out = join(dir, 'certs');
    const r = await runCli(['cert', 'create', '--out', out, '--name', 'sip.example.test', '--name', '127.0.0.1', '--days', '30']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /certificate .*cert\.pem/, 'prints the certificate path');
    assert.match(r.stderr, /tls: \{ certificate: /, 'shows the config lines');
    const certificate = new X509Certificate(readFileSync(join(out, 'cert.pem')));
    assert.equal(certificate.subjectAltName, 'DNS:sip.example.test, IP Address:127.0.0.1', 'every name in subjectAltName');
    assert.match(certificate.subject, /CN=sip\.example\.test/, 'the first name is the CN');
    const days = (Date.parse(certificate.validTo) - Date.now()) / 86_400_000;
    assert.ok(days > 29 && days <= 30, `valid 30 days: ${days}`);
    assert.equal(statSync(join(out, 'key.pem')).mode & 0o777, 0o600, 'the key is readable by its owner only');

    const layer = new TransportLayer({
      listen: [{ protocol: 'tls', host: '127.0.0.1', port: 0 }],
      tls: { certificate: readFileSync(join(out, 'cert.pem')), privateKey: readFileSync(join(out, 'key.pem')) },
    });
    await layer.start();
    try {
      const protocol = await new Promise<string | null>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port: layer.listeners()[0].port, ca: readFileSync(join(out, 'cert.pem')), servername: 'sip.example.test' }, () => {
          resolve(socket.getProtocol());
          socket.destroy();
        });
        socket.once('error', reject);
      });
      assert.equal(protocol, 'TLSv1.3', 'a client trusting the certificate connects');
    } finally {
      await layer.stop();
    }
  });

  test('refuses to overwrite without --force; rejects bad names and days', { timeout: 30_000 }, async () => {
    const out = join(dir, 'again');
    assert.equal((await runCli(['cert', 'create', '--out', out])).code, 0, 'first run');
    assert.ok(existsSync(join(out, 'cert.pem')), 'written');
    const again = await runCli(['cert', 'create', '--out', out]);
    assert.equal(again.code, 1, 'existing files: the command failed');
    assert.match(again.stderr, /cert\.pem exists; give --force to replace it/, 'says how to replace');
    assert.equal((await runCli(['cert', 'create', '--out', out, '--force'])).code, 0, '--force replaces');
    const badName = await runCli(['cert', 'create', '--out', out, '--force', '--name', 'not a host']);
    assert.equal(badName.code, 2, 'a bad name is a usage error');
    assert.match(badName.stderr, /--name "not a host" is not a host name or IP address/, 'names the flag');
    const badDays = await runCli(['cert', 'create', '--out', out, '--force', '--days', '0']);
    assert.equal(badDays.code, 2, 'bad days is a usage error');
    assert.match(badDays.stderr, /--days "0" is not a whole number of days from 1 to 36500/, 'says what is allowed');
    const noOut = await runCli(['cert', 'create']);
    assert.equal(noOut.code, 2, '--out is required');
  });
});
