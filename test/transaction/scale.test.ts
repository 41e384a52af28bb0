// 100,000 live server transactions on one wheel: every one ends at its own Timer J (non-INVITE,
// RFC 3261 §17.2.2) or Timer L (INVITE, RFC 6026 §7.1), and the lingering ones cost the wheel two
// timers in all (the linger queue's for INVITEs, the completed table's for non-INVITEs), each firing
// once per batch of expirations. Counts are asserted, not wall time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, TimerWheel, type Timer, type TimerTarget } from '../../src/shared/index.ts';
import { createResponse, parseMessage, type SipRequest } from '../../src/sip/index.ts';
import { TransactionLayer } from '../../src/transaction/index.ts';
import type { TransportLayer } from '../../src/transport/index.ts';
import { incoming, LoopbackTransport, RecordingUser, T1, T2, T4, TICK, UDP_FLOW } from './loopback.ts';

/** Counts what the transactions ask of the wheel, and what it fires. */
class CountingWheel extends TimerWheel {
  scheduled = 0;
  cancelled = 0;
  fired = 0;
  override schedule(delayMs: number, target: TimerTarget, kind: number): Timer {
    this.scheduled++;
    const counting: TimerTarget = {
      onTimer: (k) => {
        this.fired++;
        target.onTimer(k);
      },
    };
    return super.schedule(delayMs, counting, kind);
  }
  override cancel(timer: Timer | null | undefined): void {
    if (timer?.active) this.cancelled++;
    super.cancel(timer);
  }
}

test('§17.2.2 / RFC 6026 §7.1 scale: 100,000 server transactions all end by Timer J/L, serverCount 0, two wheel timers for all of them', () => {
  const N = 100_000;
  const PER_TICK = 1000; // created over 100 ticks (1 s)
  const clock = new ManualClock(0);
  const wheel = new CountingWheel(clock, { autoDrive: false });
  const transport = new LoopbackTransport(clock);
  transport.record = false;
  const user = new RecordingUser(clock);
  let answered = 0;
  user.onNew = (request, tx) => {
    tx.respond(createResponse(request, 200, { toTag: 't' }));
    answered++;
  };
  const layer = new TransactionLayer(transport as unknown as TransportLayer, user, {
    wheel,
    timers: { T1, T2, T4 },
    autoTrying: 'delayed',
  });
  // keep only counts from the user, not 100,000 records
  const requests = user.requests;

  const createdAt: number[] = [];
  for (let i = 0; i < N; i++) {
    if (i > 0 && i % PER_TICK === 0) {
      clock.advance(TICK);
      wheel.advance();
    }
    const method = i % 2 === 0 ? 'INVITE' : 'OPTIONS';
    layer.receive(parseIncoming(method, `z9hG4bK-scale-${i}`), UDP_FLOW);
    createdAt.push(clock.now());
    if (requests.length > 0) requests.length = 0;
  }
  const lastCreated = clock.now();
  assert.equal(answered, N);
  assert.equal(layer.serverCount, N);
  // a Trying timer per INVITE was armed and cancelled by the answer; L and J (both 64*T1) are
  // entries of the completed table, behind its one timer: keys, not transaction objects
  assert.equal(wheel.scheduled, N / 2 + 1);
  assert.equal(wheel.cancelled, N / 2);
  assert.equal(wheel.size, 1);
  assert.equal(wheel.fired, 0);
  assert.equal(transport.sendCount, N, 'one response each, no 100 Trying');

  // until the first Timer J/L is due nothing fires, whatever the number of live transactions
  while (clock.now() < 64 * T1 - TICK) {
    clock.advance(TICK);
    wheel.advance();
  }
  assert.equal(wheel.fired, 0);
  assert.equal(layer.serverCount, N);
  // retransmissions of completed OPTIONS, first, middle and last, are answered from among 50,000
  for (const i of [1, 50_001, N - 1]) layer.receive(parseIncoming('OPTIONS', `z9hG4bK-scale-${i}`), UDP_FLOW);
  assert.equal(transport.sendCount, N + 3, 'each retransmission got its final response again');
  assert.equal(requests.length, 0, 'and none reached the TU');

  // halfway through the expirations the count is exact
  const mid = 64 * T1 + 500;
  while (clock.now() < mid) {
    clock.advance(TICK);
    wheel.advance();
  }
  const expectedAlive = createdAt.filter((t) => t + 64 * T1 > mid).length;
  assert.ok(expectedAlive > 0 && expectedAlive < N);
  assert.equal(layer.serverCount, expectedAlive);
  // transactions created in one tick end in one firing of the table's timer
  assert.equal(wheel.fired, new Set(createdAt.filter((t) => t + 64 * T1 <= mid)).size);

  // past Timer J/L of the last one
  while (clock.now() < lastCreated + 64 * T1) {
    clock.advance(TICK);
    wheel.advance();
  }
  assert.equal(layer.serverCount, 0);
  assert.equal(wheel.size, 0);
  assert.equal(wheel.fired, N / PER_TICK, 'one firing per tick of expirations, not one per transaction');
  assert.equal(transport.sendCount, N + 3, 'nothing retransmitted but the three answers above');
  assert.equal(user.failures.length, 0);
  assert.equal(layer.counters.get('transaction.retransmissions_absorbed'), 3);
  // after Timer J the same request is a new one
  layer.receive(parseIncoming('OPTIONS', `z9hG4bK-scale-${N - 1}`), UDP_FLOW);
  assert.equal(answered, N + 1);
});

test('§17.2.1 scale: 100,000 unanswered INVITEs each get one delayed 100 Trying and stay matched', () => {
  const N = 100_000;
  const clock = new ManualClock(0);
  const wheel = new CountingWheel(clock, { autoDrive: false });
  const transport = new LoopbackTransport(clock);
  transport.record = false;
  const user = new RecordingUser(clock);
  const layer = new TransactionLayer(transport as unknown as TransportLayer, user, { wheel, timers: { T1, T2, T4 } });
  for (let i = 0; i < N; i++) layer.receive(parseIncoming('INVITE', `z9hG4bK-t-${i}`), UDP_FLOW);
  assert.equal(user.requests.length, N);
  clock.advance(190);
  wheel.advance();
  assert.equal(transport.sendCount, 0);
  clock.advance(10);
  wheel.advance();
  assert.equal(transport.sendCount, N);
  assert.equal(wheel.fired, N);
  assert.equal(wheel.size, 0, 'no timer for an unanswered INVITE in Proceeding');
  // retransmissions of a few of them find their transaction among 100,000
  for (const i of [0, 1, 4242, N - 1]) layer.receive(parseIncoming('INVITE', `z9hG4bK-t-${i}`), UDP_FLOW);
  assert.equal(user.requests.length, N);
  assert.equal(transport.sendCount, N + 4, 'each got its 100 again');
  assert.equal(layer.serverCount, N);
});

function parseIncoming(method: string, branch: string): SipRequest {
  const m = parseMessage(Buffer.from(incoming({ method, branch, callId: `${branch}@198.51.100.7` })));
  if (!m.isRequest) throw new Error('not a request');
  return m;
}
