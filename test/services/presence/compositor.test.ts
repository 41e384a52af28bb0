// The event state compositor (RFC 3903) on a manual clock and a hand-driven timer wheel: the
// entity-tag lifecycle (initial, refresh, modify, remove, 412), Expires rules and expiry.
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { ManualClock, TimerWheel } from '../../../src/shared/index.ts';
import { EventStateCompositor, readPidf, type PidfPart } from '../../../src/services/presence/index.ts';

const state = (basic: string): PidfPart => {
  const part = readPidf(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.test"><tuple id="t"><status><basic>${basic}</basic></status></tuple></presence>`);
  if (part === null) throw new Error('test document not read');
  return part;
};

describe('EventStateCompositor (RFC 3903)', () => {
  let clock: ManualClock;
  let wheel: TimerWheel;
  let changes: string[];
  let esc: EventStateCompositor;
  const policy = { defaultExpires: 3600, minExpires: 60, maxExpires: 7200, maxPerPresentity: 2 };

  beforeEach(() => {
    clock = new ManualClock(1_000_000);
    wheel = new TimerWheel(clock, { autoDrive: false });
    changes = [];
    esc = new EventStateCompositor(wheel, policy, () => clock.now(), (p) => changes.push(p));
  });

  const alice = 'alice@example.test';

  test('initial publish → 200 with a new entity-tag and the granted expiry', () => {
    const r = esc.publish({ presentity: alice, ifMatch: undefined, expires: 120, state: state('open') });
    assert.equal(r.status, 200, 'accepted');
    if (r.status !== 200) return;
    assert.match(r.etag ?? '', /^[A-Za-z0-9._-]{8,}$/, 'an entity-tag (a token, RFC 3903 §11.3.1)');
    assert.equal(r.expires, 120, 'the requested expiry');
    assert.deepEqual(changes, [alice], 'watchers are told');
    assert.equal(esc.publicationsOf(alice).length, 1, 'one publication');
  });

  test('refresh without body gets a new entity-tag and changes nothing; the old tag is dead (412)', () => {
    const first = esc.publish({ presentity: alice, ifMatch: undefined, expires: 120, state: state('open') });
    assert.equal(first.status, 200, 'initial publish accepted');
    const etag1 = first.status === 200 ? first.etag : undefined;
    const refresh = esc.publish({ presentity: alice, ifMatch: etag1, expires: 120, state: undefined });
    assert.equal(refresh.status, 200, 'refresh accepted');
    const etag2 = refresh.status === 200 ? refresh.etag : undefined;
    assert.notEqual(etag2, etag1, 'a new entity-tag');
    assert.equal(refresh.status === 200 && refresh.changed, false, 'a refresh is no change of state');
    assert.deepEqual(changes, [alice], 'no notification for a refresh');
    assert.equal(esc.publish({ presentity: alice, ifMatch: etag1, expires: 120, state: undefined }).status, 412, 'the replaced tag no longer matches');
  });

  test('modify replaces the state; remove (Expires: 0) drops it', () => {
    const first = esc.publish({ presentity: alice, ifMatch: undefined, expires: 120, state: state('open') });
    const etag1 = first.status === 200 ? first.etag : undefined;
    const modified = esc.publish({ presentity: alice, ifMatch: etag1, expires: 120, state: state('closed') });
    assert.equal(modified.status, 200, 'modify accepted');
    assert.match(esc.publicationsOf(alice)[0].state.content, /closed/, 'the new state is kept');
    const removed = esc.publish({ presentity: alice, ifMatch: modified.status === 200 ? modified.etag : undefined, expires: 0, state: undefined });
    assert.deepEqual(removed, { status: 200, etag: undefined, expires: 0, changed: true }, 'removal answered 200 with Expires 0');
    assert.equal(esc.publicationsOf(alice).length, 0, 'the publication is gone');
    assert.deepEqual(changes, [alice, alice, alice], 'initial, modify and remove were changes');
  });

  test('412 for an unknown tag, or the tag of another presentity; 400 for an initial publish without body', () => {
    assert.equal(esc.publish({ presentity: alice, ifMatch: 'nope', expires: 120, state: undefined }).status, 412, 'unknown entity-tag');
    const bob = esc.publish({ presentity: 'bob@example.test', ifMatch: undefined, expires: 120, state: state('open') });
    const bobTag = bob.status === 200 ? bob.etag : undefined;
    assert.equal(esc.publish({ presentity: alice, ifMatch: bobTag, expires: 120, state: undefined }).status, 412, "bob's tag does not work for alice");
    assert.equal(esc.publish({ presentity: alice, ifMatch: undefined, expires: 120, state: undefined }).status, 400, 'no state to publish');
  });

  test('Expires below the minimum → 423 with Min-Expires; above the maximum is cut; absent is the default', () => {
    assert.deepEqual(esc.publish({ presentity: alice, ifMatch: undefined, expires: 10, state: state('open') }), { status: 423, minExpires: 60 }, 'too brief');
    const long = esc.publish({ presentity: alice, ifMatch: undefined, expires: 100_000, state: state('open') });
    assert.equal(long.status === 200 && long.expires, 7200, 'cut to the maximum');
    const none = esc.publish({ presentity: 'bob@example.test', ifMatch: undefined, expires: undefined, state: state('open') });
    assert.equal(none.status === 200 && none.expires, 3600, 'the default');
  });

  test('one publication per device, up to the limit (403 beyond); the latest change first', () => {
    assert.equal(esc.publish({ presentity: alice, ifMatch: undefined, expires: 120, state: state('open') }).status, 200, 'first device');
    assert.equal(esc.publish({ presentity: alice, ifMatch: undefined, expires: 120, state: state('closed') }).status, 200, 'second device');
    assert.equal(esc.publish({ presentity: alice, ifMatch: undefined, expires: 120, state: state('open') }).status, 403, 'a third is refused');
    assert.equal(esc.publicationsOf(alice).length, 2, 'two publications');
    assert.deepEqual(
      esc.publicationsOf(alice).map((p) => /<basic>(\w+)/.exec(p.state.content)?.[1]),
      ['closed', 'open'],
      'the most recently changed publication comes first',
    );
    const first = esc.publicationsOf(alice)[1];
    assert.equal(esc.publish({ presentity: alice, ifMatch: first.etag, expires: 120, state: state('closed') }).status, 200, 'the older one is modified');
    assert.equal(esc.publicationsOf(alice)[0], first, 'and comes first now');
  });

  test('a publication not refreshed in time expires on the wheel; a refresh moves its expiry', () => {
    const first = esc.publish({ presentity: alice, ifMatch: undefined, expires: 60, state: state('open') });
    clock.advance(50_000);
    wheel.advance();
    const refreshed = esc.publish({ presentity: alice, ifMatch: first.status === 200 ? first.etag : undefined, expires: 60, state: undefined });
    assert.equal(refreshed.status, 200, 'refreshed before it expired');
    clock.advance(50_000);
    wheel.advance();
    assert.equal(esc.publicationsOf(alice).length, 1, 'still there 100 s after the first publish: the refresh counted');
    clock.advance(11_000);
    wheel.advance();
    assert.equal(esc.publicationsOf(alice).length, 0, 'expired 60 s after the refresh');
    assert.deepEqual(changes, [alice, alice], 'the expiry is a change');
    assert.equal(esc.publish({ presentity: alice, ifMatch: refreshed.status === 200 ? refreshed.etag : undefined, expires: 60, state: undefined }).status, 412, 'its tag is dead');
    assert.equal(wheel.size, 0, 'no timer left');
  });
});
