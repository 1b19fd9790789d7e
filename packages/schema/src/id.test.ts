import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isoTime, uuidv7 } from './id.js';

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

describe('isoTime', () => {
  it('writes what toISOString writes, across seconds, days and years, in any order', () => {
    const times = [0, 999, 1000, 1001, Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2027, 0, 1), 1.5];
    let seed = 11;
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      // Runs of neighbouring milliseconds (the cache of the second) and jumps of up to ~70 years.
      times.push(i % 4 === 0 ? seed * 1000 + (seed % 1000) : times[times.length - 1]! + (seed % 3));
    }
    times.push(-1.5, -1000.5, -62_198_755_200_000, 8.64e15, -8.64e15, 253_402_300_800_000); // year 10000: +010000
    for (const t of times) assert.equal(isoTime(t), new Date(t).toISOString(), String(t));
  });

  it('refuses what a Date cannot hold, as toISOString does', () => {
    for (const t of [Number.NaN, Number.POSITIVE_INFINITY, 8.64e15 + 1, -8.64e15 - 1]) {
      assert.throws(() => new Date(t).toISOString(), RangeError);
      assert.throws(() => isoTime(t), RangeError);
    }
  });
});
