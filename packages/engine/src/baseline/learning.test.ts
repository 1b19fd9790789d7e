import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SecurityEvent } from '@vigil/schema';
import { type BehaviourDetection, type BehaviourSnapshot, createBehaviourDetector } from './detector.js';
import type { BehaviourOptions } from './options.js';
import { learnPacked, readPacked, STAT_WIDTH } from './robust.js';
import { SeasonalStat } from './seasonal.js';
import { DAY_MILLIS, WEEK_START } from './test-traffic.js';

// What the baselines learn from traffic that changes for good reasons (a new function, a new habit, responses
// without a body) or that carries nonsense (a duration of 1e308 s): it must become normal, or be ignored, instead of
// alerting in every window from then on.

const MINUTE = 60_000;
const HOUR = 3_600_000;
const WINDOW = 10 * MINUTE;

let seq = 0;

function request(time: number, user: string | undefined, fields: Record<string, string | number | string[]> = {}) {
  const attributes: Record<string, string | number | string[]> = {
    'http.request.method': 'GET',
    'http.route': '/items/{id}',
    'url.path': `/items/${seq % 7}`,
    'http.response.status_code': 200,
    'http.server.request.duration': 0.05,
    'http.response.body.size': 1000,
    'client.address': '192.0.2.1',
  };
  if (user !== undefined) Object.assign(attributes, { 'user.id': user, 'user.roles': ['customer'] });
  Object.assign(attributes, fields);
  return { id: `l${String(seq++).padStart(7, '0')}`, time, type: 'http_request', attributes } as SecurityEvent;
}

const customers = Array.from({ length: 10 }, (_, i) => `c${i}`);

/** Every customer reads a few items in every window, for `days` days. */
function routine(days: number): SecurityEvent[] {
  const events: SecurityEvent[] = [];
  for (let t = WEEK_START; t < WEEK_START + days * DAY_MILLIS; t += WINDOW) {
    customers.forEach((u, i) => {
      for (let k = 0; k < 3; k++) events.push(request(t + i * 20_000 + k * 60_000, u));
    });
  }
  return events;
}

function sorted(events: SecurityEvent[]): SecurityEvent[] {
  return events.sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : 1));
}

function run(events: readonly SecurityEvent[], options: BehaviourOptions = {}) {
  const detector = createBehaviourDetector(options);
  const detections: (BehaviourDetection & { time: number })[] = [];
  for (const e of events) for (const d of detector.process(e)) detections.push({ ...d, time: e.time });
  return { detector, detections };
}

/** Learned state after two days of routine, shared by the profile tests. */
const ROUTINE_DAYS = 2;
const AFTER = WEEK_START + ROUTINE_DAYS * DAY_MILLIS;
const learned = JSON.stringify(run(routine(ROUTINE_DAYS)).detector.snapshot());

function fromLearned(events: SecurityEvent[], options: BehaviourOptions = {}) {
  const detector = createBehaviourDetector(options);
  detector.restore(JSON.parse(learned) as BehaviourSnapshot);
  const detections: (BehaviourDetection & { time: number })[] = [];
  for (const e of sorted(events)) for (const d of detector.process(e)) detections.push({ ...d, time: e.time });
  return { detector, detections };
}

describe('a function deployed after the learning day', () => {
  test('becomes normal for the peer group once a few members used it successfully', () => {
    // Every customer polls the new GET /notifications, every minute, for two hours, besides their routine.
    const events: SecurityEvent[] = [];
    for (let t = AFTER; t < AFTER + 2 * HOUR; t += MINUTE) {
      customers.forEach((u, i) => {
        events.push(request(t + i * 1000, u, { 'http.route': '/notifications', 'url.path': '/notifications' }));
      });
    }
    const { detector, detections } = fromLearned(events);
    const novelty = detections.filter((d) => d.detector === 'function-novelty');
    assert.deepEqual(
      novelty.map((d) => d.groupLabels['user.id']),
      ['c0', 'c1', 'c2'],
      'the first three members are reported, then it is known',
    );
    assert.match(novelty[0]!.summary, /which no one in their peer group has used successfully before/);
    assert.match(
      novelty[2]!.summary,
      /which their peer group does not know yet: 2 other members used it successfully, each reported \(it becomes normal for the group once 3 members have\)/,
    );
    assert.deepEqual(
      detections.filter((d) => d.time >= AFTER + WINDOW).map((d) => d.summary),
      [],
      'nothing after the first window',
    );
    const usual = detector.profileFor({ 'user.id': 'c7' })!.usual.endpoints;
    assert.ok(usual.find((e) => e.endpoint === 'GET /notifications')!.maxPerWindow >= 10);
  });

  test('one member probing stays novel: refused calls in every window, and successful ones by one member alone', () => {
    const events: SecurityEvent[] = [];
    for (let w = 0; w < 6; w++) {
      const t = AFTER + w * WINDOW + 5 * MINUTE;
      events.push(
        request(t, 'c4', {
          'http.route': '/admin/users',
          'url.path': '/admin/users',
          'http.response.status_code': 403,
        }),
      );
      events.push(request(t + 1000, 'c5', { 'http.route': '/beta/export', 'url.path': '/beta/export' }));
    }
    const { detections } = fromLearned(events);
    const novelty = detections.filter((d) => d.detector === 'function-novelty');
    assert.equal(novelty.filter((d) => d.groupLabels['http.route'] === '/admin/users').length, 6);
    assert.equal(novelty.filter((d) => d.groupLabels['http.route'] === '/beta/export').length, 6);
    assert.ok(novelty.every((d) => /which no one in their peer group has used successfully before/.test(d.summary)));
  });

  test('a refused probe and then a success in the same window do not make the function normal', () => {
    const t = AFTER + 5 * MINUTE;
    const internal = { 'http.route': '/internal/users', 'url.path': '/internal/users' };
    const events = [
      request(t, 'c4', { ...internal, 'http.response.status_code': 403 }),
      request(t + 1000, 'c4', internal),
      request(t + WINDOW, 'c6', internal),
    ];
    const { detections } = fromLearned(events);
    assert.deepEqual(
      detections.map((d) => [d.detector, d.groupLabels['user.id']]),
      [
        ['function-novelty', 'c4'],
        ['function-novelty', 'c6'],
      ],
    );
  });
});

describe('a principal doing something for the first time', () => {
  const noNovelty: BehaviourOptions = { detectors: { 'function-novelty': { enabled: false } } };

  test('has no history of its own for it: without a peer baseline nothing is said', () => {
    // c3 (a day-old regular) starts a report run: 100 calls and 50 distinct reports per window, for an hour.
    const events: SecurityEvent[] = [];
    for (let w = 0; w < 6; w++) {
      for (let k = 0; k < 100; k++) {
        events.push(
          request(AFTER + w * WINDOW + k * 5000, 'c3', {
            'http.route': '/reports/{id}',
            'url.path': `/reports/${k % 50}`,
          }),
        );
      }
    }
    const { detector, detections } = fromLearned(events, noNovelty);
    assert.deepEqual(
      detections.map((d) => d.summary),
      [],
    );
    const profile = detector.profileFor({ 'user.id': 'c3' })!;
    assert.equal(profile.usual.endpoints.find((e) => e.endpoint === 'GET /reports/{id}')!.maxPerWindow, 100);
    assert.equal(profile.usual.objects.find((o) => o.type === '/reports/{id}')!.maxPerWindow, 50);
  });

  test('a lasting new habit above the limit is reported for a few windows, then learned (clipped to the limit)', () => {
    // c3 used to read 3 items per window; from now on a sync job reads 300 of them (30 distinct) per window.
    const windows = 8;
    const events: SecurityEvent[] = [];
    for (let w = 0; w < windows; w++) {
      for (let k = 0; k < 300; k++) {
        events.push(request(AFTER + w * WINDOW + k * 1900, 'c3', { 'url.path': `/items/${k % 30}` }));
      }
    }
    const { detector, detections } = fromLearned(events, noNovelty);
    const rate = detections.filter((d) => d.detector === 'principal-rate');
    assert.ok(rate.length > 0 && rate[0]!.time < AFTER + WINDOW, 'the change is reported in its first window');
    assert.match(rate[0]!.summary, /^user c3 called GET \/items\/\{id\} \d+ times in 10 min; their usual is at most 3/);
    const lastWindows = detections.filter((d) => d.groupLabels['user.id'] && d.time >= AFTER + (windows - 3) * WINDOW);
    assert.deepEqual(
      lastWindows.map((d) => d.summary),
      [],
      'learned after a few windows',
    );
    const usual = detector.profileFor({ 'user.id': 'c3' })!.usual.endpoints;
    assert.equal(usual.find((e) => e.endpoint === 'GET /items/{id}')!.maxPerWindow, 300);
    // The first window taught no more than the limit it crossed.
    assert.equal(rate[1]?.details.usual, rate[0]!.details.limit);
  });
});

describe('level metrics', () => {
  /** `perMinute` requests a minute for `hours` hours; `change` may alter a request. */
  function levelTraffic(hours: number, perMinute: number, change: (t: number, i: number) => object = () => ({})) {
    const events: SecurityEvent[] = [];
    for (let t = WEEK_START; t < WEEK_START + hours * HOUR; t += MINUTE) {
      for (let i = 0; i < perMinute; i++) {
        events.push(
          request(t + i * 1000, `c${i}`, {
            'http.request.method': 'DELETE',
            'http.response.status_code': 204,
            'http.response.body.size': 0,
            'http.server.request.duration': 0.01,
            ...change(t, i),
          }),
        );
      }
    }
    return events;
  }
  const options: BehaviourOptions = { learningMillis: HOUR };
  const at = WEEK_START + HOUR + 40 * MINUTE;

  test('with a centre of 0 do not alert on a small body: they have an absolute minimum deviation', () => {
    const errorBody = (t: number, i: number) =>
      t === at && i === 0 ? { 'http.response.status_code': 404, 'http.response.body.size': 45 } : {};
    const { detector, detections } = run(levelTraffic(2, 10, errorBody), options);
    assert.deepEqual(
      detections.map((d) => d.summary),
      [],
    );
    const slot = detector.baselineFor('/items/{id}', 'DELETE')!.window.bytes!.find((s) => s.hour === 1 && !s.weekend)!;
    assert.ok(slot.upper >= 6 * 16, `at least 6 × 16 B above the centre (${slot.upper})`);
  });

  test('with a centre of 0 still alert when every response gets a body, with a finite score', () => {
    const bodies = (t: number) => (t >= at ? { 'http.response.body.size': 2000 } : {});
    const { detections } = run(levelTraffic(2, 10, bodies), options);
    const d = detections.find((x) => x.detector === 'endpoint-latency');
    assert.ok(d, 'detected');
    assert.match(d.summary, /^DELETE \/items\/\{id\} returned [0-9.]+ (B|KB) per response on average over 10 min/);
    assert.ok(d.score < 1000, `score ${d.score}`);
  });
});

describe('implausible values', () => {
  test('a huge duration is ignored: every seasonal slot stays finite and nothing fires on normal traffic', () => {
    const events: SecurityEvent[] = [];
    for (let t = WEEK_START; t < WEEK_START + DAY_MILLIS + 2 * HOUR; t += MINUTE) {
      for (let i = 0; i < 10; i++) {
        // 00:05 on the first day, while the hour's slots are still warming up: a schema-valid 1e308 s.
        const huge: Record<string, number> =
          t === WEEK_START + 5 * MINUTE && i < 2 ? { 'http.server.request.duration': 1e308 } : {};
        events.push(request(t + i * 1000, `c${i}`, huge));
      }
    }
    const { detector, detections } = run(events);
    assert.deepEqual(
      detections.map((d) => d.summary),
      [],
    );
    const latency = detector.baselineFor('/items/{id}', 'GET')!.window.latency!;
    for (const slot of latency) {
      assert.ok(Number.isFinite(slot.center) && Number.isFinite(slot.spread), JSON.stringify(slot));
    }
    const midnight = latency.find((s) => s.hour === 0 && s.weekend === false)!;
    assert.ok(Math.abs(midnight.center - 0.05) < 0.001, `00:00 is still about 50 ms (${midnight.center})`);
    const restored = createBehaviourDetector();
    restored.restore(JSON.parse(JSON.stringify(detector.snapshot())) as BehaviourSnapshot);
    assert.deepEqual(restored.baselineFor('/items/{id}', 'GET')!.window.latency, latency);
  });

  test('the learning function ignores values that are not finite, and a saved slot that is not starts over', () => {
    const data = new Float64Array(STAT_WIDTH);
    for (let i = 0; i < 5; i++) learnPacked(data, 0, 0.05, 'level');
    learnPacked(data, 0, Number.POSITIVE_INFINITY, 'level');
    learnPacked(data, 0, Number.NaN, 'level');
    learnPacked(data, 0, Number.MAX_VALUE, 'level');
    learnPacked(data, 0, -Number.MAX_VALUE, 'level');
    const stat = readPacked(data, 0);
    // MAX_VALUE is finite and learned; its opposite right after it would overflow the centre, so it is not.
    assert.equal(stat.n, 6);
    assert.ok(Number.isFinite(stat.center) && Number.isFinite(stat.spread));
    const saved = new SeasonalStat('level');
    // As JSON writes a NaN slot: null. Slot 0 (any time) is broken, slot 1 (00:00) is fine.
    saved.load([62, null, null, 30, 0.05, 0.001] as unknown as number[]);
    assert.deepEqual(readPacked(saved.data, 0), { n: 0, center: 0, spread: 0 });
    assert.deepEqual(readPacked(saved.data, STAT_WIDTH), { n: 30, center: 0.05, spread: 0.001 });
  });
});

describe('principals known only by an address', () => {
  test('a flood of them evicts only their own kind: users keep their profiles', () => {
    // maxPrincipals 40: users and API keys up to 40, addresses up to 10. Two days of routine for ten users, then one
    // anonymous request from each of 1 000 made-up addresses (one IPv6 /64 holds 2^64).
    const events = routine(ROUTINE_DAYS);
    for (let i = 0; i < 1000; i++) {
      events.push(request(AFTER + i * 100, undefined, { 'client.address': `2001:db8::${i.toString(16)}` }));
    }
    const { detector } = run(sorted(events), { maxPrincipals: 40 });
    assert.equal(detector.stats().evictions.principals, 1000 - 10, 'every address beyond the ten kept');
    for (const user of customers) {
      const profile = detector.profileFor({ 'user.id': user });
      assert.ok(profile?.learned, `${user} keeps a learned profile`);
    }
    assert.ok(detector.profileFor({ 'client.address': '2001:db8::3e7' }), 'the latest addresses are kept');
  });
});

describe('a window that raised a finding', () => {
  /** Six requests a minute from Monday, up to `end`; one minute of 5 s answers at `attackAt` when given. */
  function steady(end: number, attackAt?: number): SecurityEvent[] {
    const events: SecurityEvent[] = [];
    for (let t = WEEK_START; t < end; t += MINUTE) {
      for (let i = 0; i < 6; i++) {
        const slow: Record<string, number> = t === attackAt ? { 'http.server.request.duration': 5 } : {};
        events.push(request(t + i * 10_000, `u${i}`, slow));
      }
    }
    return events;
  }
  const SATURDAY = WEEK_START + 5 * DAY_MILLIS;
  const weekend14 = (detector: ReturnType<typeof createBehaviourDetector>) =>
    detector.baselineFor('/items/{id}', 'GET')!.window.latency!.find((s) => s.hour === 14 && s.weekend)!;

  test('is not learned, even in a slot still warming up: the attack does not raise the usual', () => {
    const attack = SATURDAY + 14 * HOUR + 5 * MINUTE;
    const { detector, detections } = run(steady(attack + 2 * MINUTE, attack));
    assert.ok(
      detections.some((d) => d.detector === 'endpoint-latency' && d.time >= attack),
      'the slow minute is reported',
    );
    const quiet = run(steady(attack + 2 * MINUTE)).detector;
    assert.equal(
      weekend14(detector).center,
      weekend14(quiet).center,
      'the slot is what it would be without the attack',
    );
  });
});
