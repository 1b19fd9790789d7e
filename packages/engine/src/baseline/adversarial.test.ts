import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SecurityEvent } from '@vigil/schema';
import { type BehaviourDetection, type BehaviourSnapshot, createBehaviourDetector } from './detector.js';
import type { BehaviourOptions } from './options.js';
import { DAY_MILLIS, requestEvent, WEEK_START } from './test-traffic.js';

// What a sender who means harm can do to the baselines: spray requests from many addresses, make up routes by the
// thousand, or leave a damaged snapshot behind. Each must cost a bounded number of detections and evict nothing
// that was learned from real traffic.

const MINUTE = 60_000;
const WINDOW = 10 * MINUTE;

let seq = 0;

/** A GET of an item from 192.0.2.1, anonymous unless `fields` say otherwise (see `requestEvent`). */
function request(time: number, fields: Record<string, string | number | string[]> = {}): SecurityEvent {
  const id = `a${String(seq).padStart(7, '0')}`;
  const path = `/items/${seq++ % 7}`;
  return requestEvent(id, time, undefined, 'GET', '/items/{id}', {
    'url.path': path,
    'client.address': '192.0.2.1',
    ...fields,
  });
}

const signedIn = (user: string) => ({ 'user.id': user, 'user.roles': ['customer'] });

/** Ten signed-in customers read items in every window for two days. */
function routine(): SecurityEvent[] {
  const events: SecurityEvent[] = [];
  for (let t = WEEK_START; t < WEEK_START + 2 * DAY_MILLIS; t += WINDOW) {
    for (let i = 0; i < 10; i++) {
      for (let k = 0; k < 3; k++) events.push(request(t + i * 20_000 + k * MINUTE, signedIn(`c${i}`)));
    }
  }
  return events;
}

const AFTER = WEEK_START + 2 * DAY_MILLIS;

function run(events: readonly SecurityEvent[], options: BehaviourOptions = {}) {
  const detector = createBehaviourDetector(options);
  const detections: BehaviourDetection[] = [];
  for (const e of [...events].sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : 1))) {
    detections.push(...detector.process(e));
  }
  return { detector, detections };
}

describe('unauthenticated-access from a spray of addresses', () => {
  test('reports each address once per window, and stops after the first 100 instead of on every request', () => {
    // 150 addresses, each with three anonymous successes in the same window, on an endpoint always signed in.
    const spray: SecurityEvent[] = [];
    for (let k = 0; k < 3; k++) {
      for (let i = 0; i < 150; i++)
        spray.push(request(AFTER + k * MINUTE + i * 100, { 'client.address': `198.51.100.${i}` }));
    }
    const { detections } = run([...routine(), ...spray]);
    const reported = detections.filter((d) => d.detector === 'unauthenticated-access');
    const perAddress = new Map<string, number>();
    for (const d of reported) {
      const address = d.groupLabels['client.address']!;
      perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
    }
    assert.equal(reported.length, 100, 'the first 100 addresses, once each');
    assert.deepEqual([...new Set(perAddress.values())], [1]);
  });
});

describe('routes made up by the thousand', () => {
  test('evict only endpoints that never answered successfully: the learned ones stay', () => {
    // maxEndpoints 100. Two days of routine on GET /items/{id}, then one request to each of 2 000 paths that do not
    // exist (a scanner; a route template learned from raw paths gives each its own route), all answered 404.
    const junk = Array.from({ length: 2000 }, (_, i) =>
      request(AFTER + i * 50, {
        'http.route': `/probe-${i}/x`,
        'url.path': `/probe-${i}/x`,
        'http.response.status_code': 404,
      }),
    );
    const { detector } = run([...routine(), ...junk], { maxEndpoints: 100 });
    const items = detector.baselineFor('/items/{id}', 'GET');
    assert.ok(items, 'the learned endpoint keeps its baseline');
    assert.ok(items.requests > 8000);
    assert.equal(detector.stats().evictions.endpoints, 2000 - 25, 'the made-up routes evict each other (25 kept)');
    assert.ok(detector.baselineFor('/probe-1999/x', 'GET'), 'the latest ones are kept');
    // After a restart the same holds; and a route answered successfully once is a real one from then on.
    const restored = createBehaviourDetector({ maxEndpoints: 100 });
    restored.restore(JSON.parse(JSON.stringify(detector.snapshot())) as BehaviourSnapshot);
    assert.equal(restored.stats().endpoints, detector.stats().endpoints);
    const later = AFTER + DAY_MILLIS;
    restored.process(request(later, { 'http.route': '/probe-1999/x', 'url.path': '/probe-1999/x' }));
    for (let i = 0; i < 200; i++) {
      restored.process(
        request(later + 1 + i, {
          'http.route': `/more-${i}`,
          'url.path': `/more-${i}`,
          'http.response.status_code': 404,
        }),
      );
    }
    assert.ok(restored.baselineFor('/items/{id}', 'GET'));
    assert.ok(restored.baselineFor('/probe-1999/x', 'GET'));
    assert.equal(restored.baselineFor('/probe-1998/x', 'GET'), undefined);
  });
});

describe('a damaged snapshot', () => {
  test('is refused whole: the state stays as it was, not half replaced', () => {
    const events = routine();
    const { detector } = run(events.slice(0, 3000));
    const before = JSON.stringify(detector.snapshot());
    const other = run(events).detector.snapshot();
    const damaged = JSON.parse(JSON.stringify(other)) as BehaviourSnapshot & { endpoints: unknown[] };
    damaged.endpoints.push({ route: '/broken', method: 'GET' });
    assert.throws(() => detector.restore(damaged));
    assert.ok(JSON.stringify(detector.snapshot()) === before, 'the state is what it was');
  });

  test('with counters that are not numbers restores them as 0, and holds suppressions to their bound', () => {
    const { detector } = run(routine().slice(0, 3000));
    const saved = JSON.parse(JSON.stringify(detector.snapshot())) as BehaviourSnapshot;
    const items = Array.from({ length: 5 }, (_, i) => ({
      entity: { 'user.id': `u${i}` },
      ruleId: '*',
      untilEventTime: AFTER + i,
      by: 'alice',
      reason: 'test',
      createdAtEventTime: WEEK_START,
    }));
    const restored = createBehaviourDetector({ maxSuppressions: 2 });
    restored.restore({ ...saved, events: null, detections: 'many', suppressions: { items, suppressed: 0 } } as never);
    assert.equal(restored.stats().events, 0);
    assert.equal(restored.stats().detections, 0);
    assert.deepEqual(
      restored.suppressions().map((s) => s.entity['user.id']),
      ['u3', 'u4'],
      'the ones expiring last',
    );
  });
});

describe('a principal raising their own usual', () => {
  test('below the limit in every window gains at most the limit factor a day, not a factor a window', () => {
    // c0 reads three items a window. Then, window after window, as many distinct items as the limit allows
    // without a report: each window it stays below is learned, but as no more than 3 × the day's first usual, so the
    // limit stays at the detector's minimum (40) instead of tripling with every window (40, 120, 360, 1,080...).
    const { detector } = run(routine());
    const rows: { read: number; reported: number }[] = [];
    let t = AFTER;
    for (let w = 0; w < 8; w++, t += WINDOW) {
      const profile = detector.profileFor({ 'user.id': 'c0' })!;
      const objects = profile.usual.objects.find((o) => o.type === '/items/{id}')!;
      const read = Math.min(5000, Math.max(40, 3 * Math.max(objects.maxPerWindow, objects.peerAtMost ?? 0)));
      let reported = 0;
      for (let k = 0; k < read; k++) {
        const e = request(t + 1 + k, { ...signedIn('c0'), 'url.path': `/items/${k}` });
        reported += detector.process(e).filter((d) => !d.detector.startsWith('endpoint-')).length;
      }
      rows.push({ read, reported });
    }
    assert.deepEqual(
      rows.map((r) => r.reported),
      [0, 0, 0, 0, 0, 0, 0, 0],
    );
    assert.deepEqual(
      rows.map((r) => r.read),
      [40, 40, 40, 40, 40, 40, 40, 40],
    );
  });

  test("the day of that bound is the detector's local day", () => {
    // As above, from 14:00 to 15:20 UTC. In Tokyo (UTC+9) local midnight is 15:00 UTC: the usual may grow again the
    // day after it, so the limit rises once the 15:00 window is closed. In UTC the day goes on, and the limit stays.
    const readsIn = (timeZone: string) => {
      const { detector } = run(routine(), { timeZone });
      const reads: number[] = [];
      for (let t = AFTER + 14 * 3_600_000; t <= AFTER + 15 * 3_600_000 + 2 * WINDOW; t += WINDOW) {
        const profile = detector.profileFor({ 'user.id': 'c0' })!;
        const objects = profile.usual.objects.find((o) => o.type === '/items/{id}')!;
        const read = Math.min(5000, Math.max(40, 3 * Math.max(objects.maxPerWindow, objects.peerAtMost ?? 0)));
        for (let k = 0; k < read; k++) {
          detector.process(request(t + 1 + k, { ...signedIn('c0'), 'url.path': `/items/${k}` }));
        }
        reads.push(read);
      }
      return reads;
    };
    assert.deepEqual(readsIn('Asia/Tokyo'), [40, 40, 40, 40, 40, 40, 40, 40, 81]);
    assert.deepEqual(readsIn('UTC'), [40, 40, 40, 40, 40, 40, 40, 40, 40]);
  });
});
