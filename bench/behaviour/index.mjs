// Behaviour baselines: detection of the simulator's planted attacks (detected or not, and how long after the
// start in event time), false alerts per 10,000 benign principals per day, throughput, and the memory of the
// baseline state for 100k principals and 1,000 endpoints (measured in a child process, see memory.mjs).
//   npm run bench -- behaviour            (BENCH_BEHAVIOUR_USERS, BENCH_BEHAVIOUR_DAYS, BENCH_BEHAVIOUR_SEED)
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { simulate } from '../../examples/simulator/traffic.mjs';
import { createBehaviourDetector } from '../../packages/engine/dist/index.js';
import { figure, ratio, report } from '../lib.mjs';

const USERS = Number(process.env.BENCH_BEHAVIOUR_USERS ?? 2000);
const DAYS = Number(process.env.BENCH_BEHAVIOUR_DAYS ?? 7);
const SEED = Number(process.env.BENCH_BEHAVIOUR_SEED ?? 1);
const DAY = 86_400_000;
/** Detections of one rule and label set closer than this form one alert (the alert manager's resolve delay). */
const ALERT_GAP_MILLIS = 3_600_000;
const GOAL_MILLIS = 600_000;

const t0 = performance.now();
const { events: wire, truth, stats } = simulate({ days: DAYS, users: USERS, seed: SEED });
const generateSeconds = (performance.now() - t0) / 1000;

// Wire form → the engine's SecurityEvent (flat attributes).
const events = wire.map(({ id, time, type, ...attributes }) => ({ id, time, type, attributes }));

const detector = createBehaviourDetector();
const detections = [];
const t1 = performance.now();
for (const e of events) for (const d of detector.process(e)) detections.push(d);
const processSeconds = (performance.now() - t1) / 1000;
const learningMillis = detector.options.learningMillis;

// Attribute each detection to a scenario: its labels contain the scenario's entity (or one of its actors' addresses)
// and it fired between the scenario's start and ten minutes after its end; or it is about an endpoint the scenario
// hit and fired while the endpoint's sliding window still held attack traffic.
const ENDPOINT_TAIL_MILLIS = GOAL_MILLIS + 600_000;
const matchesEntity = (d, s) =>
  d.lastTime >= s.start &&
  d.lastTime <= s.end + GOAL_MILLIS &&
  (Object.entries(s.entity).every(([k, v]) => d.groupLabels[k] === v) ||
    (s.actors ?? []).includes(d.groupLabels['client.address']));
const matchesEndpoint = (d, s) =>
  Object.keys(d.groupLabels).length === 2 &&
  (s.endpoints ?? []).includes(`${d.groupLabels['http.request.method']} ${d.groupLabels['http.route']}`) &&
  d.lastTime >= s.start &&
  d.lastTime <= s.end + ENDPOINT_TAIL_MILLIS;
const matches = (d, s) => matchesEntity(d, s) || matchesEndpoint(d, s);
const attacker = new Set(truth.flatMap((s) => [...Object.values(s.entity), ...(s.actors ?? [])]));

const figures = [];
const rows = [];
for (const s of truth) {
  const hits = detections.filter((d) => matches(d, s));
  const first = hits.reduce((m, d) => (m === undefined || d.lastTime < m.lastTime ? d : m), undefined);
  const delayMillis = first ? first.lastTime - s.start : undefined;
  rows.push({
    scenario: s.scenario,
    detected: Boolean(first),
    delay: first ? `${(delayMillis / 1000).toFixed(0)} s` : '-',
    by: [...new Set(hits.map((d) => d.detector))].join(', ') || '-',
    summary: first?.summary ?? '',
  });
  figures.push(figure(`${s.scenario}: detected`, first ? 1 : 0, 'bool'));
  if (first) figures.push(figure(`${s.scenario}: time to detect`, delayMillis / 1000, 's'));
}

// False alerts: detections attributed to no scenario, merged into alerts as the alert manager would.
const falseDetections = detections.filter((d) => !truth.some((s) => matches(d, s)));
const alerts = new Map();
let falseAlerts = 0;
const falseExamples = [];
for (const d of falseDetections) {
  const key = `${d.ruleId}|${JSON.stringify(d.groupLabels)}`;
  const last = alerts.get(key);
  if (last === undefined || d.lastTime - last > ALERT_GAP_MILLIS) {
    falseAlerts++;
    if (falseExamples.length < 10)
      falseExamples.push(`${new Date(d.lastTime).toISOString()} ${d.ruleId}: ${d.summary}`);
  }
  alerts.set(key, d.lastTime);
}

// Benign principal-days after the learning period (before it nothing can fire).
const reportingFrom = stats.start + learningMillis;
const principalDays = new Set();
for (const e of events) {
  if (e.time < reportingFrom) continue;
  const a = e.attributes;
  const p = a['user.id'] ?? a['vigil.api_key.id'] ?? a['client.address'];
  if (p === undefined || attacker.has(p)) continue;
  principalDays.add(`${p}|${Math.floor((e.time - stats.start) / DAY)}`);
}
const perTenThousand = (falseAlerts / principalDays.size) * 10_000;

console.log(`\nscenario              detected  after    detectors`);
for (const r of rows) {
  console.log(`${r.scenario.padEnd(22)}${(r.detected ? 'yes' : 'NO').padEnd(10)}${r.delay.padEnd(9)}${r.by}`);
  if (r.summary) console.log(`  ${r.summary}`);
}
console.log(`\nfalse alerts: ${falseAlerts} over ${principalDays.size} benign principal-days`);
for (const x of falseExamples) console.log(`  ${x}`);

const skipMemory = Boolean(process.env.BENCH_BEHAVIOUR_SKIP_MEMORY);
const memory = skipMemory
  ? { status: 0, stdout: '{}' }
  : spawnSync(process.execPath, ['--expose-gc', fileURLToPath(new URL('./memory.mjs', import.meta.url))], {
      encoding: 'utf8',
    });
if (memory.status !== 0) {
  console.error(memory.stderr);
  process.exit(1);
}
const mem = JSON.parse(memory.stdout.trim().split('\n').pop());

const detectedCount = rows.filter((r) => r.detected).length;
figures.push(
  figure('scenarios detected', detectedCount, 'count'),
  figure('scenarios', rows.length, 'count'),
  figure('false alerts', falseAlerts, 'count'),
  figure('benign principal-days (after learning)', principalDays.size, 'count'),
  figure('false alerts per 10k benign principals per day', perTenThousand, 'alerts'),
  figure('simulated events', events.length, 'events'),
  figure('simulated users', USERS, 'users'),
  figure('simulated days', DAYS, 'days'),
  figure('detector throughput', events.length / processSeconds, 'events/s'),
  figure('simulation time', generateSeconds, 's'),
);
if (!skipMemory) {
  figures.push(
    figure('memory: principals', mem.principals, 'count'),
    figure('memory: endpoints', mem.endpoints, 'count'),
    figure('memory: heap used by state', mem.heapMB, 'MB'),
    figure('memory: RSS', mem.rssMB, 'MB'),
    figure('memory: peak RSS while building', mem.peakRssMB, 'MB'),
    figure('memory: peak RSS including snapshot()', mem.peakRssWithSnapshotMB, 'MB'),
    figure('memory: snapshot size', mem.snapshotMB, 'MB'),
    figure('memory: synthetic events fed', mem.events, 'events'),
  );
}
figures.push(
  ratio(
    'scenarios detected within 10 min',
    figure(
      'detected within 10 min',
      rows.filter((r) => r.detected && Number.parseInt(r.delay, 10) <= 600).length,
      'count',
    ),
    figure('scenarios', rows.length, 'count'),
  ),
);
await report('behaviour', figures, {
  goals: {
    detection: 'every scenario within 10 minutes of event time',
    falseAlerts: '<= 1 per 10,000 benign principals per day',
    memory: '<= 500 MB RSS for 100k principals and 1,000 endpoints',
  },
  scale: `${USERS} users, ${DAYS} days, seed ${SEED}`,
});
