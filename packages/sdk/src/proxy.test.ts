import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTrustedProxies, normaliseAddress } from './proxy.js';
import type { VigilSdkError } from './report.js';
import { createTestVigil } from './test-kit.js';
import { trackerOf } from './tracker.js';

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

  test("Forwarded: a quoted value (a client's Host a proxy writes) cannot add an element or a for of its own", () => {
    const { proxies } = createTrustedProxies(['loopback'], 'forwarded');
    const client = (forwarded: string) => proxies.clientAddress('127.0.0.1', { forwarded });
    assert.equal(client('for=1.2.3.4;host="evil,for=6.6.6.6"'), '1.2.3.4');
    assert.equal(client('for=1.2.3.4;host="evil;for=6.6.6.6";proto=https'), '1.2.3.4');
    assert.equal(client('for=1.2.3.4;host="a\\"b,for=6.6.6.6"'), '1.2.3.4', 'an escaped quote stays inside');
    // Two for in one element, or an element without one: unknown, and the walk stops at the proxy.
    assert.equal(client('for=6.6.6.6;for=1.2.3.4'), '127.0.0.1');
    assert.equal(client('for=6.6.6.6, proto=https'), '127.0.0.1');
    assert.equal(client('For="1.2.3.4" ; proto=https , for=127.0.0.2'), '1.2.3.4');
  });

  test('invalid entries are reported, not trusted', () => {
    const { proxies, invalid } = createTrustedProxies([
      '10.0.0.0/99',
      'proxy.local',
      '192.168.0.0/16',
      '10.0.0.0/',
      'fd00::/',
    ]);
    // An empty prefix is no /0: it would trust every address.
    assert.deepEqual(invalid, ['10.0.0.0/99', 'proxy.local', '10.0.0.0/', 'fd00::/']);
    assert.equal(proxies.trusts('203.0.113.9'), false);
    assert.equal(proxies.trusts('192.168.4.4'), true);
    assert.equal(proxies.trusts('10.0.0.1'), false);
  });
});

describe('forwarding headers while no proxy is trusted', () => {
  /** The warnings and the recorded client address of requests seen from `peer`. */
  function seen(peer: string, headers: Record<string, string>[], trustedProxies: string[] = []) {
    const warnings: VigilSdkError[] = [];
    const vigil = createTestVigil({ trustedProxies, onError: (e) => warnings.push(e) });
    const tracker = trackerOf(vigil)!;
    for (const h of headers) {
      const state = tracker.start({ method: 'GET', url: '/orders', headers: h, remoteAddress: peer }, {});
      if (state) tracker.finish(state, { statusCode: 200 });
    }
    return { warnings, clients: vigil.events('http_request').map((e) => e['client.address']) };
  }
  const forwarded = { 'x-forwarded-for': '198.51.100.9' };

  test('from a private or loopback peer: said once, naming the peer, and the header is still not believed', () => {
    for (const peer of ['10.0.3.7', '127.0.0.1', '::1', 'fd00::1']) {
      const { warnings, clients } = seen(peer, [{}, forwarded, forwarded]);
      assert.equal(warnings.length, 1, peer);
      assert.equal(warnings[0]!.code, 'forwarding_ignored');
      assert.match(
        warnings[0]!.message,
        new RegExp(`requests from ${peer.replace(/\./g, '\\.')} carry X-Forwarded-For, but trustedProxies is not set`),
      );
      assert.deepEqual(clients, [peer, peer, peer]);
    }
    assert.match(seen('10.0.3.7', [{ forwarded: 'for=198.51.100.9' }]).warnings[0]!.message, /carry Forwarded/);
  });

  test('from a public peer (a client spoofing), without the header, or with the proxy trusted: nothing to say', () => {
    assert.deepEqual(seen('203.0.113.5', [forwarded]).warnings, []);
    assert.deepEqual(seen('10.0.3.7', [{}, {}]).warnings, []);
    const trusted = seen('10.0.3.7', [forwarded], ['private']);
    assert.deepEqual(trusted.warnings, []);
    assert.deepEqual(trusted.clients, ['198.51.100.9']);
  });
});
