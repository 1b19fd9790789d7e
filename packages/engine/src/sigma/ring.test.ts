import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EvidenceRing } from './ring.js';

function filled(capacity: number, count: number): EvidenceRing {
  const ring = new EvidenceRing();
  for (let i = 0; i < count; i++) ring.push(i * 10, `e${i}`, capacity);
  return ring;
}

describe('EvidenceRing', () => {
  it('keeps one entry without arrays and moves to arrays on the second', () => {
    const ring = filled(5, 1);
    assert.equal(ring.size, 1);
    assert.deepEqual(ring.entries(), [[0], ['e0']]);
    ring.push(10, 'e1', 5);
    assert.deepEqual(ring.entries(), [
      [0, 10],
      ['e0', 'e1'],
    ]);
    assert.equal(ring.oldestTime(), 0);
  });

  it('grows up to its capacity, then overwrites the oldest', () => {
    const ring = filled(3, 7);
    assert.equal(ring.size, 3);
    assert.deepEqual(ring.entries(), [
      [40, 50, 60],
      ['e4', 'e5', 'e6'],
    ]);
    assert.deepEqual(ring.newestIds(2), ['e5', 'e6']);
    assert.deepEqual(ring.newestIds(10), ['e4', 'e5', 'e6']);
  });

  it('with capacity one, keeps the newest entry', () => {
    const ring = filled(1, 4);
    assert.deepEqual(ring.entries(), [[30], ['e3']]);
  });

  it('drops entries older than a cutoff, down to empty, and starts over cleanly', () => {
    const ring = filled(8, 6);
    ring.dropBefore(25);
    assert.deepEqual(ring.entries()[0], [30, 40, 50]);
    ring.dropBefore(1000);
    assert.equal(ring.size, 0);
    assert.equal(ring.oldestTime(), undefined);
    assert.deepEqual(ring.newestIds(3), []);
    ring.push(2000, 'late', 8);
    ring.push(2010, 'later', 8);
    assert.deepEqual(ring.entries(), [
      [2000, 2010],
      ['late', 'later'],
    ]);
    const single = filled(8, 1);
    single.dropBefore(1);
    assert.equal(single.size, 0);
  });

  it('loads what entries() took', () => {
    const ring = filled(4, 9);
    const copy = new EvidenceRing();
    const [times, ids] = ring.entries();
    copy.load(times, ids, 4);
    assert.deepEqual(copy.entries(), ring.entries());
    copy.push(999, 'next', 4);
    assert.deepEqual(copy.newestIds(4), ['e6', 'e7', 'e8', 'next']);
  });
});
