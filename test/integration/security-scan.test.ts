/**
 * Real attack tools against the default configuration (issue #5, items 4 and 8):
 * - sipvicious svwar, with each of its methods (REGISTER, INVITE, OPTIONS) and --force (so that
 *   it scans even though unknown users are challenged), cannot tell the existing users (some
 *   registered, some not) from unknown ones;
 * - sipvicious svcrack against an existing user, with the right password late in a small word
 *   list, is blocked before it gets there: it reports no password and the counters show the block.
 * svwar and svcrack 0.3.3 ignore their -b (bind address) option, so they send from 127.0.0.1;
 * the users' phones bind to 127.0.0.3 to be another source.
 *
 * svwar first asks for a random extension to learn what "no such user" looks like. Every request
 * here gets the same challenge, so without --force it gives up at once, and with --force it stops
 * at the first answer that equals its "no such user" (it only expects 404 for that): either way
 * it finds nothing. The last test checks the answers themselves for every method.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import dgram from 'node:dgram';
import { DOMAIN, register, startPhone, startProxy, type Phone, type Proxy } from '../support/proxy.ts';
import { freePort, waitFor } from '../support/sipp.ts';
import { runTool, sipviciousTool } from '../support/sipvicious.ts';

const ATTACKER = '127.0.0.1';
const USERS_HOST = '127.0.0.3';

describe('sipvicious against the default configuration', { timeout: 120_000 }, () => {
  let proxy: Proxy;
  let alice: Phone;
  const dir = mkdtempSync(join(tmpdir(), 'sipline-sipvicious-'));
  const extensions = join(dir, 'extensions.txt');

  before(async () => {
    proxy = await startProxy();
    alice = await startPhone('alice', ['udp'], undefined, USERS_HOST);
    const registered = await register(alice, proxy);
    assert.equal(registered.status, 200, 'alice is registered (a user with a binding)');
    // existing users: alice (registered), bob and carol (not); the others do not exist
    writeFileSync(extensions, ['mallory', 'alice', 'trudy', 'bob', '1001', 'carol', 'eve', 'admin', ''].join('\n'));
  });
  after(async () => {
    await alice?.ua.close();
    await proxy?.server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const method of ['REGISTER', 'INVITE', 'OPTIONS']) {
    test(`svwar -m ${method} finds no extension`, { timeout: 40_000 }, async () => {
      const result = await runTool(
        sipviciousTool('svwar'),
        ['-m', method, '-d', extensions, '--force', '--domain', DOMAIN, '-P', String(await freePort()), '-p', String(proxy.udpPort), '127.0.0.1'],
        30_000,
      );
      assert.equal(result.code, 0, `svwar ran to its end\n${result.describe()}`);
      assert.doesNotMatch(result.output, /No server response|not good|interopability/, `svwar got answers\n${result.describe()}`);
      assert.doesNotMatch(result.output, /exists|reqauth|noauth|weird/, `no extension reported\n${result.describe()}`);
      assert.match(result.output, /found nothing/, `svwar says it found nothing\n${result.describe()}`);
    });
  }

  test('svwar without --force gives up: every extension is challenged, the unknown ones too', { timeout: 30_000 }, async () => {
    const result = await runTool(
      sipviciousTool('svwar'),
      ['-d', extensions, '--domain', DOMAIN, '-P', String(await freePort()), '-p', String(proxy.udpPort), '127.0.0.1'],
      20_000,
    );
    assert.match(result.output, /authentication request for an unknown extension/, `svwar cannot calibrate\n${result.describe()}`);
    assert.doesNotMatch(result.output, /exists/, `no extension reported\n${result.describe()}`);
  });

  test('svcrack finds a password early in a list (control), and is blocked before a password late in one', { timeout: 60_000 }, async () => {
    const words = (right: number) => Array.from({ length: 20 }, (_, i) => (i === right ? 'alice-secret' : `guess${i}`)).join('\n') + '\n';
    const early = join(dir, 'early.txt');
    const late = join(dir, 'late.txt');
    writeFileSync(early, words(2));
    writeFileSync(late, words(17));

    // the control, on a server of its own: two wrong guesses and then the right one (below the
    // block) is found, so the tool does work against this server
    const other = await startProxy();
    try {
      const control = await runTool(
        sipviciousTool('svcrack'),
        ['-u', 'alice', '-d', early, '--domain', DOMAIN, '-P', String(await freePort()), '-p', String(other.udpPort), '127.0.0.1'],
        40_000,
      );
      assert.match(control.output, /\|\s*alice\s*\|\s*alice-secret\s*\|/, `svcrack finds a password it reaches\n${control.describe()}`);
    } finally {
      await other.server.stop();
    }

    const blocksBefore = proxy.server.counters.get('security.auth.blocks.source');
    const attack = await runTool(
      sipviciousTool('svcrack'),
      ['-u', 'alice', '-d', late, '--domain', DOMAIN, '-P', String(await freePort()), '-p', String(proxy.udpPort), '127.0.0.1'],
      40_000,
    );
    assert.doesNotMatch(attack.output, /alice-secret/, `svcrack must not find the password\n${attack.describe()}`);
    assert.doesNotMatch(attack.output, /Password/, `svcrack reports no password at all\n${attack.describe()}`);
    assert.equal(proxy.server.counters.get('security.auth.blocks.source') - blocksBefore, 1, 'the attacking source was blocked once');
    assert.ok(proxy.server.counters.get('security.auth.refused') >= 12, `the guesses after the block were refused unverified (${proxy.server.counters.get('security.auth.refused')})`);
    assert.equal(proxy.server.security.authFailures?.isSourceBlocked(ATTACKER), true, 'the attacker is blocked now');
    assert.equal(proxy.server.security.authFailures?.isSourceBlocked(USERS_HOST), false, "the users' source is not");
    assert.equal(proxy.server.security.authFailures?.isUserBlocked('alice@example.test'), false, 'alice herself is not blocked');

    // alice herself still registers from her own address
    const again = await register(alice, proxy);
    assert.equal(again.status, 200, 'the attacked user can still register');
  });

  test('for every method, an existing (registered or not) and an unknown user get the same answer, nonce and tags aside', { timeout: 20_000 }, async () => {
    const socket = dgram.createSocket('udp4');
    const answers: string[] = [];
    socket.on('message', (d) => answers.push(d.toString('latin1')));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.6', () => resolve()));
    const port = socket.address().port;
    // what a scanner sees, with the parts that differ per request anyway made equal
    const shape = (text: string, user: string) =>
      text
        .split('\r\n\r\n')[0]
        .replaceAll(user, 'USER')
        .replace(/nonce="[^"]*"/g, 'nonce=N')
        .replace(/tag=[^;\r\n>]*/g, 'tag=T')
        .replace(/branch=[^;\r\n]*/g, 'branch=B')
        .replace(/enum-\d+@/g, 'enum-N@');
    let n = 0;
    const ask = async (method: string, user: string, from: string, credentials?: string) => {
      n++;
      const uri = method === 'REGISTER' ? `sip:${DOMAIN}` : `sip:${user}@${DOMAIN}`;
      const lines = [
        `${method} ${uri} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.6:${port};branch=z9hG4bK-${user}-${n};rport`,
        'Max-Forwards: 70',
        `From: <sip:${from}@${from === user ? DOMAIN : 'elsewhere.example'}>;tag=f${n}`,
        `To: <sip:${user}@${DOMAIN}>`,
        `Call-ID: enum-${n}@127.0.0.6`,
        `CSeq: 1 ${method}`,
        `Contact: <sip:${user}@127.0.0.6:${port}>`,
        ...(credentials === undefined ? [] : [credentials]),
        'Content-Length: 0',
        '',
        '',
      ];
      const count = answers.length;
      socket.send(lines.join('\r\n'), proxy.udpPort, '127.0.0.1');
      // the final answer (INVITE gets a 100 Trying first)
      await waitFor(() => answers.slice(count).some((a) => !a.startsWith('SIP/2.0 100 ')), 3000, `an answer to ${method} for ${user}`);
      const final = answers.slice(count).find((a) => !a.startsWith('SIP/2.0 100 ')) as string;
      if (method === 'INVITE') {
        const status = final.slice(8, 11);
        socket.send(
          [`ACK ${uri} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.6:${port};branch=z9hG4bK-${user}-${n};rport`, 'Max-Forwards: 70', `From: <sip:${from}@x>;tag=f${n}`, `To: <sip:${user}@${DOMAIN}>;tag=${/To:[^\r]*tag=([^;\r]*)/.exec(final)?.[1] ?? ''}`, `Call-ID: enum-${n}@127.0.0.6`, 'CSeq: 1 ACK', 'Content-Length: 0', '', ''].join('\r\n'),
          proxy.udpPort,
          '127.0.0.1',
        );
        void status;
      }
      return shape(final, user);
    };
    try {
      for (const method of ['REGISTER', 'INVITE', 'OPTIONS', 'MESSAGE']) {
        // as svwar asks: the user as its own sender
        const registered = await ask(method, 'alice', 'alice');
        const offline = await ask(method, 'bob', 'bob');
        const unknown = await ask(method, 'mallory', 'mallory');
        assert.equal(offline, registered, `${method}: a user without a binding looks like a registered one`);
        assert.equal(unknown, registered, `${method}: an unknown user looks like an existing one`);
        assert.match(registered, /^SIP\/2\.0 40[17] /, `${method} from a local user is challenged: ${registered}`);
        if (method === 'REGISTER') continue;
        // from a stranger's address: no challenge, and no difference between offline and unknown
        const strangerOffline = await ask(method, 'bob', 'stranger');
        const strangerUnknown = await ask(method, 'mallory', 'stranger');
        assert.equal(strangerUnknown, strangerOffline, `${method} from outside: an unknown user looks like one without a binding`);
        assert.match(strangerOffline, /^SIP\/2\.0 404 /, `${method} from outside to an unreachable user is 404: ${strangerOffline}`);
      }
      // wrong credentials: the same answer for an existing and an unknown user
      const wrong = (user: string) => `Authorization: Digest username="${user}", realm="${DOMAIN}", nonce="x", uri="sip:${DOMAIN}", response="00000000000000000000000000000000", algorithm=MD5`;
      assert.equal(await ask('REGISTER', 'mallory', 'mallory', wrong('mallory')), await ask('REGISTER', 'bob', 'bob', wrong('bob')), 'wrong credentials: the same 401 for both');
    } finally {
      socket.close();
    }
  });
});
