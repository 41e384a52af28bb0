// Typed accessors (RFC 3261 §20), forwarding edits (§16.6) and serialization of SipMessage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  contactExpires,
  contactQ,
  createRequest,
  createResponse,
  formatAuthHeader,
  parseMessage,
  parseUri,
  SipParseError,
  SipRequest,
  SipResponse,
  SipUri,
  validateMessage,
  Via,
  type AnyMessage,
} from '../../src/sip/index.ts';

const INVITE_LINES = [
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport, SIP/2.0/TCP p2.example.com:5070;branch=z9hG4bKp2;received=192.0.2.7',
  'v: SIP/2.0/TLS [2001:db8::9]:5061 ;rport=5080 ;branch=z9hG4bKv6',
  'Max-Forwards: 70',
  'Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>',
  'Route: <sip:p3.example.com;lr>',
  'Record-Route: <sip:rr1.example.com;lr>',
  'To: Bob <sip:bob@biloxi.example.com>',
  'f: "Alice \\"A\\" Liddell" <sip:alice@atlanta.example.com>;tag=1928301774',
  'i: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'm: <sip:alice@pc33.atlanta.example.com>;q=0.7;expires=3600, "Desk" <sip:alice@desk.example.com>',
  'Require: 100rel',
  'Supported: timer, path',
  'k: gruu',
  'Proxy-Require: sec-agree',
  'Expires: 120',
  'X-Custom: keep  me   exactly',
  'c: application/sdp',
  'l: 4',
  '',
  'v=0\n',
].join('\r\n');
// The body above is 4 octets: "v=0\n".

function invite(): SipRequest {
  const m = parseMessage(Buffer.from(INVITE_LINES));
  assert.ok(m instanceof SipRequest, 'parsed a request');
  validateMessage(m);
  return m;
}

/** Header lines of a serialized message (start line first), without line ends. */
function headLines(m: AnyMessage | Buffer): string[] {
  const text = (Buffer.isBuffer(m) ? m : m.toBuffer()).toString('utf8');
  const end = text.indexOf('\r\n\r\n');
  assert.ok(end > 0, 'header section ends with an empty line');
  return text.slice(0, end).split('\r\n');
}

function reparse(m: AnyMessage): AnyMessage {
  const again = parseMessage(m.toBuffer());
  validateMessage(again);
  return again;
}

const ORIGINAL_LINES = headLines(Buffer.from(INVITE_LINES));

test('serializing an unedited message reproduces its bytes', () => {
  const m = invite();
  assert.ok(m.toBuffer().equals(Buffer.from(INVITE_LINES)), 'byte-identical');
  assert.equal(m.body.toString(), 'v=0\n');
  assert.equal(m.contentLength, 4);
  assert.equal(m.contentType, 'application/sdp');
});

test('Via accessors: list splitting, compact name, rport, received, branch, IPv6 sent-by', () => {
  const m = invite();
  assert.equal(m.vias.length, 3);
  const [a, b, c] = m.vias;
  assert.equal(m.via.branch, 'z9hG4bK776asdhds');
  assert.equal(a.transport, 'UDP');
  assert.equal(a.host, 'pc33.atlanta.example.com');
  assert.equal(a.port, null);
  assert.equal(a.rport, null); // present without a value (RFC 3581)
  assert.equal(a.received, undefined);
  assert.equal(b.transport, 'TCP');
  assert.equal(b.port, 5070);
  assert.equal(b.sentBy, 'p2.example.com:5070');
  assert.equal(b.received, '192.0.2.7');
  assert.equal(b.rport, undefined);
  assert.equal(c.transport, 'TLS');
  assert.equal(c.host, '2001:db8::9');
  assert.equal(c.port, 5061);
  assert.equal(c.sentBy, '[2001:db8::9]:5061');
  assert.equal(c.rport, 5080);
  assert.equal(c.branch, 'z9hG4bKv6');
  assert.equal(c.toString(), 'SIP/2.0/TLS [2001:db8::9]:5061;rport=5080;branch=z9hG4bKv6');
  assert.equal(m.countFields('via'), 2);
  assert.equal(m.getAll('V').length, 3);
});

test('From/To: display names (quoted with escapes, token), tags, compact names', () => {
  const m = invite();
  assert.equal(m.from.displayName, 'Alice "A" Liddell');
  assert.equal(m.from.tag, '1928301774');
  assert.equal(m.from.uri.toString(), 'sip:alice@atlanta.example.com');
  assert.equal(m.to.displayName, 'Bob');
  assert.equal(m.to.tag, undefined);
  assert.equal(m.callId, 'a84b4c76e66710@pc33.atlanta.example.com');
  assert.equal(m.get('Call-ID'), m.get('i'));
  assert.deepEqual(m.cseq, { seq: 314159, method: 'INVITE' });
  assert.equal(m.maxForwards, 70);
  assert.equal(m.from.toString(), '"Alice \\"A\\" Liddell" <sip:alice@atlanta.example.com>;tag=1928301774');
});

test('Contact list: q and expires parameters, display names', () => {
  const m = invite();
  const { star, contacts } = m.contacts;
  assert.equal(star, false);
  assert.equal(contacts.length, 2);
  assert.equal(contactQ(contacts[0]), 0.7);
  assert.equal(contactExpires(contacts[0]), 3600);
  assert.equal(contactQ(contacts[1]), 1); // absent -> 1.0
  assert.equal(contactExpires(contacts[1]), undefined);
  assert.equal(contacts[1].displayName, 'Desk');
  // out-of-range q counts as absent; expires beyond 2**32-1 is clamped (RFC 3261 §20.19)
  const odd = parseMessage(Buffer.from(INVITE_LINES.replace('q=0.7;expires=3600', 'q=1.5;expires=99999999999')));
  assert.equal(contactQ(odd.contacts.contacts[0]), 1);
  assert.equal(contactExpires(odd.contacts.contacts[0]), 2 ** 32 - 1);
});

test('Contact: * (RFC 3261 §10.2.2)', () => {
  const text = [
    'REGISTER sip:registrar.example.com SIP/2.0',
    'Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKreg',
    'From: <sip:alice@example.com>;tag=a',
    'To: <sip:alice@example.com>',
    'Call-ID: reg1',
    'CSeq: 2 REGISTER',
    'Contact: *',
    'Expires: 0',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const m = parseMessage(Buffer.from(text));
  validateMessage(m);
  assert.equal(m.contacts.star, true);
  assert.equal(m.contacts.contacts.length, 0);
  assert.equal(m.expires, 0);
});

test('Route and Record-Route values across lines and commas', () => {
  const m = invite();
  assert.deepEqual(
    m.routes.map((r) => r.uri.toString()),
    ['sip:p1.example.com;lr', 'sip:p2.example.com;lr', 'sip:p3.example.com;lr'],
  );
  assert.ok(m.routes.every((r) => r.uri instanceof SipUri && r.uri.looseRouting), 'all loose routes');
  assert.deepEqual(
    m.recordRoutes.map((r) => r.toString()),
    ['<sip:rr1.example.com;lr>'],
  );
});

test('Require / Supported (k) / Proxy-Require option tags and Expires', () => {
  const m = invite();
  assert.deepEqual(m.require, ['100rel']);
  assert.deepEqual(m.supported, ['timer', 'path', 'gruu']);
  assert.deepEqual(m.proxyRequire, ['sec-agree']);
  assert.deepEqual(m.unsupported, []);
  assert.equal(m.expires, 120);
  assert.equal(m.get('x-custom'), 'keep  me   exactly');
  const bad = parseMessage(Buffer.from(INVITE_LINES.replace('Require: 100rel', 'Require: 100rel, "quoted"')));
  assert.throws(() => bad.require, SipParseError);
});

test('Authorization and WWW-Authenticate: Digest parameters', () => {
  const text = [
    'REGISTER sip:example.com SIP/2.0',
    'Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKauth',
    'From: <sip:bob@example.com>;tag=b',
    'To: <sip:bob@example.com>',
    'Call-ID: auth1',
    'CSeq: 3 REGISTER',
    'Authorization: Digest username="bob", realm="example.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",',
    ' uri="sip:example.com", qop=auth, nc=00000001, cnonce="0a4f113b",',
    ' response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41", algorithm=MD5',
    'WWW-Authenticate: Digest realm="example.com", qop="auth,auth-int", nonce="abc\\"def", stale=FALSE',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const m = parseMessage(Buffer.from(text));
  validateMessage(m);
  const [cred] = m.authHeaders('authorization');
  assert.equal(cred.scheme, 'Digest');
  assert.equal(cred.params.get('username'), 'bob');
  assert.equal(cred.params.get('realm'), 'example.com');
  assert.equal(cred.params.get('uri'), 'sip:example.com');
  assert.equal(cred.params.get('qop'), 'auth');
  assert.equal(cred.params.get('nc'), '00000001');
  assert.equal(cred.params.get('response'), '6629fae49393a05397450978507c4ef1');
  assert.equal(cred.params.get('algorithm'), 'MD5');
  assert.equal(cred.params.size, 10);
  const [challenge] = m.authHeaders('www-authenticate');
  assert.equal(challenge.params.get('qop'), 'auth,auth-int');
  assert.equal(challenge.params.get('nonce'), 'abc"def');
  assert.equal(challenge.params.get('stale'), 'FALSE');
  assert.equal(formatAuthHeader(challenge), 'Digest realm="example.com", qop=auth,auth-int, nonce="abc\\"def", stale=FALSE');
  assert.equal(formatAuthHeader(challenge, true), 'Digest realm="example.com", qop="auth,auth-int", nonce="abc\\"def", stale=FALSE');
  assert.deepEqual(m.authHeaders('proxy-authorization'), []);
});

// ---- forwarding edits -------------------------------------------------------------------------

/** Asserts every line of `expected` except those at `changed` indexes is unchanged in `actual`. */
function assertOnlyChanged(actual: string[], expected: string[]): void {
  const kept = expected.filter((l) => actual.includes(l));
  // all untouched original lines appear, byte for byte and in order
  assert.deepEqual(
    actual.filter((l) => kept.includes(l)),
    kept,
  );
}

test('pushVia adds a Via above all others; the rest of the message is byte-identical', () => {
  const m = invite();
  m.pushVia(new Via('TCP', 'proxy.example.com', 5060, undefined).clone());
  m.via.params.set('branch', 'z9hG4bKnew'); // topVia is the pushed object
  const lines = headLines(m);
  // the pushed object was serialized at push time
  assert.equal(lines[1], 'Via: SIP/2.0/TCP proxy.example.com:5060');
  assert.deepEqual(lines.slice(2), ORIGINAL_LINES.slice(1));
  assert.equal(lines[0], ORIGINAL_LINES[0]);
  const again = reparse(m);
  assert.equal(again.vias.length, 4);
  assert.equal(again.via.host, 'proxy.example.com');
  assert.equal(again.vias[1].branch, 'z9hG4bK776asdhds');

  const s = invite();
  s.pushVia('SIP/2.0/UDP edge.example.com;branch=z9hG4bKedge');
  assert.equal(s.via.host, 'edge.example.com');
  assert.deepEqual(headLines(s), [ORIGINAL_LINES[0], 'Via: SIP/2.0/UDP edge.example.com;branch=z9hG4bKedge', ...ORIGINAL_LINES.slice(1)]);
});

test('popVia removes one value from a line holding two comma-separated Vias', () => {
  const m = invite();
  const top = m.popVia();
  assert.equal(top?.branch, 'z9hG4bK776asdhds');
  assert.equal(m.vias.length, 2);
  assert.equal(m.via.branch, 'z9hG4bKp2');
  const lines = headLines(m);
  assert.equal(lines[1], 'Via: SIP/2.0/TCP p2.example.com:5070;branch=z9hG4bKp2;received=192.0.2.7');
  assert.deepEqual(lines.slice(2), ORIGINAL_LINES.slice(2));
  const again = reparse(m);
  assert.deepEqual(
    again.vias.map((v) => v.branch),
    ['z9hG4bKp2', 'z9hG4bKv6'],
  );
  // next pops remove the rest of the line, then the compact line
  assert.equal(m.popVia()?.branch, 'z9hG4bKp2');
  assert.equal(headLines(m)[1], ORIGINAL_LINES[2]);
  assert.equal(m.popVia()?.branch, 'z9hG4bKv6');
  assert.equal(m.popVia(), undefined);
  assert.equal(m.has('via'), false);
  assert.deepEqual(headLines(m).slice(1), ORIGINAL_LINES.slice(3));
});

test('prependRecordRoute puts the new value first', () => {
  const m = invite();
  m.prependRecordRoute('<sip:me.example.com;lr>');
  const again = reparse(m);
  assert.deepEqual(
    again.recordRoutes.map((r) => r.uri.toString()),
    ['sip:me.example.com;lr', 'sip:rr1.example.com;lr'],
  );
  const lines = headLines(m);
  assertOnlyChanged(lines, ORIGINAL_LINES);
  assert.equal(lines.length, ORIGINAL_LINES.length + 1);
  assert.equal(lines[lines.indexOf('Record-Route: <sip:rr1.example.com;lr>') - 1], 'Record-Route: <sip:me.example.com;lr>');

  // without any Record-Route, the new one goes after the last Via
  const plain = parseMessage(Buffer.from(INVITE_LINES.replace('Record-Route: <sip:rr1.example.com;lr>\r\n', '')));
  plain.prependRecordRoute('<sip:me.example.com;lr>');
  const pl = headLines(plain);
  assert.equal(pl[3], 'Record-Route: <sip:me.example.com;lr>');
  assert.equal(pl[2], ORIGINAL_LINES[2]);
});

test('setMaxForwards rewrites only the Max-Forwards line', () => {
  const m = invite();
  m.setMaxForwards(69);
  assert.equal(m.maxForwards, 69);
  const lines = headLines(m);
  const expected = ORIGINAL_LINES.map((l) => (l === 'Max-Forwards: 70' ? 'Max-Forwards: 69' : l));
  assert.deepEqual(lines, expected);
  assert.equal(reparse(m).maxForwards, 69);
  // added when absent
  const none = parseMessage(Buffer.from(INVITE_LINES.replace('Max-Forwards: 70\r\n', '')));
  none.setMaxForwards(70);
  assert.equal(reparse(none).maxForwards, 70);
});

test('setUri changes the start line only', () => {
  const m = invite();
  m.setUri(parseUri('sip:bob@192.0.2.4:5062;transport=tcp'));
  const lines = headLines(m);
  assert.equal(lines[0], 'INVITE sip:bob@192.0.2.4:5062;transport=tcp SIP/2.0');
  assert.deepEqual(lines.slice(1), ORIGINAL_LINES.slice(1));
  const again = reparse(m);
  assert.ok(again.isRequest, 'request');
  assert.equal(again.uriString, 'sip:bob@192.0.2.4:5062;transport=tcp');
  assert.ok(again.uri instanceof SipUri && again.uri.port === 5062, 'port');
});

test('popRoute removes the first Route value (RFC 3261 §16.4)', () => {
  const m = invite();
  assert.equal(m.popRoute()?.uri.toString(), 'sip:p1.example.com;lr');
  assert.deepEqual(
    reparse(m).routes.map((r) => r.uri.toString()),
    ['sip:p2.example.com;lr', 'sip:p3.example.com;lr'],
  );
  // the first Route line keeps its second element; every other line is byte-identical
  assert.deepEqual(
    headLines(m),
    ORIGINAL_LINES.map((l) => (l === 'Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>' ? 'Route: <sip:p2.example.com;lr>' : l)),
  );
  assert.equal(m.popRoute()?.uri.toString(), 'sip:p2.example.com;lr');
  assert.equal(m.popRoute()?.uri.toString(), 'sip:p3.example.com;lr');
  assert.equal(m.popRoute(), undefined);
  assert.equal(reparse(m).routes.length, 0);
});

test('setBody keeps Content-Length (compact name kept) and Content-Type in step', () => {
  const m = invite();
  m.setBody('hello, world', 'text/plain');
  const again = reparse(m);
  assert.equal(again.body.toString(), 'hello, world');
  assert.equal(again.contentLength, 12);
  assert.equal(again.contentType, 'text/plain');
  const lines = headLines(m);
  assert.ok(lines.includes('l: 12'), 'compact Content-Length name is kept');
  assert.equal(lines.filter((l) => /^(content-length|l)\s*:/i.test(l)).length, 1);
  // UTF-8 string bodies are measured in octets
  m.setBody('été');
  assert.equal(reparse(m).contentLength, 5);
  assert.equal(reparse(m).body.toString('utf8'), 'été');
});

test('clone() then editing the clone leaves the original serialization unchanged', () => {
  const m = invite();
  const before = m.toBuffer();
  void m.vias; // fill the caches first, so shared caches would show
  void m.routes;
  const c = m.clone();
  c.popVia();
  c.pushVia('SIP/2.0/UDP clone.example.com;branch=z9hG4bKc');
  c.popRoute();
  c.prependRecordRoute('<sip:clone.example.com;lr>');
  c.setMaxForwards(1);
  c.setUri(parseUri('sip:elsewhere.example.com'));
  c.setBody('changed');
  c.set('X-Custom', 'other');
  assert.ok(m.toBuffer().equals(before), 'original unchanged');
  assert.equal(m.vias.length, 3);
  assert.equal(m.routes.length, 3);
  assert.equal(m.uriString, 'sip:bob@biloxi.example.com');
  assert.equal(reparse(c).maxForwards, 1);

  // a clone of an edited request gets its own URI object
  const edited = invite();
  edited.setUri(parseUri('sip:a@b.example.com'));
  const copy = edited.clone();
  assert.ok(copy.uri instanceof SipUri, 'sip uri');
  copy.uri.params.set('transport', 'tcp');
  copy.setUri(copy.uri);
  assert.equal(edited.uriString, 'sip:a@b.example.com');
  assert.equal(copy.uriString, 'sip:a@b.example.com;transport=tcp');
});

test('set / add / remove generic headers', () => {
  const m = invite();
  m.add('X-New', 'one');
  m.add('X-New', 'zero', true);
  assert.deepEqual(m.getAll('x-new'), ['zero', 'one']);
  m.set('x-new', 'only');
  assert.deepEqual(m.getAll('X-New'), ['only']);
  m.remove('X-NEW');
  assert.equal(m.has('x-new'), false);
  m.set('From', '<sip:carol@example.com>;tag=c');
  assert.equal(m.from.tag, 'c'); // cache dropped on edit
  assert.equal(reparse(m).from.uri.toString(), 'sip:carol@example.com');
});

// ---- responses --------------------------------------------------------------------------------

test('createResponse copies Via/From/To/Call-ID/CSeq and adds a To tag', () => {
  const req = invite();
  const r = createResponse(req, 180, { toTag: 'resp-tag' });
  assert.ok(r instanceof SipResponse, 'response');
  assert.equal(r.status, 180);
  assert.equal(r.reason, 'Ringing');
  assert.deepEqual(
    r.getAll('via'),
    req.getAll('via'),
  );
  assert.equal(r.countFields('via'), 2);
  assert.equal(r.get('from'), req.get('from'));
  assert.equal(r.callId, req.callId);
  assert.deepEqual(r.cseq, req.cseq);
  assert.equal(r.to.tag, 'resp-tag');
  assert.equal(r.to.uri.toString(), req.to.uri.toString());
  for (const absent of ['route', 'record-route', 'contact', 'max-forwards', 'require']) assert.equal(r.has(absent), false, absent);
  const again = parseMessage(r.toBuffer());
  validateMessage(again);
  assert.ok(!again.isRequest && again.status === 180, 'reparsed');
  assert.equal(again.to.tag, 'resp-tag');
  assert.equal(again.contentLength, 0);

  const generated = createResponse(req, 200);
  assert.ok((generated.to.tag ?? '').length > 0, 'a tag is generated when none is given');
  assert.equal(generated.reason, 'OK');
});

test('createResponse: no To tag on 100 Trying, an existing tag is kept', () => {
  const req = invite();
  const trying = createResponse(req, 100);
  assert.equal(trying.to.tag, undefined);
  assert.equal(trying.get('to'), req.get('to'));

  const tagged = parseMessage(Buffer.from(INVITE_LINES.replace('To: Bob <sip:bob@biloxi.example.com>', 'To: Bob <sip:bob@biloxi.example.com>;TAG=existing')));
  assert.ok(tagged instanceof SipRequest, 'request');
  const ok = createResponse(tagged, 200, { toTag: 'other' });
  assert.equal(ok.to.tag, 'existing');
  assert.equal(ok.get('to'), 'Bob <sip:bob@biloxi.example.com>;TAG=existing');

  const withBody = createResponse(req, 200, { reason: 'Fine', body: 'v=0\r\n', contentType: 'application/sdp', headers: [['Contact', '<sip:bob@192.0.2.4>']] });
  const again = parseMessage(withBody.toBuffer());
  assert.ok(!again.isRequest && again.reason === 'Fine', 'reason');
  assert.equal(again.body.toString(), 'v=0\r\n');
  assert.equal(again.contentType, 'application/sdp');
  assert.equal(again.contacts.contacts[0].uri.toString(), 'sip:bob@192.0.2.4');
});

test('createRequest builds a message that parses back', () => {
  const req = createRequest({
    method: 'OPTIONS',
    uri: 'sip:bob@example.com',
    headers: [
      ['Via', 'SIP/2.0/UDP a.example.com;branch=z9hG4bKx'],
      ['From', '<sip:a@example.com>;tag=1'],
      ['To', '<sip:bob@example.com>'],
      ['Call-ID', 'built'],
      ['CSeq', '1 OPTIONS'],
      ['Max-Forwards', '70'],
    ],
  });
  const again = parseMessage(req.toBuffer());
  validateMessage(again);
  assert.ok(again.isRequest && again.method === 'OPTIONS', 'method');
  assert.equal(again.contentLength, 0);
  assert.equal(again.callId, 'built');
});

// ---- line ends --------------------------------------------------------------------------------

test('folded headers are unfolded for reading and kept valid (CRLF) on the wire', () => {
  const text = INVITE_LINES.replace('Subject', 'Subject').replace('X-Custom: keep  me   exactly', 'X-Custom: first\r\n   second\r\n\tthird');
  const m = parseMessage(Buffer.from(text));
  assert.equal(m.get('x-custom'), 'first second third');
  m.setMaxForwards(10); // an edit elsewhere keeps the folded field as it was
  const out = m.toBuffer().toString('latin1');
  const head = out.slice(0, out.indexOf('\r\n\r\n') + 4);
  assert.equal(head.replace(/\r\n/g, '').includes('\n'), false, 'every line ends in CRLF');
  const again = parseMessage(m.toBuffer());
  assert.equal(again.get('x-custom'), 'first second third');
  assert.equal(again.maxForwards, 10);
});

test('bare-LF input is re-serialized with CRLF line ends', () => {
  const text = INVITE_LINES.replace(/\r\n/g, '\n');
  const m = parseMessage(Buffer.from(text));
  validateMessage(m);
  assert.equal(m.vias.length, 3);
  assert.equal(m.body.toString(), 'v=0\n');
  const out = m.toBuffer();
  const str = out.toString('latin1');
  const headEnd = str.indexOf('\r\n\r\n');
  assert.ok(headEnd > 0, 'CRLF empty line');
  assert.equal(str.slice(0, headEnd + 4).replace(/\r\n/g, '').includes('\n'), false, 'no bare LF in the header section');
  assert.deepEqual(headLines(out), ORIGINAL_LINES);
  assert.equal(str.slice(headEnd + 4), 'v=0\n');
  // mixed line ends as well
  const mixed = parseMessage(Buffer.from(INVITE_LINES.replace('Max-Forwards: 70\r\n', 'Max-Forwards: 70\n')));
  assert.deepEqual(headLines(mixed), ORIGINAL_LINES);
});

test('a datagram whose header section is not terminated still serializes to a well-formed message', () => {
  const base = INVITE_LINES.slice(0, INVITE_LINES.indexOf('\r\n\r\n')).replace('l: 4', 'l: 0');
  for (const text of [base + '\r\n', base]) {
    const m = parseMessage(Buffer.from(text));
    validateMessage(m);
    assert.equal(m.body.length, 0);
    const out = m.toBuffer();
    assert.ok(out.toString('latin1').endsWith('\r\nl: 0\r\n\r\n'), JSON.stringify(out.toString('latin1').slice(-30)));
    assert.ok(parseMessage(out, { datagram: false }).toBuffer().equals(out), 'stable and stream-parsable');
  }
});

test('UTF-8 in the header section is decoded and written back unchanged', () => {
  const text = INVITE_LINES.replace('To: Bob', 'To: "Bób ☎"').replace('X-Custom: keep  me   exactly', 'X-Custom: \uFEFF大停電');
  const m = parseMessage(Buffer.from(text, 'utf8'));
  assert.equal(m.to.displayName, 'Bób ☎');
  assert.equal(m.get('x-custom'), '\uFEFF大停電'); // a leading BOM is part of the value, not whitespace
  m.setMaxForwards(3);
  assert.equal(parseMessage(m.toBuffer()).get('x-custom'), '\uFEFF大停電');
  assert.equal(parseMessage(m.toBuffer()).to.displayName, 'Bób ☎');
});

test('From and To URIs are checked on arrival with the full grammar, read lazily, and give what an eager parse gives', () => {
  for (const [header, bad] of [
    ['To', 'To: Bob <sip:bob@bi loxi.example.com>'],
    ['From', 'f: <sip:al%zzice@atlanta.example.com>;tag=1'],
    ['To', 'To: <sip:bob@[2001:db8::zz]>'],
    ['From', 'From: <sip:alice@atlanta.example.com;=x>;tag=1'],
  ] as const) {
    const text = INVITE_LINES.replace(header === 'To' ? /\r\nTo: [^\r]*/ : /\r\nf: [^\r]*/, '\r\n' + bad);
    const m = parseMessage(Buffer.from(text));
    assert.throws(
      () => validateMessage(m),
      (err: unknown) => err instanceof SipParseError && err.statusCode === 400,
      `${bad} is rejected with 400`,
    );
  }
  const m = invite();
  assert.equal(m.from.tag, '1928301774');
  assert.deepEqual(m.from.uri, parseUri('sip:alice@atlanta.example.com'));
  assert.deepEqual(m.to.uri, parseUri('sip:bob@biloxi.example.com'));
  assert.equal(m.from.toString(), '"Alice \\"A\\" Liddell" <sip:alice@atlanta.example.com>;tag=1928301774');
  // a URI set by hand replaces the unparsed one
  const to = m.to;
  to.uri = parseUri('sip:carol@chicago.example.com');
  assert.equal(to.toString(), 'Bob <sip:carol@chicago.example.com>');
});

test('a response is validated without parsing its From; the From is parsed (and can fail) only when read', () => {
  const response = parseMessage(
    Buffer.from(
      [
        'SIP/2.0 200 OK',
        'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKr1',
        'From: <sip:alice@at lanta.example.com>;tag=1',
        'To: <sip:bob@biloxi.example.com>;tag=2',
        'Call-ID: r1@192.0.2.1',
        'CSeq: 1 INVITE',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    ),
  );
  validateMessage(response);
  assert.equal(response.to.tag, '2');
  assert.throws(() => response.from, SipParseError);
});

test('parsed credentials are kept until the header changes', () => {
  const m = invite();
  m.add('Authorization', 'Digest username="alice", realm="atlanta.example.com", nonce="n1", uri="sip:bob@biloxi.example.com", response="0123"');
  const first = m.authHeaders('authorization');
  assert.equal(first[0].params.get('nonce'), 'n1');
  assert.equal(m.authHeaders('authorization'), first, 'read twice, parsed once');
  assert.deepEqual(m.authHeaders('proxy-authorization'), []);
  m.set('Authorization', 'Digest username="alice", realm="atlanta.example.com", nonce="n2", uri="sip:bob@biloxi.example.com", response="4567"');
  assert.equal(m.authHeaders('authorization')[0].params.get('nonce'), 'n2');
  m.remove('Authorization');
  assert.deepEqual(m.authHeaders('authorization'), []);
});
