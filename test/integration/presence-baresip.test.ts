/**
 * Two real softphones (baresip 1.0 with its presence module, headless) see each other's presence
 * through sipline: each registers, PUBLISHes its own status and SUBSCRIBEs to the other (a contact
 * marked ;presence=p2p), all digest-authenticated; each lists the other Online. Then bob sets
 * himself offline (presence_offline: a PUBLISH with basic closed) and alice sees him Offline; back
 * online, she sees him Online again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Baresip, baresipAvailable, startUserPhone } from '../support/baresip.ts';
import { delay } from '../support/sipp.ts';
import { startProxy, USERS } from '../support/proxy.ts';

const available = baresipAvailable() && (await import('node:fs')).existsSync('/usr/lib/baresip/modules/presence.so');

/** Polls the contact list of a phone until the line of `peer` shows `status`. */
async function waitStatus(phone: Baresip, peer: string, status: 'Online' | 'Offline', timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let list = '';
  while (Date.now() < deadline) {
    list = (await phone.command('contacts')).data;
    if (new RegExp(`\\b${status}\\s+${peer}\\b`).test(list)) return list;
    await delay(200);
  }
  assert.fail(`${peer} is not ${status} in the contact list after ${timeoutMs} ms:\n${list}\n${phone.output.slice(-30000)}`);
}

test('baresip alice and bob see each other\'s presence through sipline: PUBLISH, SUBSCRIBE, NOTIFY on change', { timeout: 90_000, skip: available ? false : 'baresip or its presence module is not installed (scripts/install-peers.sh installs it)' }, async () => {
  const proxy = await startProxy({ auth: { algorithms: ['MD5'] } });
  const phones: Baresip[] = [];
  try {
    const start = async (user: string, peer: string) => {
      const phone = await startUserPhone(user, USERS[user], proxy.address(), {
        presence: true,
        contacts: [`"${peer}" <sip:${peer}@example.test>;presence=p2p`],
      });
      phones.push(phone);
      return phone;
    };
    const alice = await start('alice', 'bob');
    const bob = await start('bob', 'alice');

    await waitStatus(alice, 'bob', 'Online', 20_000);
    await waitStatus(bob, 'alice', 'Online', 20_000);
    const presence = proxy.server.presence;
    assert.ok(presence !== undefined, 'presence is on');
    assert.deepEqual(
      presence.subscriptionsOf('bob@example.test').map((s) => [s.package, s.watcher, s.state]),
      [['presence', 'alice@example.test', 'active']],
      'alice watches bob through the server',
    );
    assert.match(alice.output, /SUBSCRIBE sip:bob@example\.test[\s\S]*SIP\/2\.0 407[\s\S]*SIP\/2\.0 200 OK/, 'alice authenticated her SUBSCRIBE and got 200');
    assert.match(bob.output, /PUBLISH sip:bob@example\.test[\s\S]*SIP\/2\.0 200 OK/, 'bob published his status');

    const offline = await bob.command('presence_offline');
    assert.ok(offline.ok, `presence_offline: ${offline.data}`);
    await waitStatus(alice, 'bob', 'Offline', 15_000);

    const online = await bob.command('presence_online');
    assert.ok(online.ok, `presence_online: ${online.data}`);
    await waitStatus(alice, 'bob', 'Online', 15_000);
    for (const phone of phones) phone.cleanup();
  } finally {
    await Promise.all(phones.map((p) => p.stop()));
    await proxy.server.stop();
  }
});
