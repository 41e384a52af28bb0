/**
 * Two real softphones (baresip 1.0, headless, driven over ctrl_tcp) through sipline: both
 * register with digest authentication (MD5 only: baresip 1.0 gives up on a challenge that offers
 * SHA-256), alice dials sip:bob@example.test, bob accepts, the call is established on both sides
 * with the proxy in the path (Record-Route), bob's RTP reaches alice, and alice hangs up.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Baresip, baresipAvailable, startUserPhone } from '../support/baresip.ts';
import { waitFor } from '../support/sipp.ts';
import { startProxy, USERS } from '../support/proxy.ts';

test('baresip alice calls baresip bob through sipline: digest REGISTER, INVITE with 407, accept, BYE', { timeout: 60_000, skip: baresipAvailable() ? false : 'baresip is not installed (scripts/install-peers.sh installs it)' }, async () => {
  const proxy = await startProxy({ auth: { algorithms: ['MD5'] } });
  const phones: Baresip[] = [];
  try {
    const start = async (user: string) => {
      const phone = await startUserPhone(user, USERS[user], proxy.address(), { lifetimeSeconds: 50 });
      phones.push(phone);
      return phone;
    };
    const alice = await start('alice');
    const bob = await start('bob');
    // baresip registers while it starts, before ctrl_tcp can report REGISTER_OK: watch the server
    for (const user of ['alice', 'bob']) {
      await waitFor(() => proxy.server.location.lookup(`${user}@example.test`).length > 0, 10_000, `the binding of ${user}`);
    }
    for (const [user, phone] of [['alice', alice], ['bob', bob]] as const) {
      assert.match(phone.output, /SIP\/2\.0 401 Unauthorized[\s\S]*Authorization: Digest username="/, `${user} answered the challenge`);
      assert.match((await phone.command('reginfo')).data, /\bOK\b/, `${user} considers itself registered`);
      const bindings = proxy.server.location.lookup(`${user}@example.test`);
      assert.equal(bindings.length, 1, `${user} is registered`);
      assert.match(bindings[0].contact, new RegExp(`^sip:${user}-[^@]*@127\\.0\\.0\\.1:\\d+`));
      assert.match(bindings[0].userAgent ?? '', /baresip/);
    }

    const dialled = await alice.command('dial', 'sip:bob@example.test');
    assert.ok(dialled.ok, `dial: ${dialled.data}`);
    const incoming = await bob.waitEvent('CALL_INCOMING', 10_000);
    assert.match(String(incoming.peeruri ?? ''), /alice@example\.test/);
    await alice.waitEvent('CALL_RINGING', 5000);
    const accepted = await bob.command('accept');
    assert.ok(accepted.ok, `accept: ${accepted.data}`);
    await alice.waitEvent('CALL_ESTABLISHED', 10_000);
    await bob.waitEvent('CALL_ESTABLISHED', 10_000);
    // the SDP offer and answer crossed the proxy intact: bob's RTP reaches alice at the address of
    // her offer (the other direction depends on aubridge looping alice's audio, which it does not
    // reliably do, so it is not asserted)
    await alice.waitEvent('CALL_RTPESTAB', 5000);

    // the INVITE went through the proxy and was Record-Routed by it
    const rr = `<sip:127.0.0.1:${proxy.udpPort};lr>`;
    assert.ok(bob.output.includes(`Record-Route: ${rr}`), 'bob received the INVITE with our Record-Route');
    assert.match(alice.output, /SIP\/2\.0 407 Proxy Authentication Required/);

    const hungUp = await alice.command('hangup');
    assert.ok(hungUp.ok, `hangup: ${hungUp.data}`);
    await bob.waitEvent('CALL_CLOSED', 10_000);
    await waitFor(() => alice.events.some((e) => e.type === 'CALL_CLOSED'), 5000, 'CALL_CLOSED at alice');
    assert.match(bob.output, /BYE sip:bob-/);
    for (const phone of phones) phone.cleanup();
  } finally {
    await Promise.all(phones.map((p) => p.stop()));
    await proxy.server.stop();
  }
});
