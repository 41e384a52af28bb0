// REGISTER processing (src/services/registrar, RFC 3261 §10.3 steps 5-8) over a LocationService
// on a MemoryStore, with injected time; plus RFC 4475 messages that concern a registrar.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequest, parseMessage, type SipRequest } from '../../src/sip/index.ts';
import { LocationService } from '../../src/services/location/index.ts';
import { DEFAULT_REGISTRAR_POLICY, Registrar, type RegisterOutcome, type RegistrarPolicy } from '../../src/services/registrar/index.ts';
import { MemoryStore } from '../../src/store/index.ts';

const T0 = 1_700_000_000_000;
const AOR = 'alice@example.com';
const SOURCE = 'udp:192.0.2.10:5060';
const POLICY: RegistrarPolicy = { defaultExpires: 3600, minExpires: 60, maxExpires: 7200, maxContacts: 3 };
const CONFORMANCE = new URL('../../../shared/conformance/', import.meta.url);

function setup() {
  const clock = { t: T0 };
  const location = new LocationService(new MemoryStore(), { now: () => clock.t });
  const registrar = new Registrar(location, () => clock.t);
  return { clock, location, registrar };
}

interface RegisterOptions {
  contacts?: string[];
  expires?: number | string;
  callId?: string;
  cseq?: number;
  extra?: Array<[string, string]>;
}

function register(o: RegisterOptions = {}): SipRequest {
  const headers: Array<[string, string]> = [
    ['Via', 'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-reg'],
    ['Max-Forwards', '70'],
    ['From', '<sip:alice@example.com>;tag=f1'],
    ['To', '<sip:alice@example.com>'],
    ['Call-ID', o.callId ?? 'reg-1@192.0.2.10'],
    ['CSeq', `${o.cseq ?? 1} REGISTER`],
    ['User-Agent', 'test-ua/1.0'],
  ];
  for (const c of o.contacts ?? []) headers.push(['Contact', c]);
  if (o.expires !== undefined) headers.push(['Expires', String(o.expires)]);
  headers.push(...(o.extra ?? []));
  return createRequest({ method: 'REGISTER', uri: 'sip:example.com', headers });
}

const headerValues = (out: RegisterOutcome, name: string) => out.headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
const contactsOf = (out: RegisterOutcome) => headerValues(out, 'Contact');

describe('Registrar: add, refresh, remove, query', () => {
  test('add: 200 lists the new binding with its expires; the binding holds the request data', () => {
    const { registrar, location } = setup();
    const out = registrar.register(register({ contacts: ['<sip:alice@192.0.2.10:5060>;expires=600'], cseq: 5 }), AOR, POLICY, SOURCE);
    assert.equal(out.status, 200);
    assert.deepEqual(contactsOf(out), ['<sip:alice@192.0.2.10:5060>;expires=600']);
    assert.deepEqual(headerValues(out, 'Date'), [new Date(T0).toUTCString()]);
    assert.equal(out.bindings.length, 1);
    const [b] = location.lookup(AOR);
    assert.deepEqual(
      { contact: b.contact, expiresAt: b.expiresAt, q: b.q, callId: b.callId, cseq: b.cseq, path: b.path, received: b.received, userAgent: b.userAgent, updatedAt: b.updatedAt, instance: b.instance, regId: b.regId },
      {
        contact: 'sip:alice@192.0.2.10:5060',
        expiresAt: T0 + 600_000,
        q: 1,
        callId: 'reg-1@192.0.2.10',
        cseq: 5,
        path: [],
        received: SOURCE,
        userAgent: 'test-ua/1.0',
        updatedAt: T0,
        instance: null,
        regId: null,
      },
    );
  });

  test('expires: the contact parameter wins over the Expires header, which wins over the default', () => {
    const { registrar, location } = setup();
    const out = registrar.register(
      register({ contacts: ['<sip:alice@192.0.2.1>;expires=120', '<sip:alice@192.0.2.2>'], expires: 300 }),
      AOR,
      POLICY,
      SOURCE,
    );
    assert.equal(out.status, 200);
    const byContact = new Map(location.lookup(AOR).map((b) => [b.contact, (b.expiresAt - T0) / 1000]));
    assert.deepEqual(Object.fromEntries(byContact), { 'sip:alice@192.0.2.1': 120, 'sip:alice@192.0.2.2': 300 });

    const { registrar: r2, location: l2 } = setup();
    assert.equal(r2.register(register({ contacts: ['<sip:alice@192.0.2.3>'] }), AOR, POLICY, SOURCE).status, 200);
    assert.equal(l2.lookup(AOR)[0].expiresAt, T0 + POLICY.defaultExpires * 1000, 'default expires');
  });

  test('expires above the maximum is clamped', () => {
    const { registrar, location } = setup();
    const out = registrar.register(register({ contacts: ['<sip:alice@192.0.2.1>;expires=999999'] }), AOR, POLICY, SOURCE);
    assert.equal(out.status, 200);
    assert.deepEqual(contactsOf(out), ['<sip:alice@192.0.2.1>;expires=7200']);
    assert.equal(location.lookup(AOR)[0].expiresAt, T0 + 7200_000);
    // also from the header, and a header beyond 2**32-1 (RFC 3261 §10.2.1.1)
    const out2 = registrar.register(register({ contacts: ['<sip:alice@192.0.2.2>'], expires: '99999999999999', cseq: 2 }), AOR, POLICY, SOURCE);
    assert.equal(out2.status, 200);
    assert.equal(location.get(AOR, location.keyOf('sip:alice@192.0.2.2', null, null))?.expiresAt, T0 + 7200_000);
  });

  test('refresh: the same contact from the same Call-ID with a higher CSeq replaces the binding', () => {
    const { registrar, location, clock } = setup();
    registrar.register(register({ contacts: ['<sip:alice@192.0.2.10>'], expires: 600, cseq: 1 }), AOR, POLICY, SOURCE);
    clock.t += 300_000;
    const out = registrar.register(register({ contacts: ['<sip:alice@192.0.2.10>;q=0.5'], expires: 600, cseq: 2 }), AOR, POLICY, 'udp:192.0.2.10:6000');
    assert.equal(out.status, 200);
    assert.deepEqual(contactsOf(out), ['<sip:alice@192.0.2.10>;expires=600;q=0.5']);
    assert.equal(location.size, 1);
    const [b] = location.lookup(AOR);
    assert.equal(b.cseq, 2);
    assert.equal(b.expiresAt, T0 + 900_000);
    assert.equal(b.received, 'udp:192.0.2.10:6000');
    assert.equal(b.updatedAt, T0 + 300_000);
  });

  test('remove with expires=0 as a contact parameter, and with Expires: 0', () => {
    const { registrar, location } = setup();
    registrar.register(register({ contacts: ['<sip:alice@192.0.2.1>', '<sip:alice@192.0.2.2>', '<sip:alice@192.0.2.3>'], cseq: 1 }), AOR, POLICY, SOURCE);
    assert.equal(location.size, 3);

    const out = registrar.register(register({ contacts: ['<sip:alice@192.0.2.1>;expires=0'], cseq: 2 }), AOR, POLICY, SOURCE);
    assert.equal(out.status, 200);
    assert.deepEqual(contactsOf(out), ['<sip:alice@192.0.2.2>;expires=3600', '<sip:alice@192.0.2.3>;expires=3600']);

    const out2 = registrar.register(register({ contacts: ['<sip:alice@192.0.2.2>'], expires: 0, cseq: 3 }), AOR, POLICY, SOURCE);
    assert.equal(out2.status, 200);
    assert.deepEqual(contactsOf(out2), ['<sip:alice@192.0.2.3>;expires=3600']);
    assert.deepEqual(
      location.lookup(AOR).map((b) => b.contact),
      ['sip:alice@192.0.2.3'],
    );

    // the parameter overrides the header the other way too: expires=60 keeps it with Expires: 0
    const out3 = registrar.register(register({ contacts: ['<sip:alice@192.0.2.3>;expires=60'], expires: 0, cseq: 4 }), AOR, POLICY, SOURCE);
    assert.deepEqual(contactsOf(out3), ['<sip:alice@192.0.2.3>;expires=60']);

    // removing a binding that does not exist is fine
    assert.equal(registrar.register(register({ contacts: ['<sip:alice@192.0.2.99>;expires=0'], cseq: 5 }), AOR, POLICY, SOURCE).status, 200);
  });

  test('query: no Contact lists the bindings with their remaining time and changes nothing', () => {
    const { registrar, location, clock } = setup();
    registrar.register(register({ contacts: ['<sip:alice@192.0.2.1>;expires=600', '<sip:alice@192.0.2.2>;expires=900;q=0.3'], cseq: 1 }), AOR, POLICY, SOURCE);
    const before = location.lookup(AOR).map((b) => ({ ...b }));
    clock.t += 100_000;
    const out = registrar.register(register({ cseq: 2 }), AOR, POLICY, SOURCE);
    assert.equal(out.status, 200);
    assert.deepEqual(contactsOf(out), ['<sip:alice@192.0.2.1>;expires=500', '<sip:alice@192.0.2.2>;expires=800;q=0.3']);
    assert.deepEqual(
      location.lookup(AOR).map((b) => ({ ...b })),
      before,
    );
    // a query for an AOR without bindings: 200 without Contact
    const empty = registrar.register(register({ cseq: 3 }), 'nobody@example.com', POLICY, SOURCE);
    assert.equal(empty.status, 200);
    assert.deepEqual(contactsOf(empty), []);
  });

  test('q: bindings are listed highest q first', () => {
    const { registrar } = setup();
    const out = registrar.register(
      register({ contacts: ['<sip:alice@192.0.2.1>;q=0.1', '<sip:alice@192.0.2.2>', '<sip:alice@192.0.2.3>;q=0.9'] }),
      AOR,
      POLICY,
      SOURCE,
    );
    assert.deepEqual(contactsOf(out), ['<sip:alice@192.0.2.2>;expires=3600', '<sip:alice@192.0.2.3>;expires=3600;q=0.9', '<sip:alice@192.0.2.1>;expires=3600;q=0.1']);
    assert.deepEqual(
      out.bindings.map((b) => b.q),
      [1, 0.9, 0.1],
    );
  });

  test('a contact with an unsupported URI scheme fails the whole request', () => {
    const { registrar, location } = setup();
    const out = registrar.register(register({ contacts: ['<sip:alice@192.0.2.1>', '<mailto:alice@example.com>'] }), AOR, POLICY, SOURCE);
    assert.equal(out.status, 400);
    assert.equal(location.size, 0);
  });
});

describe('Registrar: Contact: *', () => {
  test('with Expires: 0 removes every binding of the AOR, whatever its Call-ID', () => {
    const { registrar, location } = setup();
    registrar.register(register({ contacts: ['<sip:alice@192.0.2.1>'], callId: 'a', cseq: 10 }), AOR, POLICY, SOURCE);
    registrar.register(register({ contacts: ['<sip:alice@192.0.2.2>'], callId: 'b', cseq: 10 }), AOR, POLICY, SOURCE);
    registrar.register(register({ contacts: ['<sip:bob@192.0.2.3>'], callId: 'c', cseq: 1 }), 'bob@example.com', POLICY, SOURCE);
    const out = registrar.register(register({ contacts: ['*'], expires: 0, callId: 'a', cseq: 11 }), AOR, POLICY, SOURCE);
    assert.equal(out.status, 200);
    assert.deepEqual(contactsOf(out), []);
    assert.deepEqual(location.lookup(AOR), []);
    assert.equal(location.lookup('bob@example.com').length, 1, 'other AORs untouched');
  });

  test('without Expires: 0, or with another contact: 400 and nothing removed', () => {
    const { registrar, location } = setup();
    registrar.register(register({ contacts: ['<sip:alice@192.0.2.1>'], callId: 'a', cseq: 1 }), AOR, POLICY, SOURCE);
    for (const o of [
      { contacts: ['*'] },
      { contacts: ['*'], expires: 3600 },
      { contacts: ['*', '<sip:alice@192.0.2.2>'], expires: 0 },
      { contacts: ['*, <sip:alice@192.0.2.2>;expires=0'], expires: 0 },
    ]) {
      const out = registrar.register(register({ ...o, callId: 'b', cseq: 5 }), AOR, POLICY, SOURCE);
      assert.equal(out.status, 400, JSON.stringify(o));
      assert.equal(location.size, 1, JSON.stringify(o));
    }
  });

  test('from the Call-ID of a binding with a CSeq not above it: the request fails as a whole (§10.3 step 6)', () => {
    const { registrar, location } = setup();
    registrar.register(register({ contacts: ['<sip:alice@192.0.2.1>'], callId: 'a', cseq: 10 }), AOR, POLICY, SOURCE);
    registrar.register(register({ contacts: ['<sip:alice@192.0.2.2>'], callId: 'b', cseq: 1 }), AOR, POLICY, SOURCE);
    for (const cseq of [9, 10]) {
      const out = registrar.register(register({ contacts: ['*'], expires: 0, callId: 'a', cseq }), AOR, POLICY, SOURCE);
      assert.equal(out.status, 400, `CSeq ${cseq}`);
      assert.equal(location.size, 2, 'nothing removed');
    }
    assert.equal(registrar.register(register({ contacts: ['*'], expires: 0, callId: 'a', cseq: 11 }), AOR, POLICY, SOURCE).status, 200);
    assert.equal(location.size, 0);
  });
});

describe('Registrar: limits', () => {
  test('expires below the minimum: 423 with Min-Expires, and nothing changed', () => {
    const { registrar, location } = setup();
    registrar.register(register({ contacts: ['<sip:alice@192.0.2.1>;expires=600'], cseq: 1 }), AOR, POLICY, SOURCE);
    const before = location.lookup(AOR).map((b) => ({ ...b }));

    const out = registrar.register(register({ contacts: ['<sip:alice@192.0.2.2>;expires=3600', '<sip:alice@192.0.2.1>;expires=30'], cseq: 2 }), AOR, POLICY, SOURCE);
    assert.equal(out.status, 423);
    assert.deepEqual(headerValues(out, 'Min-Expires'), ['60']);
    assert.deepEqual(
      location.lookup(AOR).map((b) => ({ ...b })),
      before,
      'neither the valid contact added nor the existing one shortened',
    );
    // from the header as well; 0 is a removal, never "too brief"
    assert.equal(registrar.register(register({ contacts: ['<sip:alice@192.0.2.3>'], expires: 59, cseq: 3 }), AOR, POLICY, SOURCE).status, 423);
    assert.equal(registrar.register(register({ contacts: ['<sip:alice@192.0.2.3>'], expires: 60, cseq: 4 }), AOR, POLICY, SOURCE).status, 200);
    assert.equal(registrar.register(register({ contacts: ['<sip:alice@192.0.2.3>'], expires: 0, cseq: 5 }), AOR, POLICY, SOURCE).status, 200);
  });

  test('more contacts than allowed: 403 and nothing changed; replacing within the limit is fine', () => {
    const { registrar, location } = setup();
    const policy = { ...POLICY, maxContacts: 2 };
    assert.equal(registrar.register(register({ contacts: ['<sip:alice@192.0.2.1>', '<sip:alice@192.0.2.2>'], cseq: 1 }), AOR, policy, SOURCE).status, 200);

    const out = registrar.register(register({ contacts: ['<sip:alice@192.0.2.3>'], cseq: 2 }), AOR, policy, SOURCE);
    assert.equal(out.status, 403);
    assert.deepEqual(
      location.lookup(AOR).map((b) => b.contact).sort(),
      ['sip:alice@192.0.2.1', 'sip:alice@192.0.2.2'],
    );
    assert.equal(location.lookup(AOR)[0].cseq, 1);

    // three new ones at once, on an empty AOR
    assert.equal(
      registrar.register(register({ contacts: ['<sip:bob@192.0.2.1>', '<sip:bob@192.0.2.2>', '<sip:bob@192.0.2.3>'] }), 'bob@example.com', policy, SOURCE).status,
      403,
    );
    assert.equal(location.lookup('bob@example.com').length, 0);

    // removing one and adding one in the same request stays within the limit
    const swap = registrar.register(register({ contacts: ['<sip:alice@192.0.2.1>;expires=0', '<sip:alice@192.0.2.3>'], cseq: 3 }), AOR, policy, SOURCE);
    assert.equal(swap.status, 200);
    assert.deepEqual(
      location.lookup(AOR).map((b) => b.contact).sort(),
      ['sip:alice@192.0.2.2', 'sip:alice@192.0.2.3'],
    );
    // refreshing an existing one at the limit is fine too
    assert.equal(registrar.register(register({ contacts: ['<sip:alice@192.0.2.2>'], cseq: 4 }), AOR, policy, SOURCE).status, 200);
  });

  test('expired bindings do not count against the limit', () => {
    const { registrar, clock } = setup();
    const policy = { ...POLICY, maxContacts: 1 };
    registrar.register(register({ contacts: ['<sip:alice@192.0.2.1>;expires=60'] }), AOR, policy, SOURCE);
    clock.t += 61_000;
    assert.equal(registrar.register(register({ contacts: ['<sip:alice@192.0.2.2>'], cseq: 2 }), AOR, policy, SOURCE).status, 200);
  });

  test('DEFAULT_REGISTRAR_POLICY is sane', () => {
    const p = DEFAULT_REGISTRAR_POLICY;
    assert.ok(p.minExpires <= p.defaultExpires && p.defaultExpires <= p.maxExpires && p.maxContacts >= 1);
  });
});

describe('Registrar: Call-ID and CSeq ordering (§10.3 step 7)', () => {
  test('the same Call-ID with a lower or equal CSeq: 400 and nothing changed', () => {
    const { registrar, location } = setup();
    registrar.register(register({ contacts: ['<sip:alice@192.0.2.1>;expires=600'], callId: 'a', cseq: 5 }), AOR, POLICY, SOURCE);
    for (const cseq of [4, 5]) {
      const out = registrar.register(register({ contacts: ['<sip:alice@192.0.2.1>;expires=1200', '<sip:alice@192.0.2.2>'], callId: 'a', cseq }), AOR, POLICY, SOURCE);
      assert.equal(out.status, 400, `CSeq ${cseq}`);
      assert.equal(location.size, 1);
      assert.equal(location.lookup(AOR)[0].expiresAt, T0 + 600_000);
      // a late removal is refused too
      assert.equal(registrar.register(register({ contacts: ['<sip:alice@192.0.2.1>;expires=0'], callId: 'a', cseq }), AOR, POLICY, SOURCE).status, 400);
      assert.equal(location.size, 1);
    }
  });

  test('a higher CSeq, or another Call-ID with any CSeq, updates', () => {
    const { registrar, location } = setup();
    registrar.register(register({ contacts: ['<sip:alice@192.0.2.1>;expires=600'], callId: 'a', cseq: 5 }), AOR, POLICY, SOURCE);
    assert.equal(registrar.register(register({ contacts: ['<sip:alice@192.0.2.1>;expires=900'], callId: 'a', cseq: 6 }), AOR, POLICY, SOURCE).status, 200);
    assert.equal(location.lookup(AOR)[0].expiresAt, T0 + 900_000);
    // a UA that rebooted: new Call-ID, CSeq starting low
    assert.equal(registrar.register(register({ contacts: ['<sip:alice@192.0.2.1>;expires=1200'], callId: 'b', cseq: 1 }), AOR, POLICY, SOURCE).status, 200);
    assert.equal(location.lookup(AOR)[0].expiresAt, T0 + 1200_000);
    assert.equal(location.lookup(AOR)[0].callId, 'b');
    assert.equal(registrar.register(register({ contacts: ['<sip:alice@192.0.2.1>;expires=0'], callId: 'c', cseq: 1 }), AOR, POLICY, SOURCE).status, 200);
    assert.equal(location.size, 0);
  });
});

describe('Registrar: Path (RFC 3327) and outbound (RFC 5626)', () => {
  const PATH: Array<[string, string]> = [
    ['Path', '<sip:edge1.example.com;lr>, <sip:edge2.example.com;lr>'],
    ['Path', '<sip:edge3.example.com;lr;ob>'],
  ];

  test('Path is stored in order, and echoed only when the UA supports path', () => {
    const { registrar, location } = setup();
    const out = registrar.register(register({ contacts: ['<sip:alice@192.0.2.1>'], extra: [...PATH, ['Supported', 'outbound, path']] }), AOR, POLICY, SOURCE);
    assert.equal(out.status, 200);
    const expected = ['<sip:edge1.example.com;lr>', '<sip:edge2.example.com;lr>', '<sip:edge3.example.com;lr;ob>'];
    assert.deepEqual(location.lookup(AOR)[0].path, expected);
    assert.deepEqual(headerValues(out, 'Path'), expected);

    const quiet = registrar.register(register({ contacts: ['<sip:alice@192.0.2.2>'], cseq: 2, extra: [...PATH, ['Supported', 'outbound']] }), AOR, POLICY, SOURCE);
    assert.equal(quiet.status, 200);
    assert.deepEqual(headerValues(quiet, 'Path'), []);
    assert.deepEqual(location.get(AOR, location.keyOf('sip:alice@192.0.2.2', null, null))?.path, expected, 'stored all the same');

    // a refresh without Path drops the old one
    registrar.register(register({ contacts: ['<sip:alice@192.0.2.1>'], cseq: 3 }), AOR, POLICY, SOURCE);
    assert.deepEqual(location.get(AOR, location.keyOf('sip:alice@192.0.2.1', null, null))?.path, []);
  });

  test('+sip.instance and reg-id are kept, returned, and key the binding', () => {
    const { registrar, location } = setup();
    const instance = '<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>';
    const out = registrar.register(
      register({ contacts: [`<sip:alice@198.51.100.7:40000;transport=tcp;ob>;+sip.instance="${instance}";reg-id=1;expires=600`] }),
      AOR,
      POLICY,
      'tcp:198.51.100.7:40000',
    );
    assert.equal(out.status, 200);
    assert.deepEqual(contactsOf(out), [`<sip:alice@198.51.100.7:40000;transport=tcp;ob>;expires=600;+sip.instance="${instance}";reg-id=1`]);
    const [b] = location.lookup(AOR);
    assert.equal(b.instance, instance);
    assert.equal(b.regId, 1);
    assert.equal(b.contact, 'sip:alice@198.51.100.7:40000;transport=tcp;ob', 'header parameters stay out of the URI');

    // the same flow re-registers from another port: replaced, not added
    const again = registrar.register(
      register({ contacts: [`<sip:alice@198.51.100.7:40999;transport=tcp;ob>;+sip.instance="${instance}";reg-id=1;expires=600`], cseq: 2 }),
      AOR,
      POLICY,
      'tcp:198.51.100.7:40999',
    );
    assert.equal(again.status, 200);
    assert.deepEqual(
      location.lookup(AOR).map((x) => x.contact),
      ['sip:alice@198.51.100.7:40999;transport=tcp;ob'],
    );
    // ... and is subject to CSeq ordering under its instance key
    assert.equal(
      registrar.register(register({ contacts: [`<sip:alice@198.51.100.7:41000;ob>;+sip.instance="${instance}";reg-id=1`], cseq: 2 }), AOR, POLICY, SOURCE).status,
      400,
    );

    // a second flow of the same instance
    registrar.register(register({ contacts: [`<sip:alice@203.0.113.9:5060;ob>;+sip.instance="${instance}";reg-id=2`], cseq: 3 }), AOR, POLICY, SOURCE);
    assert.equal(location.size, 2);

    // removal by instance and reg-id, with any contact URI
    registrar.register(register({ contacts: [`<sip:whatever@203.0.113.1>;+sip.instance="${instance}";reg-id=1;expires=0`], cseq: 4 }), AOR, POLICY, SOURCE);
    assert.deepEqual(
      location.lookup(AOR).map((x) => x.regId),
      [2],
    );
  });

  test('reg-id without +sip.instance is ignored (RFC 5626 §6)', () => {
    const { registrar, location } = setup();
    registrar.register(register({ contacts: ['<sip:alice@192.0.2.1>;reg-id=1'] }), AOR, POLICY, SOURCE);
    const [b] = location.lookup(AOR);
    assert.equal(b.instance, null);
    assert.equal(b.regId, null);
  });

  test('a malformed reg-id counts as absent, so the binding can still be refreshed and removed', () => {
    const { registrar, location } = setup();
    const contact = '<sip:alice@192.0.2.1>;+sip.instance="<urn:uuid:1>";reg-id=abc';
    const out = registrar.register(register({ contacts: [contact] }), AOR, POLICY, SOURCE);
    assert.equal(out.status, 200);
    assert.equal(location.lookup(AOR)[0].regId, null);
    assert.deepEqual(contactsOf(out), ['<sip:alice@192.0.2.1>;expires=3600;+sip.instance="<urn:uuid:1>"']);
    registrar.register(register({ contacts: [contact], cseq: 2 }), AOR, POLICY, SOURCE);
    assert.equal(location.size, 1);
    assert.equal(registrar.register(register({ contacts: [`${contact};expires=0`], cseq: 3 }), AOR, POLICY, SOURCE).status, 200);
    assert.equal(location.size, 0);
  });
});

describe('Registrar: RFC 4475 messages', () => {
  function corpus(name: string): SipRequest {
    const m = parseMessage(readFileSync(new URL(`rfc4475/${name}.dat`, CONFORMANCE)));
    assert.ok(m.isRequest && m.method === 'REGISTER');
    return m;
  }

  test('cparam01 (§3.3.11): in an addr-spec, ";unknownparam" is a header parameter, not part of the stored URI', () => {
    const { registrar, location } = setup();
    const out = registrar.register(corpus('cparam01'), 'watson@example.com', POLICY, SOURCE);
    assert.equal(out.status, 200);
    const [b] = location.lookup('watson@example.com');
    assert.equal(b.contact, 'sip:+19725552222@gw1.example.net');
    assert.equal(b.callId, 'cparam01.70710@saturn.example.com');
    assert.equal(b.cseq, 2);
    assert.equal(b.expiresAt, T0 + POLICY.defaultExpires * 1000);
    assert.deepEqual(contactsOf(out), ['<sip:+19725552222@gw1.example.net>;expires=3600']);
  });

  test('cparam02 (§3.3.12): in angle brackets, ";unknownparam" is a URI parameter and is kept', () => {
    const { registrar, location } = setup();
    const out = registrar.register(corpus('cparam02'), 'watson@example.com', POLICY, SOURCE);
    assert.equal(out.status, 200);
    assert.equal(location.lookup('watson@example.com')[0].contact, 'sip:+19725552222@gw1.example.net;unknownparam');
    assert.deepEqual(contactsOf(out), ['<sip:+19725552222@gw1.example.net;unknownparam>;expires=3600']);
  });

  test('cparam01 then cparam02 are two bindings (the URIs differ)', () => {
    const { registrar, location } = setup();
    registrar.register(corpus('cparam01'), 'watson@example.com', POLICY, SOURCE);
    registrar.register(corpus('cparam02'), 'watson@example.com', POLICY, SOURCE);
    assert.equal(location.lookup('watson@example.com').length, 2);
  });

  test('regescrt (§3.3.14): the escaped Route header stays in the stored contact URI', () => {
    const { registrar, location } = setup();
    const out = registrar.register(corpus('regescrt'), 'user@example.com', POLICY, SOURCE);
    assert.equal(out.status, 200);
    const [b] = location.lookup('user@example.com');
    assert.equal(b.contact, 'sip:user@example.com?Route=%3Csip:sip.example.com%3E');
    assert.equal(b.cseq, 14398234);
    assert.deepEqual(contactsOf(out), ['<sip:user@example.com?Route=%3Csip:sip.example.com%3E>;expires=3600']);
  });
});
