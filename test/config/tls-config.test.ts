/**
 * The TLS and WebSocket parts of the configuration: listen specs for tls, ws and wss with their
 * default ports, the `tls` keys (files relative to the config file, read into the server config),
 * and the problems of settings that cannot work together.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { toServerConfig } from '../../src/cli/server-config.ts';
import { ConfigError, loadConfig, readListenSpec } from '../../src/config/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'sipline-tls-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'cert.pem'), 'CERT');
writeFileSync(join(dir, 'key.pem'), 'KEY');
writeFileSync(join(dir, 'ca.pem'), 'CA');

function problems(text: string): string[] {
  writeFileSync(join(dir, 'config.yaml'), text);
  try {
    loadConfig({ env: {}, cwd: dir, file: 'config.yaml' });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('the config was accepted');
}

describe('tls, ws and wss in the configuration', () => {
  test('listen specs of every transport, with their default ports', () => {
    assert.deepEqual(readListenSpec('tls:0.0.0.0'), { protocol: 'tls', host: '0.0.0.0', port: 5061 }, 'tls: 5061 (RFC 3261 §26.2)');
    assert.deepEqual(readListenSpec('WS:127.0.0.1'), { protocol: 'ws', host: '127.0.0.1', port: 8080 }, 'ws: 8080');
    assert.deepEqual(readListenSpec('wss:[::1]'), { protocol: 'wss', host: '::1', port: 8443 }, 'wss: 8443');
    assert.deepEqual(readListenSpec('wss:0.0.0.0:443'), { protocol: 'wss', host: '0.0.0.0', port: 443 }, 'an explicit port');
  });

  test('the tls keys: files relative to the config file, read into the server config', () => {
    writeFileSync(join(dir, 'other.pem'), 'OTHER');
    writeFileSync(
      join(dir, 'sipline.yaml'),
      [
        'listen: [udp:127.0.0.1, tls:127.0.0.1, wss:127.0.0.1]',
        'tls:',
        '  certificate: cert.pem',
        '  private_key: key.pem',
        '  min_version: TLSv1.3',
        '  ca: ca.pem',
        '  verify_clients: optional',
        '  trusted_peers: [trunk.carrier.example]',
        '  verify_server: false',
        '  domains:',
        '    other.example: { certificate: other.pem, private_key: key.pem }',
        '',
      ].join('\n'),
    );
    const { config } = loadConfig({ env: {}, cwd: '/', file: join(dir, 'sipline.yaml') });
    assert.equal(config.tls.certificate, join(dir, 'cert.pem'), 'relative to the file');
    assert.equal(config.tls.domains['other.example'].certificate, join(dir, 'other.pem'), 'per-domain files too');
    const server = toServerConfig(config);
    assert.equal(server.tls?.certificate.toString(), 'CERT', 'the certificate was read');
    assert.equal(server.tls?.privateKey.toString(), 'KEY', 'the key was read');
    assert.equal(server.tls?.ca?.toString(), 'CA', 'the CA was read');
    assert.equal(server.tls?.domains?.['other.example'].certificate.toString(), 'OTHER', 'the SNI certificate was read');
    assert.equal(server.tls?.minVersion, 'TLSv1.3', 'min_version');
    assert.equal(server.tls?.verifyClients, 'optional', 'verify_clients');
    assert.deepEqual(server.tls?.trustedPeers, ['trunk.carrier.example'], 'trusted_peers');
    assert.equal(server.tls?.verifyServer, false, 'verify_server');
    assert.equal(server.tls?.handshakeTimeoutMs, 10_000, 'handshake_timeout default');
  });

  test('no tls section: no TLS settings, TLS 1.2 and server verification by default', () => {
    writeFileSync(join(dir, 'plain.yaml'), 'listen: [udp:127.0.0.1]\n');
    const { config } = loadConfig({ env: {}, cwd: dir, file: 'plain.yaml' });
    assert.equal(config.tls.min_version, 'TLSv1.2', 'TLS 1.2 at least by default');
    assert.equal(config.tls.verify_server, true, 'servers are verified by default');
    assert.equal(config.tls.verify_clients, 'none', 'no client certificates by default');
    assert.equal(toServerConfig(config).tls, undefined, 'no certificate, no TLS settings');
  });

  test('a tls or wss listener without a certificate, and other settings that cannot work', () => {
    assert.deepEqual(problems('listen: [udp:127.0.0.1, tls:127.0.0.1]\n'), [
      'config.yaml: listen: the tls listener tls:127.0.0.1:5061 needs tls.certificate and tls.private_key (`sipline cert create` makes a pair for development) (line 1)',
    ]);
    assert.deepEqual(problems('listen: [wss:127.0.0.1:9443]\ntls: { certificate: cert.pem }\n'), [
      'config.yaml: listen: the wss listener wss:127.0.0.1:9443 needs tls.certificate and tls.private_key (`sipline cert create` makes a pair for development) (line 1)',
      'config.yaml: tls.private_key: is missing: tls.certificate and tls.private_key go together (line 2)',
    ]);
    assert.deepEqual(problems('tls:\n  certificate: cert.pem\n  private_key: key.pem\n  verify_clients: required\n'), [
      'config.yaml: tls.verify_clients: "required" needs tls.ca, the CA that client certificates must chain to (line 4)',
    ]);
    assert.deepEqual(problems('tls:\n  certificate: cert.pem\n  private_key: missing.pem\n  trusted_peers: [a.example]\n'), [
      'config.yaml: tls.trusted_peers: has no effect with tls.verify_clients "none": use optional or required (line 4)',
      `config.yaml: tls.private_key: ${JSON.stringify(join(dir, 'missing.pem'))}: no such file (line 3)`,
    ]);
    assert.deepEqual(problems('tls: { min_version: TLSv1.1 }\n'), ['config.yaml: tls.min_version: "TLSv1.1" is not one of: TLSv1.2, TLSv1.3 (line 1)']);
  });
});
