import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { detectCrlf } from './crlf.js';
import { fires } from './test-helpers.js';

describe('detectCrlf', () => {
  test('line breaks followed by header lines or a new response', () => {
    for (const value of [
      'en%0d%0aSet-Cookie:%20admin=1',
      'x%0aLocation: https://evil.example',
      '%250d%250aX-Injected:%20yes',
      'a\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK',
      'x%E5%98%8A%E5%98%8DSet-Cookie:%20a=b',
    ]) {
      assert.ok(fires(detectCrlf, value, { location: 'query' }), value);
    }
    assert.ok(fires(detectCrlf, 'value\r\nanything', { location: 'header', key: 'x-custom' }));
    // Header names are tokens: they may start with a digit or `%`, and a CR may sit before the colon.
    assert.ok(fires(detectCrlf, 'q%0d%0X-Real-IP%0d:%20203.0.113.9', { location: 'query' }));
    assert.ok(fires(detectCrlf, 'q%0a1x-debug: on', { location: 'query' }));
  });

  test('in a body field only cookie, redirect and content header lines count', () => {
    for (const value of [
      'hi\r\nSet-Cookie: session=attacker',
      'hi\nLocation: https://evil.example/',
      'hi\nLocation://evil.example/',
      'hi\r\nContent-Type: text/html',
      'hi\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK',
      'hi%0d%0aSet-Cookie:%20a=b',
    ]) {
      assert.ok(fires(detectCrlf, value, { location: 'body', key: 'comment' }), value);
    }
    for (const value of [
      'Minutes of the call\nLink: https://example.com/recording',
      'Line one\nLine two\nHost: will be announced',
      'Party!\nLocation: Room 4, second floor',
      'Ticket\nX-Ref: 12345',
      'Dear team,\nCc: finance\nThanks',
    ]) {
      assert.equal(fires(detectCrlf, value, { location: 'body', key: 'comment' }), false, value);
      // The same lines in a query value or a header are injections.
      assert.ok(fires(detectCrlf, value, { location: 'query', key: 'q' }), value);
    }
  });

  test('ordinary line breaks do not fire', () => {
    assert.equal(fires(detectCrlf, 'line one\nline two', { location: 'body' }), false);
    assert.equal(fires(detectCrlf, 'Dear team,\nNote: see below', { location: 'body' }), false);
    assert.equal(fires(detectCrlf, 'a%0Ab', { location: 'query' }), false);
    assert.equal(fires(detectCrlf, 'a: b', { location: 'query' }), false);
    assert.equal(fires(detectCrlf, 'total\n10 : 30 minutes', { location: 'body' }), false);
    assert.equal(fires(detectCrlf, 'time 10:30', { location: 'query' }), false);
  });
});
