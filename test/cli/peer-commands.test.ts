/**
 * `sipline peer add/del/list` as a real child process on a temporary data directory: addresses
 * stored in canonical form, entries keyed by address, transport and port, configured peers listed
 * beside stored ones, and usage errors that exit 2 naming what to fix.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SqliteStore } from '../../src/store/index.ts';
import { runCli } from '../support/cli.ts';

const root = mkdtempSync(join(tmpdir(), 'sipline-peer-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('peer commands', { timeout: 120_000 }, () => {
  test('add, list, del; the server store sees the entries', async () => {
    const data = join(root, 'data');
    let r = await runCli(['peer', 'add', '10.1.2.3/8', '--transport', 'UDP', '--port', '5060', '--group', 'carrier1', '--data', data]);
    assert.equal(r.code, 0, `peer add exits 0: ${r.stderr}`);
    assert.match(r.stdout, /added trusted peer 10\.0\.0\.0\/8 over udp from port 5060 \(group carrier1\)/, `canonical block: ${r.stdout}`);
    r = await runCli(['peer', 'add', '2001:DB8:0:0::7', '--data', data]);
    assert.equal(r.code, 0, `peer add IPv6 exits 0: ${r.stderr}`);
    assert.match(r.stdout, /added trusted peer 2001:db8::7$/m, `canonical IPv6: ${r.stdout}`);

    const config = join(root, 'sipline.yaml');
    writeFileSync(config, `data: ${data}\nsecurity:\n  trusted_peers:\n    - { address: 192.0.2.0/24, group: gw }\n`);
    r = await runCli(['peer', 'list', '--config', config]);
    assert.equal(r.code, 0, `peer list exits 0: ${r.stderr}`);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /^ADDRESS\s+TRANSPORT\s+PORT\s+GROUP\s+SOURCE$/, `a header line: ${r.stdout}`);
    assert.match(r.stdout, /192\.0\.2\.0\/24\s+any\s+any\s+gw\s+config/, `the configured peer: ${r.stdout}`);
    assert.match(r.stdout, /10\.0\.0\.0\/8\s+udp\s+5060\s+carrier1\s+store/, `the stored block: ${r.stdout}`);
    assert.match(r.stdout, /2001:db8::7\s+any\s+any\s+-\s+store/, `the stored IPv6 peer: ${r.stdout}`);

    const store = new SqliteStore(join(data, 'sipline.sqlite'));
    try {
      assert.equal((await store.listPeers()).length, 2, 'two stored peers');
    } finally {
      await store.close();
    }

    r = await runCli(['peer', 'del', '10.0.0.0/8', '--data', data]);
    assert.equal(r.code, 1, 'del without the transport and port it was added with finds nothing');
    assert.match(r.stderr, /give the same --transport and --port/, `the hint names the flags: ${r.stderr}`);
    r = await runCli(['peer', 'del', '10.0.0.0/8', '--transport', 'udp', '--port', '5060', '--data', data]);
    assert.equal(r.code, 0, `del with them exits 0: ${r.stderr}`);
    r = await runCli(['peer', 'list', '--data', data]);
    assert.doesNotMatch(r.stdout, /10\.0\.0\.0/, 'the deleted peer is gone');
  });

  test('bad addresses, transports and ports are usage errors', async () => {
    const data = join(root, 'data2');
    for (const [args, pattern] of [
      [['peer', 'add', 'example.com'], /ADDRESS "example\.com" is not an IP address or CIDR block/],
      [['peer', 'add', '10.0.0.0/40'], /ADDRESS "10\.0\.0\.0\/40" is not an IP address or CIDR block/],
      [['peer', 'add', '10.0.0.1', '--transport', 'sctp'], /--transport "sctp" is not one of: udp, tcp, tls, ws, wss/],
      [['peer', 'add', '10.0.0.1', '--port', '70000'], /--port "70000" is not a port number/],
    ] as const) {
      const r = await runCli([...args, '--data', data]);
      assert.equal(r.code, 2, `${args.join(' ')} exits 2`);
      assert.match(r.stderr, pattern, `${args.join(' ')}: ${r.stderr}`);
    }
  });
});
