/**
 * Client transactions towards a peer that never answers (a UDP socket that swallows datagrams):
 * the request is retransmitted (Timer A doubling without bound for INVITE, Timer E doubling up to
 * T2 for non-INVITE) until Timer B / F fires at 64*T1, and the TU gets a synthesized 408
 * (RFC 3261 §17.1.1.2, §17.1.2.2, §8.1.3.1). T1 = 20 ms keeps it to 1.28 s.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { UserAgent } from '../../src/ua/index.ts';

const T1 = 20;

async function silentPeer(): Promise<{ socket: dgram.Socket; port: number; arrivals: Array<{ at: number; text: string }> }> {
  const socket = dgram.createSocket('udp4');
  const arrivals: Array<{ at: number; text: string }> = [];
  socket.on('message', (data) => arrivals.push({ at: performance.now(), text: data.toString('latin1') }));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return { socket, port: socket.address().port, arrivals };
}

function intervals(times: number[]): number[] {
  return times.slice(1).map((t, i) => t - times[i]);
}

/**
 * Copy k arrives no earlier than the sum of the first k nominal intervals after the request was
 * started (timers never fire early), and each interval is at most 40 ms over its nominal value (the
 * wheel ticks every 10 ms: a timer may fire a tick late). Arrival times are read in this process,
 * whose event loop may note an arrival a few milliseconds late: measured from the start, such a
 * delay can only make a copy look later, while an interval from a late-noted copy would look short.
 */
function assertTimerSchedule(sinceStart: number[], nominal: (i: number) => number): void {
  let due = 0;
  sinceStart.forEach((at, k) => {
    if (k > 0) due += nominal(k - 1);
    assert.ok(at >= due - 3, `copy ${k} arrived ${at.toFixed(1)} ms after the start, before its time ${due}`);
  });
  intervals(sinceStart).forEach((gap, i) => assert.ok(gap <= nominal(i) + 40, `interval ${i} is ${gap.toFixed(1)} ms, nominal ${nominal(i)}`));
}

test('INVITE to a silent peer: Timer A retransmits with doubling intervals, Timer B gives 408', { timeout: 10_000 }, async () => {
  const peer = await silentPeer();
  const ua = await UserAgent.create({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], timers: { T1, T2: 4000 } });
  try {
    const started = performance.now();
    const call = await ua.invite({ uri: `sip:nobody@127.0.0.1:${peer.port}` });
    const final = await call.final;
    const elapsed = performance.now() - started;
    assert.equal(final.status, 408);
    assert.equal(final.cseq.method, 'INVITE');
    assert.equal(call.dialog, undefined);
    assert.ok(elapsed >= 64 * T1 - 5, `Timer B fired after ${elapsed} ms, before 64*T1`);
    assert.ok(elapsed < 64 * T1 + 500, `Timer B fired late: ${elapsed} ms`);

    // every copy is the same INVITE (same branch), sent at 0, T1, 3T1, 7T1, ... < 64*T1
    const copies = peer.arrivals;
    assert.ok(copies.length >= 6 && copies.length <= 7, `expected 6-7 transmissions, got ${copies.length}`);
    assert.ok(copies.every((c) => c.text === copies[0].text), 'retransmissions are byte-identical');
    assert.match(copies[0].text, /^INVITE sip:nobody@127\.0\.0\.1:\d+ SIP\/2\.0\r\n/);
    const gaps = intervals(copies.map((c) => c.at));
    assertTimerSchedule(copies.map((c) => c.at - started), (i) => T1 * 2 ** i);
    for (let i = 2; i < gaps.length; i++) {
      const ratio = gaps[i] / gaps[i - 1];
      assert.ok(ratio > 1.5 && ratio < 2.6, `interval ${i} / interval ${i - 1} = ${ratio.toFixed(2)}: Timer A doubles`);
    }
    // nothing more after Timer B: the transaction is gone
    await new Promise((r) => setTimeout(r, 4 * T1));
    assert.equal(peer.arrivals.length, copies.length);
    assert.equal(ua.transactions.clientCount, 0);
  } finally {
    await ua.close();
    peer.socket.close();
  }
});

test('OPTIONS to a silent peer: Timer E doubles up to T2, Timer F gives 408', { timeout: 10_000 }, async () => {
  const peer = await silentPeer();
  const T2 = 160;
  const ua = await UserAgent.create({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], timers: { T1, T2 } });
  try {
    const started = performance.now();
    const response = await ua.request({ method: 'OPTIONS', uri: `sip:nobody@127.0.0.1:${peer.port}` });
    const elapsed = performance.now() - started;
    assert.equal(response.status, 408);
    assert.equal(response.cseq.method, 'OPTIONS');
    assert.ok(elapsed >= 64 * T1 - 5 && elapsed < 64 * T1 + 500, `Timer F fired after ${elapsed} ms`);

    // sent at 0, 20, 60, 140, 300, 460, ..., 1260: intervals 20, 40, 80, 160, 160, ...
    const copies = peer.arrivals;
    assert.ok(copies.length >= 10 && copies.length <= 11, `expected 10-11 transmissions, got ${copies.length}`);
    assert.ok(copies.every((c) => c.text === copies[0].text));
    const gaps = intervals(copies.map((c) => c.at));
    assertTimerSchedule(copies.map((c) => c.at - started), (i) => Math.min(T1 * 2 ** i, T2));
    assert.ok(gaps.slice(4).every((g) => g < 1.5 * T2), 'capped at T2');
    await new Promise((r) => setTimeout(r, 4 * T1));
    assert.equal(peer.arrivals.length, copies.length);
    assert.equal(ua.transactions.clientCount, 0);
  } finally {
    await ua.close();
    peer.socket.close();
  }
});
