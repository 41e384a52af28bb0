/**
 * Flood protection (Kamailio pike): the two-bucket sliding window per source, the ban and its
 * expiry, trusted sources exempt, the sweep that bounds memory. On a ManualClock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FloodDetector } from '../../../src/services/security/index.ts';
import { ManualClock } from '../../../src/shared/index.ts';

function detector(clock: ManualClock, exempt: string[] = []) {
  const banned: string[] = [];
  const d = new FloodDetector({ requests: 10, windowMs: 1000, banMs: 5000, clock, isExempt: (a) => exempt.includes(a), onBan: (a) => banned.push(a) });
  return { d, banned };
}

test('a source within the limit is admitted; the request over it bans the source', () => {
  const clock = new ManualClock(10_000);
  const { d, banned } = detector(clock);
  for (let i = 0; i < 10; i++) assert.equal(d.admit('192.0.2.1'), true, `request ${i + 1} of 10 is within the limit`);
  assert.equal(d.isBanned('192.0.2.1'), false, 'not banned at the limit');
  assert.equal(d.admit('192.0.2.1'), false, 'the 11th request in the window trips the ban');
  assert.equal(d.isBanned('192.0.2.1'), true, 'banned now');
  assert.deepEqual(banned, ['192.0.2.1'], 'one ban reported');
  assert.equal(d.admit('192.0.2.1'), false, 'a banned source is refused');
  assert.equal(d.admit('192.0.2.2'), true, 'another source is not affected');
  assert.equal(d.banCount, 1, 'one ban counted');
});

test('the ban expires after ban time, and the source starts afresh', () => {
  const clock = new ManualClock(10_000);
  const { d } = detector(clock);
  for (let i = 0; i < 11; i++) d.admit('192.0.2.1');
  assert.equal(d.isBanned('192.0.2.1'), true, 'banned');
  assert.ok(d.banRemainingSec('192.0.2.1') >= 4 && d.banRemainingSec('192.0.2.1') <= 5, `about 5 s of ban left, got ${d.banRemainingSec('192.0.2.1')}`);
  clock.advance(4999);
  assert.equal(d.isBanned('192.0.2.1'), true, 'still banned 1 ms before the end');
  clock.advance(1);
  assert.equal(d.isBanned('192.0.2.1'), false, 'the ban is over');
  assert.equal(d.admit('192.0.2.1'), true, 'admitted again, its old counts are gone');
});

test('the window slides: the previous window counts by the share that still overlaps', () => {
  const clock = new ManualClock(0);
  const { d } = detector(clock);
  // 10 requests late in window 0 (none over the limit)
  clock.set(900);
  for (let i = 0; i < 10; i++) assert.equal(d.admit('a'), true, `window 0 request ${i + 1}`);
  // 100 ms into window 1, 90% of window 0 still overlaps: 9 of its 10 count, so one more fits
  clock.set(1100);
  assert.equal(d.admit('a'), true, '9 + 1 = 10 is within the limit');
  assert.equal(d.admit('a'), false, '9 + 2 = 11 is over it');

  // a steady rate below the limit never trips, however it falls across window boundaries
  const clock2 = new ManualClock(0);
  const { d: steady } = detector(clock2);
  for (let t = 0; t < 20_000; t += 1000 / 8) {
    clock2.set(Math.floor(t));
    assert.equal(steady.admit('b'), true, `a steady 8 requests per window is fine at ${Math.floor(t)} ms`);
  }
});

test('counts two windows old are forgotten entirely', () => {
  const clock = new ManualClock(0);
  const { d } = detector(clock);
  for (let i = 0; i < 10; i++) d.admit('a');
  clock.set(2500); // window 2: window 0 is not the previous one
  for (let i = 0; i < 10; i++) assert.equal(d.admit('a'), true, `request ${i + 1} after two windows`);
});

test('trusted sources are never counted nor banned; a change of the trusted set applies to known sources', () => {
  const clock = new ManualClock(0);
  const exempt = ['10.0.0.1'];
  const { d } = detector(clock, exempt);
  for (let i = 0; i < 1000; i++) assert.equal(d.admit('10.0.0.1'), true, `trusted request ${i + 1}`);
  assert.equal(d.isTrusted('10.0.0.1'), true, 'isTrusted reports the exemption');
  exempt.length = 0;
  d.refreshExemptions();
  for (let i = 0; i < 10; i++) d.admit('10.0.0.1');
  assert.equal(d.admit('10.0.0.1'), false, 'no longer trusted: counted and banned');
});

test('sweep drops idle sources and expired bans; the table stops growing at maxSources', () => {
  const clock = new ManualClock(0);
  const d = new FloodDetector({ requests: 1, windowMs: 1000, banMs: 1500, clock, maxSources: 3 });
  d.admit('a');
  d.admit('b');
  d.admit('c');
  assert.equal(d.trackedSources, 3, 'three sources tracked');
  assert.equal(d.admit('d'), true, 'a fourth source is admitted uncounted while the table is full');
  assert.equal(d.trackedSources, 3, 'and not tracked');
  d.admit('c'); // c: 2 > 1, banned (and no longer tracked as a rate)
  assert.equal(d.isBanned('c'), true, 'c is banned');
  clock.set(2100);
  d.sweep();
  assert.equal(d.trackedSources, 0, 'sources idle for two windows are swept');
  assert.equal(d.banned().length, 0, 'the expired ban is swept');
});
