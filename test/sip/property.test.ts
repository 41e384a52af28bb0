// Property tests: robustness against mutated input, round trips, URI generation, linear time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  parseMessage,
  parseUri,
  Parameters,
  SipParseError,
  SipUri,
  StreamFramer,
  uriEquals,
  validateMessage,
  type AnyMessage,
} from '../../src/sip/index.ts';
import { manifest, wireBytes } from './corpus.ts';

/** Corpus messages that pass parse + validate (datagram semantics). */
const VALID: Buffer[] = manifest.entries
  .map((e) => wireBytes(e))
  .filter((b) => {
    try {
      validateMessage(parseMessage(b));
      return true;
    } catch {
      return false;
    }
  });

/** Every corpus message, valid or not. */
const ALL: Buffer[] = manifest.entries.map((e) => wireBytes(e));

/** Octet sequences that matter to the grammar, to insert at random places. */
const INTERESTING = ['\r\n', '\r\n\r\n', '\n', '\r', ' ', '\t', '\r\n ', ',', ';', '=', ':', '"', '\\', '<', '>', '[', ']', '@', '?', '&', '%', '%0', '\0', 'SIP/2.0', 'Content-Length: ', 'l:', '99999999999999999999', '-1', '\xff\xfe', '\u00e9'].map((s) =>
  Buffer.from(s, 'latin1'),
);

type Mutation =
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'truncate'; at: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.constantFrom(...INTERESTING) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(input: Buffer, mutations: Mutation[]): Buffer {
  let b = input;
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    switch (m.kind) {
      case 'set':
        if (b.length > 0) {
          b = Buffer.from(b);
          b[at % b.length] = m.byte;
        }
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.count)]);
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
    }
  }
  return b;
}

/** Throws unless `fn` either succeeds or throws SipParseError. */
function onlySipParseError(fn: () => void, what: string): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof SipParseError)) {
      throw new Error(`${what} threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    }
  }
}

/** Parse, validate, read the usual fields and serialize again: the whole datagram path. */
function exercise(bytes: Buffer): void {
  const m = parseMessage(bytes);
  validateMessage(m);
  void m.via;
  void m.contacts;
  void m.routes;
  void m.recordRoutes;
  void m.contentLength;
  void m.expires;
  void m.require;
  void m.supported;
  void m.authHeaders('authorization');
  void m.authHeaders('www-authenticate');
  if (m.isRequest) void m.uri;
  const again = parseMessage(m.toBuffer());
  validateMessage(again);
}

const message = fc.constantFrom(...VALID.keys());
const anyMessage = fc.constantFrom(...ALL.keys());
const FAST_MS = 250;

test('corpus provides enough valid messages for the properties', () => {
  assert.ok(VALID.length >= 38, `only ${VALID.length} valid messages`);
});

test('(a) mutated corpus messages only ever fail with SipParseError, and quickly', { timeout: 60_000 }, () => {
  fc.assert(
    fc.property(anyMessage, fc.array(mutationArb, { minLength: 1, maxLength: 6 }), (i, mutations) => {
      const bytes = mutate(ALL[i], mutations);
      const t0 = performance.now();
      onlySipParseError(() => exercise(bytes), 'parse/validate');
      const ms = performance.now() - t0;
      if (ms > FAST_MS) throw new Error(`took ${ms.toFixed(0)} ms`);
    }),
    { numRuns: 1000 },
  );
});

test('(a) arbitrary byte strings and truncations of every message', { timeout: 60_000 }, () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (raw) => {
      onlySipParseError(() => exercise(Buffer.from(raw)), 'parse/validate');
    }),
    { numRuns: 500 },
  );
  for (const bytes of ALL) {
    for (let n = 0; n <= bytes.length; n += 7) onlySipParseError(() => exercise(bytes.subarray(0, n)), `truncation at ${n}`);
  }
});

test('(b) StreamFramer on random chunkings of mutated streams only throws SipParseError', { timeout: 60_000 }, () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(anyMessage, fc.array(mutationArb, { maxLength: 3 })), { minLength: 1, maxLength: 4 }),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
      (parts, sizes) => {
        const stream = Buffer.concat(parts.map(([i, mutations]) => mutate(ALL[i], mutations)));
        const framer = new StreamFramer();
        let offset = 0;
        let k = 0;
        const t0 = performance.now();
        try {
          while (offset < stream.length) {
            const n = sizes[k++ % sizes.length];
            for (const item of framer.push(stream.subarray(offset, offset + n))) {
              if (item.kind === 'message') onlySipParseError(() => exercise(item.message.toBuffer()), 'framed message');
              if (item.kind === 'invalid') assert.ok(item.error instanceof SipParseError, 'invalid item carries a SipParseError');
            }
            offset += n;
          }
        } catch (err) {
          if (!(err instanceof SipParseError)) throw err;
        }
        const ms = performance.now() - t0;
        if (ms > 4 * FAST_MS) throw new Error(`framing took ${ms.toFixed(0)} ms`);
      },
    ),
    { numRuns: 500 },
  );
});

function summary(m: AnyMessage) {
  return {
    start: m.isRequest ? [m.method, m.uriString] : [m.status, m.reason],
    headers: m.headers.length,
    callId: m.callId,
    cseq: m.cseq,
    body: m.body.toString('latin1'),
  };
}

test('(c) round trip: parse(toBuffer()) keeps the message and toBuffer() is stable', { timeout: 60_000 }, () => {
  type Edit = 'none' | 'maxfwd' | 'pushvia' | 'popvia' | 'rr' | 'body' | 'header' | 'clone';
  const editArb = fc.constantFrom<Edit>('none', 'maxfwd', 'pushvia', 'popvia', 'rr', 'body', 'header', 'clone');
  fc.assert(
    fc.property(message, fc.array(editArb, { maxLength: 4 }), fc.string({ maxLength: 30, unit: 'grapheme-ascii' }), (i, edits, text) => {
      const m = parseMessage(VALID[i]);
      let x: AnyMessage = m;
      for (const edit of edits) {
        if (edit === 'maxfwd') x.setMaxForwards(text.length);
        if (edit === 'pushvia') x.pushVia('SIP/2.0/TCP p.example.com;branch=z9hG4bK' + text.length);
        if (edit === 'popvia' && x.vias.length > 1) x.popVia();
        if (edit === 'rr') x.prependRecordRoute('<sip:rr.example.com;lr>');
        if (edit === 'body') x.setBody(text);
        if (edit === 'header') x.add('X-Prop', text.replace(/[\r\n]/g, '').trim() || 'v');
        if (edit === 'clone') x = x.clone();
      }
      const first = x.toBuffer();
      const p1 = parseMessage(first);
      validateMessage(p1);
      const expected = summary(x);
      expected.headers += x.has('content-length') ? 0 : 1; // toBuffer() adds a missing Content-Length
      assert.deepEqual(summary(p1), expected);
      const second = p1.toBuffer();
      assert.ok(second.equals(first), 'serialize(parse(serialize(x))) === serialize(x)');
      assert.ok(parseMessage(second).toBuffer().equals(second), 'stable on a third pass');
      if (edits.length === 0) {
        // nothing edited: only a missing Content-Length is added, trailing datagram octets dropped
        assert.deepEqual(summary(p1).body, m.body.toString('latin1'));
      }
    }),
    { numRuns: 400 },
  );
});

// ---- URIs -------------------------------------------------------------------------------------

const alnum = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789');
const word = (chars: string, max: number) => fc.string({ unit: fc.constantFrom(...chars), minLength: 1, maxLength: max });
/** user = unreserved / escaped / user-unreserved (RFC 3261 §25.1) */
const escaped = fc.integer({ min: 0, max: 255 }).map((b) => '%' + b.toString(16).padStart(2, '0').toUpperCase());
const userArb = fc.array(fc.oneof(alnum, fc.constantFrom(...("-_.!~*'()&=+$,;?/")), escaped), { minLength: 1, maxLength: 12 }).map((a) => a.join(''));
const passwordArb = fc.array(fc.oneof(alnum, fc.constantFrom(...("-_.!~*'()&=+$,")), escaped), { maxLength: 8 }).map((a) => a.join(''));
const label = fc.tuple(alnum, word('abcdefghijklmnopqrstuvwxyz0123456789-', 10), alnum).map(([a, b, c]) => a + b + c);
const hostnameArb = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
const ipv4Arb = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const ipv6Arb = fc.ipV6();
const hostArb = fc.oneof(hostnameArb, ipv4Arb, ipv6Arb);
const paramChars = "abcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()[]/:&+$";
const paramArb = fc.tuple(word('abcdefghijklmnopqrstuvwxyz0123456789-_.!~*', 8), fc.option(word(paramChars, 10), { nil: null }));
const headerArb = fc.tuple(word('abcdefghijklmnopqrstuvwxyz0123456789-', 8), fc.option(word('abcdefghijklmnopqrstuvwxyz0123456789-[]/?:+$', 10), { nil: '' }));

const sipUriArb = fc
  .record({
    scheme: fc.constantFrom<'sip' | 'sips'>('sip', 'sips'),
    user: fc.option(userArb, { nil: null }),
    password: fc.option(passwordArb, { nil: null }),
    host: hostArb,
    port: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: null }),
    params: fc.uniqueArray(paramArb, { maxLength: 5, selector: ([n]) => n.toLowerCase() }),
    headers: fc.array(headerArb, { maxLength: 3 }),
  })
  .map((r) => {
    const params = new Parameters();
    for (const [n, v] of r.params) params.set(n, v);
    return new SipUri(r.scheme, r.user, r.user === null ? null : r.password, r.host, r.port, params, r.headers);
  });

test('(d) generated SIP URIs round-trip through toString/parseUri and compare equal', { timeout: 60_000 }, () => {
  fc.assert(
    fc.property(sipUriArb, (uri) => {
      const text = uri.toString();
      const parsed = parseUri(text);
      assert.ok(parsed instanceof SipUri, `${text} parses as a SIP URI`);
      assert.equal(parsed.toString(), text);
      assert.equal(parsed.scheme, uri.scheme);
      assert.equal(parsed.user, uri.user);
      assert.equal(parsed.password, uri.password);
      assert.equal(parsed.host, uri.host);
      assert.equal(parsed.port, uri.port);
      assert.deepEqual([...parsed.params.entries()], [...uri.params.entries()]);
      assert.deepEqual(parsed.headers, uri.headers);
      assert.ok(uriEquals(uri, parsed), `${text} equals its parse`);
      assert.ok(uriEquals(parsed, uri), `${text} equals its parse (reversed)`);
      // case of the host never matters; the user part's case does when it has letters
      const upper = parseUri(text.replace(uri.hostport, uri.hostport.toUpperCase()));
      assert.ok(uriEquals(upper, parsed), `${text} host case-insensitive`);
    }),
    { numRuns: 1000 },
  );
});

test('(d) a changed port, scheme or user makes generated URIs differ', { timeout: 60_000 }, () => {
  fc.assert(
    fc.property(sipUriArb, (uri) => {
      const other = uri.clone();
      other.port = uri.port === null ? 5060 : null;
      assert.equal(uriEquals(uri, other), false);
      const sips = uri.clone();
      sips.scheme = uri.scheme === 'sip' ? 'sips' : 'sip';
      assert.equal(uriEquals(uri, sips), false);
      const user = uri.clone();
      user.user = (uri.user ?? '') + 'x';
      assert.equal(uriEquals(uri, user), false);
    }),
    { numRuns: 300 },
  );
});

// ---- linear time ------------------------------------------------------------------------------

function request(extraHeaders: string[], body = ''): Buffer {
  return Buffer.from(
    [
      'OPTIONS sip:bob@example.com SIP/2.0',
      'Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKlin',
      'From: <sip:a@example.com>;tag=1',
      'To: <sip:bob@example.com>',
      'Call-ID: linear',
      'CSeq: 1 OPTIONS',
      'Max-Forwards: 70',
      ...extraHeaders,
      'Content-Length: ' + Buffer.byteLength(body),
      '',
      body,
    ].join('\r\n'),
  );
}

function timed(label: string, fn: () => void): number {
  const t0 = performance.now();
  onlySipParseError(fn, label);
  return performance.now() - t0;
}

test('(e) 200 KB header values and thousands of parameters parse in well under a second', { timeout: 30_000 }, () => {
  const N = 200_000;
  const raw: Array<[string, Buffer | string, (m: AnyMessage) => void]> = [
    ['long extension value', request(['X-Long: ' + 'a'.repeat(N)]), (m) => assert.equal(m.get('x-long')?.length, N)],
    ['Via with many parameters', request(['Via: SIP/2.0/UDP b.example.com' + ';p=v'.repeat(N / 4)]), (m) => assert.equal(m.vias.length, 2)],
    ['long Call-ID', request([]).toString().replace('Call-ID: linear', 'Call-ID: ' + 'c'.repeat(N)), (m) => assert.equal(m.callId.length, N)],
    ['many Route elements', request(['Route: ' + Array(N / 25).fill('<sip:r.example.com;lr>').join(',')]), (m) => assert.equal(m.routes.length, N / 25)],
    ['long quoted display name', request([]).toString().replace('To: <sip', 'To: "' + 'd\\"'.repeat(N / 4) + '" <sip'), (m) => assert.equal(m.to.displayName, 'd"'.repeat(N / 4))],
    ['unterminated quoted string', request([]).toString().replace('To: <sip', 'To: "' + 'q '.repeat(N / 2) + '<sip'), () => assert.fail('must be rejected')],
    ['URI with many parameters', request([]).toString().replace('OPTIONS sip:bob@example.com', 'OPTIONS sip:bob@example.com' + ';x'.repeat(N / 2)), (m) => assert.ok(m.isRequest && m.uri instanceof SipUri && m.uri.params.size === 1, 'one distinct parameter')],
    ['URI with long escaped user', request([]).toString().replace('OPTIONS sip:bob@', 'OPTIONS sip:' + '%41'.repeat(N / 4) + '@'), (m) => assert.ok(m.isRequest && m.uri instanceof SipUri && m.uri.userDecoded === 'A'.repeat(N / 4), 'decoded user')],
    ['many commas', request(['Supported: ' + ','.repeat(N)]), (m) => assert.deepEqual(m.supported, [])],
    ['many folded lines', request(['X-Fold: a' + '\r\n b'.repeat(N / 4)]), (m) => assert.equal(m.get('x-fold')?.length, 1 + (N / 4) * 2)],
    ['many colons in a header name line', request(['X' + ':'.repeat(N)]), (m) => assert.equal(m.get('x')?.length, N - 1)],
    ['a huge status line reason', Buffer.from('SIP/2.0 200 ' + 'r'.repeat(N) + '\r\nContent-Length: 0\r\n\r\n'), () => assert.fail('lacks mandatory headers')],
  ];
  const cases = raw.map(([name, bytes, check]) => [name, Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes), check] as const);

  for (const [name, bytes, check] of cases) {
    assert.ok(bytes.length >= N / 2, `${name}: input is large`);
    let parsed: AnyMessage | undefined;
    const ms = timed(name, () => {
      parsed = undefined;
      const m = parseMessage(bytes, { maxHeaders: 100_000 });
      validateMessage(m);
      parsed = m;
      check(m);
      void m.toBuffer();
    });
    assert.ok(ms < 500, `${name}: ${ms.toFixed(0)} ms`);
    if (name === 'unterminated quoted string' || name === 'a huge status line reason') assert.equal(parsed, undefined, `${name} is rejected`);
    else assert.ok(parsed, `${name} is accepted`);
  }
});

test('(e) parse time grows linearly with header size', { timeout: 30_000 }, () => {
  const build = (n: number) => request(['Via: SIP/2.0/UDP b.example.com' + ';p=v'.repeat(n), 'X-Long: ' + 'a'.repeat(n * 4)]);
  const measure = (bytes: Buffer) => {
    let best = Infinity;
    for (let i = 0; i < 5; i++) {
      best = Math.min(
        best,
        timed('linear', () => {
          const m = parseMessage(bytes);
          validateMessage(m);
          void m.vias;
        }),
      );
    }
    return best;
  };
  measure(build(1000)); // warm up
  const small = measure(build(10_000));
  const large = measure(build(80_000));
  // 8x the input: allow generous noise, but quadratic growth (64x) must fail
  assert.ok(large < Math.max(small, 1) * 24, `10k: ${small.toFixed(1)} ms, 80k: ${large.toFixed(1)} ms`);
});
