// The hashed timer wheel (src/shared/timer-wheel.ts), driven by hand with a ManualClock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { ManualClock, systemClock, Timer, TimerWheel, type TimerTarget } from '../../src/shared/index.ts';

/** Records when each (target, kind) fired. */
class Recorder implements TimerTarget {
  readonly fired: Array<{ kind: number; at: number }> = [];
  constructor(private readonly clock: ManualClock) {}
  onTimer(kind: number): void {
    this.fired.push({ kind, at: this.clock.now() });
  }
}

function manual(start = 0, options: { resolutionMs?: number; slots?: number } = {}) {
  const clock = new ManualClock(start);
  const wheel = new TimerWheel(clock, { ...options, autoDrive: false });
  return { clock, wheel, rec: new Recorder(clock) };
}

/** Moves the clock to `t` in steps of `step` ms, advancing the wheel after each. */
function stepTo(clock: ManualClock, wheel: TimerWheel, t: number, step: number): void {
  while (clock.now() < t) {
    clock.set(Math.min(t, clock.now() + step));
    wheel.advance();
  }
}

test('a timer fires once its due time is reached, not one millisecond before', () => {
  const { clock, wheel, rec } = manual();
  wheel.schedule(500, rec, 1);
  stepTo(clock, wheel, 499, 1);
  assert.equal(rec.fired.length, 0);
  stepTo(clock, wheel, 500, 1);
  assert.deepEqual(rec.fired, [{ kind: 1, at: 500 }]);
  assert.equal(wheel.size, 0);
});

test('a due time inside a tick fires at the end of that tick: late by less than one resolution', () => {
  const { clock, wheel, rec } = manual(3); // not on a tick boundary
  const t = wheel.schedule(500, rec, 7); // due at 503
  assert.equal(t.dueAt, 503);
  stepTo(clock, wheel, 509, 1);
  assert.equal(rec.fired.length, 0);
  stepTo(clock, wheel, 510, 1);
  assert.deepEqual(rec.fired, [{ kind: 7, at: 510 }]);
});

test('property: timers never fire early and at most one resolution late (fractional clock, rotations)', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 10_000, noNaN: true }),
      fc.constantFrom(1, 4, 10),
      fc.constantFrom(2, 8, 64),
      fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 30 }),
      (start, resolutionMs, slots, delays) => {
        const { clock, wheel, rec } = manual(start, { resolutionMs, slots });
        const timers = delays.map((d, i) => wheel.schedule(d, rec, i));
        assert.equal(wheel.size, delays.length);
        const end = start + Math.max(...delays) + 2 * resolutionMs;
        // 1 ms steps from a fractional start: the clock visits every instant that matters
        stepTo(clock, wheel, end, 1);
        assert.equal(rec.fired.length, delays.length, 'each timer fires exactly once');
        assert.deepEqual(new Set(rec.fired.map((f) => f.kind)).size, delays.length);
        for (const f of rec.fired) {
          const due = timers[f.kind].dueAt;
          assert.ok(f.at >= due, `timer ${f.kind} fired at ${f.at}, before ${due}`);
          assert.ok(f.at - due < resolutionMs + 1, `timer ${f.kind} fired at ${f.at}, ${f.at - due} ms after ${due}`);
        }
        assert.equal(wheel.size, 0);
      },
    ),
    { numRuns: 150, seed: 0x5150 },
  );
});

test('on tick boundaries timers fire exactly on time, in due order', () => {
  const { clock, wheel, rec } = manual();
  const delays = [500, 10, 1000, 2000, 30, 4000, 20];
  delays.forEach((d, i) => wheel.schedule(d, rec, i));
  stepTo(clock, wheel, 5000, 10);
  assert.deepEqual(
    rec.fired.map((f) => f.at),
    [...delays].sort((a, b) => a - b),
  );
  for (const f of rec.fired) assert.equal(f.at, delays[f.kind]);
});

test('a zero or negative delay fires on the next tick, never inside the tick being processed', () => {
  const { clock, wheel, rec } = manual(100);
  wheel.schedule(0, rec, 1);
  wheel.schedule(-50, rec, 2);
  wheel.advance(); // clock has not moved
  assert.equal(rec.fired.length, 0);
  clock.set(110);
  wheel.advance();
  assert.deepEqual(
    rec.fired.map((f) => f.kind).sort(),
    [1, 2],
  );

  // a timer rescheduling itself with delay 0 from its callback runs once per tick, not in a loop
  let calls = 0;
  const self: TimerTarget = {
    onTimer: () => {
      calls++;
      if (calls < 100) wheel.schedule(0, self, 0);
    },
  };
  wheel.schedule(0, self, 0);
  clock.set(120);
  wheel.advance();
  assert.equal(calls, 1);
  stepTo(clock, wheel, 150, 10);
  assert.equal(calls, 4, 'once per tick');
});

test('a long timer (64*T1 = 32 s, three rotations of 1024 x 10 ms) fires at 32 s, not a rotation early', () => {
  for (const start of [0, 7, 10_235, 123_456.5]) {
    const { clock, wheel, rec } = manual(start);
    const t = wheel.schedule(64 * 500, rec, 2);
    assert.equal(t.dueAt, start + 32_000);
    const due = t.dueAt;
    // the slot comes round at 32000 - 10240*k: none of those fire it
    stepTo(clock, wheel, due - 1, 10);
    assert.equal(rec.fired.length, 0, `fired early from start ${start}`);
    stepTo(clock, wheel, due + 10, 1);
    assert.equal(rec.fired.length, 1);
    assert.ok(rec.fired[0].at >= due && rec.fired[0].at < due + 10, `start ${start}: fired at ${rec.fired[0].at}, due ${due}`);
  }
});

test('long timers of every length up to many rotations fire in their own tick (small wheel)', () => {
  const { clock, wheel, rec } = manual(0, { resolutionMs: 10, slots: 8 }); // one rotation = 80 ms
  const delays: number[] = [];
  for (let d = 10; d <= 2000; d += 10) delays.push(d);
  delays.forEach((d, i) => wheel.schedule(d, rec, i));
  stepTo(clock, wheel, 2000, 10);
  assert.equal(rec.fired.length, delays.length);
  for (const f of rec.fired) assert.equal(f.at, delays[f.kind]);
});

test('one big clock jump fires every due timer once, and only those', () => {
  const { clock, wheel, rec } = manual();
  for (let i = 0; i < 50; i++) wheel.schedule(i * 1000, rec, i); // up to 49 s: several rotations
  clock.set(25_000);
  wheel.advance();
  assert.deepEqual(
    rec.fired.map((f) => f.kind),
    Array.from({ length: 26 }, (_, i) => i),
  );
  assert.equal(wheel.size, 24);
  clock.set(100_000);
  wheel.advance();
  assert.equal(rec.fired.length, 50);
  assert.equal(wheel.size, 0);
});

test('a cancelled timer never fires; cancel is idempotent and a no-op after firing', () => {
  const { clock, wheel, rec } = manual();
  const a = wheel.schedule(100, rec, 1);
  const b = wheel.schedule(100, rec, 2);
  const c = wheel.schedule(200, rec, 3);
  assert.ok(a.active && b.active && c.active);
  wheel.cancel(b);
  assert.equal(b.active, false);
  assert.equal(wheel.size, 2);
  wheel.cancel(b);
  wheel.cancel(null);
  wheel.cancel(undefined);
  assert.equal(wheel.size, 2);
  stepTo(clock, wheel, 150, 10);
  assert.deepEqual(rec.fired, [{ kind: 1, at: 100 }]);
  assert.equal(a.active, false);
  wheel.cancel(a); // already fired
  assert.equal(wheel.size, 1);
  wheel.cancel(c);
  stepTo(clock, wheel, 20_000, 10);
  assert.deepEqual(rec.fired, [{ kind: 1, at: 100 }]);
  assert.equal(wheel.size, 0);
});

test('cancel is O(1): it unlinks the timer from its neighbours and touches nothing else', () => {
  const { wheel, rec } = manual();
  // all in one slot (same due time), so they form one list
  const timers: Timer[] = [];
  for (let i = 0; i < 1000; i++) timers.push(wheel.schedule(1000, rec, i));
  const slot = timers[0].slot;
  assert.ok(timers.every((t) => t.slot === slot));
  const victim = timers[500];
  const before = victim.prev;
  const after = victim.next;
  assert.ok(before !== null && after !== null);
  const snapshot = timers.map((t) => [t.prev, t.next]);
  wheel.cancel(victim);
  assert.equal(before.next, after);
  assert.equal(after.prev, before);
  assert.equal(victim.prev, null);
  assert.equal(victim.next, null);
  assert.equal(victim.slot, -1);
  // no other link changed
  timers.forEach((t, i) => {
    if (t === victim || t === before || t === after) return;
    assert.equal(t.prev, snapshot[i][0]);
    assert.equal(t.next, snapshot[i][1]);
  });
  assert.equal(wheel.size, 999);
});

test('a timer cancelled by another timer of the same slot, from its callback, does not fire', () => {
  const { clock, wheel, rec } = manual();
  let victim: Timer | null = null;
  const canceller: TimerTarget = {
    onTimer: () => {
      rec.onTimer(0);
      wheel.cancel(victim);
    },
  };
  const later = wheel.schedule(100, rec, 3); // due in the same tick, visited after the victim
  victim = wheel.schedule(100, rec, 2);
  wheel.schedule(100, canceller, 0); // the list is LIFO: canceller, victim, later
  assert.equal(wheel.size, 3);
  stepTo(clock, wheel, 100, 10);
  assert.deepEqual(
    rec.fired.map((f) => f.kind),
    [0, 3],
    'the victim must not fire, and the timer after it must still fire on time',
  );
  assert.equal(later.active, false);
  assert.equal(wheel.size, 0);
});

test('cancelling a not-yet-due timer of the same slot from a callback keeps the rest of the slot on time', () => {
  const { clock, wheel, rec } = manual(0, { resolutionMs: 10, slots: 16 }); // rotation 160 ms
  const dueLater = wheel.schedule(100, rec, 5); // slot 10, fires now
  const farVictim = wheel.schedule(100 + 160 * 3, rec, 9); // slot 10, three rotations later
  const canceller: TimerTarget = {
    onTimer: () => {
      rec.onTimer(1);
      wheel.cancel(farVictim);
    },
  };
  wheel.schedule(100, canceller, 0); // visited first
  assert.equal(dueLater.slot, farVictim.slot);
  stepTo(clock, wheel, 100, 10);
  assert.deepEqual(
    rec.fired.map((f) => [f.kind, f.at]),
    [
      [1, 100],
      [5, 100],
    ],
  );
  assert.equal(wheel.size, 0);
  stepTo(clock, wheel, 1000, 10);
  assert.equal(rec.fired.length, 2);
});

test('100,000 timers scheduled and cancelled: size is exact throughout', () => {
  const { clock, wheel, rec } = manual();
  const N = 100_000;
  const timers: Timer[] = [];
  for (let i = 0; i < N; i++) timers.push(wheel.schedule(1 + ((i * 7919) % 200_000), rec, i));
  assert.equal(wheel.size, N);
  // cancel every other one, each twice
  for (let i = 0; i < N; i += 2) wheel.cancel(timers[i]);
  assert.equal(wheel.size, N / 2);
  for (let i = 0; i < N; i += 2) wheel.cancel(timers[i]);
  assert.equal(wheel.size, N / 2);
  stepTo(clock, wheel, 100_000, 10);
  const firedSoFar = rec.fired.length;
  assert.equal(wheel.size, N / 2 - firedSoFar);
  stepTo(clock, wheel, 200_010, 10);
  assert.equal(rec.fired.length, N / 2);
  assert.ok(rec.fired.every((f) => f.kind % 2 === 1), 'no cancelled timer fired');
  assert.equal(new Set(rec.fired.map((f) => f.kind)).size, N / 2, 'each fired once');
  for (const f of rec.fired) assert.ok(f.at >= timers[f.kind].dueAt && f.at < timers[f.kind].dueAt + 10);
  assert.equal(wheel.size, 0);
  // cancelling fired timers does not disturb the count
  for (const t of timers) wheel.cancel(t);
  assert.equal(wheel.size, 0);
});

test('advance() with 100,000 timers due far in the future visits only the slot of the tick', () => {
  const { clock, wheel, rec } = manual();
  const N = 100_000;
  const timers: Timer[] = [];
  // due between 60 s and 160 s: 6 to 15 rotations away, spread over every slot
  for (let i = 0; i < N; i++) timers.push(wheel.schedule(60_000 + ((i * 104_729) % 100_000), rec, i));
  const rounds = timers.map((t) => t.rounds);
  clock.set(10);
  wheel.advance(); // one tick: slot 1
  assert.equal(rec.fired.length, 0);
  assert.equal(wheel.size, N);
  let touched = 0;
  for (let i = 0; i < N; i++) {
    const t = timers[i];
    if (t.slot === 1) {
      // visited: one round closer
      assert.equal(t.rounds, rounds[i] - 1);
      touched++;
    } else {
      assert.equal(t.rounds, rounds[i], `timer ${i} in slot ${t.slot} was visited`);
    }
  }
  // the visited slot holds about N/1024 timers, a tiny share of all
  assert.ok(touched > 0 && touched < 500, `visited ${touched}`);
  // advancing without a clock move visits nothing
  wheel.advance();
  for (let i = 0; i < N; i++) if (timers[i].slot !== 1) assert.equal(timers[i].rounds, rounds[i]);
});

test('a throwing target does not stop the other timers; the error is rethrown outside the wheel', () => {
  const { clock, wheel, rec } = manual();
  const thrown: Array<() => void> = [];
  const original = globalThis.queueMicrotask;
  globalThis.queueMicrotask = (fn: () => void) => {
    thrown.push(fn);
  };
  try {
    wheel.schedule(100, rec, 1);
    wheel.schedule(
      100,
      {
        onTimer: () => {
          throw new Error('boom');
        },
      },
      0,
    );
    wheel.schedule(100, rec, 2);
    wheel.schedule(200, rec, 3);
    stepTo(clock, wheel, 300, 10);
  } finally {
    globalThis.queueMicrotask = original;
  }
  assert.deepEqual(
    rec.fired.map((f) => f.kind).sort(),
    [1, 2, 3],
  );
  assert.equal(wheel.size, 0);
  assert.equal(thrown.length, 1);
  assert.throws(thrown[0], /boom/);
});

test('slots must be a power of two', () => {
  assert.throws(() => new TimerWheel(new ManualClock(), { slots: 1000, autoDrive: false }), RangeError);
  assert.doesNotThrow(() => new TimerWheel(new ManualClock(), { slots: 512, autoDrive: false }));
});

test('after a long idle period a new timer is measured from now', () => {
  const { clock, wheel, rec } = manual();
  wheel.schedule(10, rec, 1);
  stepTo(clock, wheel, 10, 10);
  clock.set(1_000_000.25); // idle: the wheel was not advanced
  const t = wheel.schedule(500, rec, 2);
  clock.set(1_000_500);
  wheel.advance();
  assert.equal(rec.fired.length, 1);
  clock.set(1_000_510);
  wheel.advance();
  assert.deepEqual(rec.fired[1], { kind: 2, at: 1_000_510 });
  assert.ok(rec.fired[1].at >= t.dueAt);
});

test('with autoDrive the wheel fires in real time and stops its driver when empty', async () => {
  const wheel = new TimerWheel(systemClock, { resolutionMs: 5 });
  // the driver is unref'd (it must not keep a server process alive): hold the loop open meanwhile
  const keepAlive = setTimeout(() => {}, 5000);
  try {
    const start = systemClock.now();
    const firedAt = await new Promise<number>((resolve) => {
      wheel.schedule(30, { onTimer: () => resolve(systemClock.now()) }, 0);
    });
    assert.ok(firedAt - start >= 30, `fired after ${firedAt - start} ms`);
    assert.equal(wheel.size, 0);
    const cancelled = wheel.schedule(20, { onTimer: () => assert.fail('cancelled timer fired') }, 0);
    wheel.cancel(cancelled);
    await new Promise((r) => setTimeout(r, 60));
  } finally {
    clearTimeout(keepAlive);
    wheel.stop();
  }
});

test('the autoDrive driver does not keep the process alive', () => {
  const script =
    `import { TimerWheel, systemClock } from ${JSON.stringify(new URL('../../src/shared/index.ts', import.meta.url).href)};` +
    'new TimerWheel(systemClock).schedule(60_000, { onTimer: () => process.exit(3) }, 0);';
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(Date.now() - started < 30_000);
});

test('reschedule moves a pending timer, re-arms a fired one, and works from inside its own callback', () => {
  const { clock, wheel, rec } = manual();
  const t = wheel.schedule(500, rec, 1);
  stepTo(clock, wheel, 200, 10);
  // pending: it now fires 1000 ms from t=200, not at 500
  wheel.reschedule(t, 1000);
  assert.equal(wheel.size, 1);
  stepTo(clock, wheel, 1199, 1);
  assert.equal(rec.fired.length, 0);
  stepTo(clock, wheel, 1200, 1);
  assert.deepEqual(rec.fired, [{ kind: 1, at: 1200 }]);
  assert.equal(t.active, false);
  // fired: the same Timer is armed again (beyond one turn of the wheel, so with rounds)
  wheel.reschedule(t, 20_000);
  assert.equal(t.active, true);
  stepTo(clock, wheel, 21_200, 10);
  assert.deepEqual(rec.fired.at(-1), { kind: 1, at: 21_200 });
  // a retransmission timer re-arming itself as it fires (Timer A, E, G)
  const again: TimerTarget = {
    onTimer(kind: number) {
      rec.onTimer(kind);
      if (rec.fired.length < 5) wheel.reschedule(self, 100);
    },
  };
  const self: Timer = wheel.schedule(100, again, 2);
  stepTo(clock, wheel, 22_000, 10);
  assert.deepEqual(
    rec.fired.slice(2).map((f) => f.at),
    [21_300, 21_400, 21_500],
  );
  assert.equal(wheel.size, 0);
});
