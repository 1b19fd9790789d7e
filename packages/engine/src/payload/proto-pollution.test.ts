import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { detectProtoPollution } from './proto-pollution.js';
import { fires } from './test-helpers.js';

describe('detectProtoPollution', () => {
  test('keys, paths and JSON reaching the prototype', () => {
    assert.ok(fires(detectProtoPollution, 'true', { key: '__proto__[isAdmin]' }));
    assert.ok(fires(detectProtoPollution, 'true', { key: 'a.__proto__.b' }));
    assert.ok(fires(detectProtoPollution, '1', { key: 'constructor[prototype][admin]' }));
    assert.ok(fires(detectProtoPollution, '1', { key: 'constructor.prototype.admin' }));
    assert.ok(fires(detectProtoPollution, '{"__proto__": {"admin": true}}'));
    assert.ok(fires(detectProtoPollution, '{"constructor": {"prototype": {"admin": true}}}'));
    assert.ok(fires(detectProtoPollution, '/api/__proto__/polluted', { location: 'path' }));
    assert.ok(fires(detectProtoPollution, '%5F%5Fproto%5F%5F[x]', { key: 'q' }));
  });

  test('ordinary words do not fire', () => {
    for (const value of ['object constructor', 'prototype design', 'the __proto__ property is deprecated']) {
      assert.equal(fires(detectProtoPollution, value), false, value);
    }
    assert.equal(fires(detectProtoPollution, 'x', { key: 'constructor' }), false);
  });
});
