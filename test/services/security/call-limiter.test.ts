/** Concurrent calls per user, keyed by Call-ID: admitted, kept by a 2xx, released by failure, BYE or timeouts. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CallLimiter } from '../../../src/services/security/index.ts';
import { ManualClock } from '../../../src/shared/index.ts';

test('a user at the limit is refused until a call ends', () => {
  const clock = new ManualClock(0);
  const l = new CallLimiter({ maxCallsPerUser: 2, clock });
  assert.equal(l.admit('alice', 'c1'), true, 'first call');
  assert.equal(l.admit('alice', 'c2'), true, 'second call');
  assert.equal(l.admit('alice', 'c1'), true, 'the same Call-ID again is the same call (a spiral, a retry)');
  assert.equal(l.admit('alice', 'c3'), false, 'a third call is refused');
  assert.equal(l.admit('bob', 'c4'), true, 'another user is not affected');
  l.finalResponse('c1', 200);
  l.finalResponse('c2', 486);
  assert.equal(l.activeCalls('alice'), 1, 'the failed call no longer counts');
  assert.equal(l.admit('alice', 'c5'), true, 'so another call fits');
  assert.equal(l.admit('alice', 'c6'), false, 'and then none more');
  l.finalResponse('c1', 487);
  assert.equal(l.activeCalls('alice'), 2, 'a late non-2xx does not end an established call');
  l.release('c1');
  assert.equal(l.activeCalls('alice'), 1, 'a BYE ends it');
  assert.equal(l.refused, 2, 'two refusals counted');
});

test('timeouts free slots whose final response or BYE never came', () => {
  const clock = new ManualClock(0);
  const l = new CallLimiter({ maxCallsPerUser: 1, clock, setupTimeoutMs: 1000, maxDurationMs: 5000 });
  l.admit('alice', 'setup');
  clock.advance(1000);
  l.sweep();
  assert.equal(l.activeCalls('alice'), 0, 'a call without a final response is given up after the setup timeout');
  l.admit('alice', 'long');
  l.finalResponse('long', 200);
  clock.advance(4999);
  l.sweep();
  assert.equal(l.activeCalls('alice'), 1, 'an established call counts');
  clock.advance(1);
  l.sweep();
  assert.equal(l.activeCalls('alice'), 0, 'until the longest call duration without a BYE');
  assert.equal(l.size, 0, 'nothing left in the table');
});

test('limit 0 is off', () => {
  const l = new CallLimiter({ maxCallsPerUser: 0 });
  for (let i = 0; i < 100; i++) assert.equal(l.admit('alice', `c${i}`), true, `call ${i} admitted`);
  assert.equal(l.size, 0, 'nothing tracked');
});
