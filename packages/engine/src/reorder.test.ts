import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SecurityEvent } from '@vigil/schema';
import { EventTimeOrderer } from './reorder.js';

const ev = (time: number, id = `e${time}`): SecurityEvent => ({ id, time, type: 'http_request', attributes: {} });

test('holds events until the watermark passes them, then releases them in time order', () => {
  const o = new EventTimeOrderer({ latenessMillis: 1000 });
  assert.deepEqual(o.push([ev(5000), ev(4200), ev(4500)]), []);
  assert.deepEqual(
    o.push([ev(5600)]).map((e) => e.time),
    [4200, 4500],
  );
  assert.deepEqual(
    o.flush().map((e) => e.time),
    [5000, 5600],
  );
});

test('any arrival order within the lateness gives the same release order', () => {
  const times = Array.from({ length: 200 }, (_, i) => 10_000 + i * 37);
  const shuffled = [...times].sort((a, b) => ((a * 7919) % 211) - ((b * 7919) % 211));
  const run = (order: number[]) => {
    const o = new EventTimeOrderer({ latenessMillis: 10_000 });
    const out: number[] = [];
    for (const t of order) out.push(...o.push([ev(t)]).map((e) => e.time));
    out.push(...o.flush().map((e) => e.time));
    return out;
  };
  assert.deepEqual(run(shuffled), times);
  assert.deepEqual(run(times), times);
});

test('equal times are ordered by id; a too-late event is released at once and counted', () => {
  const o = new EventTimeOrderer({ latenessMillis: 0 });
  assert.deepEqual(
    o.push([ev(1000, 'b'), ev(1000, 'a')]).map((e) => e.id),
    ['a', 'b'],
  );
  assert.deepEqual(
    o.push([ev(500, 'late')]).map((e) => e.id),
    ['late'],
  );
  assert.equal(o.lateEvents, 1);
});

test('a wall clock moves the watermark when events are sparse; the buffer is bounded', () => {
  const o = new EventTimeOrderer({ latenessMillis: 1000, maxBuffered: 3 });
  assert.equal(o.push([ev(1000)]).length, 0);
  assert.equal(o.release(2500).length, 1);
  const out = o.push([ev(9000), ev(9001), ev(9002), ev(9003)]);
  assert.deepEqual(
    out.map((e) => e.time),
    [9000],
  );
  assert.equal(o.forcedReleases, 1);
  assert.equal(o.buffered, 3);
});

test('the buffer is bounded in bytes too: big events stamped ahead of the clock are released early and counted', () => {
  const o = new EventTimeOrderer({ latenessMillis: 500, maxBufferedBytes: 10_000 });
  const now = 100_000;
  const big = (i: number): SecurityEvent => ({
    id: `big${i}`,
    time: now + 290_000 + i,
    type: 'http_request',
    attributes: { 'x.padding': 'a'.repeat(2000) },
  });
  const released: SecurityEvent[] = [];
  for (let i = 0; i < 20; i++) released.push(...o.push([big(i)], now));
  assert.ok(o.bufferedBytes <= 10_000, `held ${o.bufferedBytes} bytes`);
  assert.equal(o.buffered, 4, 'four events of about 2 KB fit in 10 000 bytes');
  assert.equal(o.forcedReleases, 16);
  assert.deepEqual(
    released.map((e) => e.id),
    Array.from({ length: 16 }, (_, i) => `big${i}`),
    'the oldest go first, in order',
  );
  assert.equal(o.flush().length, 4);
  assert.equal(o.bufferedBytes, 0);
});

test('with a clock, one event stamped ahead of it does not make the events after it late; it waits for the clock', () => {
  const o = new EventTimeOrderer({ latenessMillis: 500 });
  const now = 100_000;
  // A sender whose clock runs four minutes fast, then ordinary events, out of order by a little.
  assert.deepEqual(o.push([ev(now + 240_000, 'ahead')], now), []);
  assert.deepEqual(o.push([ev(now - 200, 'b'), ev(now - 400, 'a')], now), []);
  assert.deepEqual(
    o.release(now + 1000).map((e) => e.id),
    ['a', 'b'],
  );
  assert.equal(o.lateEvents, 0, 'nothing was late');
  assert.deepEqual(
    o.release(now + 241_000).map((e) => e.id),
    ['ahead'],
  );
});
