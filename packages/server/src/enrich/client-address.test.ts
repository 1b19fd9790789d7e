import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SecurityEvent } from '@vigil/schema';
import { createClientAddressStage, normaliseAddress, splitHostPort } from './client-address.js';

describe('splitHostPort', () => {
  test('splits IPv4, bracketed IPv6 and names; leaves bare IPv6 and bad ports whole', () => {
    assert.deepEqual(splitHostPort('203.0.113.7:51522'), { host: '203.0.113.7', port: 51522 });
    assert.deepEqual(splitHostPort('[2001:db8::1]:8443'), { host: '2001:db8::1', port: 8443 });
    assert.deepEqual(splitHostPort('[2001:db8::1]'), { host: '2001:db8::1' });
    assert.deepEqual(splitHostPort('api.example:443'), { host: 'api.example', port: 443 });
    assert.deepEqual(splitHostPort('2001:db8::1'), { host: '2001:db8::1' });
    assert.deepEqual(splitHostPort('203.0.113.7'), { host: '203.0.113.7' });
    assert.deepEqual(splitHostPort('host:99999'), { host: 'host:99999' });
    assert.deepEqual(splitHostPort('host:'), { host: 'host:' });
    assert.deepEqual(splitHostPort('[::1]x'), { host: '[::1]x' });
  });
});

describe('normaliseAddress', () => {
  test('IPv4, with and without port', () => {
    assert.deepEqual(normaliseAddress('203.0.113.7'), {
      address: '203.0.113.7',
      version: 4,
      prefix: '203.0.113.7',
      private: false,
    });
    assert.deepEqual(normaliseAddress(' 203.0.113.7:51522 '), {
      address: '203.0.113.7',
      version: 4,
      prefix: '203.0.113.7',
      private: false,
      port: 51522,
    });
  });

  test('IPv4-mapped IPv6 is the IPv4 client, in dotted or hex form', () => {
    assert.equal(normaliseAddress('::ffff:203.0.113.7')?.address, '203.0.113.7');
    assert.equal(normaliseAddress('::FFFF:203.0.113.7')?.version, 4);
    assert.deepEqual(normaliseAddress('[::ffff:cb00:7107]:443'), {
      address: '203.0.113.7',
      version: 4,
      prefix: '203.0.113.7',
      private: false,
      port: 443,
    });
  });

  test('IPv6 in RFC 5952 form with its /64', () => {
    const cases: [string, string, string][] = [
      ['2001:0DB8:0000:0000:0000:FF00:0042:8329', '2001:db8::ff00:42:8329', '2001:db8::/64'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', '2001:db8::/64'], // first of two equal runs
      ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
      ['2001:db8:1:2::7', '2001:db8:1:2::7', '2001:db8:1:2::/64'],
      ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0', '1:2:3:4::/64'], // one zero group is not compressed
      ['2001:db8::', '2001:db8::', '2001:db8::/64'],
      ['::1', '::1', '::/64'],
      ['::', '::', '::/64'],
      ['::1.2.3.4', '::102:304', '::/64'],
    ];
    for (const [input, address, prefix] of cases) {
      const result = normaliseAddress(input);
      assert.equal(result?.address, address, input);
      assert.equal(result?.prefix, prefix, input);
      assert.equal(result?.version, 6, input);
    }
  });

  test('brackets, port and zone id are stripped', () => {
    assert.deepEqual(normaliseAddress('[FE80::1%eth0]:8080'), {
      address: 'fe80::1',
      version: 6,
      prefix: 'fe80::/64',
      private: true,
      port: 8080,
    });
  });

  test('private: RFC 1918, loopback, link-local, unique-local, CGNAT, unspecified', () => {
    for (const address of [
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '127.0.0.1',
      '169.254.169.254',
      '100.64.0.1',
      '100.127.255.255',
      '0.0.0.0',
      '::1',
      '::',
      'fe80::1',
      'febf::1',
      'fc00::1',
      'fd12:3456::1',
      '::ffff:10.0.0.1',
    ]) {
      assert.equal(normaliseAddress(address)?.private, true, address);
    }
    for (const address of [
      '8.8.8.8',
      '172.32.0.1',
      '172.15.255.255',
      '100.128.0.1',
      '192.169.0.1',
      '2606:4700::1111',
      'fec0::1',
    ]) {
      assert.equal(normaliseAddress(address)?.private, false, address);
    }
  });

  test('what is not an IP address is undefined', () => {
    for (const text of [
      '',
      '-',
      'localhost',
      'unix:/run/app.sock',
      '256.1.1.1',
      '01.2.3.4',
      '1.2.3',
      '1.2.3.4.5',
      '1:2:3:4:5:6:7:8:9',
      '1::2::3',
      'gggg::1',
      '12345::1',
      '1:2:3:4:5:6:7:8::',
      '::ffff:1.2.3.256',
    ]) {
      assert.equal(normaliseAddress(text), undefined, text);
    }
  });
});

describe('client-address stage', () => {
  const base: SecurityEvent = Object.freeze({
    id: 'e1',
    time: Date.UTC(2024, 2, 5),
    type: 'http_request',
    attributes: Object.freeze({ 'client.address': '[2001:DB8:1:2::7]:443', 'url.path': '/' }),
  });

  test('rewrites the address, adds port, prefix and private flag, and leaves the input alone', () => {
    const stage = createClientAddressStage();
    assert.equal(stage.name, 'client-address');
    const out = stage.apply(base);
    assert.deepEqual(out.attributes, {
      'client.address': '2001:db8:1:2::7',
      'client.port': 443,
      'url.path': '/',
      'vigil.client.prefix': '2001:db8:1:2::/64',
      'vigil.client.private': false,
    });
    assert.equal(base.attributes['client.address'], '[2001:DB8:1:2::7]:443');
    assert.equal(out.id, base.id);
  });

  test('keeps a client.port the event already has', () => {
    const event = { ...base, attributes: { 'client.address': '203.0.113.7:1111', 'client.port': 2222 } };
    const out = createClientAddressStage().apply(event);
    assert.equal(out.attributes['client.port'], 2222);
    assert.equal(out.attributes['client.address'], '203.0.113.7');
  });

  test('events without an IP client address come back as they are', () => {
    const stage = createClientAddressStage();
    const none = { ...base, attributes: {} };
    assert.equal(stage.apply(none), none);
    const name = { ...base, attributes: { 'client.address': 'unknown' } };
    assert.equal(stage.apply(name), name);
  });
});

describe('client-address stage with trusted proxies', () => {
  const event = (attributes: Record<string, string | string[] | number>): SecurityEvent => ({
    id: 'e1',
    time: 1_700_000_000_000,
    type: 'http_request',
    attributes,
  });
  const stage = createClientAddressStage({ trustedProxies: ['10.0.0.0/8', '2001:db8:ffff::/48', '192.0.2.10'] });
  const client = (e: SecurityEvent) => stage.apply(e).attributes['client.address'];

  test('takes the client from X-Forwarded-For when the peer is a trusted proxy, walking past trusted hops', () => {
    const out = stage.apply(
      event({
        'client.address': '10.1.2.3',
        'client.port': 40001,
        'http.request.header.x-forwarded-for': '198.51.100.9, 203.0.113.7, 192.0.2.10',
      }),
    );
    assert.equal(out.attributes['client.address'], '203.0.113.7', 'the right-most untrusted hop');
    assert.equal(out.attributes['network.peer.address'], '10.1.2.3', 'the proxy is kept as the peer');
    assert.equal(out.attributes['client.port'], undefined, "the proxy's port is not the client's");
    assert.equal(out.attributes['vigil.client.prefix'], '203.0.113.7');
    // With a peer address set, client.address is what the proxy-unaware source thought.
    assert.equal(
      client(
        event({
          'network.peer.address': '[2001:db8:ffff::5]:443',
          'client.address': '2001:db8:ffff::5',
          'http.request.header.x-forwarded-for': ['2001:db8:1:2::7'],
        }),
      ),
      '2001:db8:1:2::7',
    );
  });

  test('reads RFC 7239 Forwarded for= values, quoted IPv6 with port included', () => {
    const out = stage.apply(
      event({
        'network.peer.address': '10.0.0.2',
        'client.address': '10.0.0.2',
        'http.request.header.forwarded': 'for="[2001:db8:cafe::17]:4711";proto=https, for=10.9.9.9;by=10.0.0.2',
      }),
    );
    assert.equal(out.attributes['client.address'], '2001:db8:cafe::17');
    assert.equal(out.attributes['client.port'], 4711);
  });

  test('a spoofed header from an untrusted peer is ignored', () => {
    const spoofed = event({
      'client.address': '198.51.100.66',
      'http.request.header.x-forwarded-for': '10.0.0.1, 127.0.0.1',
    });
    assert.equal(client(spoofed), '198.51.100.66');
    // Through a trusted proxy, what the attacker wrote to the left of the real hop is still not believed.
    assert.equal(
      client(
        event({
          'client.address': '10.0.0.2',
          'http.request.header.x-forwarded-for': '1.2.3.4, 198.51.100.66',
        }),
      ),
      '198.51.100.66',
    );
    // Garbage before a trusted hop stops the walk: the event keeps its peer as client.
    assert.equal(
      client(event({ 'client.address': '10.0.0.2', 'http.request.header.x-forwarded-for': 'unknown, 192.0.2.10' })),
      '10.0.0.2',
    );
    // Without trusted proxies configured, headers are never read.
    assert.equal(
      createClientAddressStage().apply(
        event({ 'client.address': '10.0.0.2', 'http.request.header.x-forwarded-for': '203.0.113.7' }),
      ).attributes['client.address'],
      '10.0.0.2',
    );
  });

  test('every hop trusted: the left-most is the client', () => {
    assert.equal(
      client(event({ 'client.address': '10.0.0.2', 'http.request.header.x-forwarded-for': '10.5.5.5, 192.0.2.10' })),
      '10.5.5.5',
    );
  });
});
