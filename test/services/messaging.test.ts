/**
 * The offline message store (MessageSilo, Kamailio msilo) on a MemoryStore with an injected clock
 * and a recorded delivery function: quota, order, the delivered MESSAGE's headers (From, To, Date,
 * Content-Type, body), deletion only after a 2xx, a failure keeping the rest in order, 413 skipping
 * one message, expiry, counts restored at start, and no store access for a user with nothing waiting.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MessageSilo, type DeliverMessage, type OfflinePolicy } from '../../src/services/messaging/index.ts';
import { createRequest, type SipRequest } from '../../src/sip/index.ts';
import { MemoryStore } from '../../src/store/index.ts';

const T0 = Date.UTC(2024, 0, 15, 9, 30, 0);
const POLICY: OfflinePolicy = { enabled: true, maxPerUser: 3, expireSec: 3600 };

function message(body: string, from = 'sip:alice@example.test', contentType: string | undefined = 'text/plain'): SipRequest {
  return createRequest({
    method: 'MESSAGE',
    uri: 'sip:bob@example.test',
    headers: [
      ['Via', 'SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1'],
      ['From', `<${from}>;tag=abc`],
      ['To', '<sip:bob@example.test>'],
      ['Call-ID', `call-${body.replace(/ /g, '-')}`],
      ['CSeq', '1 MESSAGE'],
      ['Max-Forwards', '70'],
    ],
    body,
    contentType,
  });
}

interface Fixture {
  silo: MessageSilo;
  store: MemoryStore;
  sent: SipRequest[];
  /** The statuses the recipient answers with, in order; 200 once they run out. */
  answers: number[];
  clock: { now: number };
}

function fixture(policy: OfflinePolicy = POLICY, store = new MemoryStore()): Fixture {
  const sent: SipRequest[] = [];
  const answers: number[] = [];
  const clock = { now: T0 };
  const deliver: DeliverMessage = async (_aor, request) => {
    sent.push(request);
    return answers.shift() ?? 200;
  };
  const silo = new MessageSilo(store, { policy, deliver, now: () => clock.now });
  return { silo, store, sent, answers, clock };
}

describe('MessageSilo', () => {
  test('stores up to the quota, refuses beyond it, and nothing when disabled', async () => {
    const { silo, store } = fixture();
    for (const text of ['one', 'two', 'three']) assert.equal(await silo.store('bob@example.test', message(text)), 'stored', `${text} is stored`);
    assert.equal(await silo.store('bob@example.test', message('four')), 'full', 'the fourth is over the quota of 3');
    assert.equal(silo.pendingFor('bob@example.test'), 3, 'three wait');
    assert.equal((await store.messagesFor('bob@example.test')).length, 3, 'three are in the store');
    assert.equal(await silo.store('carol@example.test', message('x')), 'stored', 'the quota is per user');

    const off = fixture({ ...POLICY, enabled: false });
    assert.equal(await off.silo.store('bob@example.test', message('one')), 'disabled', 'nothing is stored when disabled');
    assert.equal((await off.store.messagesFor('bob@example.test')).length, 0, 'the store stays empty');
  });

  test('delivers oldest first with the original sender, a Date of its arrival, Content-Type and body; 2xx deletes', async () => {
    const { silo, store, sent, clock } = fixture();
    await silo.store('bob@example.test', message('first', 'sip:alice@example.test', 'text/plain;charset=utf-8'));
    clock.now += 61_000;
    await silo.store('bob@example.test', message('second', 'sip:carol@example.test', 'application/im-iscomposing+xml'));
    clock.now += 3_600_000 - 62_000; // the first is one second from its expiry, still valid
    assert.equal(await silo.deliverStored('bob@example.test'), 2, 'both delivered');
    assert.equal(sent.length, 2, 'two MESSAGEs sent');
    const [a, b] = sent;
    assert.equal(a.method, 'MESSAGE', 'a MESSAGE');
    assert.equal(a.uriString, 'sip:bob@example.test', 'to the AOR (the deliverer puts each contact in)');
    assert.equal(a.from.uri.toString(), 'sip:alice@example.test', 'From is the original sender');
    assert.ok(a.from.tag !== undefined && a.from.tag !== 'abc', 'with a tag of its own');
    assert.equal(a.to.uri.toString(), 'sip:bob@example.test', 'To is the recipient AOR');
    assert.equal(a.to.tag, undefined, 'outside any dialog');
    assert.equal(a.get('date'), 'Mon, 15 Jan 2024 09:30:00 GMT', 'Date is the time it arrived (RFC 3261 §20.17)');
    assert.equal(a.contentType, 'text/plain;charset=utf-8', 'the original Content-Type');
    assert.equal(a.body.toString(), 'first', 'the original body');
    assert.equal(b.from.uri.toString(), 'sip:carol@example.test', 'the second from its own sender');
    assert.equal(b.get('date'), 'Mon, 15 Jan 2024 09:31:01 GMT', 'and its own time');
    assert.equal(b.contentType, 'application/im-iscomposing+xml', 'and Content-Type');
    assert.notEqual(a.callId, b.callId, 'each is a request of its own');
    assert.equal((await store.messagesFor('bob@example.test')).length, 0, 'delivered messages are deleted');
    assert.equal(silo.pendingFor('bob@example.test'), 0, 'nothing waits');
  });

  test('a failure keeps that message and the ones after it, in order, for the next registration', async () => {
    const { silo, store, sent, answers } = fixture();
    for (const text of ['one', 'two', 'three']) await silo.store('bob@example.test', message(text));
    answers.push(200, 480);
    assert.equal(await silo.deliverStored('bob@example.test'), 1, 'one delivered before the 480');
    assert.deepEqual(sent.map((r) => r.body.toString()), ['one', 'two'], 'three was not tried after two failed');
    assert.deepEqual((await store.messagesFor('bob@example.test')).map((m) => m.body.toString()), ['two', 'three'], 'two and three kept in order');
    answers.push(408);
    assert.equal(await silo.deliverStored('bob@example.test'), 0, 'a timeout delivers nothing');
    assert.equal(silo.pendingFor('bob@example.test'), 2, 'both still wait');
    assert.equal(await silo.deliverStored('bob@example.test'), 2, 'the next registration gets both');
    assert.deepEqual(sent.slice(3).map((r) => r.body.toString()), ['two', 'three'], 'in order');
  });

  test('413 (too large for every contact the user has) skips that message without holding up the rest', async () => {
    const { silo, store, sent, answers } = fixture();
    for (const text of ['big', 'small']) await silo.store('bob@example.test', message(text));
    answers.push(413);
    assert.equal(await silo.deliverStored('bob@example.test'), 1, 'the small one is delivered');
    assert.deepEqual(sent.map((r) => r.body.toString()), ['big', 'small'], 'each tried once');
    assert.deepEqual((await store.messagesFor('bob@example.test')).map((m) => m.body.toString()), ['big'], 'the big one waits');
  });

  test('registered() delivers after the current turn, once at a time, and reads nothing for a user with nothing waiting', async () => {
    const store = new MemoryStore();
    let reads = 0;
    const messagesFor = store.messagesFor.bind(store);
    store.messagesFor = async (aor) => {
      reads++;
      return messagesFor(aor);
    };
    const { silo, sent } = fixture(POLICY, store);
    silo.registered('carol@example.test');
    await new Promise((r) => setImmediate(r));
    assert.equal(reads, 0, 'no store access for a user without messages');

    await silo.store('bob@example.test', message('hello'));
    silo.registered('bob@example.test');
    silo.registered('bob@example.test'); // a second binding saved in the same turn
    assert.equal(sent.length, 0, 'nothing is sent in the turn of the REGISTER (its 200 goes first)');
    for (let i = 0; i < 20 && silo.pendingFor('bob@example.test') > 0; i++) await new Promise((r) => setImmediate(r));
    assert.equal(sent.length, 1, 'delivered once');
    assert.equal(reads, 2, 'one run: the messages, then a look for ones stored meanwhile');
  });

  test('expired messages are purged and never delivered; counts are restored by start()', async () => {
    const store = new MemoryStore();
    const first = fixture(POLICY, store);
    await first.silo.store('bob@example.test', message('old'));
    first.clock.now += 1_800_000;
    await first.silo.store('bob@example.test', message('new'));
    await first.silo.store('carol@example.test', message('for carol'));
    first.silo.stop();

    const second = fixture(POLICY, store);
    second.clock.now = T0 + 3_600_000; // 'old' expires now
    assert.equal(await second.silo.start(), 2, 'start purges the expired one and counts the rest');
    try {
      assert.equal(second.silo.pendingFor('bob@example.test'), 1, 'bob has one waiting');
      assert.equal(second.silo.pendingFor('carol@example.test'), 1, 'carol has one waiting');
      second.clock.now = T0 + 1_800_000 + 3_600_000;
      assert.equal(await second.silo.purgeExpired(), 2, 'the rest expire an hour after they arrived');
      assert.equal(second.silo.pendingFor('bob@example.test'), 0, 'nothing waits for bob');
      assert.equal(await second.silo.deliverStored('bob@example.test'), 0, 'nothing to deliver');
      assert.equal(second.sent.length, 0, 'nothing sent');
    } finally {
      second.silo.stop();
    }
  });
});
