import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_MEMOISED_KEYS } from '@vigil/schema';
import { FieldEncoder, jsonString, seconds } from './encode.js';
import { createRedactor } from './redact.js';

/** A fragment as the object it stands for. */
const decode = (fragment: string) => JSON.parse(`{${fragment.slice(1)}}`) as Record<string, unknown>;

describe('field encoder', () => {
  const redactor = createRedactor({ keys: ['user_agent.original', 'http.server.request.duration'] });
  const encoder = new FieldEncoder(redactor);

  test('fragments decode to what Redactor.fields makes of the same fields', () => {
    const fields = {
      'url.path': '/pay/4111 1111 1111 1111',
      'http.request.id': 'a\u0007b Bearer abcdefghijklmnop',
      'user.name': 'Zoë "the admin" \\ 東京',
      'user_agent.original': 'probe/1',
      'client.port': 4711,
    };
    const fragment =
      encoder.string(encoder.key('url.path'), fields['url.path']) +
      encoder.string(encoder.repeatedKey('http.request.id'), fields['http.request.id']) +
      encoder.string(encoder.key('user.name'), fields['user.name']) +
      encoder.string(encoder.repeatedKey('user_agent.original'), fields['user_agent.original']) +
      encoder.number(encoder.key('client.port'), fields['client.port']);
    assert.deepEqual(decode(fragment), redactor.fields(fields));
  });

  test('a repeated value gives the same fragment from memory, and a new value its own', () => {
    const key = encoder.repeatedKey('http.route');
    const first = encoder.string(key, '/users/:id');
    assert.equal(encoder.string(key, '/users/:id'), first);
    assert.equal(key.recent?.size, 1);
    assert.deepEqual(decode(encoder.string(key, '/orders/:id')), { 'http.route': '/orders/:id' });
    for (let i = 0; i < 1000; i++) encoder.string(key, `/r/${i}`);
    assert.ok((key.recent?.size ?? 0) <= 256, 'the memory is bounded');
  });

  test('field names an attacker makes up (inspected parameters) do not push out the names in use', () => {
    const fresh = new FieldEncoder(redactor);
    // Names sent first fill one generation of the memo; the app's names come after, used between more new ones.
    for (let i = 0; i < MAX_MEMOISED_KEYS; i++) fresh.key(`vigil.inspect.query.junk${i}`);
    const inUse = fresh.key('vigil.inspect.body.email');
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < MAX_MEMOISED_KEYS / 2; i++) fresh.key(`vigil.inspect.query.r${round}x${i}`);
      assert.equal(fresh.key('vigil.inspect.body.email'), inUse, `remembered in round ${round}`);
    }
  });

  test('numbers, seconds and lists respect configured redaction', () => {
    assert.equal(
      encoder.seconds(encoder.key('http.server.request.duration'), 0.25),
      ',"http.server.request.duration":"[REDACTED]"',
    );
    assert.equal(encoder.number(encoder.key('client.port'), Number.NaN), '');
    assert.deepEqual(decode(encoder.strings(encoder.key('user.roles'), ['admin', 'token=abc'])), {
      'user.roles': ['admin', 'token=[REDACTED]'],
    });
  });

  test('seconds are written with microsecond precision, as JSON numbers', () => {
    for (const [value, text] of [
      [0, '0.000000'],
      [0.0040215, '0.004022'],
      [0.25, '0.250000'],
      [1.5, '1.500000'],
      [12.000001, '12.000001'],
      [-1, '0.000000'],
    ] as const) {
      assert.equal(seconds(value), text);
      assert.equal(JSON.parse(text), Math.max(0, Math.round(value * 1e6) / 1e6));
    }
  });

  test('jsonString writes plain ASCII as it is and escapes the rest', () => {
    assert.equal(jsonString('/a/b'), '"/a/b"');
    for (const s of ['a"b', 'a\\b', 'line\nbreak', 'é', '\u2028']) assert.equal(JSON.parse(jsonString(s)), s);
  });
});
