/**
 * `sipline presence allow|block|polite-block|pending|del|rules` as a real child process on a
 * temporary data directory: rules stored for the running server, replaced per watcher, listed
 * most specific first, and usage errors that exit 2 or 1 naming what to fix.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SqliteStore } from '../../src/store/index.ts';
import { runCli } from '../support/cli.ts';

const root = mkdtempSync(join(tmpdir(), 'sipline-presence-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('presence commands', { timeout: 120_000 }, () => {
  test('allow, block, polite-block, pending, rules, del; the store holds the rules', async () => {
    const data = join(root, 'data');
    let r = await runCli(['domain', 'add', 'example.com', '--data', data]);
    assert.equal(r.code, 0, `domain add exits 0: ${r.stderr}`);
    r = await runCli(['user', 'add', 'alice@example.com', '--password', 'pw', '--data', data]);
    assert.equal(r.code, 0, `user add exits 0: ${r.stderr}`);

    r = await runCli(['presence', 'pending', 'alice@example.com', 'bob@Example.ORG', '--data', data]);
    assert.equal(r.code, 0, `presence pending exits 0: ${r.stderr}`);
    assert.match(r.stdout, /alice@example\.com: bob@example\.org waits for a decision/, `the rule is described: ${r.stdout}`);
    r = await runCli(['presence', 'allow', 'alice@example.com', 'bob@example.org', '--data', data]);
    assert.equal(r.code, 0, `presence allow exits 0: ${r.stderr}`);
    r = await runCli(['presence', 'block', 'alice@example.com', 'example.net', '--data', data]);
    assert.equal(r.code, 0, `presence block exits 0: ${r.stderr}`);
    r = await runCli(['presence', 'polite-block', 'alice@example.com', '*', '--data', data]);
    assert.equal(r.code, 0, `presence polite-block exits 0: ${r.stderr}`);
    assert.match(r.stdout, /every watcher is accepted but sees the user offline/, `"*" is everyone: ${r.stdout}`);

    r = await runCli(['presence', 'rules', 'alice@example.com', '--data', data]);
    assert.equal(r.code, 0, `presence rules exits 0: ${r.stderr}`);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /^WATCHER\s+ACTION$/, `a header line: ${r.stdout}`);
    assert.match(lines[1], /^bob@example\.org\s+allow$/, `the watcher's own rule first, replaced by allow: ${r.stdout}`);
    assert.match(lines[2], /^example\.net\s+block$/, `then the domain rule: ${r.stdout}`);
    assert.match(lines[3], /^\*\s+polite-block$/, `then everyone: ${r.stdout}`);
    assert.match(r.stderr, /presence\.default_policy \(same-domain\)/, `the default policy is named: ${r.stderr}`);

    r = await runCli(['presence', 'del', 'alice@example.com', 'example.net', '--data', data]);
    assert.equal(r.code, 0, `presence del exits 0: ${r.stderr}`);
    const store = new SqliteStore(join(data, 'sipline.sqlite'));
    try {
      assert.deepEqual(
        await store.listPresenceRules('alice@example.com'),
        [
          { presentity: 'alice@example.com', watcher: '*', action: 'polite-block' },
          { presentity: 'alice@example.com', watcher: 'bob@example.org', action: 'allow' },
        ],
        'two rules are stored',
      );
    } finally {
      await store.close();
    }
  });

  test('usage errors: a bad watcher exits 2, an unknown user or rule exits 1', async () => {
    const data = join(root, 'data2');
    await runCli(['domain', 'add', 'example.com', '--data', data]);
    let r = await runCli(['presence', 'allow', 'alice@example.com', 'not a watcher', '--data', data]);
    assert.equal(r.code, 2, `a bad watcher is a usage error: ${r.stderr}`);
    assert.match(r.stderr, /WATCHER "not a watcher": write user@domain, a domain, or "\*" for everyone/, `the message says what to write: ${r.stderr}`);
    r = await runCli(['presence', 'allow', 'nobody@example.com', 'bob@example.org', '--data', data]);
    assert.equal(r.code, 1, `an unknown presentity fails: ${r.stderr}`);
    assert.match(r.stderr, /no user nobody@example\.com; add it with: sipline user add/, `the message says how to add it: ${r.stderr}`);
    r = await runCli(['presence', 'del', 'alice@example.com', 'bob@example.org', '--data', data]);
    assert.equal(r.code, 1, `deleting a missing rule fails: ${r.stderr}`);
  });
});
