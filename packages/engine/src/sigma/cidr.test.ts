import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cidrContains, parseCidr } from './cidr.js';

const within = (network: string, address: string) => {
  const parsed = parseCidr(network);
  assert.ok(parsed, `${network} should parse`);
  return cidrContains(parsed, address);
};

describe('cidr', () => {
  it('matches IPv4 networks', () => {
    assert.equal(within('10.0.0.0/8', '10.255.1.2'), true);
    assert.equal(within('10.0.0.0/8', '11.0.0.1'), false);
    assert.equal(within('192.168.1.0/24', '192.168.1.255'), true);
    assert.equal(within('192.168.1.0/24', '192.168.2.0'), false);
    assert.equal(within('172.16.0.0/12', '172.31.255.255'), true);
    assert.equal(within('172.16.0.0/12', '172.32.0.0'), false);
    assert.equal(within('0.0.0.0/0', '203.0.113.7'), true);
  });

  it('treats a bare address as a single host', () => {
    assert.equal(within('203.0.113.7', '203.0.113.7'), true);
    assert.equal(within('203.0.113.7', '203.0.113.8'), false);
  });

  it('matches IPv6 networks, compressed or not', () => {
    assert.equal(within('2001:db8::/32', '2001:db8:1::5'), true);
    assert.equal(within('2001:db8::/32', '2001:0DB8:0000:0000:0000:0000:0000:0001'), true);
    assert.equal(within('2001:db8::/32', '2001:db9::1'), false);
    assert.equal(within('fe80::/10', 'fe80::1%eth0'), true);
    assert.equal(within('::1/128', '::1'), true);
    assert.equal(within('2001:db8:abcd:12::/63', '2001:db8:abcd:13::1'), true);
    assert.equal(within('2001:db8:abcd:12::/63', '2001:db8:abcd:14::1'), false);
  });

  it('matches IPv4-mapped IPv6 addresses against IPv4 networks', () => {
    assert.equal(within('10.0.0.0/8', '::ffff:10.1.2.3'), true);
    assert.equal(within('10.0.0.0/8', '::ffff:11.1.2.3'), false);
  });

  it('does not confuse families', () => {
    assert.equal(within('10.0.0.0/8', '2001:db8::1'), false);
    assert.equal(within('2001:db8::/32', '10.0.0.1'), false);
    // An IPv6 network wider than the mapped range means IPv6 clients, not every IPv4 one, however it is written.
    for (const network of ['::/0', '::/64', '::/80']) {
      assert.equal(within(network, '203.0.113.7'), false, network);
      assert.equal(within(network, '::ffff:203.0.113.7'), false, network);
    }
    assert.equal(within('::/0', '2001:db8::1'), true);
    assert.equal(within('::ffff:0:0/96', '203.0.113.7'), true);
    assert.equal(within('::ffff:203.0.113.0/120', '203.0.113.7'), true);
  });

  it('rejects invalid networks', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0/8', '256.0.0.0/8', '010.0.0.1', '2001:db8::/129', '1::2::3', 'x', '']) {
      assert.equal(parseCidr(bad), undefined, bad);
    }
  });

  it('never matches values that are not addresses', () => {
    assert.equal(within('0.0.0.0/0', 'not-an-ip'), false);
    assert.equal(within('::/0', '1.2.3'), false);
  });
});
