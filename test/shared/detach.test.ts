// Copies of values kept beyond the message they came from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keepBytesIn, keptBytes, ownString } from '../../src/shared/index.ts';

/** A copy kept through a holder of its own, as a transaction keeps one. */
function keepBytes(bytes: Buffer): Buffer {
  const holder = { keptSlab: null, keptStart: 0, keptEnd: 0 };
  keepBytesIn(holder, bytes);
  return keptBytes(holder) as Buffer;
}

test('ownString returns an equal string for ASCII, Latin-1, UTF-16, short, long and sliced values', () => {
  const head = 'REGISTER sip:bench.test SIP/2.0\r\nCall-ID: 1-2345@127.0.0.1\r\nUser-Agent: Grandstream GXP2160 1.0.11.3 ünïcode ☎\r\n';
  const callId = head.slice(head.indexOf('Call-ID: ') + 9, head.indexOf('\r\nUser-Agent'));
  const userAgent = head.slice(head.indexOf('User-Agent: ') + 12, head.length - 2);
  for (const value of [callId, userAgent, 'short', '', 'x'.repeat(5000), 'é'.repeat(2000), 'z9hG4bK' + 'a'.repeat(1017)]) {
    const own = ownString(value);
    assert.equal(own, value);
    assert.equal(own.length, value.length);
  }
  assert.equal(ownString(callId), '1-2345@127.0.0.1');
  assert.equal(ownString(userAgent), 'Grandstream GXP2160 1.0.11.3 ünïcode ☎');
});

test('keepBytesIn copies into storage of its own: later changes to the source do not show, and kept copies never overlap', () => {
  const pool = Buffer.from('SIP/2.0 200 OK\r\n\r\n', 'latin1');
  const own = keepBytes(pool.subarray(0, 14));
  pool.fill(0);
  assert.equal(own.toString('latin1'), 'SIP/2.0 200 OK');
  assert.notEqual(own.buffer, pool.buffer);
  // enough to fill several slabs: every copy still holds its own bytes afterwards
  const kept: Array<[Buffer, number]> = [];
  for (let i = 0; i < 2000; i++) {
    const bytes = Buffer.alloc(1 + (i * 37) % 700, i & 0xff);
    kept.push([keepBytes(bytes), i]);
    bytes.fill(0xee);
  }
  for (const [copy, i] of kept) {
    assert.equal(copy.length, 1 + (i * 37) % 700);
    assert.ok(copy.every((b) => b === (i & 0xff)), `copy ${i} was overwritten`);
  }
  // large ones (above an eighth of a slab) get a store of their own
  const large = keepBytes(Buffer.alloc(20_000, 7));
  assert.equal(large.length, 20_000);
  assert.equal(large.byteOffset, 0);
  assert.ok(large.every((b) => b === 7));
});
