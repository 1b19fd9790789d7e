import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTrustedProxies, normaliseAddress } from './proxy.js';

describe('trusted proxies', () => {
  test('addresses are normalised', () => {
    assert.equal(normaliseAddress('::ffff:10.0.0.1'), '10.0.0.1');
    assert.equal(normaliseAddress('[2001:DB8::17]:4711'), '2001:db8::17');
    assert.equal(normaliseAddress('203.0.113.7:5000'), '203.0.113.7');
    assert.equal(normaliseAddress('unknown'), undefined);
    assert.equal(normaliseAddress('_hidden'), undefined);
  });

  test('no trusted proxies: the socket peer is the client, whatever the headers say', () => {
    const { proxies } = createTrustedProxies([]);
    assert.equal(proxies.clientAddress('198.51.100.1', { 'x-forwarded-for': '1.2.3.4' }), '198.51.100.1');
  });

  test('a spoofed X-Forwarded-For from an untrusted peer is ignored', () => {
    const { proxies } = createTrustedProxies(['10.0.0.0/8']);
    assert.equal(proxies.clientAddress('198.51.100.1', { 'x-forwarded-for': '1.2.3.4' }), '198.51.100.1');
  });

  test('from a trusted peer the chain is walked from the right, skipping trusted hops', () => {
    const { proxies } = createTrustedProxies(['10.0.0.0/8', '192.0.2.5']);
    // The client put "1.2.3.4" in itself; the edge proxy appended the real client, 203.0.113.9.
    const headers = { 'x-forwarded-for': '1.2.3.4, 203.0.113.9, 192.0.2.5' };
    assert.equal(proxies.clientAddress('::ffff:10.1.2.3', headers), '203.0.113.9');
    assert.equal(proxies.clientAddress('10.1.2.3', { 'x-forwarded-for': ['1.2.3.4', '10.9.9.9'] }), '1.2.3.4');
    assert.equal(proxies.clientAddress('10.1.2.3', {}), '10.1.2.3', 'no header: the proxy itself');
    assert.equal(proxies.clientAddress('10.1.2.3', { 'x-forwarded-for': 'garbage, 10.0.0.9' }), '10.0.0.9');
  });

  test('RFC 7239 Forwarded when configured', () => {
    const { proxies } = createTrustedProxies(['loopback'], 'forwarded');
    const headers = {
      forwarded: 'for=1.2.3.4, for="[2001:db8:cafe::17]:4711";proto=https',
      'x-forwarded-for': '9.9.9.9',
    };
    assert.equal(proxies.clientAddress('127.0.0.1', headers), '2001:db8:cafe::17');
  });

  test('invalid entries are reported, not trusted', () => {
    const { proxies, invalid } = createTrustedProxies(['10.0.0.0/99', 'proxy.local', '192.168.0.0/16']);
    assert.deepEqual(invalid, ['10.0.0.0/99', 'proxy.local']);
    assert.equal(proxies.trusts('192.168.4.4'), true);
    assert.equal(proxies.trusts('10.0.0.1'), false);
  });
});
