/**
 * Flow tokens (RFC 5626 §5.3 idea, RFC 7118 §5) in our Record-Route: a token names the connection
 * of a TLS or WebSocket client, cannot be forged, and routes only requests coming from the other side.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FlowTokens } from '../../src/proxy/flow-token.ts';
import { parseUri } from '../../src/sip/index.ts';

describe('flow tokens', () => {
  const tokens = new FlowTokens();
  const client = { protocol: 'wss' as const, address: '::1', port: 50123 };

  test('a token names the flow, inside our Record-Route value', () => {
    const stamped = tokens.stamp('<sip:127.0.0.1:8443;transport=ws;lr>', client);
    const m = /^<sip:([^@]+)@127\.0\.0\.1:8443;transport=ws;lr>$/.exec(stamped);
    assert.ok(m !== null, `the token is the user part: ${stamped}`);
    assert.deepEqual(tokens.decode(m[1]), client, 'decodes to the flow');
  });

  test('a forged or foreign token names nothing', () => {
    const token = tokens.encode(client);
    const forged = `${Buffer.from('wss 10.0.0.9 5060').toString('base64url')}${token.slice(token.indexOf('.'))}`;
    assert.equal(tokens.decode(forged), undefined, 'another flow with the old signature');
    assert.equal(new FlowTokens().decode(token), undefined, 'another key');
    assert.equal(tokens.decode('garbage'), undefined, 'no signature');
  });

  test('only a token for another flow than the inbound one is a next hop', () => {
    const uri = parseUri(`sip:${tokens.encode(client)}@127.0.0.1:8443;transport=ws;lr`);
    const plain = parseUri('sip:127.0.0.1:5060;lr');
    const udpPeer = { protocol: 'udp' as const, address: '127.0.0.1', port: 5062 };
    assert.deepEqual(tokens.nextHop([plain, uri], udpPeer), client, 'from the other side: to the client');
    assert.equal(tokens.nextHop([uri, plain], client), undefined, 'from the client itself: by the Request-URI');
    assert.equal(FlowTokens.wanted('tcp'), false, 'TCP clients are reached at their contact');
    assert.equal(FlowTokens.wanted('ws'), true, 'WebSocket clients only over their connection');
  });
});
