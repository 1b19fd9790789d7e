import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { uuidv7 } from './id.js';

describe('uuidv7', () => {
  it('is a version 7, RFC 9562 variant UUID carrying the time in its first 48 bits', () => {
    const now = Date.UTC(2026, 10, 26, 12, 0, 0, 123);
    const id = uuidv7(now);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16), now);
  });

  it('sorts by time, and differs within one millisecond', () => {
    const ids = [uuidv7(1_000), uuidv7(2_000), uuidv7(3_000_000_000_000)];
    assert.deepEqual([...ids].sort(), ids);
    assert.notEqual(uuidv7(5), uuidv7(5));
  });

  it('stays well formed and unique across many refills of its random pool', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const id = uuidv7(1_700_000_000_000);
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      ids.add(id);
    }
    assert.equal(ids.size, 20_000);
  });
});
