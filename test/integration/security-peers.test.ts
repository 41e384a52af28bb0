/**
 * Trusted peers (issue #5 item 5) with the default script: a peer from the configuration relays
 * an INVITE to a non-local destination without digest authentication, even one that names a
 * local user as its sender; an untrusted source is challenged (407) or refused (403, no open
 * relay). A peer added to the store (as `sipline peer add` does) is trusted within a second, and
 * a port restriction is honoured.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { newTag } from '../../src/shared/index.ts';
import { UserAgent } from '../../src/ua/index.ts';
import { startProxy, type Proxy } from '../support/proxy.ts';
import { waitFor } from '../support/sipp.ts';

const CARRIER = '127.0.0.7';
const STRANGER = '127.0.0.8';
const GATEWAY = '127.0.0.9';

describe('trusted peers relay without authentication', { timeout: 60_000 }, () => {
  let proxy: Proxy;
  let gateway: UserAgent;
  let carrier: UserAgent;
  let stranger: UserAgent;
  let gatewayUri: string;

  before(async () => {
    proxy = await startProxy({ security: { trustedPeers: [{ address: `${CARRIER}/32`, transport: 'udp', group: 'carrier1' }] } });
    gateway = await UserAgent.create({ listen: [{ protocol: 'udp', host: GATEWAY, port: 0 }] });
    gateway.onRequest = (incoming) => {
      if (incoming.request.method === 'INVITE') gateway.answer(incoming, 200, { toTag: newTag() });
      else incoming.respond(200);
    };
    gatewayUri = `sip:+15551234@${GATEWAY}:${gateway.transport.listeners()[0].port}`;
    carrier = await UserAgent.create({ listen: [{ protocol: 'udp', host: CARRIER, port: 0 }] });
    stranger = await UserAgent.create({ listen: [{ protocol: 'udp', host: STRANGER, port: 0 }] });
  });
  after(async () => {
    await Promise.all([gateway?.close(), carrier?.close(), stranger?.close()]);
    await proxy?.server.stop();
  });

  const invite = async (ua: UserAgent, from: string) => {
    const outgoing = await ua.invite({ uri: gatewayUri, destination: proxy.destination(), from: `<${from}>;tag=${newTag()}`, callId: `peer-${newTag()}` });
    const final = await outgoing.final;
    if (final.status === 200) await outgoing.bye();
    return final;
  };

  test('a configured peer relays to another domain without a challenge, with a local or a foreign From', { timeout: 20_000 }, async () => {
    assert.equal((await invite(carrier, 'sip:alice@example.test')).status, 200, 'the carrier claiming a local user is not challenged');
    assert.equal((await invite(carrier, 'sip:someone@carrier.example')).status, 200, 'the carrier with its own From relays too');
  });

  test('an untrusted source is challenged (local From) or refused (foreign From)', { timeout: 20_000 }, async () => {
    assert.equal((await invite(stranger, 'sip:alice@example.test')).status, 407, 'a local From from an untrusted source must authenticate');
    const foreign = await invite(stranger, 'sip:someone@carrier.example');
    assert.equal(foreign.status, 403, 'no open relay for an untrusted source');
    assert.equal(foreign.reason, 'Relaying Denied');
  });

  test('a peer added to the store is trusted within a second, and no longer once deleted', { timeout: 20_000 }, async () => {
    const port = stranger.transport.listeners()[0].port;
    await proxy.server.store.putPeer({ address: STRANGER, transport: null, port: port + 1, group: null });
    await waitFor(() => proxy.server.security.peers.size === 2, 3000, 'the stored peer to be loaded');
    assert.equal((await invite(stranger, 'sip:someone@carrier.example')).status, 403, 'an entry for another source port does not trust this one');

    await proxy.server.store.putPeer({ address: STRANGER, transport: 'udp', port, group: 'carrier2' });
    await waitFor(() => proxy.server.security.peers.size === 3, 3000, 'the second stored peer to be loaded');
    assert.equal((await invite(stranger, 'sip:someone@carrier.example')).status, 200, 'trusted now: relayed');

    await proxy.server.store.deletePeer(STRANGER, 'udp', port);
    await proxy.server.store.deletePeer(STRANGER, null, port + 1);
    await waitFor(() => proxy.server.security.peers.size === 1, 3000, 'the stored peers to be gone');
    assert.equal((await invite(stranger, 'sip:someone@carrier.example')).status, 403, 'untrusted again');
  });
});
