/**
 * The presence server (SIMPLE) over real sockets, driven by sipp: PUBLISH entity-tag lifecycles
 * (RFC 3903), SUBSCRIBE/NOTIFY for presence (RFC 6665, RFC 3856) with PIDF checks, refresh,
 * unsubscribe and expiry, watcher information (RFC 3857/3858) with a pending watcher, watcher
 * authorization rules (allow, block, polite-block, pending) that existing subscriptions follow,
 * presence from registration, and message-summary NOTIFYs (RFC 3842) passed through to a phone.
 * Watchers and publishers that are not digest-authenticated send from 127.0.0.2 or 127.0.0.3,
 * trusted peers of the test server (a presence gateway, a voicemail server).
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { freePort, SippProcess, waitFor, type SippResult } from '../support/sipp.ts';
import { parseSippMessages, provision, register, sippUser, startPhone, startProxy, DOMAIN, type Proxy, type TracedMessage } from '../support/proxy.ts';

const TRUSTED = '127.0.0.2';
const VOICEMAIL = '127.0.0.3';
const PRESENTITIES = { dave: 'dave-secret', erin: 'erin-secret', frank: 'frank-secret', grace: 'grace-secret' };

let proxy: Proxy;

function presenceConfig(fromRegistration = false) {
  return {
    presence: { publish: { minExpires: 2 }, subscribe: { minExpires: 2 }, fromRegistration },
    security: { trustedPeers: [{ address: TRUSTED }, { address: VOICEMAIL }] },
  };
}

interface Run {
  process: SippProcess;
  port: number;
}

/** Starts sipp with -key values for the scenario's [keywords]; UAC mode towards `target`. */
async function startSipp(target: Proxy | null, scenario: string, keys: Record<string, string>, options: { localIp?: string; extra?: string[]; timeoutSeconds?: number; port?: number } = {}): Promise<Run> {
  const port = options.port ?? (await freePort(options.localIp ?? '127.0.0.1'));
  const extra = [...Object.entries({ domain: DOMAIN, ...keys }).flatMap(([k, v]) => ['-key', k, v]), ...(options.extra ?? [])];
  const process = await SippProcess.start({
    scenario,
    remote: target?.address(),
    transport: 'u1',
    port,
    calls: 1,
    timeoutSeconds: options.timeoutSeconds ?? 15,
    traceMessages: true,
    localIp: options.localIp,
    extra,
  });
  return { process, port };
}

/** Waits for sipp to finish its one call successfully; returns the traced messages. */
async function finish(run: Run): Promise<{ result: SippResult; messages: TracedMessage[] }> {
  try {
    const result = await run.process.done;
    assert.equal(result.code, 0, result.describe());
    assert.equal(result.stats?.successful, 1, `one successful call\n${result.describe()}`);
    const messages = parseSippMessages(result.messages);
    run.process.cleanup();
    return { result, messages };
  } finally {
    run.process.kill();
  }
}

const received = (messages: TracedMessage[]) => messages.filter((m) => m.direction === 'received');
const notifies = (messages: TracedMessage[]) => received(messages).filter((m) => m.startLine.startsWith('NOTIFY '));
const body = (m: TracedMessage) => m.text.split('\n\n').slice(1).join('\n\n');
const header = (m: TracedMessage, name: string) => m.headers(name)[0] ?? '';

async function publish(presentity: string, basic: string, expires: number, device = 'phone'): Promise<void> {
  await finish(await startSipp(proxy, 'presence-publish-once.xml', { presentity, basic, expires: String(expires), device }, { localIp: TRUSTED }));
}

function subscribe(target: Proxy, notifyCount: 1 | 2 | 3, keys: { presentity: string; watcher: string; wdomain?: string; event?: string; expires?: number }, localIp = TRUSTED): Promise<Run> {
  const event = keys.event ?? 'presence';
  return startSipp(
    target,
    `presence-subscribe-${notifyCount}.xml`,
    {
      presentity: keys.presentity,
      watcher: keys.watcher,
      wdomain: keys.wdomain ?? DOMAIN,
      event,
      accept: event === 'presence' ? 'application/pidf+xml' : 'application/watcherinfo+xml',
      expires: String(keys.expires ?? 60),
    },
    { localIp },
  );
}

describe('presence server (sipp)', { timeout: 180_000 }, () => {
  before(async () => {
    proxy = await startProxy(presenceConfig());
    await provision(proxy.server.store, PRESENTITIES);
  });
  after(async () => {
    await proxy.server.stop();
  });

  const presence = () => {
    const p = proxy.server.presence;
    assert.ok(p !== undefined, 'presence is on by default');
    return p;
  };

  test('PUBLISH: initial, refresh, modify, stale entity-tag 412, 423, 489, 415, remove', { timeout: 30_000 }, async () => {
    const { messages } = await finish(await startSipp(proxy, 'presence-publish.xml', { presentity: 'alice' }, { localIp: TRUSTED }));
    const responses = received(messages);
    assert.deepEqual(
      responses.map((r) => r.startLine),
      [
        'SIP/2.0 200 OK',
        'SIP/2.0 200 OK',
        'SIP/2.0 200 OK',
        'SIP/2.0 412 Conditional Request Failed',
        'SIP/2.0 423 Interval Too Brief',
        'SIP/2.0 489 Bad Event',
        'SIP/2.0 415 Unsupported Media Type',
        'SIP/2.0 200 OK',
      ],
      'the answers of the lifecycle, in order',
    );
    const etags = responses.slice(0, 3).map((r) => header(r, 'sip-etag'));
    assert.equal(new Set(etags).size, 3, `every successful PUBLISH gets a new entity-tag: ${etags.join(', ')}`);
    for (const r of responses.slice(0, 3)) assert.deepEqual(r.headers('expires'), ['60'], 'the granted expiry');
    assert.deepEqual(responses[4].headers('min-expires'), ['2'], '423 names the minimum');
    assert.deepEqual(responses[5].headers('allow-events'), ['presence'], '489 lists the package served');
    assert.deepEqual(responses[6].headers('accept'), ['application/pidf+xml'], '415 names the accepted type');
    assert.deepEqual(responses[7].headers('expires'), ['0'], 'removal answers Expires: 0');
    assert.deepEqual(responses[7].headers('sip-etag'), [], 'a removed publication has no entity-tag');
    assert.equal(presence().publicationCount, 0, 'nothing is published after the removal');
  });

  test('SUBSCRIBE (digest-authenticated) → 200 + NOTIFY closed; PUBLISH → NOTIFY open; refresh; unsubscribe → terminated', { timeout: 40_000 }, async () => {
    const watch = await startSipp(proxy, 'presence-watch.xml', { presentity: 'alice', watcher: 'bob' }, { extra: sippUser('bob') });
    await waitFor(() => presence().subscriptionsOf('alice@example.test').length === 1, 10_000, "bob's subscription to alice");
    assert.deepEqual(presence().subscriptionsOf('alice@example.test'), [{ package: 'presence', watcher: 'bob@example.test', state: 'active', action: 'allow' }], 'bob is an active, allowed watcher (same domain)');
    await publish('alice', 'open', 60);
    const { messages } = await finish(watch);

    const ok = received(messages).find((m) => m.startLine === 'SIP/2.0 200 OK' && header(m, 'cseq') === '2 SUBSCRIBE');
    assert.ok(ok !== undefined, 'the authenticated SUBSCRIBE got 200 (not 202: RFC 6665 §8.3.1)');
    assert.deepEqual(ok.headers('expires'), ['60'], 'the granted expiry');
    assert.deepEqual(ok.headers('contact'), [`<sip:127.0.0.1:${proxy.udpPort}>`], 'the notifier is the server itself');
    const toTag = /;tag=([^;>]+)/.exec(header(ok, 'to'))?.[1];
    assert.ok(toTag !== undefined, 'the 200 creates the dialog with a To tag');

    const n = notifies(messages);
    assert.equal(n.length, 4, `four NOTIFYs: initial, change, refresh, final; got ${n.map((m) => header(m, 'subscription-state')).join(' | ')}`);
    for (const [i, m] of n.entries()) {
      assert.match(m.startLine, /^NOTIFY sip:bob@127\.0\.0\.1:\d+ SIP\/2\.0$/, `NOTIFY ${i + 1} goes to bob's Contact`);
      assert.equal(header(m, 'event'), 'presence', `NOTIFY ${i + 1} names the package`);
      assert.match(header(m, 'from'), new RegExp(`<sip:alice@example\\.test>;tag=${toTag}$`), `NOTIFY ${i + 1} comes from the dialog's notifier side`);
      assert.match(header(m, 'to'), /<sip:bob@example\.test>;tag=\d+W1/, `NOTIFY ${i + 1} goes to the subscriber's side`);
      assert.equal(header(m, 'cseq'), `${i + 1} NOTIFY`, `NOTIFY ${i + 1} has CSeq ${i + 1}`);
    }
    assert.match(header(n[0], 'subscription-state'), /^active;expires=(60|59)$/, 'initial NOTIFY: active with the remaining time');
    assert.equal(header(n[0], 'content-type'), 'application/pidf+xml', 'a PIDF body');
    assert.match(body(n[0]), /<presence xmlns="urn:ietf:params:xml:ns:pidf"[^>]* entity="sip:alice@example\.test">/, 'the PIDF document of alice');
    assert.match(body(n[0]), /<basic>closed<\/basic>/, 'no publication yet: closed');
    assert.match(body(n[1]), /<tuple id="phone"><status><basic>open<\/basic><\/status><note>phone says open<\/note><\/tuple>/, 'the published tuple, as published');
    assert.match(header(n[2], 'subscription-state'), /^active;expires=(60|59)$/, 'the refresh restarts the subscription');
    assert.match(body(n[2]), /<basic>open<\/basic>/, 'the refresh NOTIFY carries the current state');
    assert.equal(header(n[3], 'subscription-state'), 'terminated;reason=timeout', 'the unsubscribe ends it');
    assert.equal(presence().subscriptionCount, 0, 'no subscription is left');
  });

  test('a publication that is not refreshed expires: the watcher sees open, then closed', { timeout: 30_000 }, async () => {
    await publish('dave', 'open', 2);
    const watch = await subscribe(proxy, 2, { presentity: 'dave', watcher: 'bob' });
    const { messages } = await finish(watch);
    const n = notifies(messages);
    assert.match(body(n[0]), /<basic>open<\/basic>/, 'first NOTIFY: published open');
    assert.match(body(n[1]), /<basic>closed<\/basic>/, 'second NOTIFY: the publication expired');
    assert.doesNotMatch(body(n[1]), /phone says/, 'nothing of the expired publication is left');
    assert.match(presence().presenceDocument('dave@example.test'), /<basic>closed<\/basic>/, 'dave has no publication left');
  });

  test('a subscription that is not refreshed ends with terminated;reason=timeout', { timeout: 30_000 }, async () => {
    const { messages } = await finish(await subscribe(proxy, 2, { presentity: 'erin', watcher: 'bob', expires: 2 }));
    const n = notifies(messages);
    assert.match(header(n[0], 'subscription-state'), /^active;expires=[12]$/, 'active for two seconds');
    assert.equal(header(n[1], 'subscription-state'), 'terminated;reason=timeout', 'then the expiry NOTIFY');
    assert.equal(presence().subscriptionsOf('erin@example.test').length, 0, 'the subscription is gone');
  });

  test('winfo: a pending watcher is listed, approved by a stored rule, then blocked (reason=rejected)', { timeout: 40_000 }, async () => {
    const winfo = await subscribe(proxy, 3, { presentity: 'carol', watcher: 'carol', event: 'presence.winfo' });
    await waitFor(() => presence().subscriptionsOf('carol@example.test').length === 1, 10_000, "carol's winfo subscription");
    const watcher = await subscribe(proxy, 3, { presentity: 'carol', watcher: 'mallory', wdomain: 'elsewhere.test' });
    await waitFor(() => presence().subscriptionsOf('carol@example.test').some((s) => s.watcher === 'mallory@elsewhere.test'), 10_000, "mallory's subscription");
    assert.deepEqual(
      presence().subscriptionsOf('carol@example.test').find((s) => s.package === 'presence'),
      { package: 'presence', watcher: 'mallory@elsewhere.test', state: 'pending', action: 'pending' },
      'a watcher of another domain waits (default policy same-domain)',
    );
    // the store is what `sipline presence allow` writes; the server reloads it within a second
    await proxy.server.store.putPresenceRule({ presentity: 'carol@example.test', watcher: 'mallory@elsewhere.test', action: 'allow' });
    await waitFor(() => presence().subscriptionsOf('carol@example.test').some((s) => s.package === 'presence' && s.action === 'allow'), 5000, 'the allow rule to apply');
    await proxy.server.store.putPresenceRule({ presentity: 'carol@example.test', watcher: 'elsewhere.test', action: 'block' });
    await proxy.server.store.deletePresenceRule('carol@example.test', 'mallory@elsewhere.test');
    await waitFor(() => !presence().subscriptionsOf('carol@example.test').some((s) => s.package === 'presence'), 5000, 'the block rule to end the subscription');

    const w = notifies((await finish(watcher)).messages);
    assert.match(header(w[0], 'subscription-state'), /^pending;expires=\d+$/, 'the watcher is pending first');
    assert.equal(body(w[0]), '', 'a pending watcher learns nothing of the presentity');
    assert.match(header(w[1], 'subscription-state'), /^active;expires=\d+$/, 'then active, once allowed');
    assert.match(body(w[1]), /entity="sip:carol@example\.test"[\s\S]*<basic>closed<\/basic>/, 'and gets the state');
    assert.equal(header(w[2], 'subscription-state'), 'terminated;reason=rejected', 'blocked: the subscription is terminated');

    const info = notifies((await finish(winfo)).messages);
    assert.equal(header(info[0], 'event'), 'presence.winfo', 'watcher information NOTIFYs');
    assert.equal(header(info[0], 'content-type'), 'application/watcherinfo+xml', 'with watcherinfo bodies');
    assert.match(body(info[0]), /<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" version="0" state="full">\s*<watcher-list resource="sip:carol@example\.test" package="presence">\s*<\/watcher-list>/, 'nobody watches at first');
    assert.match(body(info[1]), /version="1"[\s\S]*<watcher id="[^"]+" event="subscribe" status="pending">sip:mallory@elsewhere\.test<\/watcher>/, 'then mallory, pending');
    assert.match(body(info[2]), /version="2"[\s\S]*<watcher id="[^"]+" event="approved" status="active">sip:mallory@elsewhere\.test<\/watcher>/, 'then mallory, approved');
  });

  test('block → 403; polite-block → accepted, but the watcher sees the presentity offline', { timeout: 30_000 }, async () => {
    await proxy.server.store.putPresenceRule({ presentity: 'grace@example.test', watcher: 'oscar@elsewhere.test', action: 'block' });
    await proxy.server.store.putPresenceRule({ presentity: 'frank@example.test', watcher: '*', action: 'polite-block' });
    await presence().reloadRules();
    const rejected = received((await finish(await startSipp(proxy, 'presence-subscribe-rejected.xml', { presentity: 'grace', watcher: 'oscar', wdomain: 'elsewhere.test' }, { localIp: TRUSTED }))).messages);
    assert.equal(rejected[0].startLine, 'SIP/2.0 403 Forbidden', 'a blocked watcher is refused');
    assert.equal(presence().subscriptionsOf('grace@example.test').length, 0, 'and no subscription exists');

    await publish('frank', 'open', 60);
    const n = notifies((await finish(await subscribe(proxy, 1, { presentity: 'frank', watcher: 'bob' }))).messages);
    assert.match(header(n[0], 'subscription-state'), /^active;expires=\d+$/, 'the polite-blocked watcher looks accepted');
    assert.match(body(n[0]), /<basic>closed<\/basic>/, 'but sees frank offline');
    assert.doesNotMatch(body(n[0]), /open|phone says/, 'and nothing of what frank published');
  });

  test('a watcher from an untrusted source without credentials gets the same 403 for a real and an unknown presentity', { timeout: 15_000 }, async () => {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.4', resolve));
    const answers: string[] = [];
    socket.on('message', (data) => answers.push(data.toString('latin1')));
    try {
      const port = socket.address().port;
      for (const [i, user] of ['dave', 'nobody-here'].entries()) {
        const text = [
          `SUBSCRIBE sip:${user}@${DOMAIN} SIP/2.0`,
          `Via: SIP/2.0/UDP 127.0.0.4:${port};branch=z9hG4bK-stranger-${i};rport`,
          'Max-Forwards: 70',
          `From: <sip:scanner@elsewhere.example>;tag=s${i}`,
          `To: <sip:${user}@${DOMAIN}>`,
          `Call-ID: stranger-${i}@127.0.0.4`,
          'CSeq: 1 SUBSCRIBE',
          `Contact: <sip:scanner@127.0.0.4:${port}>`,
          'Event: presence',
          'Expires: 60',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n');
        socket.send(text, proxy.udpPort, '127.0.0.1');
        await waitFor(() => answers.length === i + 1, 5000, `an answer for ${user}`);
      }
      const statusLines = answers.map((a) => a.slice(0, a.indexOf('\r\n')));
      assert.deepEqual(statusLines, ['SIP/2.0 403 Watcher Not Authenticated', 'SIP/2.0 403 Watcher Not Authenticated'], `the same answer for a real and an unknown user:\n${answers.join('\n')}`);
    } finally {
      socket.close();
    }
  });

  test('message-summary: a voicemail server lights the lamp of a registered phone through the proxy', { timeout: 30_000 }, async () => {
    const phonePort = await freePort();
    const phone = await startSipp(null, 'message-summary-phone.xml', {}, { port: phonePort });
    await phone.process.waitListening('udp', phonePort);
    const ua = await startPhone('alice');
    try {
      const registered = await register(ua, proxy, { contact: `<sip:alice@127.0.0.1:${phonePort}>` });
      assert.equal(registered.status, 200, 'the phone is registered');
      const vm = received((await finish(await startSipp(proxy, 'message-summary-notify.xml', {}, { localIp: VOICEMAIL, extra: ['-s', 'alice'] }))).messages);
      assert.equal(vm[vm.length - 1].startLine, 'SIP/2.0 200 OK', "the phone's 200 reached the voicemail server (no 489 from the proxy)");
      const got = received((await finish(phone)).messages)[0];
      assert.match(got.startLine, /^NOTIFY sip:alice@127\.0\.0\.1:\d+ SIP\/2\.0$/, 'the NOTIFY went to the registered contact');
      assert.equal(header(got, 'event'), 'message-summary', 'the event is passed through');
      assert.match(body(got), /^Messages-Waiting: yes\nMessage-Account: sip:alice@example\.test\nVoice-Message: 2\/8 \(0\/2\)/, 'the summary body is intact');
    } finally {
      await ua.ua.close();
    }
  });
});

test('presence from registration: register → NOTIFY open with the contact, unregister → closed', { timeout: 60_000 }, async () => {
  const server = await startProxy(presenceConfig(true));
  try {
    const watch = await subscribe(server, 3, { presentity: 'alice', watcher: 'bob' });
    await waitFor(() => (server.server.presence?.subscriptionsOf('alice@example.test').length ?? 0) === 1, 10_000, "bob's subscription");
    const registerAlice = async (scenario: string) => {
      const port = await freePort();
      const run = await SippProcess.start({ scenario, remote: server.address(), transport: 'u1', port, calls: 1, timeoutSeconds: 10, extra: sippUser('alice') });
      try {
        const result = await run.done;
        assert.equal(result.code, 0, result.describe());
        run.cleanup();
      } finally {
        run.kill();
      }
      return port;
    };
    const port = await registerAlice('register-auth.xml');
    assert.equal(server.server.location.lookup('alice@example.test').length, 1, 'alice is registered');
    await registerAlice('unregister-auth.xml');
    assert.equal(server.server.location.lookup('alice@example.test').length, 0, 'alice is unregistered');
    const n = notifies((await finish(watch)).messages);
    assert.match(body(n[0]), /<basic>closed<\/basic>/, 'not registered: offline');
    assert.match(body(n[1]), new RegExp(`<tuple id="reg1"><status><basic>open</basic></status><contact priority="1">sip:alice@127\\.0\\.0\\.1:${port}</contact></tuple>`), 'registered: online, with the contact');
    assert.match(body(n[2]), /<basic>closed<\/basic>/, 'unregistered: offline again');
  } finally {
    await server.server.stop();
  }
});
