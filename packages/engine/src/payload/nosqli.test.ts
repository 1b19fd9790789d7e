import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { detectNosqli } from './nosqli.js';
import { fires } from './test-helpers.js';

describe('detectNosqli', () => {
  test('operators in keys and JSON values', () => {
    assert.ok(fires(detectNosqli, 'x', { key: 'password[$ne]' }));
    assert.ok(fires(detectNosqli, '.*', { key: 'user[$regex]' }));
    assert.ok(fires(detectNosqli, '1', { key: 'filter.$where' }));
    assert.ok(fires(detectNosqli, '{"$gt": ""}'));
    assert.ok(fires(detectNosqli, '{"username": {"$ne": null}}'));
    assert.ok(fires(detectNosqli, '{"$where": "sleep(100)"}'));
    assert.ok(fires(detectNosqli, '%7B%22%24ne%22%3A1%7D'));
    assert.ok(fires(detectNosqli, "'; return true; var x='"));
  });

  test('dollars that are not operators do not fire', () => {
    for (const value of ['costs $5', 'US$ 20', '$HOME/bin', '{"price": "$10"}', '{"name": "neo"}']) {
      assert.equal(fires(detectNosqli, value), false, value);
    }
    assert.equal(fires(detectNosqli, 'x', { key: 'user[name]' }), false);
  });
});
