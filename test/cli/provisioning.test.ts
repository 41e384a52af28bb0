/**
 * The sipline command as a real child process on a temporary data directory: domains, users
 * (add, list, passwd, del), the CSV import of 100,000 rows, bad rows reported by line, and usage
 * errors that exit 2 naming the flag or argument to fix.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { computeHa1 } from '../../src/services/auth/index.ts';
import { SqliteStore } from '../../src/store/index.ts';
import { runCli } from '../support/cli.ts';

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'sipline-cli-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
function freshData(): string {
  return join(root, `data${++dirs}`);
}

async function withStore<T>(data: string, work: (store: SqliteStore) => Promise<T>): Promise<T> {
  const store = new SqliteStore(join(data, 'sipline.sqlite'));
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

describe('domain and user commands', { timeout: 120_000 }, () => {
  test('domain add/list; user add/list/passwd/del with HA1 over the domain realm', async () => {
    const data = freshData();
    let r = await runCli(['domain', 'add', 'example.test', '--realm', 'Example Realm', '--alias', 'alias.example.test', '--alias', '127.0.0.1', '--data', data]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /added domain example\.test \(realm Example Realm, aliases alias\.example\.test, 127\.0\.0\.1\)/);
    r = await runCli(['domain', 'add', 'other.test', '--data', data]);
    assert.equal(r.code, 0, r.stderr);

    r = await runCli(['domain', 'list', '--data', data]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /^DOMAIN\s+REALM\s+ALIASES\s+SOURCE$/);
    assert.match(lines[1], /^example\.test\s+Example Realm\s+alias\.example\.test,127\.0\.0\.1\s+store$/);
    assert.match(lines[2], /^other\.test\s+other\.test\s+-\s+store$/);

    r = await runCli(['user', 'add', 'alice@example.test', '--password', 'secret', '--data', data]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /added alice@example\.test \(realm Example Realm\)/);
    // an alias reaches the same domain: the user is stored under the domain's name
    r = await runCli(['user', 'add', 'bob@ALIAS.example.test', '--password', 'pw2', '--data', data]);
    assert.equal(r.code, 0, r.stderr);
    r = await runCli(['user', 'add', 'carol@other.test', '-p', 'pw3', '--data', data]);
    assert.equal(r.code, 0, r.stderr);

    await withStore(data, async (store) => {
      const alice = await store.getSubscriber('alice', 'example.test');
      assert.deepEqual(alice, {
        username: 'alice',
        domain: 'example.test',
        ha1Md5: computeHa1('MD5', 'alice', 'Example Realm', 'secret'),
        ha1Sha256: computeHa1('SHA-256', 'alice', 'Example Realm', 'secret'),
      });
      assert.ok((await store.getSubscriber('bob', 'example.test')) !== undefined);
    });

    r = await runCli(['user', 'list', '--data', data]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'alice@example.test\nbob@example.test\ncarol@other.test\n');
    r = await runCli(['user', 'list', '--domain', 'other.test', '--data', data]);
    assert.equal(r.stdout, 'carol@other.test\n');

    r = await runCli(['user', 'add', 'alice@example.test', '--password', 'again', '--data', data]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /alice@example\.test exists already; change its password with: sipline user passwd/);

    r = await runCli(['user', 'passwd', 'alice@example.test', '--password', 'new-secret', '--data', data]);
    assert.equal(r.code, 0, r.stderr);
    await withStore(data, async (store) => {
      assert.equal((await store.getSubscriber('alice', 'example.test'))?.ha1Md5, computeHa1('MD5', 'alice', 'Example Realm', 'new-secret'));
    });
    r = await runCli(['user', 'passwd', 'nobody@example.test', '--password', 'x', '--data', data]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no user nobody@example\.test; add it with: sipline user add/);

    r = await runCli(['user', 'del', 'bob@example.test', '--data', data]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deleted bob@example\.test/);
    r = await runCli(['user', 'del', 'bob@example.test', '--data', data]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no user bob@example\.test/);
    r = await runCli(['user', 'list', '--data', data]);
    assert.equal(r.stdout, 'alice@example.test\ncarol@other.test\n');
  });

  test('a user of a domain that is not served is refused with how to add the domain', async () => {
    const data = freshData();
    let r = await runCli(['user', 'add', 'alice@example.test', '--password', 'pw', '--data', data]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no domain is configured or stored yet; add it with: sipline domain add example\.test --data /);
    await runCli(['domain', 'add', 'example.test', '--data', data]);
    r = await runCli(['user', 'add', 'alice@elsewhere.test', '--password', 'pw', '--data', data]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /domain "elsewhere\.test" is not served here \(served: example\.test\); add it with: sipline domain add elsewhere\.test/);
  });

  test('domains of the config file count; --config and --data reach the same store', async () => {
    const data = freshData();
    const config = join(root, 'with-domains.yaml');
    writeFileSync(config, `data: ${data}\ndomains:\n  - name: conf.test\n    realm: conf-realm\n`);
    let r = await runCli(['user', 'add', 'dave@conf.test', '--password', 'pw', '--config', config]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /realm conf-realm/);
    r = await runCli(['user', 'list', '--data', data]);
    assert.equal(r.stdout, 'dave@conf.test\n');
    r = await runCli(['domain', 'list', '--config', config]);
    assert.match(r.stdout, /^conf\.test\s+conf-realm\s+-\s+config$/m);
    r = await runCli(['user', 'list'], { env: { SIPLINE_CONFIG: config } });
    assert.equal(r.stdout, 'dave@conf.test\n', 'SIPLINE_CONFIG names the file');
  });

  test('user import: 100,000 rows of user,password with --domain, in one transaction', { timeout: 120_000 }, async () => {
    const data = freshData();
    await runCli(['domain', 'add', 'bulk.test', '--data', data]);
    const csv = join(root, 'bulk.csv');
    const rows = ['user,password'];
    for (let i = 0; i < 100_000; i++) rows.push(`u${i},pw${i}`);
    writeFileSync(csv, rows.join('\n') + '\n');
    const started = Date.now();
    const r = await runCli(['user', 'import', csv, '--domain', 'bulk.test', '--data', data], { timeoutMs: 100_000 });
    const elapsed = Date.now() - started;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /imported 100000 users/);
    assert.ok(elapsed < 30_000, `import took ${elapsed} ms`);
    await withStore(data, async (store) => {
      const all = await store.listSubscribers('bulk.test');
      assert.equal(all.length, 100_000);
      const names = new Set(all.map((s) => s.username));
      for (let i = 0; i < 100_000; i++) assert.ok(names.has(`u${i}`), `u${i}`);
      assert.equal((await store.getSubscriber('u99999', 'bulk.test'))?.ha1Sha256, computeHa1('SHA-256', 'u99999', 'bulk.test', 'pw99999'));
    });
  });

  test('user import: user@domain rows carry their domain; quoted fields; empty lines skipped', async () => {
    const data = freshData();
    await runCli(['domain', 'add', 'a.test', '--data', data]);
    await runCli(['domain', 'add', 'b.test', '--realm', 'B', '--data', data]);
    const csv = join(root, 'mixed.csv');
    writeFileSync(csv, '\uFEFFuser,password\r\nann@a.test,one\r\n\r\nben@b.test,"with,comma ""and quote"""\r\ncid,three\r\n');
    const r = await runCli(['user', 'import', csv, '--domain', 'a.test', '--data', data]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /imported 3 users/);
    await withStore(data, async (store) => {
      assert.equal((await store.getSubscriber('ben', 'b.test'))?.ha1Md5, computeHa1('MD5', 'ben', 'B', 'with,comma "and quote"'));
      assert.equal((await store.getSubscriber('cid', 'a.test'))?.ha1Md5, computeHa1('MD5', 'cid', 'a.test', 'three'));
      assert.ok((await store.getSubscriber('ann', 'a.test')) !== undefined);
    });
  });

  test('user import: bad rows are reported with their line numbers and nothing is imported', async () => {
    const data = freshData();
    await runCli(['domain', 'add', 'a.test', '--data', data]);
    const csv = join(root, 'bad.csv');
    writeFileSync(csv, ['user,password', 'good@a.test,pw', 'nodomain,pw', 'x@unknown.test,pw', 'too,many,fields', '', 'bad user@a.test,pw', 'empty@a.test,', '"open,pw'].join('\n'));
    const r = await runCli(['user', 'import', csv, '--data', data]);
    assert.equal(r.code, 1);
    const expected = [
      `${csv}:3: "nodomain" has no domain: write user@domain, or give --domain for the whole file`,
      `${csv}:4: domain "unknown.test" is not served`,
      `${csv}:5: expected 2 fields (user,password or user@domain,password), found 3`,
      `${csv}:7: user name "bad user" has characters a SIP URI user part cannot hold`,
      `${csv}:8: the password is empty`,
      `${csv}:9: a quoted field has no closing quote`,
    ];
    for (const line of expected) assert.ok(r.stderr.includes(line), `missing ${JSON.stringify(line)} in:\n${r.stderr}`);
    assert.match(r.stderr, /6 bad rows; nothing imported/);
    assert.match(r.stderr, /add missing domains with: sipline domain add NAME \(not served: unknown\.test\)/);
    await withStore(data, async (store) => assert.deepEqual(await store.listSubscribers(), []));
  });
});

describe('usage errors exit 2 and say what to fix', { timeout: 60_000 }, () => {
  const data = () => join(root, 'usage');

  test('a missing --password', async () => {
    const r = await runCli(['user', 'add', 'alice@example.test', '--data', data()]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--password: give the password/);
  });

  test('a user without a domain', async () => {
    const r = await runCli(['user', 'del', 'alice', '--data', data()]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /USER@DOMAIN "alice": write the user with its domain/);
  });

  test('an unknown option, a missing argument, an unknown command', async () => {
    let r = await runCli(['user', 'list', '--bogus', '--data', data()]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option '--bogus'/);
    r = await runCli(['user', 'import', '--data', data()]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing required argument 'file\.csv'/);
    r = await runCli(['user', 'frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'frobnicate'/);
  });

  test('bad values of start flags name the flag', async () => {
    let r = await runCli(['start', '--listen', 'udp:127.0.0.1:0', '--log-level', 'loud', '--data', data()]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--log-level "loud" is not one of: trace, debug, info, warn, error, fatal, silent/);
    r = await runCli(['start', '--listen', 'sctp:127.0.0.1', '--data', data()]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--listen "sctp:127\.0\.0\.1" is not PROTOCOL:HOST\[:PORT\]/);
    r = await runCli(['domain', 'add', 'bad_name!', '--data', data()]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /NAME "bad_name!" is not a host name or IP address/);
  });

  test('a bad config file: every problem, with the file and key', async () => {
    const config = join(root, 'bad.yaml');
    writeFileSync(config, 'registrar:\n  min_expires: abc\nlisten: [foo]\n');
    const r = await runCli(['user', 'list', '--config', config]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.yaml: registrar\.min_expires: "abc" is not a whole number of seconds \(line 2\)/);
    assert.match(r.stderr, /bad\.yaml: listen\[0\]: "foo" is not PROTOCOL:HOST\[:PORT\]/);
  });

  test('--help exits 0 and lists the commands', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    for (const c of ['start', 'user', 'domain', 'location']) assert.match(r.stdout, new RegExp(`^  ${c}\\b`, 'm'));
  });
});
