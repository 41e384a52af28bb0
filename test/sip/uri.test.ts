// URIs: parsing (RFC 3261 §19.1, §25.1; RFC 3966 tel), serialization and comparison (§19.1.4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AbsoluteUri, classifyHost, parseUri, SipParseError, SipUri, TelUri, uriEquals, type Uri } from '../../src/sip/index.ts';

function sip(text: string): SipUri {
  const u = parseUri(text);
  assert.ok(u instanceof SipUri, `${text} should be a SIP URI`);
  return u;
}

test('sip URI with user, password, host, port, params and headers', () => {
  const u = sip('sip:alice:secret@atlanta.com:5070;transport=tcp;lr;maddr=239.255.255.1?subject=project%20x&priority=urgent');
  assert.equal(u.scheme, 'sip');
  assert.equal(u.user, 'alice');
  assert.equal(u.password, 'secret');
  assert.equal(u.host, 'atlanta.com');
  assert.equal(u.port, 5070);
  assert.equal(u.hostType, 'name');
  assert.equal(u.params.get('transport'), 'tcp');
  assert.equal(u.transport, 'tcp');
  assert.equal(u.params.get('lr'), null);
  assert.equal(u.looseRouting, true);
  assert.equal(u.params.get('maddr'), '239.255.255.1');
  assert.equal(u.params.get('missing'), undefined);
  assert.deepEqual(u.headers, [
    ['subject', 'project%20x'],
    ['priority', 'urgent'],
  ]);
  assert.equal(u.toString(), 'sip:alice:secret@atlanta.com:5070;transport=tcp;lr;maddr=239.255.255.1?subject=project%20x&priority=urgent');
});

test('sips URI without user; scheme is case-insensitive', () => {
  const u = sip('SIPS:Biloxi.Example.COM');
  assert.equal(u.scheme, 'sips');
  assert.equal(u.user, null);
  assert.equal(u.password, null);
  assert.equal(u.host, 'Biloxi.Example.COM');
  assert.equal(u.port, null);
  assert.equal(u.transport, undefined);
  assert.equal(u.looseRouting, false);
  assert.equal(u.toString(), 'sips:Biloxi.Example.COM');
});

test('IPv4 host and IPv6 reference', () => {
  const v4 = sip('sip:bob@192.0.2.4:5060');
  assert.equal(v4.host, '192.0.2.4');
  assert.equal(v4.hostType, 'ipv4');
  assert.equal(v4.hostport, '192.0.2.4:5060');

  const v6 = sip('sip:bob@[2001:db8::10]:5070;transport=udp');
  assert.equal(v6.host, '2001:db8::10');
  assert.equal(v6.hostType, 'ipv6');
  assert.equal(v6.port, 5070);
  assert.equal(v6.hostport, '[2001:db8::10]:5070');
  assert.equal(v6.toString(), 'sip:bob@[2001:db8::10]:5070;transport=udp');

  // RFC 5118 §4.3: the colon and digits inside the brackets are part of the address
  const ambiguous = sip('sip:[2001:db8::10:5070]');
  assert.equal(ambiguous.host, '2001:db8::10:5070');
  assert.equal(ambiguous.port, null);
  // RFC 5118 §4.9 / §4.10: IPv4-mapped and embedded IPv4 forms, and the tolerated 3-colon form
  assert.equal(sip('sip:[::ffff:192.0.2.2]').host, '::ffff:192.0.2.2');
  assert.equal(sip('sip:user@[2001:db8:::192.0.2.1]').host, '2001:db8:::192.0.2.1');

  assert.equal(classifyHost('example.com'), 'name');
  assert.equal(classifyHost('1.2.3'), 'name');
  assert.equal(classifyHost('10.0.0.1'), 'ipv4');
  assert.equal(classifyHost('::1'), 'ipv6');
});

test('%-escapes are kept as written and decoded by userDecoded', () => {
  const u = sip('sip:sips%3Auser%40example.com@example.net');
  assert.equal(u.user, 'sips%3Auser%40example.com');
  assert.equal(u.userDecoded, 'sips:user@example.com');
  assert.equal(u.host, 'example.net');
  assert.equal(sip('sip:I%20have%20spaces@example.net').userDecoded, 'I have spaces');
  assert.equal(sip('sip:null-%00-null@example.com').userDecoded, 'null-\u0000-null');
  // UTF-8 octets decode to one character; decoding happens once (%2541 -> %41, not A)
  assert.equal(sip('sip:%C3%A9t%C3%A9@example.com').userDecoded, 'été');
  assert.equal(sip('sip:a%2541@example.com').userDecoded, 'a%41');
  assert.equal(sip('sip:example.com').userDecoded, null);
  // user-unreserved characters need no escaping
  const odd = sip("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com");
  assert.equal(odd.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  assert.equal(odd.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
});

test('tel URIs (RFC 3966)', () => {
  const t = parseUri('tel:+1-201-555-0123;ext=1234');
  assert.ok(t instanceof TelUri, 'tel URI');
  assert.equal(t.number, '+1-201-555-0123');
  assert.equal(t.isGlobal, true);
  assert.equal(t.digits, '+12015550123');
  assert.equal(t.params.get('ext'), '1234');
  assert.equal(t.toString(), 'tel:+1-201-555-0123;ext=1234');
  const local = parseUri('tel:7042;phone-context=example.com');
  assert.ok(local instanceof TelUri, 'local tel URI');
  assert.equal(local.isGlobal, false);
  assert.equal(local.params.get('phone-context'), 'example.com');
});

test('other schemes are kept as opaque absolute URIs', () => {
  for (const [text, scheme, rest] of [
    ['urn:service:sos', 'urn', 'service:sos'],
    ['soap.beep://192.0.2.103:3002', 'soap.beep', '//192.0.2.103:3002'],
    ['mailto:alice@example.com', 'mailto', 'alice@example.com'],
  ]) {
    const u = parseUri(text);
    assert.ok(u instanceof AbsoluteUri, text);
    assert.equal(u.scheme, scheme);
    assert.equal(u.rest, rest);
    assert.equal(u.toString(), text);
  }
});

test('malformed URIs are rejected with SipParseError(uri)', () => {
  const bad = [
    'sip:', // missing host
    'sip:alice@', // missing host after userinfo
    'sip:@example.com', // empty user
    'sip:example.com:', // empty port
    'sip:example.com:99999', // port out of range
    'sip:example.com:123456', // too many digits
    'sip:example.com:12a', // junk after the port
    'sip:al ice@example.com', // space in user
    'sip:example.com ;lr', // space before params
    'sip:alice@example.com;transport=tcp extra',
    'sip:2001:db8::10', // unbracketed IPv6 (RFC 5118 §4.2)
    'sip:[2001:db8::10', // unterminated reference
    'sip:[not:an:address]',
    'sip:a%2@example.com', // truncated escape
    'sip:a%zz@example.com', // bad escape
    'sip:example.com;=x', // empty param name
    'sip:example.com?', // empty header
    'sip:example.com#frag',
    '<sip:user@example.com>', // RFC 4475 §3.1.2.7
    'tel:',
    'tel:+',
    'tel:12x4',
    'no-scheme',
    ':nothing',
    '1abc:x',
    'http:',
    'urn:with space',
  ];
  for (const text of bad) {
    assert.throws(
      () => parseUri(text),
      (err: unknown) => err instanceof SipParseError && err.reason === 'uri',
      text,
    );
  }
});

test('toString(parse(x)) reproduces x for well-formed URIs', () => {
  for (const text of [
    'sip:alice@atlanta.com',
    'sips:alice:pw@[2001:db8::1]:5061;transport=tls?x=1&y=2',
    'sip:+19725552222@gw1.example.net;user=phone',
    'sip:%61lice@atlanta.com;transport=TCP',
    'sip:user@example.com?Route=%3Csip:sip.example.com%3E',
    'tel:+1.201.555.0123',
  ]) {
    assert.equal(parseUri(text).toString(), text);
  }
});

test('clone() is deep: editing the copy leaves the original alone', () => {
  const u = sip('sip:alice@atlanta.com;transport=tcp?x=1');
  const c = u.clone();
  c.params.set('transport', 'udp');
  c.headers[0][1] = '2';
  c.host = 'biloxi.com';
  assert.equal(u.toString(), 'sip:alice@atlanta.com;transport=tcp?x=1');
  assert.equal(c.toString(), 'sip:alice@biloxi.com;transport=udp?x=2');
});

function eq(a: string, b: string): [boolean, boolean] {
  const ua: Uri = parseUri(a);
  const ub: Uri = parseUri(b);
  return [uriEquals(ua, ub), uriEquals(ub, ua)];
}

test('RFC 3261 §19.1.4: URIs within each set are equivalent', () => {
  const sets = [
    ['sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5', 'sip:carol@chicago.com;security=on'],
    ['sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com', 'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com'],
    ['sip:alice@atlanta.com?subject=project%20x&priority=urgent', 'sip:alice@atlanta.com?priority=urgent&subject=project%20x'],
  ];
  for (const set of sets) {
    for (const a of set) for (const b of set) assert.deepEqual(eq(a, b), [true, true], `${a} == ${b}`);
  }
});

test('RFC 3261 §19.1.4: URIs of each pair are not equivalent', () => {
  const pairs = [
    ['SIP:ALICE@AtLanTa.CoM;Transport=udp', 'sip:alice@AtLanTa.CoM;Transport=UDP'], // different usernames
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060'], // can resolve to different ports
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com;transport=udp'], // can resolve to different transports
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com:6000;transport=tcp'], // different port and transport
    ['sip:carol@chicago.com', 'sip:carol@chicago.com?Subject=next%20meeting'], // different header component
    ['sip:bob@phone21.boxesbybob.com', 'sip:bob@192.0.2.4'], // even if that is what the name resolves to
  ];
  for (const [a, b] of pairs) assert.deepEqual(eq(a, b), [false, false], `${a} != ${b}`);
  // equality is not transitive: both equal sip:carol@chicago.com, but not each other
  assert.deepEqual(eq('sip:carol@chicago.com;security=on', 'sip:carol@chicago.com;security=off'), [false, false]);
});

test('§19.1.4 rules one by one', () => {
  const cases: Array<[string, string, boolean]> = [
    ['sip:alice@atlanta.com', 'sips:alice@atlanta.com', false], // scheme
    ['SIP:alice@atlanta.com', 'sip:alice@atlanta.com', true], // scheme case
    ['sip:alice@atlanta.com', 'sip:atlanta.com', false], // user present on one side only
    ['sip:alice:pw@atlanta.com', 'sip:alice@atlanta.com', false], // password
    ['sip:alice:p%77@atlanta.com', 'sip:alice:pw@atlanta.com', true], // escaped password
    ['sip:[2001:DB8::1]', 'sip:[2001:db8::1]', true], // host case
    ['sip:alice@atlanta.com;user=phone', 'sip:alice@atlanta.com', false], // user param on one side
    ['sip:alice@atlanta.com;ttl=1', 'sip:alice@atlanta.com', false],
    ['sip:alice@atlanta.com;method=INVITE', 'sip:alice@atlanta.com', false],
    ['sip:alice@atlanta.com;maddr=1.2.3.4', 'sip:alice@atlanta.com', false],
    ['sip:alice@atlanta.com;maddr=239.255.255.1;ttl=15', 'sip:alice@atlanta.com;ttl=15;maddr=239.255.255.1', true], // order
    ['sip:alice@atlanta.com;other=1', 'sip:alice@atlanta.com;other=2', false], // common param differs
    ['sip:alice@atlanta.com;other=ABC', 'sip:alice@atlanta.com;OTHER=abc', true],
    ['sip:alice@atlanta.com;lr', 'sip:alice@atlanta.com', true], // lr is not significant
    ['sip:alice@atlanta.com?a=1', 'sip:alice@atlanta.com?a=2', false], // header values must match
    ['sip:alice@atlanta.com?a=1&b=2', 'sip:alice@atlanta.com?a=1&c=2', false],
    ['sip:alice@atlanta.com?a=1', 'sip:alice@atlanta.com?a=1&b=2', false], // header on one side only
    ['sip:alice@atlanta.com?subject=x%20y', 'sip:alice@atlanta.com?subject=x%20y', true],
    ['sip:alice@atlanta.com?subject=x%20y', 'sip:alice@atlanta.com?SUBJECT=x%20y', true], // header names: any case
    ['sip:a@b.com?Route=%3Csip:x%3E&Route=%3Csip:y%3E', 'sip:a@b.com?Route=%3Csip:x%3E&Route=%3Csip:y%3E', true], // repeated name
    ['sip:a@b.com?Route=%3Csip:x%3E&Route=%3Csip:y%3E', 'sip:a@b.com?Route=%3Csip:x%3E&Route=%3Csip:x%3E', false],
  ];
  for (const [a, b, expected] of cases) assert.deepEqual(eq(a, b), [expected, expected], `${a} vs ${b}`);
});

test('tel URI comparison ignores visual separators (RFC 3966 §4)', () => {
  const cases: Array<[string, string, boolean]> = [
    ['tel:+1-201-555-0123', 'tel:+1.201.555.0123', true],
    ['tel:+1(201)555-0123', 'tel:+12015550123', true],
    ['tel:+12015550123;ext=1', 'tel:+1-201-555-0123;EXT=1', true],
    ['tel:7042;phone-context=Example.COM', 'tel:7042;phone-context=example.com', true],
    ['tel:+12015550123', 'tel:+12015550124', false],
    ['tel:+12015550123', 'tel:12015550123', false], // global vs local
    ['tel:+12015550123;ext=1', 'tel:+12015550123', false], // parameter on one side
    ['tel:+12015550123;ext=1', 'tel:+12015550123;ext=2', false],
  ];
  for (const [a, b, expected] of cases) assert.deepEqual(eq(a, b), [expected, expected], `${a} vs ${b}`);
});

test('URIs of different kinds never compare equal', () => {
  assert.deepEqual(eq('tel:+12015550123', 'sip:+12015550123@example.com'), [false, false]);
  assert.deepEqual(eq('urn:service:sos', 'sip:sos@example.com'), [false, false]);
  assert.deepEqual(eq('urn:service:sos', 'URN:service:sos'), [true, true]);
  assert.deepEqual(eq('urn:service:sos', 'urn:service:police'), [false, false]);
});
