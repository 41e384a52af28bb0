// StreamFramer: cutting a TCP/TLS byte stream into SIP messages (RFC 3261 §18.3, RFC 5626 §4.4.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SipParseError, StreamFramer, type FramedItem } from '../../src/sip/index.ts';

function options(callId: string, body = ''): Buffer {
  return Buffer.from(
    [
      'OPTIONS sip:bob@example.com SIP/2.0',
      'Via: SIP/2.0/TCP client.example.com;branch=z9hG4bK' + callId,
      'Max-Forwards: 70',
      'From: <sip:alice@example.com>;tag=1',
      'To: <sip:bob@example.com>',
      'Call-ID: ' + callId,
      'CSeq: 1 OPTIONS',
      'Content-Length: ' + Buffer.byteLength(body),
      '',
      body,
    ].join('\r\n'),
  );
}

function callIds(items: FramedItem[]): string[] {
  return items.map((i) => (i.kind === 'message' ? i.message.callId : i.kind));
}

function pushAll(framer: StreamFramer, chunks: Buffer[]): FramedItem[] {
  const out: FramedItem[] = [];
  for (const c of chunks) out.push(...framer.push(c));
  return out;
}

test('two messages in one chunk come out as two messages', () => {
  const a = options('a1', 'hello');
  const b = options('b2');
  const framer = new StreamFramer();
  const items = framer.push(Buffer.concat([a, b]));
  assert.deepEqual(callIds(items), ['a1', 'b2']);
  const [first, second] = items;
  assert.ok(first.kind === 'message' && second.kind === 'message', 'both are messages');
  assert.equal(first.message.body.toString(), 'hello');
  assert.ok(first.bytes.equals(a), 'first item carries exactly its own bytes');
  assert.ok(second.bytes.equals(b), 'second item carries exactly its own bytes');
  assert.equal(framer.buffered, 0);
});

test('one message split across chunks is held until complete, at every split point', () => {
  const msg = options('split', 'body-octets');
  for (let cut = 1; cut < msg.length; cut++) {
    const framer = new StreamFramer();
    assert.deepEqual(framer.push(msg.subarray(0, cut)), [], `nothing framed after ${cut} octets`);
    assert.equal(framer.buffered, cut);
    const items = framer.push(msg.subarray(cut));
    assert.deepEqual(callIds(items), ['split'], `cut at ${cut}`);
    assert.ok(items[0].kind === 'message' && items[0].message.body.toString() === 'body-octets', `body at cut ${cut}`);
  }
});

test('one octet at a time frames the same messages', () => {
  const stream = Buffer.concat([options('x1', 'abc'), options('x2'), options('x3', 'defg')]);
  const framer = new StreamFramer();
  const items = pushAll(
    framer,
    [...stream].map((b) => Buffer.from([b])),
  );
  assert.deepEqual(callIds(items), ['x1', 'x2', 'x3']);
  assert.equal(framer.buffered, 0);
});

test('CRLFCRLF between messages is a keep-alive ping, a lone CRLF a pong (RFC 5626 §4.4.1)', () => {
  const framer = new StreamFramer();
  const items = framer.push(Buffer.concat([options('p1'), Buffer.from('\r\n\r\n'), options('p2'), Buffer.from('\r\n'), options('p3')]));
  assert.deepEqual(
    items.map((i) => i.kind),
    ['message', 'ping', 'message', 'pong', 'message'],
  );
  assert.deepEqual(callIds(items), ['p1', 'ping', 'p2', 'pong', 'p3']);
});

test('a ping split over several chunks is recognised once complete', () => {
  const framer = new StreamFramer();
  assert.deepEqual(framer.push(Buffer.from('\r')), []);
  assert.deepEqual(framer.push(Buffer.from('\n\r')), []);
  assert.deepEqual(framer.push(Buffer.from('\n')), [{ kind: 'ping' }]);
  assert.equal(framer.buffered, 0);
  // a lone CRLF followed by a message start is a pong
  const items = framer.push(Buffer.concat([Buffer.from('\r\n'), options('after')]));
  assert.deepEqual(callIds(items), ['pong', 'after']);
});

test('a message without Content-Length is a framing error on a stream', () => {
  const text = options('nolen').toString().replace('Content-Length: 0\r\n', '');
  const framer = new StreamFramer();
  assert.throws(
    () => framer.push(Buffer.from(text)),
    (err: unknown) => err instanceof SipParseError && err.reason === 'content-length',
  );
});

test('a bad or conflicting Content-Length is a framing error', () => {
  for (const bad of ['Content-Length: -1', 'Content-Length: ten', 'l: 5\r\nContent-Length: 6']) {
    const text = options('bad').toString().replace('Content-Length: 0', bad);
    assert.throws(
      () => new StreamFramer().push(Buffer.from(text)),
      (err: unknown) => err instanceof SipParseError && err.reason === 'content-length',
      bad,
    );
  }
  // compact form and odd spacing are read
  const text = options('compact', 'xyz').toString().replace('Content-Length: 3', 'l  :3');
  assert.deepEqual(callIds(new StreamFramer().push(Buffer.from(text))), ['compact']);
});

test('a message over maxMessageSize is refused (513)', () => {
  const framer = new StreamFramer({ maxMessageSize: 600 });
  assert.throws(
    () => framer.push(options('big', 'x'.repeat(1000))),
    (err: unknown) => err instanceof SipParseError && err.reason === 'too-large' && err.statusCode === 513,
  );
  // a header section that never ends is refused once it passes the limit
  const endless = new StreamFramer({ maxMessageSize: 600 });
  assert.deepEqual(endless.push(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\n')), []);
  assert.throws(
    () => {
      for (let i = 0; i < 100; i++) endless.push(Buffer.from('X-Filler: ' + 'y'.repeat(20) + '\r\n'));
    },
    (err: unknown) => err instanceof SipParseError && err.reason === 'too-large',
  );
  // a message just under the limit still frames
  const msg = options('fits');
  assert.deepEqual(callIds(new StreamFramer({ maxMessageSize: msg.length }).push(msg)), ['fits']);
});

test('a message with bad content yields {kind: invalid}, and the next message still frames', () => {
  const bad = Buffer.from(options('bad', 'abc').toString().replace('OPTIONS sip:bob@example.com SIP/2.0', 'OPTIONS sip:bob@example.com SIP/7.0'));
  const broken = Buffer.from(options('broken').toString().replace('Max-Forwards: 70', 'Max-Forwards 70'));
  const framer = new StreamFramer();
  const items = framer.push(Buffer.concat([bad, broken, options('good')]));
  assert.deepEqual(
    items.map((i) => i.kind),
    ['invalid', 'invalid', 'message'],
  );
  const [first, second, third] = items;
  assert.ok(first.kind === 'invalid' && first.error instanceof SipParseError, 'first is invalid');
  assert.equal(first.error.statusCode, 505);
  assert.ok(first.bytes.equals(bad), 'the invalid item carries the framed bytes');
  assert.ok(second.kind === 'invalid' && second.error.reason === 'header-line', 'second is invalid');
  assert.ok(third.kind === 'message' && third.message.callId === 'good', 'third frames');
});

test('framed messages parse with stream semantics: octets after Content-Length start the next message', () => {
  const framer = new StreamFramer();
  const items = framer.push(Buffer.concat([options('s1', 'ab'), Buffer.from('OPTIONS sip:x')]));
  assert.deepEqual(callIds(items), ['s1']);
  assert.equal(framer.buffered, 'OPTIONS sip:x'.length);
});
