import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedMap } from './bounded-map.js';
import { createBehaviourDetector } from './detector.js';
import { formatBytes, formatNumber } from './explain.js';
import { COUNTRY_CENTROIDS, countryDistanceKm } from './geo.js';
import { LEARNING_BOUNDS } from './options.js';
import { objectOf, principalOf } from './principal.js';
import { LogHistogram, learnPacked, readPacked, STAT_WIDTH, upperBound } from './robust.js';
import { localOffset, SeasonalStat, slotTime } from './seasonal.js';
import { DistinctSketch } from './sketch.js';

test('the distinct sketch is exact below k and within 15 % above', () => {
  const s = new DistinctSketch(64);
  for (let i = 0; i < 50; i++) s.add(`a${i % 40}`);
  assert.equal(s.estimate(), 40);
  const big = new DistinctSketch(64);
  for (let i = 0; i < 20_000; i++) big.add(`id-${i}`);
  assert.ok(Math.abs(big.estimate() - 20_000) / 20_000 < 0.15, String(big.estimate()));
  const parts = [new DistinctSketch(64), new DistinctSketch(64)];
  for (let i = 0; i < 30; i++) parts[i % 2]!.add(`x${i % 20}`);
  assert.equal(DistinctSketch.unionEstimate(parts, 64), 20);
});

test('a robust statistic is not dragged along by a burst', () => {
  const data = new Float64Array(STAT_WIDTH);
  for (let i = 0; i < 200; i++) learnPacked(data, 0, 10 + (i % 5), 'count');
  const before = readPacked(data, 0);
  for (let i = 0; i < 10; i++) learnPacked(data, 0, 10_000, 'count');
  const after = readPacked(data, 0);
  assert.ok(after.center < before.center * 1.5, `${before.center} → ${after.center}`);
  assert.ok(upperBound(after, 'count', 6) < 100);
});

test('the log histogram answers quantiles within its bucket width', () => {
  const h = new LogHistogram();
  for (let i = 1; i <= 1000; i++) h.add(i);
  assert.equal(h.quantile(0.01), 10);
  const p99 = h.quantile(0.99);
  assert.ok(p99 >= 990 && p99 <= 1100, String(p99));
});

test('the bounded map evicts the least recently seen and counts it', () => {
  const evicted: string[] = [];
  const m = new BoundedMap<string, number>(2, (k) => evicted.push(k));
  m.set('a', 1);
  m.set('b', 2);
  m.get('a');
  m.set('c', 3);
  assert.deepEqual(evicted, ['b']);
  assert.equal(m.evictions, 1);
  assert.deepEqual(
    [...m.entries()].map(([k]) => k),
    ['a', 'c'],
  );
});

test('country distances and seasonal slots', () => {
  assert.ok(Object.keys(COUNTRY_CENTROIDS).length >= 60);
  const deBr = countryDistanceKm('DE', 'br')!;
  assert.ok(deBr > 9000 && deBr < 10_500, String(deBr));
  assert.ok(countryDistanceKm('DE', 'AT')! < 1000, 'neighbours are below the minimum distance');
  assert.equal(countryDistanceKm('DE', 'XX'), undefined);
  const day = Date.UTC(2026, 2, 7) / 86_400_000;
  assert.deepEqual(slotTime(Date.UTC(2026, 2, 7, 23, 30), 0), { hour: 23, weekend: true, day });
  assert.deepEqual(slotTime(Date.UTC(2026, 2, 7, 23, 30), 60), { hour: 0, weekend: true, day: day + 1 });
  assert.deepEqual(slotTime(Date.UTC(2026, 2, 9, 9, 0), 0), { hour: 9, weekend: false, day: day + 2 });
});

test('principals and objects are read from the event', () => {
  assert.equal(principalOf({ 'user.id': '7', 'client.address': '192.0.2.1' })?.key, 'user.id=7');
  assert.equal(principalOf({ 'vigil.api_key.id': 'k', 'client.address': '192.0.2.1' })?.kind, 'api_key');
  assert.equal(principalOf({ 'client.address': '192.0.2.1' })?.kind, 'address');
  assert.equal(principalOf({}), undefined);
  assert.deepEqual(objectOf({ 'url.path': '/accounts/991/statements' }, '/accounts/{id}/statements'), {
    type: '/accounts/{id}',
    id: '991',
    declared: false,
  });
  assert.deepEqual(objectOf({ 'url.path': '/users/5' }, '/users/:id'), {
    type: '/users/:id',
    id: '5',
    declared: false,
  });
  assert.deepEqual(objectOf({ 'vigil.object.type': 'invoice', 'vigil.object.id': '9' }, '/x'), {
    type: 'invoice',
    id: '9',
    declared: true,
  });
  assert.equal(objectOf({ 'url.path': '/products' }, '/products'), undefined);
});

test('numbers in explanations', () => {
  assert.equal(formatNumber(12345), '12,345');
  assert.equal(formatNumber(0.4213), '0.42');
  assert.equal(formatBytes(25_300_000), '25 MB');
  assert.equal(formatBytes(812), '812 B');
});

test('localOffset: an IANA zone follows daylight saving time; a fixed offset stays; an unknown zone is refused', () => {
  const berlin = localOffset('Europe/Berlin', 0);
  // EU summer time began on 2026-03-29 at 01:00 UTC.
  assert.equal(berlin(Date.UTC(2026, 2, 29, 0, 59)), 60);
  assert.equal(berlin(Date.UTC(2026, 2, 29, 1, 0)), 120);
  assert.equal(berlin(Date.UTC(2026, 9, 25, 0, 59)), 120);
  assert.equal(berlin(Date.UTC(2026, 9, 25, 1, 0)), 60);
  assert.equal(localOffset('Asia/Kolkata', 0)(Date.UTC(2026, 5, 1)), 330);
  assert.equal(localOffset('America/New_York', 0)(Date.UTC(2026, 0, 15, 12)), -300);
  assert.equal(localOffset('', 90)(Date.UTC(2026, 5, 1)), 90);
  // 06:30 UTC is 07:30 in Berlin in March before the switch, 08:30 after it: the slot follows the wall clock.
  assert.equal(slotTime(Date.UTC(2026, 2, 27, 6, 30), berlin(Date.UTC(2026, 2, 27, 6, 30))).hour, 7);
  assert.equal(slotTime(Date.UTC(2026, 2, 30, 6, 30), berlin(Date.UTC(2026, 2, 30, 6, 30))).hour, 8);
  assert.throws(() => createBehaviourDetector({ timeZone: 'Europe/Atlantis' }), /timeZone: "Europe\/Atlantis" is not/);
});

/** Feed a slot minute by minute, each value from `value(limit)`, where `limit` is what the slot alerts above now. */
function feedDays(stat: SeasonalStat, from: number, days: number, value: (limit: number) => number): void {
  for (let t = from; t < from + days * 86_400_000; t += 60_000) {
    const at = slotTime(t, 0);
    const expected = stat.expected(at, 30);
    stat.learn(at, value(expected ? upperBound(expected.stat, 'count', 6) : Number.POSITIVE_INFINITY));
  }
}

test('values kept at the limit raise a slot by a bounded factor a day, not faster every day', () => {
  const start = Date.UTC(2026, 2, 2); // a Monday
  const stat = new SeasonalStat('count');
  feedDays(stat, start, 2, () => 100);
  const centres = [stat.expected(slotTime(start + 2 * 86_400_000, 0), 30)!.stat.center];
  // A sender adds what keeps every minute at the limit (Wednesday to Saturday: the weekend slots fill on the fourth).
  for (let day = 2; day < 6; day++) {
    feedDays(stat, start + day * 86_400_000, 1, (limit) => (Number.isFinite(limit) ? Math.floor(limit) : 100));
    centres.push(stat.expected(slotTime(start + (day + 1) * 86_400_000 - 60_000, 0), 30)!.stat.center);
  }
  // Unbounded, the centre went 100 → 129 → 317 → 1,660 → 86,966: each value at the edge of the band widened it.
  const days = centres.map(Math.round).join(' → ');
  for (let i = 1; i < centres.length; i++) assert.ok(centres[i]! <= 2 * centres[i - 1]!, `day ${i}: ${days}`);
  assert.ok(centres.at(-1)! <= 3 * centres[0]!, days);
});

test('values within the daily bound are learned as they come', () => {
  const start = Date.UTC(2026, 2, 2);
  const bounded = new SeasonalStat('count');
  feedDays(bounded, start, 3, () => 100);
  const at = slotTime(start + 3 * 86_400_000, 0);
  const before = bounded.expected(at, 30)!.stat.center;
  // A busier hour the next day, within the bound: the hour's slots learn it in full.
  for (let i = 0; i < 60; i++) bounded.learn(at, 130);
  const after = bounded.expected(at, 30)!.stat;
  assert.ok(after.center > before + 4, `${before} → ${after.center}`);
  // Far above the bound, the same minutes teach the slot no more than the bound's value would have.
  const far = new SeasonalStat('count');
  const atBound = new SeasonalStat('count');
  feedDays(far, start, 3, () => 100);
  feedDays(atBound, start, 3, () => 100);
  const bound = LEARNING_BOUNDS.endpointDailyGrowth * 100;
  for (let i = 0; i < 60; i++) {
    far.learn(at, 10 * bound);
    atBound.learn(at, bound);
  }
  assert.deepEqual(far.expected(at, 30)!.stat, atBound.expected(at, 30)!.stat);
});

test('a slot restored from its snapshot learns on as the original, and a snapshot without day starts loads', () => {
  const start = Date.UTC(2026, 2, 2);
  const original = new SeasonalStat('count');
  feedDays(original, start, 2, () => 100);
  const at = slotTime(start + 2 * 86_400_000 + 3_600_000, 0);
  original.learn(at, 100);
  const restored = new SeasonalStat('count');
  restored.load(JSON.parse(JSON.stringify(original.toJSON())));
  for (const s of [original, restored]) for (let i = 0; i < 30; i++) s.learn(at, 1000);
  assert.deepEqual(restored.toJSON(), original.toJSON());
  // An earlier version saved the slots alone: each takes its day start with the next value it learns.
  const old = new SeasonalStat('count');
  old.load(original.toJSON().slice(0, 73 * 3));
  assert.deepEqual(old.expected(at, 30), original.expected(at, 30));
  old.learn(slotTime(start + 4 * 86_400_000, 0), 100);
});
