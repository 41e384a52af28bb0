// Digest authentication (src/services/auth): the RFC 2617 / RFC 7616 test vectors, then the
// authenticator end to end with a client side computed here, nonces and nonce counts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createRequest, formatAuthHeader, parseAuthHeader, type SipRequest } from '../../src/sip/index.ts';
import { computeHa1, computeResponse, DigestAuthenticator, NonceCountTable, NonceService, type DigestAlgorithm } from '../../src/services/auth/index.ts';
import type { Subscriber } from '../../src/store/index.ts';

describe('digest computations against published vectors', () => {
  test('RFC 2617 §3.5: MD5, qop=auth', () => {
    const ha1 = computeHa1('MD5', 'Mufasa', 'testrealm@host.com', 'Circle Of Life');
    assert.equal(ha1, '939e7578ed9e3c518a452acee763bce9');
    const response = computeResponse({
      algorithm: 'MD5',
      ha1,
      method: 'GET',
      uri: '/dir/index.html',
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      qop: { nc: '00000001', cnonce: '0a4f113b' },
    });
    assert.equal(response, '6629fae49393a05397450978507c4ef1');
  });

  const rfc7616 = (algorithm: DigestAlgorithm) =>
    computeResponse({
      algorithm,
      ha1: computeHa1(algorithm, 'Mufasa', 'http-auth@example.org', 'Circle of Life'),
      method: 'GET',
      uri: '/dir/index.html',
      nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
      qop: { nc: '00000001', cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ' },
    });

  test('RFC 7616 §3.9.1: SHA-256', () => {
    assert.equal(rfc7616('SHA-256'), '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });

  test('RFC 7616 §3.9.1: the MD5 counterpart', () => {
    assert.equal(rfc7616('MD5'), '8ca523f5e9506fed4657c9700eebdbec');
  });

  test('without qop (RFC 2069 form): H(HA1:nonce:HA2)', () => {
    // RFC 2617 §3.5's inputs without qop; the value is H(HA1 ":" nonce ":" HA2) by definition
    const ha1 = '939e7578ed9e3c518a452acee763bce9';
    const ha2 = '39aff3a2bab6126f332b942af96d3366'; // MD5("GET:/dir/index.html")
    const expected = computeHa1('MD5', ha1, 'dcd98b7102dd2f0e8b11d0f600bfb0c093', ha2); // MD5(a:b:c)
    assert.equal(computeResponse({ algorithm: 'MD5', ha1, method: 'GET', uri: '/dir/index.html', nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093' }), expected);
  });
});

// ---- the authenticator ---------------------------------------------------------------------

const REALM = 'example.com';
const LIFETIME = 30_000;

function account(username: string, password: string, realm = REALM): Subscriber {
  return { username, domain: realm, ha1Md5: computeHa1('MD5', username, realm, password), ha1Sha256: computeHa1('SHA-256', username, realm, password) };
}

const ACCOUNTS = new Map([['alice', account('alice', 'correct horse')]]);
const lookup = (username: string) => ACCOUNTS.get(username);

function setup(algorithms: DigestAlgorithm[] = ['SHA-256', 'MD5'], nonceKey: string | undefined = 'test key') {
  const clock = { t: 1_700_000_000_000 };
  const auth = new DigestAuthenticator({ algorithms, nonceLifetimeMs: LIFETIME, nonceKey, now: () => clock.t });
  return { clock, auth };
}

function nonceOf(challenge: Array<[string, string]>): string {
  const nonce = parseAuthHeader(challenge[0][1], challenge[0][0]).params.get('nonce');
  assert.ok(nonce);
  return nonce;
}

interface ClientOptions {
  username?: string;
  password?: string;
  realm?: string;
  algorithm?: DigestAlgorithm | string;
  nonce: string;
  nc?: string;
  header?: 'Authorization' | 'Proxy-Authorization';
  method?: string;
  uri?: string;
}

/** A REGISTER carrying credentials computed the way a UA does (RFC 7616 §3.4, qop=auth). */
function request(o: ClientOptions): SipRequest {
  const username = o.username ?? 'alice';
  const realm = o.realm ?? REALM;
  const algorithm = o.algorithm ?? 'MD5';
  const method = o.method ?? 'REGISTER';
  const uri = o.uri ?? 'sip:example.com';
  const nc = o.nc ?? '00000001';
  const cnonce = '0a4f113b';
  const hashAlg: DigestAlgorithm = algorithm === 'SHA-256' ? 'SHA-256' : 'MD5';
  const response = computeResponse({
    algorithm: hashAlg,
    ha1: computeHa1(hashAlg, username, realm, o.password ?? 'correct horse'),
    method,
    uri,
    nonce: o.nonce,
    qop: { nc, cnonce },
  });
  const credentials = `Digest username="${username}", realm="${realm}", nonce="${o.nonce}", uri="${uri}", response="${response}", algorithm=${algorithm}, qop=auth, nc=${nc}, cnonce="${cnonce}"`;
  return plainRequest(method, uri, [[o.header ?? 'Authorization', credentials]]);
}

function plainRequest(method = 'REGISTER', uri = 'sip:example.com', extra: Array<[string, string]> = []): SipRequest {
  return createRequest({
    method,
    uri,
    headers: [
      ['Via', 'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-auth-1'],
      ['Max-Forwards', '70'],
      ['From', '<sip:alice@example.com>;tag=a1'],
      ['To', '<sip:alice@example.com>'],
      ['Call-ID', 'auth-test@192.0.2.10'],
      ['CSeq', `1 ${method}`],
      ...extra,
    ],
  });
}

describe('DigestAuthenticator.challenge()', () => {
  test('one header per configured algorithm, preferred first, same nonce, qop="auth"', () => {
    const { auth } = setup(['SHA-256', 'MD5']);
    const headers = auth.challenge(REALM, 'www');
    assert.equal(headers.length, 2);
    assert.deepEqual(
      headers.map(([name]) => name),
      ['WWW-Authenticate', 'WWW-Authenticate'],
    );
    const nonce = nonceOf(headers);
    assert.match(nonce, /^[A-Za-z0-9_-]{43}$/, 'base64url, 32 octets');
    assert.deepEqual(
      headers.map(([, value]) => value),
      [
        `Digest realm="example.com", nonce="${nonce}", qop="auth", algorithm=SHA-256`,
        `Digest realm="example.com", nonce="${nonce}", qop="auth", algorithm=MD5`,
      ],
    );
    for (const [name, value] of headers) {
      const parsed = parseAuthHeader(value, name);
      assert.equal(parsed.scheme, 'Digest');
      assert.equal(parsed.params.get('realm'), REALM);
      assert.equal(parsed.params.get('qop'), 'auth');
      assert.equal(parsed.params.has('stale'), false);
    }
  });

  test('proxy kind uses Proxy-Authenticate; stale=true when asked; fresh nonces each time', () => {
    const { auth } = setup(['MD5']);
    const first = auth.challenge('proxy.example.com', 'proxy', true);
    assert.equal(first.length, 1);
    assert.equal(first[0][0], 'Proxy-Authenticate');
    assert.match(first[0][1], /^Digest realm="proxy\.example\.com", nonce="[^"]+", qop="auth", algorithm=MD5, stale=true$/);
    assert.notEqual(nonceOf(auth.challenge(REALM, 'www')), nonceOf(first));
  });
});

describe('DigestAuthenticator.verify()', () => {
  for (const algorithm of ['MD5', 'SHA-256'] as const) {
    test(`a correct ${algorithm} digest verifies`, async () => {
      const { auth } = setup();
      const nonce = nonceOf(auth.challenge(REALM, 'www'));
      assert.deepEqual(await auth.verify(request({ nonce, algorithm }), REALM, 'www', lookup), { ok: true, username: 'alice' });
    });
  }

  test('the algorithm defaults to MD5 when the credentials name none', async () => {
    const { auth } = setup();
    const nonce = nonceOf(auth.challenge(REALM, 'www'));
    const good = request({ nonce, algorithm: 'MD5' });
    const value = good.get('authorization')!.replace(', algorithm=MD5', '');
    assert.deepEqual(await auth.verify(plainRequest('REGISTER', 'sip:example.com', [['Authorization', value]]), REALM, 'www', lookup), {
      ok: true,
      username: 'alice',
    });
  });

  test('an async subscriber lookup works the same', async () => {
    const { auth } = setup();
    const nonce = nonceOf(auth.challenge(REALM, 'www'));
    const asyncLookup = async (u: string) => ACCOUNTS.get(u);
    assert.deepEqual(await auth.verify(request({ nonce, algorithm: 'SHA-256' }), REALM, 'www', asyncLookup), { ok: true, username: 'alice' });
  });

  test('wrong password and unknown user fail alike', async () => {
    const { auth } = setup();
    const nonce = nonceOf(auth.challenge(REALM, 'www'));
    let looked: string[] = [];
    const spy = (u: string) => {
      looked.push(u);
      return ACCOUNTS.get(u);
    };
    const wrong = await auth.verify(request({ nonce, password: 'wrong', nc: '00000001' }), REALM, 'www', spy);
    assert.deepEqual(looked, ['alice']);
    looked = [];
    const unknown = await auth.verify(request({ nonce, username: 'mallory', nc: '00000002' }), REALM, 'www', spy);
    assert.deepEqual(looked, ['mallory']);
    assert.deepEqual(wrong, { ok: false, reason: 'failed' });
    assert.deepEqual(unknown, wrong, 'no difference a client could use to enumerate accounts');
    // an unknown user with an empty password (the placeholder HA1 the code hashes) fails too
    assert.deepEqual(await auth.verify(request({ nonce, username: 'mallory', password: '', nc: '00000003' }), REALM, 'www', spy), wrong);
  });

  test('a replayed nonce count fails; a higher one passes', async () => {
    const { auth } = setup();
    const nonce = nonceOf(auth.challenge(REALM, 'www'));
    assert.equal((await auth.verify(request({ nonce, nc: '00000001' }), REALM, 'www', lookup)).ok, true);
    assert.deepEqual(await auth.verify(request({ nonce, nc: '00000001' }), REALM, 'www', lookup), { ok: false, reason: 'failed' });
    assert.deepEqual(await auth.verify(request({ nonce, nc: '00000002' }), REALM, 'www', lookup), { ok: true, username: 'alice' });
    assert.deepEqual(await auth.verify(request({ nonce, nc: '00000001' }), REALM, 'www', lookup), { ok: false, reason: 'failed' }, 'going back');
    // counts are per nonce: another nonce starts again at 1
    const other = nonceOf(auth.challenge(REALM, 'www'));
    assert.equal((await auth.verify(request({ nonce: other, nc: '00000001' }), REALM, 'www', lookup)).ok, true);
  });

  test('repeatAllowed (a spiral through this proxy): the same nonce count passes again, a wrong digest still fails', async () => {
    const { auth } = setup();
    const nonce = nonceOf(auth.challenge(REALM, 'proxy'));
    const first = request({ nonce, nc: '00000001', header: 'Proxy-Authorization', method: 'INVITE' });
    assert.equal((await auth.verify(first, REALM, 'proxy', lookup)).ok, true);
    assert.deepEqual(await auth.verify(first, REALM, 'proxy', lookup, { repeatAllowed: true }), { ok: true, username: 'alice' });
    const wrong = request({ nonce, nc: '00000001', header: 'Proxy-Authorization', method: 'INVITE', password: 'wrong' });
    assert.deepEqual(await auth.verify(wrong, REALM, 'proxy', lookup, { repeatAllowed: true }), { ok: false, reason: 'failed' });
    // without it the repetition is a replay
    assert.deepEqual(await auth.verify(first, REALM, 'proxy', lookup), { ok: false, reason: 'failed' });
  });

  test('a right digest on a nonce whose counts are not known here (issued by another process, or its slot reused) gets stale, never ok', async () => {
    const { auth, clock } = setup(['MD5']);
    const other = new DigestAuthenticator({ algorithms: ['MD5'], nonceLifetimeMs: LIFETIME, nonceKey: 'test key', now: () => clock.t });
    const foreign = nonceOf(other.challenge(REALM, 'www'));
    assert.deepEqual(await auth.verify(request({ nonce: foreign, algorithm: 'MD5' }), REALM, 'www', lookup), { ok: false, reason: 'stale' });
    assert.deepEqual(await auth.verify(request({ nonce: foreign, algorithm: 'MD5', password: 'wrong' }), REALM, 'www', lookup), { ok: false, reason: 'failed' });
    const small = new DigestAuthenticator({ algorithms: ['MD5'], nonceLifetimeMs: LIFETIME, nonceKey: 'test key', nonceCountSlots: 2, now: () => clock.t });
    const early = nonceOf(small.challenge(REALM, 'www'));
    assert.deepEqual(await small.verify(request({ nonce: early, algorithm: 'MD5', nc: '00000001' }), REALM, 'www', lookup), { ok: true, username: 'alice' });
    small.challenge(REALM, 'www');
    small.challenge(REALM, 'www');
    // its slot went to a later nonce: a replay of nc=1, or a new count, cannot be told apart any more
    assert.deepEqual(await small.verify(request({ nonce: early, algorithm: 'MD5', nc: '00000001' }), REALM, 'www', lookup), { ok: false, reason: 'stale' });
    assert.deepEqual(await small.verify(request({ nonce: early, algorithm: 'MD5', nc: '00000002' }), REALM, 'www', lookup), { ok: false, reason: 'stale' });
  });

  test('a malformed nonce count fails', async () => {
    const { auth } = setup();
    const nonce = nonceOf(auth.challenge(REALM, 'www'));
    for (const nc of ['1', '0000000g', '000000001']) {
      assert.deepEqual(await auth.verify(request({ nonce, nc }), REALM, 'www', lookup), { ok: false, reason: 'failed' }, nc);
    }
  });

  test('an expired nonce: stale with a correct digest, failed with a wrong one', async () => {
    const { auth, clock } = setup();
    const nonce = nonceOf(auth.challenge(REALM, 'www'));
    clock.t += LIFETIME - 1;
    assert.equal((await auth.verify(request({ nonce, nc: '00000001' }), REALM, 'www', lookup)).ok, true, 'still valid just before');
    clock.t += 2;
    assert.deepEqual(await auth.verify(request({ nonce, nc: '00000002' }), REALM, 'www', lookup), { ok: false, reason: 'stale' });
    assert.deepEqual(await auth.verify(request({ nonce, nc: '00000003', algorithm: 'SHA-256' }), REALM, 'www', lookup), { ok: false, reason: 'stale' });
    assert.deepEqual(await auth.verify(request({ nonce, nc: '00000004', password: 'wrong' }), REALM, 'www', lookup), { ok: false, reason: 'failed' });
    assert.deepEqual(await auth.verify(request({ nonce, nc: '00000005', username: 'mallory' }), REALM, 'www', lookup), { ok: false, reason: 'failed' });
  });

  test('a nonce from the future (beyond clock skew) is not accepted', async () => {
    const { auth, clock } = setup();
    const nonce = nonceOf(auth.challenge(REALM, 'www'));
    clock.t -= 60_000;
    assert.equal((await auth.verify(request({ nonce }), REALM, 'www', lookup)).ok, false);
  });

  test('a forged or altered nonce fails, even with a digest computed over it', async () => {
    const { auth } = setup();
    const nonce = nonceOf(auth.challenge(REALM, 'www'));
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const forged = [
      flip(nonce, 0), // issue time
      flip(nonce, 15), // random part
      flip(nonce, 30), // signature
      nonce.slice(0, -4), // truncated
      Buffer.alloc(32, 7).toString('base64url'), // right length, no signature
      'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      '',
    ];
    for (const n of forged) {
      assert.deepEqual(await auth.verify(request({ nonce: n }), REALM, 'www', lookup), { ok: false, reason: 'failed' }, JSON.stringify(n));
    }
    // a nonce issued by a server with another key
    const foreign = nonceOf(setup(['SHA-256', 'MD5'], 'another key').auth.challenge(REALM, 'www'));
    assert.deepEqual(await auth.verify(request({ nonce: foreign }), REALM, 'www', lookup), { ok: false, reason: 'failed' });
  });

  test('no credentials, credentials for another realm or another scheme: missing', async () => {
    const { auth } = setup();
    const nonce = nonceOf(auth.challenge(REALM, 'www'));
    assert.deepEqual(await auth.verify(plainRequest(), REALM, 'www', lookup), { ok: false, reason: 'missing' });
    assert.deepEqual(await auth.verify(request({ nonce, realm: 'other.example.com' }), REALM, 'www', lookup), { ok: false, reason: 'missing' });
    assert.deepEqual(await auth.verify(plainRequest('REGISTER', 'sip:example.com', [['Authorization', 'Basic YWxpY2U6c2VjcmV0']]), REALM, 'www', lookup), {
      ok: false,
      reason: 'missing',
    });
  });

  test('among several credentials, the ones for this realm are used', async () => {
    const { auth } = setup();
    const nonce = nonceOf(auth.challenge(REALM, 'www'));
    const mine = request({ nonce }).get('authorization')!;
    const theirs = request({ nonce, realm: 'other.example.com', password: 'x' }).get('authorization')!;
    const req = plainRequest('REGISTER', 'sip:example.com', [
      ['Authorization', theirs],
      ['Authorization', mine],
    ]);
    assert.deepEqual(await auth.verify(req, REALM, 'www', lookup), { ok: true, username: 'alice' });
  });

  test('an algorithm that is not configured fails', async () => {
    const { auth } = setup(['SHA-256']);
    const nonce = nonceOf(auth.challenge(REALM, 'www'));
    assert.deepEqual(await auth.verify(request({ nonce, algorithm: 'MD5' }), REALM, 'www', lookup), { ok: false, reason: 'failed' });
    assert.deepEqual(await auth.verify(request({ nonce, algorithm: 'SHA-512-256' }), REALM, 'www', lookup), { ok: false, reason: 'failed' });
    assert.deepEqual(await auth.verify(request({ nonce, algorithm: 'constructor' }), REALM, 'www', lookup), { ok: false, reason: 'failed' });
    assert.deepEqual(await auth.verify(request({ nonce, algorithm: 'SHA-256' }), REALM, 'www', lookup), { ok: true, username: 'alice' });
  });

  test('credentials lacking a required parameter fail', async () => {
    const { auth } = setup();
    const nonce = nonceOf(auth.challenge(REALM, 'www'));
    const full = request({ nonce }).get('authorization')!;
    assert.equal((await auth.verify(plainRequest('REGISTER', 'sip:example.com', [['Authorization', formatAuthHeader(parseAuthHeader(full, 'Authorization'))]]), REALM, 'www', lookup)).ok, true);
    for (const param of ['username', 'nonce', 'uri', 'response', 'cnonce', 'nc']) {
      const parsed = parseAuthHeader(full, 'Authorization');
      assert.ok(parsed.params.delete(param), param);
      const value = formatAuthHeader(parsed);
      const result = await auth.verify(plainRequest('REGISTER', 'sip:example.com', [['Authorization', value]]), REALM, 'www', lookup);
      assert.deepEqual(result, { ok: false, reason: 'failed' }, param);
    }
  });

  test('credentials without qop (the RFC 2069 form) fail, even with a correct digest: they could be replayed', async () => {
    const { auth } = setup();
    const nonce = nonceOf(auth.challenge(REALM, 'www'));
    const uri = 'sip:example.com';
    const response = computeResponse({ algorithm: 'MD5', ha1: computeHa1('MD5', 'alice', REALM, 'correct horse'), method: 'REGISTER', uri, nonce });
    const value = `Digest username="alice", realm="${REALM}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5`;
    assert.deepEqual(await auth.verify(plainRequest('REGISTER', uri, [['Authorization', value]]), REALM, 'www', lookup), { ok: false, reason: 'failed' });
  });

  test('the digest covers the method', async () => {
    const { auth } = setup();
    const nonce = nonceOf(auth.challenge(REALM, 'www'));
    const value = request({ nonce, method: 'INVITE' }).get('authorization')!;
    assert.deepEqual(await auth.verify(plainRequest('REGISTER', 'sip:example.com', [['Authorization', value]]), REALM, 'www', lookup), {
      ok: false,
      reason: 'failed',
    });
  });

  test("kind 'proxy' reads Proxy-Authorization, kind 'www' reads Authorization", async () => {
    const { auth } = setup();
    const nonce = nonceOf(auth.challenge(REALM, 'proxy'));
    const viaProxy = request({ nonce, header: 'Proxy-Authorization', method: 'INVITE', uri: 'sip:bob@example.com' });
    assert.deepEqual(await auth.verify(viaProxy, REALM, 'www', lookup), { ok: false, reason: 'missing' });
    assert.deepEqual(await auth.verify(viaProxy, REALM, 'proxy', lookup), { ok: true, username: 'alice' });
    const viaWww = request({ nonce, header: 'Authorization', method: 'INVITE', uri: 'sip:bob@example.com', nc: '00000002' });
    assert.deepEqual(await auth.verify(viaWww, REALM, 'proxy', lookup), { ok: false, reason: 'missing' });
  });
});

describe('NonceService and NonceCountTable', () => {
  test('two services with the same key verify each other’s nonces; other keys do not', () => {
    const now = () => 1_700_000_000_000;
    const a = new NonceService('cluster secret', LIFETIME, now);
    const b = new NonceService(Buffer.from('cluster secret', 'utf8'), LIFETIME, now);
    const c = new NonceService('another secret', LIFETIME, now);
    const r = new NonceService(undefined, LIFETIME, now); // random key
    const na = a.issue();
    const nb = b.issue();
    assert.notEqual(na, nb);
    assert.equal(b.check(na), 'valid');
    assert.equal(a.check(nb), 'valid');
    assert.equal(c.check(na), 'invalid');
    assert.equal(a.check(c.issue()), 'invalid');
    assert.equal(r.check(na), 'invalid');
    assert.equal(a.check(r.issue()), 'invalid');
    assert.equal(a.issuedAt(na), 1_700_000_000_000);
  });

  test('the signature is HMAC-SHA-256 (RFC 2104) of the nonce body, for short and long keys', () => {
    for (const key of ['k', 'x'.repeat(64), 'a key longer than one SHA-256 block of sixty-four octets, hashed first']) {
      const nonce = Buffer.from(new NonceService(key, LIFETIME).issue(), 'base64url');
      const expected = createHmac('sha256', key).update(nonce.subarray(0, 16)).digest().subarray(0, 16);
      assert.ok(nonce.subarray(16).equals(expected), `HMAC tag for a key of ${key.length} octets`);
    }
  });

  test('age: valid within the lifetime, stale after it', () => {
    let t = 1_000_000;
    const s = new NonceService('k', LIFETIME, () => t);
    const n = s.issue();
    t += LIFETIME;
    assert.equal(s.check(n), 'valid');
    t += 1;
    assert.equal(s.check(n), 'stale');
  });

  test('NonceCountTable: strictly increasing per nonce; a slot reused by a later nonce forgets the earlier one', () => {
    const table = new NonceCountTable(4);
    const first = table.reserve(0xdeadbeef);
    assert.equal(table.accept(first, 0xdeadbeef, 1), 'ok');
    assert.equal(table.accept(first, 0xdeadbeef, 1), 'replay');
    assert.equal(table.accept(first, 0xdeadbeef, 3), 'ok');
    assert.equal(table.accept(first, 0xdeadbeef, 2), 'replay');
    assert.equal(table.accept(first, 0x12345678, 4), 'forgotten', 'another tag: not the nonce this slot was given to');
    const second = table.reserve(7);
    assert.equal(table.accept(second, 7, 1), 'ok', 'counts are per nonce');
    for (let i = 0; i < 3; i++) table.reserve(100 + i);
    // four more nonces in a table of four: the first one's slot is someone else's now
    assert.equal(table.accept(first, 0xdeadbeef, 5), 'forgotten');
    assert.equal(table.accept(second, 7, 2), 'ok');
    assert.equal(table.accept(0xffff0000, 7, 1), 'forgotten', 'an index this table never gave out');
    assert.throws(() => new NonceCountTable(1000), /power of two/);
  });
});
