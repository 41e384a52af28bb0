/**
 * Password-guessing protection: failures counted per key with increasing back-off, per user and
 * per source, the known source of a user exempt from the user's block. On a ManualClock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BruteForceGuard, FailureCounter } from '../../../src/services/security/index.ts';
import { ManualClock } from '../../../src/shared/index.ts';

const policy = { maxFailures: 3, windowMs: 10_000, blockMs: 1000, maxBlockMs: 3500 };

test('max failures within the window block the key; the block doubles on repeat up to the maximum', () => {
  const clock = new ManualClock(0);
  const c = new FailureCounter(policy, { clock });
  assert.equal(c.fail('k'), 0, 'failure 1 starts no block');
  assert.equal(c.fail('k'), 0, 'failure 2 starts no block');
  assert.equal(c.fail('k'), 1000, 'failure 3 blocks for 1 s');
  assert.equal(c.isBlocked('k'), true, 'blocked');
  assert.equal(c.fail('k'), 0, 'a failure while blocked is not counted again');
  clock.advance(1000);
  assert.equal(c.isBlocked('k'), false, 'the first block is over after 1 s');
  c.fail('k');
  c.fail('k');
  assert.equal(c.fail('k'), 2000, 'the second block lasts 2 s');
  clock.advance(2000);
  c.fail('k');
  c.fail('k');
  assert.equal(c.fail('k'), 3500, 'the third would be 4 s, capped at 3.5 s');
  clock.advance(3499);
  assert.equal(c.isBlocked('k'), true, 'still blocked 1 ms before the end');
  clock.advance(1);
  assert.equal(c.isBlocked('k'), false, 'free again');
});

test('failures spread wider than the window do not block; success and quiet time forget them', () => {
  const clock = new ManualClock(0);
  const c = new FailureCounter(policy, { clock });
  for (let i = 0; i < 10; i++) {
    assert.equal(c.fail('slow'), 0, `failure ${i + 1}, 6 s apart: never 3 in one 10 s window`);
    clock.advance(6000);
  }
  c.fail('k');
  c.fail('k');
  c.succeed('k');
  assert.equal(c.fail('k'), 0, 'a success cleared the earlier failures');
  clock.advance(3500);
  c.sweep();
  assert.equal(c.size, 0, 'keys quiet for the longest block are forgotten');
});

test('a guesser is blocked per source across users, and per user across sources', () => {
  const clock = new ManualClock(0);
  const blocks: string[] = [];
  const g = new BruteForceGuard({ perUser: { ...policy, maxFailures: 4 }, perSource: policy, clock, onBlock: (kind, key) => blocks.push(`${kind}:${key}`) });
  g.failed('alice@example.test', '192.0.2.66');
  g.failed('bob@example.test', '192.0.2.66');
  assert.equal(g.isBlocked('carol@example.test', '192.0.2.66'), false, 'two failures from the source: not yet');
  g.failed('carol@example.test', '192.0.2.66');
  assert.deepEqual(blocks, ['source:192.0.2.66'], 'the third failure from one source blocks it');
  assert.equal(g.isBlocked('dave@example.test', '192.0.2.66'), true, 'the source is blocked for every user');
  assert.equal(g.isBlocked('dave@example.test', '192.0.2.67'), false, 'other sources are not');
  assert.equal(g.refused, 1, 'the refused attempt is counted');

  // a distributed guesser: one user from many sources
  for (let i = 1; i <= 4; i++) g.failed('erin@example.test', `198.51.100.${i}`);
  assert.equal(g.isUserBlocked('erin@example.test'), true, 'four failures for erin from four sources block erin');
  assert.equal(g.isBlocked('erin@example.test', '198.51.100.99'), true, 'for any other source');
});

test("the source a user last authenticated from is exempt from that user's block (no lock-out by strangers)", () => {
  const clock = new ManualClock(0);
  const g = new BruteForceGuard({ perUser: policy, perSource: { ...policy, maxFailures: 100 }, clock });
  g.succeeded('alice@example.test', '192.0.2.10');
  for (let i = 0; i < 3; i++) g.failed('alice@example.test', `203.0.113.${i}`);
  assert.equal(g.isUserBlocked('alice@example.test'), true, 'strangers blocked alice');
  assert.equal(g.isBlocked('alice@example.test', '203.0.113.50'), true, 'a stranger is refused');
  assert.equal(g.isBlocked('alice@example.test', '192.0.2.10'), false, "alice's own phone still gets in");
});
