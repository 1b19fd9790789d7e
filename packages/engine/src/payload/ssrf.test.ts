import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { detectSsrf, internalHost, parseLooseIpv4 } from './ssrf.js';
import { fires } from './test-helpers.js';

describe('parseLooseIpv4', () => {
  test('decimal, hex, octal, short and wrapped forms', () => {
    assert.equal(parseLooseIpv4('127.0.0.1'), 0x7f000001);
    assert.equal(parseLooseIpv4('2130706433'), 0x7f000001);
    assert.equal(parseLooseIpv4('0x7f000001'), 0x7f000001);
    assert.equal(parseLooseIpv4('0177.0.0.1'), 0x7f000001);
    assert.equal(parseLooseIpv4('127.1'), 0x7f000001);
    assert.equal(parseLooseIpv4('0xA9.0xFE.0xA9.0xFE'), 0xa9fea9fe);
    assert.equal(parseLooseIpv4('7147006462'), 0xa9fea9fe);
    assert.equal(parseLooseIpv4('example.com'), undefined);
    assert.equal(parseLooseIpv4('1.2.3.4.5'), undefined);
  });
});

describe('internalHost', () => {
  test('loopback, private, link-local, metadata, unspecified, IPv6 and names', () => {
    assert.equal(internalHost('localhost'), 'loopback');
    assert.equal(internalHost('api.localhost'), 'loopback');
    assert.equal(internalHost('169.254.169.254'), 'metadata');
    assert.equal(internalHost('100.100.100.200'), 'metadata');
    assert.equal(internalHost('metadata.google.internal'), 'metadata');
    assert.equal(internalHost('[fd00:ec2::254]'), 'metadata');
    assert.equal(internalHost('[::1]'), 'loopback');
    assert.equal(internalHost('[::]'), 'unspecified');
    assert.equal(internalHost('[::ffff:7f00:1]'), 'loopback');
    assert.equal(internalHost('[0:0:0:0:0:ffff:169.254.169.254]'), 'metadata');
    assert.equal(internalHost('0'), 'unspecified');
    assert.equal(internalHost('10.1.2.3:8080'), 'private');
    assert.equal(internalHost('127.0.0.1.nip.io'), 'loopback');
    assert.equal(internalHost('①②⑦.⓪.⓪.①'), 'loopback');
    assert.equal(internalHost('169。254。169。254'), 'metadata');
    assert.equal(internalHost('example.com'), undefined);
    assert.equal(internalHost('8.8.8.8'), undefined);
    assert.equal(internalHost('[2001:db8::1]'), undefined);
  });
});

describe('detectSsrf', () => {
  test('URLs to internal targets, encoded and confused', () => {
    for (const value of [
      'http://169.254.169.254/latest/meta-data/',
      'http://metadata.google.internal/computeMetadata/v1/',
      'http://[fd00:ec2::254]/latest/',
      'http://2130706433/',
      'http://0x7f.1/admin',
      'http://0177.0.0.1/',
      'http://0/',
      'http://[::]:22/',
      'gopher://127.0.0.1:6379/_INFO',
      'http://evil.example@127.0.0.1/',
      'http%3A%2F%2F127.0.0.1%3A8080%2F',
      'https://LOCALHOST./x',
    ]) {
      assert.ok(fires(detectSsrf, value), value);
    }
  });

  test('schemes without slashes, backslashed hosts, hosts after a later @, underscore schemes', () => {
    for (const value of [
      'http:0xA9FEA9FE/latest/',
      'https:/2130706433/admin',
      'http:0251.0376.0251.0376',
      'http:[::ffff:7f00:1]',
      'http://\\1\\2\\7\\.0.0.1/',
      'http://l\\o\\c\\a\\l\\h\\o\\s\\t:8080/',
      'http://example.com:80 &@example.com:80# @10.0.0.7:22/',
      'https://example.net#@169.254.169.254/',
      'local_file://2852039166/etc',
    ]) {
      assert.ok(fires(detectSsrf, value), value);
    }
  });

  test('bare hosts count when the key names a host or URL', () => {
    assert.ok(fires(detectSsrf, '169.254.169.254', { key: 'callback_url', location: 'query' }));
    assert.ok(fires(detectSsrf, 'localhost:8080', { key: 'host', location: 'query' }));
    assert.equal(fires(detectSsrf, 'localhost', { key: 'name', location: 'query' }), false);
  });

  test('scheme-relative URLs count in keys that name a URL', () => {
    for (const value of [
      '//169.254.169.254/latest/meta-data/',
      '//localhost/admin',
      '//127.0.0.1:8080/',
      '///127.0.0.1/',
      '/\\localhost/admin',
      '%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2F',
    ]) {
      assert.ok(fires(detectSsrf, value, { key: 'url', location: 'query' }), value);
    }
    for (const value of ['/admin', '//example.com/a', '//cdn.example.org/lib.js', '/localhost/admin']) {
      assert.equal(fires(detectSsrf, value, { key: 'url', location: 'query' }), false, value);
    }
    // Outside URL-named keys a leading `//` is a path or a comment, not a target.
    assert.equal(fires(detectSsrf, '//localhost/admin', { key: 'q', location: 'query' }), false);
    assert.equal(fires(detectSsrf, '//localhost/admin', { location: 'path' }), false);
  });

  test('public URLs and ordinary values do not fire', () => {
    for (const value of [
      'https://example.com/a?b=c',
      'http://203.0.113.7/',
      'https://docs.example.org/127.0.0.1',
      'version 10.0.0.1 released',
      'jane.doe@example.com',
      '2130706433',
      'http:example.com',
      'see http://example.com/a and mail bob@10.0.0.1.example.org',
      'http://example.com/ @home',
      'time: 10:30, ratio 1:2',
      'https:/example.org/x',
      'http://example.com\\path',
    ]) {
      assert.equal(fires(detectSsrf, value), false, value);
    }
  });
});

describe('where an internal URL is ordinary', () => {
  test('Referer and Origin name the page a browser was on: localhost and intranet pages are not targets', () => {
    for (const key of ['referer', 'origin']) {
      for (const value of [
        'http://localhost:3000/orders',
        'http://10.1.2.3:8080/app/home',
        'https://intranet.corp.local/',
      ]) {
        assert.equal(fires(detectSsrf, value, { key, location: 'header' }), false, `${key}: ${value}`);
      }
    }
    // The same URL where the server may fetch it still counts.
    assert.equal(fires(detectSsrf, 'http://localhost:3000/orders', { key: 'url', location: 'query' }), true);
    assert.equal(fires(detectSsrf, 'localhost:3000', { key: 'x-forwarded-host', location: 'header' }), true);
  });

  test('a loopback redirect URI is a native app listening for its answer; other internal targets still count', () => {
    for (const key of ['redirect_uri', 'return_to', 'next']) {
      assert.equal(fires(detectSsrf, 'http://127.0.0.1:8085/', { key, location: 'query' }), false, key);
      assert.equal(fires(detectSsrf, 'http://[::1]:8085/cb', { key, location: 'query' }), false, key);
      assert.equal(fires(detectSsrf, 'http://169.254.169.254/latest/meta-data/', { key, location: 'query' }), true);
      assert.equal(fires(detectSsrf, 'http://10.0.0.5/admin', { key, location: 'query' }), true, key);
    }
    assert.equal(fires(detectSsrf, 'http://127.0.0.1:8085/', { key: 'callback', location: 'query' }), true);
    // Scheme-relative: a loopback return stays a native app's listener, metadata does not.
    assert.equal(fires(detectSsrf, '//localhost/admin', { key: 'redirect_uri', location: 'query' }), false);
    assert.equal(fires(detectSsrf, '//169.254.169.254/x', { key: 'redirect_uri', location: 'query' }), true);
  });
});
