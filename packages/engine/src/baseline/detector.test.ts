import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SecurityEvent } from '@vigil/schema';
import { type BehaviourDetection, type BehaviourSnapshot, createBehaviourDetector } from './detector.js';
import type { BehaviourOptions } from './options.js';
import { benignTraffic, DAY_MILLIS, requestEvent, type TestUser, WEEK_START, withPlanted } from './test-traffic.js';

const OPTIONS: BehaviourOptions = { peerMinSamples: 50 };
const week = benignTraffic();
/** Thursday 14:00, well after every learning period. */
const ATTACK = WEEK_START + 3 * DAY_MILLIS + 14 * 3_600_000;

function run(events: readonly SecurityEvent[], options: BehaviourOptions = OPTIONS) {
  const detector = createBehaviourDetector(options);
  const detections: BehaviourDetection[] = [];
  for (const e of events) detections.push(...detector.process(e));
  return { detector, detections };
}

/** Learned state an hour before the attacks, shared by the detector tests (options are not state). */
const CUT = ATTACK - 3_600_000;
const learned = (() => {
  const d = createBehaviourDetector(OPTIONS);
  for (const e of week.events) if (e.time < CUT) d.process(e);
  return JSON.stringify(d.snapshot());
})();

/** The benign week with `planted` events, processed from the shared snapshot on. */
function attack(plantedEvents: readonly SecurityEvent[], options: BehaviourOptions = OPTIONS) {
  const detector = createBehaviourDetector(options);
  detector.restore(JSON.parse(learned));
  const detections: BehaviourDetection[] = [];
  for (const e of withPlanted(week.events, plantedEvents)) if (e.time >= CUT) detections.push(...detector.process(e));
  return { detector, detections };
}

/** The nth most active user of a role before the attacks (regulars have a history to compare with). */
function user(role: TestUser['role'], nth = 0): TestUser {
  const before = new Map<string, number>();
  for (const e of week.events) {
    const id = e.attributes['user.id'];
    if (e.time < ATTACK && typeof id === 'string') before.set(id, (before.get(id) ?? 0) + 1);
  }
  return week.users
    .filter((u) => u.role === role)
    .sort((a, b) => (before.get(b.id) ?? 0) - (before.get(a.id) ?? 0) || (a.id < b.id ? -1 : 1))[nth]!;
}

function planted(count: number, everyMillis: number, make: (i: number, time: number, id: string) => SecurityEvent) {
  return Array.from({ length: count }, (_, i) => make(i, ATTACK + i * everyMillis, `p${String(i).padStart(5, '0')}`));
}

const baseline = run(week.events);

describe('a benign week', () => {
  test('with daily and weekly seasonality raises nothing', () => {
    assert.ok(week.events.length > 5000, `enough traffic (${week.events.length})`);
    assert.deepEqual(
      baseline.detections.map((d) => d.summary),
      [],
    );
  });

  test('learns profiles, peer groups and endpoint baselines that the chart queries return', () => {
    const u = user('customer');
    const profile = baseline.detector.profileFor({ 'user.id': u.id });
    assert.ok(profile);
    assert.equal(profile.peerGroup, 'user.roles=customer');
    assert.deepEqual(profile.countries, [u.country]);
    assert.ok(profile.learned);
    assert.ok(profile.usual.endpoints.some((e) => e.endpoint === 'GET /accounts/{id}'));
    const chart = baseline.detector.baselineFor('/accounts/{id}', 'GET');
    assert.ok(chart);
    assert.ok(chart.bucket.requests!.length > 24, 'per-hour and per-day-type slots');
    assert.ok(chart.authenticatedShare > 0.99);
    assert.equal(baseline.detector.baselineFor('/nope', 'GET'), undefined);
  });
});

describe('object-enumeration', () => {
  test('fires on a customer reading many distinct accounts, naming them and the numbers', () => {
    const u = user('customer', 3);
    const bola = planted(150, 2000, (i, t, id) =>
      requestEvent(id, t, u, 'GET', '/accounts/{id}', { 'url.path': `/accounts/${90_000 + i}` }),
    );
    const { detections } = attack(bola);
    const d = detections.find((x) => x.detector === 'object-enumeration');
    assert.ok(d, 'detected');
    assert.deepEqual(d.groupLabels, { 'user.id': u.id, 'http.route': '/accounts/{id}' });
    assert.equal(d.ruleId, 'vigil-baseline-object-enumeration');
    const usual = d.details.usual as number;
    const peer = d.details.peerAtMost as number;
    assert.match(
      d.summary,
      new RegExp(
        `^user ${u.id} read ${d.details.observed} distinct /accounts/\\{id\\} in 10 min; their usual is at most ${usual}, their peer group's \\(user.roles=customer\\) at most ${peer} \\(score [0-9.]+\\)$`,
      ),
    );
    assert.ok(d.lastTime - ATTACK < 600_000, 'within ten minutes');
    assert.ok(d.tags.includes(`score=${d.score.toFixed(1)}`));
    assert.ok(d.eventIds.length > 0 && d.eventIds.every((id) => id.startsWith('p')));
  });
});

describe('principal-rate and data-volume', () => {
  test('fire on a support agent exporting customer after customer', () => {
    const u = user('support', 1);
    const exportRun = planted(200, 3000, (i, t, id) =>
      requestEvent(id, t, u, 'GET', '/customers/{id}/export', {
        'url.path': `/customers/${i}/export`,
        'http.response.body.size': 400_000,
      }),
    );
    const { detections } = attack(exportRun);
    const rate = detections.find((x) => x.detector === 'principal-rate');
    assert.ok(rate);
    assert.deepEqual(rate.groupLabels, {
      'user.id': u.id,
      'http.request.method': 'GET',
      'http.route': '/customers/{id}/export',
    });
    assert.match(rate.summary, new RegExp(`^user ${u.id} called GET /customers/\\{id\\}/export \\d+ times in 10 min`));
    const volume = detections.find((x) => x.detector === 'data-volume');
    assert.ok(volume);
    assert.match(volume.summary, /received [0-9.]+ MB in 10 min; their usual is at most [0-9.]+ (KB|MB)/);
    assert.ok(detections.every((d) => d.groupLabels['user.id'] === u.id || d.groupLabels['http.route']));
  });
});

describe('principal-errors', () => {
  test('fires on an anonymous scanner and compares it with anonymous peers', () => {
    const scan = planted(120, 300, (i, t, id) =>
      requestEvent(id, t, undefined, 'GET', '', {
        'url.path': `/probe/${i % 30}`,
        'http.response.status_code': 404,
        'client.address': '203.0.113.66',
      }),
    );
    const { detections } = attack(scan);
    const d = detections.find((x) => x.detector === 'principal-errors');
    assert.ok(d);
    assert.deepEqual(d.groupLabels, { 'client.address': '203.0.113.66' });
    assert.match(
      d.summary,
      /^client 203\.0\.113\.66 got \d+ client errors \(4xx\) in 10 min on 30 distinct routes or paths; they have no history of their own yet, their peer group's \(anonymous\) at most \d+/,
    );
  });
});

describe('new-access', () => {
  test('fires on a new country, network and device, with impossible travel', () => {
    const u = user('customer', 5);
    const from = { 'client.geo.country_iso_code': 'BR', 'client.as.number': 28573, 'user_agent.original': 'curl/8.5' };
    const ato = [requestEvent('p00000', ATTACK, u, 'POST', '/login', { ...from, 'client.address': '177.1.2.3' })];
    // Seen at home shortly before.
    const home = requestEvent('o00000', ATTACK - 1_800_000, u, 'GET', '/products');
    const { detections } = attack([home, ...ato]);
    const d = detections.find((x) => x.detector === 'new-access');
    assert.ok(d);
    assert.deepEqual(d.groupLabels, { 'user.id': u.id });
    assert.match(d.summary, new RegExp(`^user ${u.id} came from a new country BR \\(usually ${u.country}\\)`));
    assert.match(d.summary, /a new network AS 28573/);
    assert.match(d.summary, /a new device "curl\/8\.5"/);
    assert.match(d.summary, new RegExp(`impossible travel ${u.country} → BR, [0-9,]+ km in 30 min`));
    assert.equal(d.score, 1.5);
    assert.equal(d.eventIds[0], 'p00000');
  });

  test('a known place does not fire, and one new network alone is below the threshold', () => {
    const u = user('customer', 6);
    const events = [requestEvent('p00000', ATTACK, u, 'GET', '/products', { 'client.as.number': 64999 })];
    const { detections } = attack(events);
    assert.deepEqual(detections, []);
  });
});

describe('function-novelty', () => {
  test('a customer calling an admin endpoint the role never used', () => {
    const u = user('customer', 2);
    const probe = [requestEvent('p00000', ATTACK, u, 'GET', '/admin/users', { 'http.response.status_code': 403 })];
    const { detections } = attack(probe);
    assert.equal(detections.length, 1);
    const d = detections[0]!;
    assert.equal(d.detector, 'function-novelty');
    assert.equal(d.severity, 'medium', 'refused: one step below the detector severity');
    assert.deepEqual(d.groupLabels, { 'user.id': u.id, 'http.request.method': 'GET', 'http.route': '/admin/users' });
    assert.match(d.summary, /called GET \/admin\/users \(answered 403\), which no one in their peer group has used/);
  });

  test('an admin function used for the first time by an admin whose peers rarely use it', () => {
    const u = user('admin', 0);
    const first = [requestEvent('p00000', ATTACK, u, 'DELETE', '/admin/tenants/{id}')];
    const second = [requestEvent('p00001', ATTACK, user('admin', 1), 'DELETE', '/admin/tenants/{id}')];
    // The role has never used it: the first use is role novelty.
    const { detections } = attack([...first, ...second]);
    assert.deepEqual(
      detections.map((d) => [d.detector, d.groupLabels['user.id']]),
      [
        ['function-novelty', u.id],
        ['function-novelty', user('admin', 1).id],
      ],
    );
  });
});

describe('function-novelty: administrative functions', () => {
  test('first use by an admin when only one peer used it before', () => {
    const earlier = requestEvent(
      'o00000',
      WEEK_START + 20 * 3_600_000,
      user('admin', 1),
      'DELETE',
      '/admin/tenants/{id}',
    );
    const first = requestEvent('p00000', ATTACK, user('admin', 0), 'DELETE', '/admin/tenants/{id}');
    const again = requestEvent('p00001', ATTACK + 1000, user('admin', 0), 'DELETE', '/admin/tenants/{id}');
    // The peer's use falls in the learning period: it is learned, not reported.
    const { detections } = run(withPlanted(week.events, [earlier, first, again]));
    assert.equal(detections.length, 1, 'once per window');
    assert.match(
      detections[0]!.summary,
      new RegExp(
        `^user ${user('admin', 0).id} used the administrative function DELETE /admin/tenants/\\{id\\} for the first time; one member of their peer group \\(user.roles=admin\\) used it before`,
      ),
    );
  });
});

describe('unauthenticated-access', () => {
  test('an anonymous success on an endpoint that is always authenticated', () => {
    const leak = [
      requestEvent('p00000', ATTACK, undefined, 'GET', '/accounts/{id}', {
        'url.path': '/accounts/50001',
        'client.address': '203.0.113.9',
      }),
    ];
    const { detections } = attack(leak, { ...OPTIONS, detectors: { 'unauthenticated-access': { minCount: 100 } } });
    const d = detections.find((x) => x.detector === 'unauthenticated-access');
    assert.ok(d);
    assert.deepEqual(d.groupLabels, {
      'http.route': '/accounts/{id}',
      'http.request.method': 'GET',
      'client.address': '203.0.113.9',
    });
    assert.match(
      d.summary,
      /^client 203\.0\.113\.9 called GET \/accounts\/\{id\} without authentication and got 200; 100\.0 % of its [0-9,]+ requests are authenticated/,
    );
  });
});

describe('endpoint baselines', () => {
  test('failed logins from many addresses raise endpoint-errors and endpoint-callers on POST /login', () => {
    const stuffing = planted(90, 5000, (i, t, id) =>
      requestEvent(id, t, undefined, 'POST', '/login', {
        'client.address': `100.64.${i >> 8}.${i & 255}`,
        'http.response.status_code': 401,
      }),
    );
    const { detections } = attack(stuffing);
    const errors = detections.find((x) => x.detector === 'endpoint-errors');
    assert.ok(errors);
    assert.deepEqual(errors.groupLabels, { 'http.route': '/login', 'http.request.method': 'POST' });
    assert.match(
      errors.summary,
      /^POST \/login answered 4xx to \d+ of \d+ requests in 10 min \(\d+ %\); usual for weekdays 14:00 is about [0-9.]+, alerting above \d+/,
    );
    assert.ok(detections.some((x) => x.detector === 'endpoint-callers'));
    assert.ok(detections.every((x) => x.groupLabels['http.route'] === '/login' || x.groupLabels['client.address']));
  });

  test('per-endpoint sensitivity and disabling a detector', () => {
    const stuffing = planted(90, 5000, (i, t, id) =>
      requestEvent(id, t, undefined, 'POST', '/login', {
        'client.address': `100.64.${i >> 8}.${i & 255}`,
        'http.response.status_code': 401,
      }),
    );
    const quiet = attack(stuffing, {
      ...OPTIONS,
      endpoints: { 'POST /login': { minVolume: 1000 } },
      detectors: { 'principal-errors': { enabled: false } },
    });
    assert.deepEqual(
      quiet.detections.filter((d) => d.detector.startsWith('endpoint-')),
      [],
    );
  });
});

describe('suppression', () => {
  test('a suppressed entity is silent until the given event time, counted, and recorded with who and why', () => {
    const u = user('customer', 3);
    const bola = planted(150, 2000, (i, t, id) =>
      requestEvent(id, t, u, 'GET', '/accounts/{id}', { 'url.path': `/accounts/${90_000 + i}` }),
    );
    const events = withPlanted(week.events, bola).filter((e) => e.time >= CUT);
    const detector = createBehaviourDetector(OPTIONS);
    detector.restore(JSON.parse(learned));
    const s = detector.suppress({ 'user.id': u.id }, 'object-enumeration', ATTACK + DAY_MILLIS, {
      by: 'alice',
      reason: 'nightly reconciliation job',
    });
    assert.equal(s.ruleId, 'vigil-baseline-object-enumeration');
    const out = events.flatMap((e) => detector.process(e));
    assert.equal(out.filter((d) => d.detector === 'object-enumeration').length, 0);
    assert.ok(detector.stats().suppressed > 0);
    assert.deepEqual(
      detector.suppressions().map((x) => [x.by, x.reason]),
      [],
      'expired by the end of the week',
    );
    assert.throws(() => detector.suppress({ 'user.id': u.id }, 'nonsense', 0, { by: 'a', reason: 'b' }), /unknown/);
  });
});

describe('state', () => {
  const u = user('customer', 3);
  const attacks = [
    ...planted(150, 2000, (i, t, id) =>
      requestEvent(id, t, u, 'GET', '/accounts/{id}', { 'url.path': `/accounts/${90_000 + i}` }),
    ),
    requestEvent('q00000', ATTACK + 3_600_000, user('customer', 5), 'POST', '/login', {
      'client.geo.country_iso_code': 'BR',
      'client.as.number': 28573,
      'user_agent.original': 'curl/8.5',
    }),
  ];
  const events = withPlanted(week.events, attacks);

  test('is deterministic: the same events give the same detections and the same snapshot', () => {
    const a = run(events);
    const b = run(events);
    assert.ok(a.detections.length >= 2);
    assert.deepEqual(a.detections, b.detections);
    assert.equal(JSON.stringify(a.detector.snapshot()), JSON.stringify(b.detector.snapshot()));
  });

  test('a snapshot restored into a new detector continues exactly as the original', () => {
    const cut = events.findIndex((e) => e.time >= ATTACK - 3_600_000 - 123_456);
    const original = createBehaviourDetector(OPTIONS);
    for (const e of events.slice(0, cut)) original.process(e);
    const saved: BehaviourSnapshot = JSON.parse(JSON.stringify(original.snapshot()));
    const restored = createBehaviourDetector(OPTIONS);
    restored.restore(saved);
    assert.equal(JSON.stringify(restored.snapshot()), JSON.stringify(original.snapshot()));
    const rest = events.slice(cut);
    const fromOriginal = rest.flatMap((e) => original.process(e));
    const fromRestored = rest.flatMap((e) => restored.process(e));
    assert.ok(fromOriginal.length >= 2);
    assert.deepEqual(fromRestored, fromOriginal);
    assert.equal(JSON.stringify(restored.snapshot()), JSON.stringify(original.snapshot()));
  });

  test('a snapshot keeps how many distinct objects a window saw, not the ids, and the count goes on after a restore', () => {
    const user = week.users[0]!;
    const at = WEEK_START + 5 * 60_000;
    const access = (n: number) =>
      requestEvent(`obj-${n}`, at + n * 1000, user, 'GET', '/accounts/{id}', { 'url.path': `/accounts/${70_000 + n}` });
    const original = createBehaviourDetector(OPTIONS);
    for (let n = 0; n < 5; n++) original.process(access(n));
    const saved = JSON.parse(JSON.stringify(original.snapshot())) as BehaviourSnapshot;
    const windowOf = (snapshot: BehaviourSnapshot) =>
      snapshot.principals.find((p) => p.value === user.id && p.window)!.window!;
    assert.deepEqual(windowOf(saved).objects, [['/accounts/{id}', 5]]);
    const restored = createBehaviourDetector(OPTIONS);
    restored.restore(saved);
    for (let n = 5; n < 7; n++) restored.process(access(n));
    assert.deepEqual(windowOf(restored.snapshot()).objects, [['/accounts/{id}', 7]]);
  });

  test('is bounded: past maxPrincipals the least recently seen are evicted and counted', () => {
    const { detector } = run(week.events.slice(0, 3000), { ...OPTIONS, maxPrincipals: 20, maxEndpoints: 3 });
    const stats = detector.stats();
    // Users and API keys up to 20, principals known only by an address up to a quarter of that beside them.
    assert.ok(stats.principals > 20 && stats.principals <= 25, `${stats.principals} principals`);
    assert.equal(stats.endpoints, 3);
    assert.ok(stats.evictions.principals > 0 && stats.evictions.endpoints > 0);
    assert.equal(
      detector.evictionCount(),
      stats.evictions.principals + stats.evictions.endpoints + stats.evictions.groups,
    );
  });

  test('reports nothing during the learning period', () => {
    const early = planted(150, 2000, (i, t, id) =>
      requestEvent(id, t - 3 * DAY_MILLIS, u, 'GET', '/accounts/{id}', { 'url.path': `/accounts/${90_000 + i}` }),
    );
    const { detections } = run(
      withPlanted(
        week.events.filter((e) => e.time < WEEK_START + DAY_MILLIS),
        early,
      ),
    );
    assert.deepEqual(detections, []);
  });
});
