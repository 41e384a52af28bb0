/**
 * The registrar of the default routing script over real sockets, driven by sipp: REGISTER is
 * challenged with 401 (WWW-Authenticate: Digest realm="example.test", qop="auth"), the
 * authenticated REGISTER gets 200 with the binding's Contact and expires (RFC 3261 §10.3, §22.2),
 * a wrong password and an unknown user get the same 401 (no user enumeration), and a REGISTER
 * for a domain the server does not serve gets 403.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort, SippProcess, type SippResult } from '../support/sipp.ts';
import { parseSippMessages, sippUser, startProxy, type Proxy, type TracedMessage } from '../support/proxy.ts';

let proxy: Proxy;

async function sipp(scenario: string, args: string[]): Promise<{ result: SippResult; messages: TracedMessage[]; port: number }> {
  const port = await freePort();
  const run = await SippProcess.start({ scenario, remote: proxy.address(), transport: 'u1', port, calls: 1, timeoutSeconds: 10, traceMessages: true, extra: args });
  try {
    const result = await run.done;
    assert.equal(result.code, 0, result.describe());
    assert.equal(result.stats?.successful, 1, result.describe());
    const messages = parseSippMessages(result.messages);
    run.cleanup();
    return { result, messages, port };
  } finally {
    run.kill();
  }
}

const receivedResponses = (messages: TracedMessage[]) => messages.filter((m) => m.direction === 'received');

/** A 401 with its nonce (and the per-request tags, Call-ID, Via) masked: what must not depend on the user. */
function shape(m: TracedMessage): { startLine: string; names: string[]; challenge: string[] } {
  return {
    startLine: m.startLine,
    names: m.names(),
    challenge: m.headers('www-authenticate').map((v) => v.replace(/nonce="[^"]*"/, 'nonce="*"')),
  };
}

describe('registrar with digest authentication (sipp)', { timeout: 60_000 }, () => {
  before(async () => {
    proxy = await startProxy();
  });
  after(async () => {
    await proxy.server.stop();
  });

  test('REGISTER → 401 with a Digest challenge → REGISTER with Authorization → 200 with Contact and expires', { timeout: 20_000 }, async () => {
    const { messages, port } = await sipp('register-auth.xml', sippUser('alice'));
    const [challenge, ok] = receivedResponses(messages);
    assert.equal(challenge.startLine, 'SIP/2.0 401 Unauthorized');
    const www = challenge.headers('www-authenticate');
    assert.equal(www.length, 1, 'one challenge: only MD5 is configured');
    assert.match(www[0], /^Digest /);
    assert.match(www[0], /realm="example\.test"/);
    assert.match(www[0], /qop="auth"/);
    assert.match(www[0], /algorithm=MD5/);
    assert.match(www[0], /nonce="[A-Za-z0-9_-]{20,}"/);

    const sent = messages.filter((m) => m.direction === 'sent');
    assert.match(sent[1].headers('authorization')[0] ?? '', /username="alice"/, 'sipp answered the challenge');
    assert.equal(ok.startLine, 'SIP/2.0 200 OK');
    assert.deepEqual(ok.headers('contact'), [`<sip:alice@127.0.0.1:${port}>;expires=600`]);
    assert.deepEqual(ok.headers('cseq'), ['2 REGISTER']);

    const bindings = proxy.server.location.lookup('alice@example.test');
    assert.equal(bindings.length, 1);
    assert.equal(bindings[0].contact, `sip:alice@127.0.0.1:${port}`);
    assert.equal(bindings[0].received, `udp:127.0.0.1:${port}`);
    const remaining = (bindings[0].expiresAt - Date.now()) / 1000;
    assert.ok(remaining > 590 && remaining <= 600, `the binding expires in ${remaining} s`);
  });

  test('a wrong password and an unknown user get the same 401 again (apart from the nonce); nothing is bound', { timeout: 20_000 }, async () => {
    const wrong = await sipp('register-auth-rejected.xml', sippUser('bob', 'not-bobs-password'));
    const unknown = await sipp('register-auth-rejected.xml', sippUser('mallory', 'whatever'));
    const [firstWrong, rejectedWrong] = receivedResponses(wrong.messages);
    const [firstUnknown, rejectedUnknown] = receivedResponses(unknown.messages);
    for (const m of [firstWrong, rejectedWrong, firstUnknown, rejectedUnknown]) assert.equal(m.startLine, 'SIP/2.0 401 Unauthorized');
    // sipp did send credentials the second time
    assert.match(wrong.messages.filter((m) => m.direction === 'sent')[1].headers('authorization')[0] ?? '', /username="bob"/);
    assert.match(unknown.messages.filter((m) => m.direction === 'sent')[1].headers('authorization')[0] ?? '', /username="mallory"/);
    // the rejection looks exactly like the challenge, and the same for both: no user enumeration
    assert.deepEqual(shape(rejectedWrong), shape(rejectedUnknown));
    assert.deepEqual(shape(rejectedWrong), shape(firstWrong));
    assert.deepEqual(shape(firstWrong), shape(firstUnknown));
    assert.doesNotMatch(rejectedWrong.headers('www-authenticate')[0], /stale/);
    assert.notEqual(rejectedWrong.headers('www-authenticate')[0], firstWrong.headers('www-authenticate')[0], 'a fresh nonce each time');
    assert.equal(proxy.server.location.lookup('bob@example.test').length, 0);
    assert.equal(proxy.server.location.lookup('mallory@example.test').length, 0);
  });

  test('REGISTER for a domain the server does not serve gets 403 without a challenge', { timeout: 20_000 }, async () => {
    const { messages } = await sipp('register-forbidden.xml', sippUser('alice', 'alice-secret', 'elsewhere.test'));
    const [forbidden] = receivedResponses(messages);
    assert.match(forbidden.startLine, /^SIP\/2\.0 403 /);
    assert.deepEqual(forbidden.headers('www-authenticate'), []);
    assert.equal(proxy.server.location.lookup('alice@elsewhere.test').length, 0);
  });
});
