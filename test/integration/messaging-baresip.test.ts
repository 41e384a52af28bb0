/**
 * Two real softphones (baresip 1.0, headless, driven over ctrl_tcp) exchanging pager-mode
 * MESSAGEs through sipline: alice (with bob as her current contact, the contact module's `message`
 * command) writes to bob while bob is offline, the server stores it (202) and delivers it when bob
 * starts and registers; then she writes again and it reaches bob at once. bob's SIP trace (-s)
 * shows the MESSAGEs it received (ctrl_tcp reports no event for them) and its 200 OKs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Baresip, baresipAvailable, startUserPhone } from '../support/baresip.ts';
import { waitFor } from '../support/sipp.ts';
import { startProxy, USERS } from '../support/proxy.ts';

test('baresip alice messages baresip bob through sipline: stored while bob is offline, delivered when he registers, then directly', { timeout: 90_000, skip: baresipAvailable() ? false : 'baresip is not installed (scripts/install-peers.sh installs it)' }, async () => {
  const proxy = await startProxy({ auth: { algorithms: ['MD5'] } });
  const phones: Baresip[] = [];
  try {
    const start = async (user: string, contacts?: string[]) => {
      const phone = await startUserPhone(user, USERS[user], proxy.address(), { contacts });
      phones.push(phone);
      return phone;
    };
    const alice = await start('alice', ['"Bob" <sip:bob@example.test>']);
    await waitFor(() => proxy.server.location.lookup('alice@example.test').length > 0, 10_000, 'the binding of alice');

    // bob is offline: the message is stored
    const offline = await alice.command('message', 'are you there, bob?');
    assert.ok(offline.ok, `message: ${offline.data}`);
    await waitFor(() => proxy.server.messages.pendingFor('bob@example.test') === 1, 10_000, 'the message stored for bob');
    await waitFor(() => /SIP\/2\.0 202 Accepted/.test(alice.output), 5000, '202 Accepted at alice');
    assert.match(alice.output, /SIP\/2\.0 407 Proxy Authentication Required/, 'alice was challenged first');

    // bob starts and registers: the stored message arrives, with the Date it was sent
    const bob = await start('bob');
    await waitFor(() => bob.output.includes('are you there, bob?'), 15_000, 'the stored message at bob');
    assert.match(bob.output, /MESSAGE sip:bob-[^\s]* SIP\/2\.0\r?\n(?:[^\r\n]+\r?\n)*?Date: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} [\d:]{8} GMT/, 'bob received a MESSAGE with a Date');
    assert.match(bob.output, /SIP\/2\.0 200 OK\r?\n(?:[^\r\n]+\r?\n)*?CSeq: 1 MESSAGE/, 'bob answered the delivered MESSAGE with 200');
    await waitFor(() => proxy.server.messages.pendingFor('bob@example.test') === 0, 5000, 'deleted after bob\'s 200');

    // both online: straight through
    const online = await alice.command('message', 'hello again');
    assert.ok(online.ok, `message: ${online.data}`);
    await waitFor(() => bob.output.includes('hello again'), 10_000, 'the second message at bob');
    assert.match(bob.output, /MESSAGE sip:bob-[^\s]* SIP\/2\.0\r?\n(?:[^\r\n]+\r?\n)*?From: <sip:alice@example\.test>/, 'from alice, through the proxy');
    await waitFor(() => (alice.output.match(/SIP\/2\.0 200 OK[^\n]*\n(?:[^\n]+\n)*?CSeq: \d+ MESSAGE/g) ?? []).length >= 1, 5000, '200 OK for the MESSAGE at alice');
    assert.equal(proxy.server.messages.pendingFor('bob@example.test'), 0, 'nothing stored while bob is online');
    for (const phone of phones) phone.cleanup();
  } finally {
    await Promise.all(phones.map((p) => p.stop()));
    await proxy.server.stop();
  }
});
