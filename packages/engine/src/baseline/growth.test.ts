import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type BehaviourDetection, type BehaviourSnapshot, createBehaviourDetector } from './detector.js';
import { DAY_MILLIS, requestEvent, WEEK_START } from './test-traffic.js';

// `endpoint-growth`: an endpoint's typical day this week against its quietest earlier week. The minute-level
// baselines learn traffic that grows a little every day, so these tests drive weeks of one endpoint's traffic.

const MINUTE = 60_000;

let seq = 0;

/** `perMinute(day)` requests a minute to GET /items/{id}, for `days` days from WEEK_START (a Monday). */
function traffic(days: number, perMinute: (day: number) => number, from = 0) {
  const events = [];
  let owed = 0;
  for (let day = from; day < from + days; day++) {
    const rate = perMinute(day);
    for (let minute = 0; minute < 1440; minute++) {
      owed += rate;
      const start = WEEK_START + day * DAY_MILLIS + minute * MINUTE;
      for (let i = 0; owed >= 1; i++, owed--) {
        events.push(
          requestEvent(`g${String(seq++).padStart(8, '0')}`, start + i * 1000, undefined, 'GET', '/items/{id}', {
            'client.address': '192.0.2.1',
          }),
        );
      }
    }
  }
  return events;
}

function growthOf(detector: ReturnType<typeof createBehaviourDetector>, events: ReturnType<typeof traffic>) {
  const found: BehaviourDetection[] = [];
  for (const e of events) for (const d of detector.process(e)) if (d.detector === 'endpoint-growth') found.push(d);
  return found;
}

const dayOf = (d: BehaviourDetection) => Math.floor((d.lastTime - WEEK_START) / DAY_MILLIS);

/** Weekdays at `weekday` a minute, weekends at half that: WEEK_START is a Monday. */
const weekly = (weekday: number) => (day: number) => (day % 7 >= 5 ? weekday / 2 : weekday);

describe('endpoint-growth', () => {
  test('steady traffic with a weekly rhythm and a batch day each month is no growth', () => {
    const detector = createBehaviourDetector();
    // Five weeks; on day 30, a batch job calls the endpoint twenty times as often as usual.
    const found = growthOf(
      detector,
      traffic(35, (day) => (day === 30 ? 20 : weekly(1)(day))),
    );
    assert.deepEqual(found, []);
  });

  test('a sender who ramps an endpoint up a fifth a day is reported once the week shows it', () => {
    const detector = createBehaviourDetector();
    // Two weeks and a day at 1 a minute, then 20 % more every day.
    const ramp = (day: number) => (day < 15 ? 1 : 1.2 ** (day - 14));
    const found = growthOf(detector, traffic(29, ramp));
    assert.ok(found.length >= 1, 'reported');
    const first = found[0]!;
    // Checked with day 25's first request: the typical (median) day of days 18 to 24 is day 21, at 1.2^7 = 3.6 a
    // minute, more than three times the 1,440 a day of the weeks before.
    assert.equal(dayOf(first), 25);
    assert.equal(first.ruleId, 'vigil-baseline-endpoint-growth');
    assert.equal(first.severity, 'low');
    assert.deepEqual(first.groupLabels, { 'http.request.method': 'GET', 'http.route': '/items/{id}' });
    assert.match(
      first.summary,
      /^GET \/items\/\{id\} had [\d,]+ requests on a typical day of the last week, 3\.\d times the 1,440 of the weeks before, from 2026-03-\d\d; traffic that grows a little every day is learned by the minute-level baselines, not reported \(score 3\.\d\)$/,
    );
    assert.equal(first.details?.expected, 1440);
    // Growth that goes on is reported again only past three times what was reported.
    for (const later of found.slice(1)) {
      assert.ok(Number(later.details?.observed) > 3 * Number(found[0]!.details?.observed));
    }
  });

  test('traffic coming back after one or two quiet weeks (holidays, an outage) is no growth', () => {
    // Three weeks at 1 a minute, one (or two) at a quarter of that, then three weeks at 1 again.
    for (const quietWeeks of [1, 2]) {
      const detector = createBehaviourDetector();
      const quietFrom = 21;
      const quietTo = quietFrom + quietWeeks * 7;
      const found = growthOf(
        detector,
        traffic(quietTo + 21, (day) => (day >= quietFrom && day < quietTo ? 0.25 : 1)),
      );
      assert.deepEqual(
        found.map((d) => d.summary),
        [],
        `${quietWeeks} quiet week(s)`,
      );
    }
  });

  test('a lasting step is reported once, not every day after it', () => {
    const detector = createBehaviourDetector();
    const found = growthOf(
      detector,
      traffic(42, (day) => (day < 15 ? 1 : 4)),
    );
    assert.equal(found.length, 1, found.map((d) => d.summary).join('\n'));
    assert.equal(dayOf(found[0]!), 19, 'four of the last seven days at the new level');
  });

  test('growth below three times, and traffic too small to tell, stay quiet', () => {
    const slower = createBehaviourDetector();
    assert.deepEqual(
      growthOf(
        slower,
        traffic(35, (day) => (day < 15 ? 1 : 2.75)),
      ),
      [],
    );
    const small = createBehaviourDetector();
    // 0.1 a minute is 144 a day: six times that is 864, under the minimum of 1,000 requests on a typical day.
    assert.deepEqual(
      growthOf(
        small,
        traffic(35, (day) => (day < 15 ? 0.1 : 0.6)),
      ),
      [],
    );
  });

  test('is read from the snapshot: a restored detector reports what the running one would', () => {
    const ramp = (day: number) => (day < 15 ? 1 : 1.2 ** (day - 14));
    const first = traffic(20, ramp);
    const rest = traffic(9, ramp, 20);
    const running = createBehaviourDetector();
    growthOf(running, first);
    const restored = createBehaviourDetector();
    restored.restore(JSON.parse(JSON.stringify(running.snapshot())) as BehaviourSnapshot);
    const fromRestored = growthOf(restored, rest);
    const fromRunning = growthOf(running, rest);
    assert.ok(fromRunning.length > 0);
    assert.deepEqual(
      fromRestored.map((d) => d.summary),
      fromRunning.map((d) => d.summary),
    );
  });

  test('an earlier version learned its endpoints without daily totals: they count from the restore on', () => {
    const running = createBehaviourDetector();
    growthOf(
      running,
      traffic(20, () => 1),
    );
    const snapshot = JSON.parse(JSON.stringify(running.snapshot())) as BehaviourSnapshot;
    const json = JSON.stringify(snapshot);
    assert.ok(json.includes('"days":{'), 'the snapshot has daily totals');
    const older = JSON.parse(json.replaceAll(/,"days":\{[^}]*\}/g, '')) as BehaviourSnapshot;
    assert.ok(!JSON.stringify(older).includes('"days"'));
    const restored = createBehaviourDetector();
    restored.restore(older);
    // A step right after the restore: no earlier week is known, so nothing is said for two weeks and a day ...
    assert.deepEqual(
      growthOf(
        restored,
        traffic(15, () => 4, 20),
      ),
      [],
    );
    // ... and then the weeks since the restore are compared as usual.
    assert.deepEqual(
      growthOf(
        restored,
        traffic(14, () => 15, 35),
      ).map(dayOf),
      [39],
    );
  });

  test('options: disabled, or a sensitivity that halves the factor', () => {
    const ramp = (day: number) => (day < 15 ? 1 : 2.75);
    const off = createBehaviourDetector({ detectors: { 'endpoint-growth': { enabled: false } } });
    assert.deepEqual(
      growthOf(
        off,
        traffic(29, (day) => (day < 15 ? 1 : 10)),
      ),
      [],
    );
    // At sensitivity 2 the factor is 2 instead of 3: 2.75 times is reported.
    const keen = createBehaviourDetector({ detectors: { 'endpoint-growth': { sensitivity: 2 } } });
    assert.equal(growthOf(keen, traffic(29, ramp)).length, 1);
  });

  test('adding the detector kept the version of default options, so learned baselines survive the upgrade', () => {
    // The version of the defaults before `endpoint-growth` existed (a snapshot of another version is not restored).
    assert.equal(createBehaviourDetector().version, '4b89d1eb543338a1');
    assert.notEqual(
      createBehaviourDetector().version,
      createBehaviourDetector({ detectors: { 'endpoint-growth': { severity: 'medium' } } }).version,
    );
  });
});
