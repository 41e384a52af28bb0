// The linger queue: transactions waiting out Timers D, I, J, K, L, M end at their time, in order,
// behind a single wheel timer, whatever their number.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, TimerWheel } from '../../src/shared/index.ts';
import { LingerQueue } from '../../src/transaction/linger-queue.ts';

/** A lingering transaction that records when it was ended, and how often. */
class Ending {
  ends: number[] = [];
  constructor(
    readonly name: string,
    private readonly clock: ManualClock,
  ) {}
  terminate(): void {
    this.ends.push(this.clock.now());
  }
}

function setup() {
  const clock = new ManualClock(1_000);
  const wheel = new TimerWheel(clock, { autoDrive: false });
  const queue = new LingerQueue(wheel);
  const runTo = (ms: number) => {
    while (clock.now() < ms) {
      clock.advance(Math.min(10, ms - clock.now()));
      wheel.advance();
    }
  };
  return { clock, wheel, queue, runTo };
}

test('entries of different lingers end at their own time, each once, behind one wheel timer', () => {
  const { clock, wheel, queue, runTo } = setup();
  const long1 = new Ending('J', clock);
  queue.add(long1, 32_000);
  runTo(2_000);
  const short = new Ending('K', clock);
  queue.add(short, 5_000);
  const long2 = new Ending('J2', clock);
  queue.add(long2, 32_000);
  assert.equal(queue.size, 3);
  assert.equal(wheel.size, 1, 'one wheel timer for the whole queue');

  runTo(7_000 - 10);
  assert.deepEqual(short.ends, []);
  runTo(7_000);
  assert.deepEqual(short.ends, [7_000], 'K ended 5 s after it was added (the earlier J did not delay it)');
  assert.equal(queue.size, 2);
  assert.equal(wheel.size, 1);

  runTo(33_000 - 10);
  assert.deepEqual(long1.ends, []);
  runTo(33_000);
  assert.deepEqual(long1.ends, [33_000]);
  runTo(34_000);
  assert.deepEqual(long2.ends, [34_000]);
  runTo(60_000);
  assert.deepEqual([long1.ends.length, long2.ends.length, short.ends.length], [1, 1, 1], 'nobody ended twice');
  assert.equal(queue.size, 0);
  assert.equal(wheel.size, 0, 'an empty queue holds no timer');
});

test('an entry added with an earlier end than the pending one re-arms the queue timer earlier', () => {
  const { clock, queue, runTo } = setup();
  const late = new Ending('late', clock);
  const early = new Ending('early', clock);
  queue.add(late, 30_000);
  queue.add(early, 100);
  runTo(1_100);
  assert.deepEqual(early.ends, [1_100]);
  assert.deepEqual(late.ends, []);
});

test('100,000 entries added over 100 ticks end on time behind one wheel timer, and the queue is reusable after', () => {
  const { clock, wheel, queue, runTo } = setup();
  let ended = 0;
  const tx = { terminate: () => void ended++ };
  // tick k (0..99) adds 1000 entries at 1000 + 10k ms: they end at 33,000 + 10k
  for (let tick = 0; tick < 100; tick++) {
    for (let i = 0; i < 1000; i++) queue.add(tx, 32_000);
    clock.advance(10);
    wheel.advance();
  }
  assert.equal(queue.size, 100_000);
  assert.equal(wheel.size, 1);
  runTo(33_000 - 10);
  assert.equal(ended, 0);
  runTo(33_000 + 490);
  assert.equal(ended, 50_000, 'the first 50 ticks ended on time, the rest not yet');
  runTo(33_000 + 990);
  assert.equal(ended, 100_000);
  assert.equal(queue.size, 0);
  assert.equal(wheel.size, 0);
  // after the front was dropped, new entries still end on time
  const again = new Ending('again', clock);
  queue.add(again, 500);
  runTo(clock.now() + 500);
  assert.equal(again.ends.length, 1);
});

test('a transaction that ended early is ended again harmlessly; clear() drops everything and the timer', () => {
  const { clock, wheel, queue, runTo } = setup();
  const a = new Ending('a', clock);
  queue.add(a, 1_000);
  a.terminate(); // e.g. a transport error: the transaction ends itself, its entry stays
  runTo(2_000);
  assert.equal(a.ends.length, 2, 'the queue ends it at its time too; terminate() is idempotent in transactions');
  const b = new Ending('b', clock);
  queue.add(b, 1_000);
  queue.clear();
  assert.equal(queue.size, 0);
  assert.equal(wheel.size, 0);
  runTo(10_000);
  assert.deepEqual(b.ends, [], 'cleared entries are not ended by the queue');
});
