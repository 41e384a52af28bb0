/**
 * The config schema and loader: a good file, every kind of error message (key path, bad value,
 * what is allowed, line), flag and environment overrides, relative paths, the mapping onto
 * startServer's ServerConfig, and the generated docs/configuration.md.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { toServerConfig } from '../../src/cli/server-config.ts';
import { ConfigError, EXAMPLE_CONFIG, loadConfig, renderConfigDocs, type LoadOptions } from '../../src/config/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'sipline-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Loads with no environment and the temp dir as working directory. */
function load(options: LoadOptions = {}) {
  return loadConfig({ env: {}, cwd: dir, ...options });
}

/** The problems a config file gives, as printed (file name relative to the temp dir). */
function problems(text: string, options: LoadOptions = {}): string[] {
  file('config.yaml', text);
  try {
    load({ file: 'config.yaml', ...options });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('the config was accepted');
}

describe('config file', () => {
  test('no file: every default', () => {
    const { config, file: source } = load();
    assert.equal(source, null);
    assert.deepEqual(config.listen, [
      { protocol: 'udp', host: '0.0.0.0', port: 5060 },
      { protocol: 'tcp', host: '0.0.0.0', port: 5060 },
    ]);
    assert.deepEqual(config.domains, []);
    assert.equal(config.data, join(dir, 'data'));
    assert.equal(config.script, undefined);
    assert.deepEqual(config.log, { level: 'info', format: 'json' });
    assert.deepEqual(config.auth, { algorithms: ['MD5'], nonce_lifetime: 300 });
    assert.deepEqual(config.registrar, { default_expires: 3600, min_expires: 60, max_expires: 86400, max_contacts: 10, persist_bindings: true, domains: {} });
    assert.deepEqual(config.timers, { t1: 500, t2: 4000, t4: 5000 });
    assert.deepEqual(config.names, []);
    assert.equal(config.advertise, undefined);
  });

  test('a good file with every key', () => {
    const path = file(
      'good.yaml',
      `listen:
  - udp:127.0.0.1:5080
  - tcp:[::1]
domains:
  - Example.COM
  - name: example.org
    realm: Example Org
    aliases: [sip.example.org, 192.0.2.7]
data: state
script: ./routes.ts
log: { level: debug, format: pretty }
auth:
  algorithms: [sha-256, MD5]
  nonce_lifetime: 60
  nonce_key: 0123456789abcdef0123
registrar:
  default_expires: 600
  min_expires: 30
  max_expires: 7200
  max_contacts: 3
  persist_bindings: false
  domains:
    example.org: { min_expires: 120 }
timers: { t1: 250, t2: 2000, t4: 2500 }
names: [sip.example.com]
advertise: 203.0.113.9
`,
    );
    const { config, file: source } = load({ file: 'good.yaml' });
    assert.equal(source, path);
    assert.deepEqual(config.listen, [
      { protocol: 'udp', host: '127.0.0.1', port: 5080 },
      { protocol: 'tcp', host: '::1', port: 5060 },
    ]);
    assert.deepEqual(config.domains, ['Example.COM', { name: 'example.org', realm: 'Example Org', aliases: ['sip.example.org', '192.0.2.7'] }]);
    assert.equal(config.data, join(dir, 'state'));
    assert.equal(config.script, join(dir, 'routes.ts'));
    assert.deepEqual(config.auth, { algorithms: ['SHA-256', 'MD5'], nonce_lifetime: 60, nonce_key: '0123456789abcdef0123' });

    const server = toServerConfig(config);
    assert.deepEqual(server.domains, [
      { name: 'example.com', realm: 'example.com', aliases: [] },
      { name: 'example.org', realm: 'Example Org', aliases: ['sip.example.org', '192.0.2.7'] },
    ]);
    assert.equal(server.dataDir, join(dir, 'state'));
    assert.deepEqual(server.auth, { algorithms: ['SHA-256', 'MD5'], nonceLifetimeSec: 60, nonceKey: '0123456789abcdef0123' });
    assert.deepEqual(server.registrar, { defaultExpires: 600, minExpires: 30, maxExpires: 7200, maxContacts: 3, domains: { 'example.org': { minExpires: 120 } } });
    assert.deepEqual(server.location, { persist: false });
    assert.deepEqual(server.timers, { T1: 250, T2: 2000, T4: 2500 });
    assert.deepEqual(server.names, ['sip.example.com']);
    assert.equal(server.advertisedHost, '203.0.113.9');
    assert.equal(server.logLevel, 'debug');
  });

  test('the example of the documentation is a valid file', () => {
    file('example.yaml', EXAMPLE_CONFIG);
    const { config } = load({ file: 'example.yaml' });
    assert.equal(config.registrar.domains['example.org'].min_expires, 300);
  });

  test('an empty file is all defaults', () => {
    file('empty.yaml', '# nothing yet\n');
    assert.equal(load({ file: 'empty.yaml' }).config.registrar.max_contacts, 10);
  });
});

describe('config errors name the key, the value and what is allowed', () => {
  test('not a whole number', () => {
    assert.deepEqual(problems('registrar:\n  min_expires: abc\n'), ['config.yaml: registrar.min_expires: "abc" is not a whole number of seconds (line 2)']);
    assert.deepEqual(problems('timers:\n  t1: 1.5\n'), ['config.yaml: timers.t1: 1.5 is not a whole number of milliseconds (line 2)']);
  });

  test('out of range', () => {
    assert.deepEqual(problems('registrar:\n  max_contacts: 0\n'), ['config.yaml: registrar.max_contacts: 0 is out of range: use 1 to 10000 contacts (line 2)']);
    assert.deepEqual(problems('timers:\n  linger: 10\n'), ['config.yaml: timers.linger: 10 is out of range: use 1000 to 600000 milliseconds (line 2)']);
    assert.deepEqual(problems('workers: 500\n'), ['config.yaml: workers: 500 is out of range: use 0 to 128 processes (line 1)']);
    assert.deepEqual(problems('workers: many\n'), ['config.yaml: workers: "many" is not a whole number of processes (line 1)']);
  });

  test('unknown keys list the known ones', () => {
    assert.deepEqual(problems('registrar:\n  max_expire: 10\n'), [
      'config.yaml: registrar.max_expire: unknown key; the known keys of registrar are: default_expires, min_expires, max_expires, max_contacts, persist_bindings, domains (line 2)',
    ]);
    assert.deepEqual(problems('listn: [udp:1.2.3.4]\n'), [
      'config.yaml: listn: unknown key; the known keys are: listen, domains, data, script, workers, log, auth, registrar, messaging, presence, timers, topology_hiding, security, limits, names, advertise, tls (line 1)',
    ]);
  });

  test('a value that is not one of the allowed words', () => {
    assert.deepEqual(problems('log:\n  level: loud\n'), ['config.yaml: log.level: "loud" is not one of: trace, debug, info, warn, error, fatal, silent (line 2)']);
    assert.deepEqual(problems('auth:\n  algorithms: [MD5, SHA-1]\n'), ['config.yaml: auth.algorithms[1]: "SHA-1" is not one of: MD5, SHA-256 (line 2)']);
  });

  test('a bad listen address', () => {
    assert.deepEqual(problems('listen:\n  - udp:0.0.0.0:5060\n  - sctp:0.0.0.0\n'), [
      'config.yaml: listen[1]: "sctp:0.0.0.0" is not PROTOCOL:HOST[:PORT] with PROTOCOL udp, tcp, tls, ws or wss, e.g. udp:0.0.0.0:5060, tcp:[::1]:5060 or tls:0.0.0.0 (line 3)',
    ]);
    assert.deepEqual(problems('listen: [udp:0.0.0.0:70000]\n'), ['config.yaml: listen[0]: "udp:0.0.0.0:70000" has port 70000, above 65535 (line 1)']);
    assert.deepEqual(problems('listen: []\n'), ['config.yaml: listen: a list is empty: give at least 1 entry (line 1)']);
  });

  test('wrong shapes: a scalar for a list, a list for a mapping', () => {
    assert.deepEqual(problems('domains: example.com\n'), ['config.yaml: domains: "example.com" is not a list (write one "- item" line per entry, or [a, b]) (line 1)']);
    assert.deepEqual(problems('timers: [1, 2]\n'), ['config.yaml: timers: a list is not a mapping; its keys are: t1, t2, t4, linger (line 1)']);
  });

  test('domains: a bad name, a mapping without name, a bad alias', () => {
    assert.deepEqual(problems('domains:\n  - "bad name!"\n  - realm: r\n  - name: ok.example\n    aliases: ["-x-"]\n'), [
      'config.yaml: domains[0]: "bad name!" is not a host name or IP address (line 2)',
      'config.yaml: domains[1].name: is missing: The domain name (the host part of its users\' addresses). (line 3)',
      'config.yaml: domains[2].aliases[0]: "-x-" is not a host name or IP address (line 5)',
    ]);
  });

  test('a nonce key that is too short, and every problem of a file at once', () => {
    assert.deepEqual(problems('auth:\n  nonce_key: short\n  nonce_lifetime: -1\nadvertise: "a b"\n'), [
      'config.yaml: auth.nonce_lifetime: -1 is out of range: use 1 to 86400 seconds (line 3)',
      'config.yaml: auth.nonce_key: "short" is too short: use at least 16 characters (line 2)',
      'config.yaml: advertise: "a b" is not a host name or IP address (line 4)',
    ]);
  });

  test('topology hiding: a switch and a secret', () => {
    assert.deepEqual(problems('topology_hiding:\n  enabled: maybe\n  secret: short\n'), [
      'config.yaml: topology_hiding.enabled: "maybe" is not true or false (line 2)',
      'config.yaml: topology_hiding.secret: "short" is too short: use at least 16 characters (line 3)',
    ]);
    file('hiding.yaml', 'topology_hiding:\n  enabled: true\n  secret: a-secret-of-the-cluster\n');
    assert.deepEqual(load({ file: 'hiding.yaml' }).config.topology_hiding, { enabled: true, secret: 'a-secret-of-the-cluster' });
    file('default.yaml', 'log:\n  level: info\n');
    assert.equal(load({ file: 'default.yaml' }).config.topology_hiding.enabled, false, 'off unless asked for');
  });

  test('security and limits: defaults on, values mapped for the server, bad peers named', () => {
    const defaults = toServerConfig(load().config);
    assert.deepEqual(defaults.security?.flood, { requests: 200, windowSec: 2, banSec: 300, action: 'drop' }, 'flood protection is on by default');
    assert.equal(defaults.security?.authFailures?.maxFailures, 5, 'brute-force protection is on by default');
    assert.equal(defaults.security?.maxCallsPerUser, 0, 'the call limit is off by default');
    assert.deepEqual(
      defaults.limits,
      { maxMessageSize: 65535, maxHeaders: 256, maxVias: 70, maxConnectionsPerSource: 100, idleTimeoutSec: 120, messageTimeoutSec: 10 },
      'every limit has a default',
    );
    file(
      'security.yaml',
      [
        'security:',
        '  flood: { requests: 0, action: "503" }',
        '  auth_failures: { max_failures: 3, block_sec: 30 }',
        '  max_calls_per_user: 2',
        '  trusted_peers:',
        '    - { address: 10.0.0.0/8, transport: UDP, port: 5060, group: carrier1 }',
        '    - address: "2001:db8::1"',
        'limits: { max_vias: 10, message_timeout_sec: 3 }',
        '',
      ].join('\n'),
    );
    const server = toServerConfig(load({ file: 'security.yaml' }).config);
    assert.equal(server.security?.flood?.requests, 0, 'requests: 0 turns flood protection off');
    assert.equal(server.security?.flood?.action, '503', 'the 503 action');
    assert.deepEqual(server.security?.authFailures, { maxFailures: 3, windowSec: 60, blockSec: 30, maxBlockSec: 3600 }, 'auth failure settings with defaults filled in');
    assert.equal(server.security?.maxCallsPerUser, 2, 'the call limit');
    assert.deepEqual(
      server.security?.trustedPeers,
      [
        { address: '10.0.0.0/8', transport: 'udp', port: 5060, group: 'carrier1' },
        { address: '2001:db8::1', transport: undefined, port: undefined, group: undefined },
      ],
      'peers as configured, the transport in lower case',
    );
    assert.equal(server.limits?.maxVias, 10, 'max_vias');
    assert.equal(server.limits?.messageTimeoutSec, 3, 'message_timeout_sec');
    assert.deepEqual(
      problems('security:\n  trusted_peers:\n    - { address: 10.0.0.0/33 }\n    - { address: example.com }\n    - { port: 5060 }\n'),
      [
        'config.yaml: security.trusted_peers[0].address: "10.0.0.0/33" has a prefix length that is not 0 to 32 (line 3)',
        'config.yaml: security.trusted_peers[1].address: "example.com" is not an IP address or CIDR block like 10.0.0.0/8 or 2001:db8::/32 (line 4)',
        "config.yaml: security.trusted_peers[2].address: is missing: The peer's source address, or a block of them (10.0.0.0/8, 2001:db8::/32). (line 5)",
      ],
      'bad peers are named with their line',
    );
  });

  test('messaging: size limits and the offline store, on by default, mapped for the server', () => {
    const defaults = toServerConfig(load().config);
    assert.deepEqual(
      defaults.messaging,
      { maxBody: 16384, maxUdpBody: 1300, offline: { enabled: true, maxPerUser: 100, expireSec: 604800 } },
      'the offline store is on, with the RFC 3428 §9 UDP figure',
    );
    file('messaging.yaml', 'messaging:\n  max_udp_body: 0\n  offline: { enabled: false, max_per_user: 5, expire_sec: 3600 }\n');
    assert.deepEqual(
      toServerConfig(load({ file: 'messaging.yaml' }).config).messaging,
      { maxBody: 16384, maxUdpBody: 0, offline: { enabled: false, maxPerUser: 5, expireSec: 3600 } },
      'values of the file, defaults for the rest',
    );
    assert.deepEqual(
      problems('messaging:\n  max_body: 0\n  offline:\n    expire_sec: 10\n'),
      [
        'config.yaml: messaging.max_body: 0 is out of range: use 1 to 1048576 octets (line 2)',
        'config.yaml: messaging.offline.expire_sec: 10 is out of range: use 60 to 31536000 seconds (line 4)',
      ],
      'bad values are named with their line',
    );
  });

  test('keys that contradict each other', () => {
    assert.deepEqual(problems('registrar:\n  min_expires: 7200\n  max_expires: 3600\n'), ['config.yaml: registrar.min_expires: 7200 is above max_expires (3600) (line 2)']);
    assert.deepEqual(problems('registrar:\n  domains:\n    a.example:\n      default_expires: 10\n'), [
      'config.yaml: registrar.domains.a.example.default_expires: 10 is outside min_expires to max_expires (60 to 86400) (line 4)',
    ]);
    assert.deepEqual(problems('timers: {t1: 5000, t2: 4000}\n'), ['config.yaml: timers.t1: 5000 is above timers.t2 (4000) (line 1)']);
  });

  test('not YAML, not a mapping, no such file', () => {
    const [yamlProblem] = problems('listen: [udp:1.2.3.4\n');
    assert.match(yamlProblem, /^config\.yaml: not valid YAML: .*line 2/);
    assert.deepEqual(problems('- a\n- b\n'), ['config.yaml: a list is not a mapping; its keys are: listen, domains, data, script, workers, log, auth, registrar, messaging, presence, timers, topology_hiding, security, limits, names, advertise, tls']);
    assert.throws(() => load({ file: 'missing.yaml' }), (err: ConfigError) => {
      assert.deepEqual(err.problems, ['--config "missing.yaml": no such file']);
      return true;
    });
    assert.throws(() => load({ env: { SIPLINE_CONFIG: 'gone.yaml' } }), (err: ConfigError) => {
      assert.deepEqual(err.problems, ['SIPLINE_CONFIG "gone.yaml": no such file']);
      return true;
    });
  });
});

describe('overrides', () => {
  const base = 'listen: [udp:127.0.0.1:5070]\ndomains: [file.example]\ndata: from-file\nlog: {level: warn}\n';

  test('flags replace the values of the file; relative paths of flags are from the working directory', () => {
    file('base.yaml', base);
    const { config } = load({
      file: join(dir, 'base.yaml'),
      cwd: '/srv',
      overrides: { listen: ['tcp:[::1]:5090', 'udp:10.0.0.1'], domains: ['flag.example'], data: 'flag-data', script: 's.ts', 'log.level': 'debug', 'log.format': 'pretty' },
    });
    assert.deepEqual(config.listen, [
      { protocol: 'tcp', host: '::1', port: 5090 },
      { protocol: 'udp', host: '10.0.0.1', port: 5060 },
    ]);
    assert.deepEqual(config.domains, ['flag.example']);
    assert.equal(config.data, '/srv/flag-data');
    assert.equal(config.script, '/srv/s.ts');
    assert.deepEqual(config.log, { level: 'debug', format: 'pretty' });
  });

  test('paths in the file are relative to its directory; absent flags keep the file values', () => {
    file('base.yaml', base);
    const { config } = load({ file: join(dir, 'base.yaml'), cwd: '/elsewhere', overrides: { listen: [], data: undefined } });
    assert.equal(config.data, join(dir, 'from-file'));
    assert.deepEqual(config.listen, [{ protocol: 'udp', host: '127.0.0.1', port: 5070 }]);
  });

  test('environment variables override the file, flags override the environment', () => {
    file('base.yaml', base);
    const env = { SIPLINE_CONFIG: 'base.yaml', SIPLINE_DATA: '/var/env-data', SIPLINE_LOG_LEVEL: 'error', SIPLINE_NONCE_KEY: 'a-shared-key-of-the-cluster' };
    const fromEnv = load({ env }).config;
    assert.equal(fromEnv.data, '/var/env-data');
    assert.equal(fromEnv.log.level, 'error');
    assert.equal(fromEnv.auth.nonce_key, 'a-shared-key-of-the-cluster');
    assert.deepEqual(fromEnv.domains, ['file.example'], 'SIPLINE_CONFIG names the file');
    const fromFlags = load({ env, overrides: { data: '/var/flag-data', 'log.level': 'trace' } }).config;
    assert.equal(fromFlags.data, '/var/flag-data');
    assert.equal(fromFlags.log.level, 'trace');
  });

  test('bad flag and variable values name the flag or the variable', () => {
    assert.throws(
      () => load({ env: { SIPLINE_LOG_FORMAT: 'xml' }, overrides: { listen: ['foo', 'udp:1.2.3.4'], domains: ['ok.example', 'not ok'], 'log.level': 'loud' } }),
      (err: ConfigError) => {
        assert.deepEqual(err.problems, [
          'SIPLINE_LOG_FORMAT "xml" is not one of: json, pretty',
          '--listen "foo" is not PROTOCOL:HOST[:PORT] with PROTOCOL udp, tcp, tls, ws or wss, e.g. udp:0.0.0.0:5060, tcp:[::1]:5060 or tls:0.0.0.0',
          '--domain "not ok" is not a host name or IP address',
          '--log-level "loud" is not one of: trace, debug, info, warn, error, fatal, silent',
        ]);
        return true;
      },
    );
  });
});

describe('docs/configuration.md', () => {
  test('is the text generated from the schema (run `npm run docs:config` after changing the schema)', () => {
    const committed = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    assert.equal(committed, renderConfigDocs());
  });

  test('documents every key and override', () => {
    const text = renderConfigDocs();
    for (const key of ['listen', 'domains[].realm', 'data', 'script', 'log.level', 'log.format', 'auth.algorithms', 'auth.nonce_lifetime', 'auth.nonce_key', 'registrar.min_expires', 'registrar.domains.NAME.max_contacts', 'timers.t1', 'names', 'advertise']) {
      assert.match(text, new RegExp(`\\| \`${key.replace(/[.[\]]/g, '\\$&')}\` \\|`), key);
    }
    for (const o of ['--listen', '--domain', '--data', '--script', '--log-level', '--log-format', 'SIPLINE_CONFIG', 'SIPLINE_DATA', 'SIPLINE_LOG_LEVEL', 'SIPLINE_NONCE_KEY']) assert.ok(text.includes(`\`${o}\``), o);
  });
});
