// PIDF (RFC 3863) reading and composition, and watcherinfo (RFC 3858) documents: what the
// presence server puts in NOTIFY bodies, escaping included.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { composePresence, composeWatcherInfo, escapeXml, ownPart, readPidf, registrationTuples } from '../../../src/services/presence/index.ts';

const published = (basic: string, id = 't1', extra = '') =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:alice@example.test">\n` +
  `<tuple id="${id}"><status><basic>${basic}</basic></status><contact>sip:alice@192.0.2.1</contact></tuple>${extra}\n</presence>\n`;

describe('PIDF', () => {
  test('escapeXml escapes the five XML special characters', () => {
    assert.equal(escapeXml(`a&b<c>d"e'f`), 'a&amp;b&lt;c&gt;d&quot;e&apos;f', 'every special character is replaced by its entity');
  });

  test('readPidf takes the root\'s child elements and extra namespace declarations', () => {
    const part = readPidf(published('open', 't1', '<rpid:person id="p"><rpid:away/></rpid:person>'));
    assert.ok(part !== null, 'a PIDF document is read');
    assert.match(part.content, /^<tuple id="t1">.*<basic>open<\/basic>/, 'the tuple is kept as published');
    assert.match(part.content, /<rpid:away\/>/, 'extension elements are kept too');
    assert.equal(part.namespaces.get('rpid'), 'urn:ietf:params:xml:ns:pidf:rpid', 'the rpid prefix is carried over');
  });

  test('readPidf accepts a prefixed PIDF root and keeps its prefix declared', () => {
    const part = readPidf('<p:presence xmlns:p="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><p:tuple id="x"><p:status><p:basic>open</p:basic></p:status></p:tuple></p:presence>');
    assert.ok(part !== null, 'a prefixed document is read');
    assert.equal(part.namespaces.get('p'), 'urn:ietf:params:xml:ns:pidf', 'the PIDF prefix is declared in the composed document');
  });

  test('readPidf refuses what is not a PIDF document or could break the composed one', () => {
    assert.equal(readPidf('hello'), null, 'plain text');
    assert.equal(readPidf('<presence xmlns="urn:other" entity="sip:a@b"></presence>'), null, 'another namespace');
    assert.equal(readPidf('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><tuple id="a">'), null, 'an unclosed root');
    assert.equal(readPidf('<x/><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"></presence>'), null, 'another element before the root');
    assert.equal(readPidf('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><![CDATA[</presence>]]></presence>'), null, 'a CDATA section');
    assert.equal(readPidf('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"></presence><evil/>'), null, 'content after the root');
  });

  test('composePresence merges the tuples of every publication under one presence root', () => {
    const phone = readPidf(published('open', 'phone'));
    const desk = readPidf(published('closed', 'desk'));
    assert.ok(phone !== null && desk !== null, 'both documents are read');
    const doc = composePresence('sip:alice@example.test', [phone, desk]);
    assert.match(doc, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:alice@example\.test">/, 'one root with the entity and the namespaces');
    assert.equal(doc.match(/<presence\b/g)?.length, 1, 'exactly one presence element');
    assert.match(doc, /<tuple id="phone">[\s\S]*<basic>open<\/basic>[\s\S]*<tuple id="desk">[\s\S]*<basic>closed<\/basic>/, 'both tuples, in publication order');
    assert.match(doc, /<\/presence>\n$/, 'the root is closed');
  });

  test('composePresence without publications says closed; the entity is escaped', () => {
    const doc = composePresence('sip:a&b@example.test', []);
    assert.match(doc, /entity="sip:a&amp;b@example\.test"/, 'the entity attribute is escaped');
    assert.match(doc, /<basic>closed<\/basic>/, 'offline');
    assert.doesNotMatch(doc, /<basic>open/, 'nothing open');
  });

  test('registrationTuples gives one open tuple per contact with escaped URIs and priorities', () => {
    const doc = composePresence('sip:alice@example.test', [ownPart(registrationTuples([{ contact: 'sip:alice@192.0.2.1;a=<b>&c', q: 1 }, { contact: 'sip:alice@192.0.2.2', q: 0.5 }]))]);
    assert.match(doc, /<tuple id="reg1"><status><basic>open<\/basic><\/status><contact priority="1">sip:alice@192\.0\.2\.1;a=&lt;b&gt;&amp;c<\/contact><\/tuple>/, 'the first contact, escaped');
    assert.match(doc, /<tuple id="reg2">.*<contact priority="0\.5">sip:alice@192\.0\.2\.2<\/contact>/, 'the second contact with its q as priority');
  });
});

describe('watcherinfo', () => {
  test('a full document lists the watchers with id, event and status', () => {
    const doc = composeWatcherInfo('sip:alice@example.test', 3, [
      { id: 'w1', uri: 'sip:bob@example.test', status: 'pending', event: 'subscribe' },
      { id: 'w2', uri: 'sip:carol@example.test;x=<y>', status: 'terminated', event: 'rejected' },
    ]);
    assert.match(doc, /<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" version="3" state="full">/, 'the root with version and state');
    assert.match(doc, /<watcher-list resource="sip:alice@example\.test" package="presence">/, 'the list of the presentity');
    assert.match(doc, /<watcher id="w1" event="subscribe" status="pending">sip:bob@example\.test<\/watcher>/, 'a pending watcher');
    assert.match(doc, /<watcher id="w2" event="rejected" status="terminated">sip:carol@example\.test;x=&lt;y&gt;<\/watcher>/, 'a terminated watcher, escaped');
  });
});
