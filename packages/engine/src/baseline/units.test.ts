import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedMap } from './bounded-map.js';
import { createBehaviourDetector } from './detector.js';
import { formatBytes, formatNumber } from './explain.js';
import { COUNTRY_CENTROIDS, countryDistanceKm } from './geo.js';
import { objectOf, principalOf } from './principal.js';
import { LogHistogram, learnPacked, readPacked, STAT_WIDTH, upperBound } from './robust.js';
import { localOffset, slotTime } from './seasonal.js';
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
  assert.deepEqual(slotTime(Date.UTC(2026, 2, 7, 23, 30), 0), { hour: 23, weekend: true });
  assert.deepEqual(slotTime(Date.UTC(2026, 2, 7, 23, 30), 60), { hour: 0, weekend: true });
  assert.deepEqual(slotTime(Date.UTC(2026, 2, 9, 9, 0), 0), { hour: 9, weekend: false });
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
