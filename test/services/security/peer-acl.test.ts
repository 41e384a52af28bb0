/** Trusted peers: CIDR matching for IPv4 and IPv6, exact addresses, transport/port/group restrictions. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blockContains, canonicalIp, parseAddressBlock, parseIp, PeerAcl } from '../../../src/services/security/index.ts';

test('CIDR blocks: IPv4 and IPv6 prefixes, host bits cleared, bad input refused', () => {
  const contains = (block: string, address: string) => {
    const b = parseAddressBlock(block);
    const a = parseIp(address);
    assert.ok(b !== undefined && a !== undefined, `${block} and ${address} parse`);
    return blockContains(b, a);
  };
  assert.equal(contains('10.0.0.0/8', '10.255.1.2'), true, '10.255.1.2 is in 10/8');
  assert.equal(contains('10.0.0.0/8', '11.0.0.1'), false, '11.0.0.1 is not in 10/8');
  assert.equal(contains('192.168.1.128/25', '192.168.1.200'), true, '.200 is in .128/25');
  assert.equal(contains('192.168.1.128/25', '192.168.1.127'), false, '.127 is not in .128/25');
  assert.equal(contains('10.1.2.3/8', '10.9.9.9'), true, 'host bits of the block are ignored');
  assert.equal(contains('0.0.0.0/0', '203.0.113.9'), true, '/0 matches everything of its family');
  assert.equal(contains('0.0.0.0/0', '2001:db8::1'), false, 'but not the other family');
  assert.equal(contains('2001:db8::/32', '2001:db8:ffff::1'), true, 'IPv6 /32');
  assert.equal(contains('2001:db8::/32', '2001:db9::1'), false, 'outside the IPv6 /32');
  assert.equal(contains('2001:db8:0:0:8000::/65', '2001:db8::8000:0:0:1'), true, 'a prefix that ends inside a byte');
  assert.equal(contains('2001:db8::/65', '2001:db8::8000:0:0:1'), false, 'bit 65 differs');
  assert.equal(contains('10.0.0.0/8', '::ffff:10.1.1.1'), true, 'an IPv4-mapped address matches IPv4 blocks');
  for (const bad of ['10.0.0.0/33', '10.0.0/8', '2001:db8::/129', '1.2.3.256', '01.2.3.4', 'example.com', '2001:db8:::1', '1:2:3:4:5:6:7:8:9']) {
    assert.equal(parseAddressBlock(bad), undefined, `${bad} is refused`);
  }
  assert.equal(canonicalIp('2001:0DB8:0000:0000:0000:0000:0000:0001'), '2001:db8::1', 'RFC 5952 form');
  assert.equal(canonicalIp('2001:db8:0:1:0:0:0:1'), '2001:db8:0:1::1', 'the longest zero run is compressed');
  assert.equal(canonicalIp('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1', 'a single zero group is not compressed');
});

test('exact addresses match whatever their textual form; CIDR blocks and restrictions apply', () => {
  const acl = new PeerAcl([
    { address: '192.0.2.10' },
    { address: '2001:db8::10', transport: 'tls' },
    { address: '10.0.0.0/8', transport: 'udp', port: 5060, group: 'carrier1' },
    { address: '198.51.100.0/24', group: 'carrier2' },
  ]);
  assert.equal(acl.match('192.0.2.10', 'udp', 40000)?.address, '192.0.2.10', 'exact IPv4, any transport and port');
  assert.equal(acl.match('192.0.2.11', 'udp', 5060), undefined, 'another address is not trusted');
  assert.equal(acl.match('2001:0db8:0:0::10', 'tls', 5061)?.address, '2001:db8::10', 'IPv6 in another spelling');
  assert.equal(acl.match('2001:db8::10', 'udp', 5060), undefined, 'the IPv6 peer only over TLS');
  assert.equal(acl.match('10.20.30.40', 'udp', 5060)?.group, 'carrier1', 'in the block, over udp from 5060');
  assert.equal(acl.match('10.20.30.40', 'udp', 5070), undefined, 'another source port is not trusted');
  assert.equal(acl.match('10.20.30.40', 'tcp', 5060), undefined, 'another transport is not trusted');
  assert.equal(acl.match('198.51.100.7', 'tcp', 1234, 'carrier2')?.address, '198.51.100.0/24', 'in its group');
  assert.equal(acl.match('198.51.100.7', 'tcp', 1234, 'carrier1'), undefined, 'not in another group');
  assert.equal(acl.trustsAddress('10.20.30.40'), true, 'the host is trusted as a whole for flood exemption');
  assert.equal(acl.trustsAddress('203.0.113.1'), false, 'an unknown host is not');
});

test('replace() swaps the table, tells its listener, and refuses a bad entry', () => {
  const acl = new PeerAcl();
  let changes = 0;
  acl.onChange = () => changes++;
  assert.equal(acl.match('192.0.2.1', 'udp', 5060), undefined, 'an empty table trusts nobody');
  acl.replace([{ address: '192.0.2.0/24' }]);
  assert.equal(changes, 1, 'the listener was told');
  assert.ok(acl.match('192.0.2.1', 'udp', 5060) !== undefined, 'the new table applies');
  assert.throws(() => acl.replace([{ address: 'not-an-address' }]), /not an IP address or CIDR block/, 'a bad entry is refused');
  assert.ok(acl.match('192.0.2.1', 'udp', 5060) !== undefined, 'and the table before it stays');
});
