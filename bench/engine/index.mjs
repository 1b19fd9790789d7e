// Detection engine throughput and memory. Throughput: events per second through the engine with the whole
// built-in rule pack loaded, next to the same events through an engine with no rules (same run), on one core.
// Each throughput figure is the median of five runs. Memory: heap held by one correlation tracking 1 million distinct group keys (client.address), measured after
// global.gc() before and after, per key. Run with `npm run bench -- engine` (node --expose-gc).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtinRulesDir, compileSigma, Engine } from '../../packages/engine/dist/index.js';
import { figure, ratio, report } from '../lib.mjs';

const EVENTS = Number(process.env.BENCH_ENGINE_EVENTS ?? 300_000);
const KEYS = Number(process.env.BENCH_ENGINE_KEYS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_ENGINE_RUNS ?? 5);
const BASE_TIME = Date.parse('2026-03-14T09:00:00Z');

function packSources() {
  const dir = builtinRulesDir();
  return readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => ({ source: join(dir, name), text: readFileSync(join(dir, name), 'utf8') }));
}

/** A traffic mix: mostly ordinary requests, some 404s and errors, sign-ins, authorization and token events. */
function makeEvents(count) {
  const routes = ['/v1/orders/:id', '/v1/invoices/:id', '/v1/search', '/v1/login', '/v1/admin/users/:id'];
  const events = new Array(count);
  for (let n = 0; n < count; n++) {
    const address = `198.51.${(n >> 3) & 255}.${n & 255}`;
    const user = `user-${n % 20_000}`;
    const time = BASE_TIME + n * 2; // 500 events per second of event time
    const id = `e${n}`;
    const pick = n % 100;
    let type = 'http_request';
    const attributes = {
      'client.address': address,
      'vigil.client.prefix': address,
      'client.as.number': 64_500 + (n % 50),
      'client.geo.country_iso_code': n % 3 === 0 ? 'DE' : 'NL',
      'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) bench',
      'vigil.user_agent.category': 'browser',
    };
    if (pick < 80) {
      const route = routes[n % routes.length];
      attributes['http.request.method'] = 'GET';
      attributes['http.route'] = route;
      attributes['url.path'] = route.replace(':id', String(n % 5000));
      attributes['http.response.status_code'] = pick < 70 ? 200 : pick < 75 ? 404 : pick < 78 ? 403 : 500;
      attributes['user.id'] = user;
      attributes['user.roles'] = ['customer'];
      if (pick === 79) attributes['vigil.payload.classes'] = ['sqli'];
    } else if (pick < 90) {
      type = 'authn_login_fail';
      attributes['user.id'] = user;
    } else if (pick < 94) {
      type = 'authn_login_success';
      attributes['user.id'] = user;
    } else if (pick < 97) {
      type = 'authz_fail';
      attributes['user.id'] = user;
      attributes['vigil.object.id'] = `obj-${n % 1000}`;
    } else {
      type = 'input_validation_fail';
      attributes['user.id'] = user;
      attributes['vigil.input.name'] = 'email';
    }
    events[n] = { id, time, type, attributes };
  }
  return events;
}

function throughput(engine, events) {
  let detections = 0;
  const started = performance.now();
  for (const event of events) detections += engine.process(event).length;
  return { seconds: (performance.now() - started) / 1000, detections };
}

/** The median of the runs: the machines these run on are shared, and one run can land on a busy moment. */
function median(runs) {
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  return sorted[Math.floor(sorted.length / 2)];
}

function measureThroughput() {
  const sources = packSources();
  const events = makeEvents(EVENTS);
  const compiled = () => {
    const { evaluators, errors } = compileSigma(sources);
    if (errors.length > 0) throw new Error(`rule pack does not compile: ${errors[0].source}:${errors[0].line}`);
    return evaluators;
  };
  // Warm-up on a slice, with fresh state, so the measured runs see optimised code.
  throughput(new Engine(compiled()), events.slice(0, 50_000));
  throughput(new Engine([]), events.slice(0, 50_000));
  const emptyRuns = [];
  const packRuns = [];
  let ruleCount = 0;
  // Alternate the two so that a slow spell of the machine hits both alike; each pack run starts with empty state.
  for (let run = 0; run < RUNS; run++) {
    emptyRuns.push(throughput(new Engine([]), events));
    const packEvaluators = compiled();
    ruleCount = packEvaluators.length;
    packRuns.push(throughput(new Engine(packEvaluators), events));
  }
  return { empty: median(emptyRuns), pack: median(packRuns), ruleCount, fileCount: sources.length };
}

function heapUsed() {
  global.gc();
  global.gc();
  return process.memoryUsage().heapUsed;
}

function measureMemory() {
  const { evaluators, errors } = compileSigma(
    [
      {
        source: 'bench-memory.yml',
        text: `title: Many failures from one address
id: bench-memory
correlation:
  type: event_count
  rules: [bench_fail]
  group-by: [client.address]
  timespan: 1d
  condition: {gte: 5}
---
title: Failure
name: bench_fail
logsource: {product: vigil, service: authn_login_fail}
detection: {selection: {client.address|exists: true}, condition: selection}
`,
      },
    ],
    { maxGroupKeys: KEYS * 2 },
  );
  if (errors.length > 0) throw new Error(errors[0].message);
  const [rule] = evaluators;
  const before = heapUsed();
  for (let n = 0; n < KEYS; n++) {
    // One event per distinct address; the events themselves are not kept, only the rule's state.
    const address = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
    rule.process({
      id: `e${n}`,
      time: BASE_TIME + n,
      type: 'authn_login_fail',
      attributes: { 'client.address': address },
    });
  }
  const after = heapUsed();
  const keys = rule.stateSize();
  if (keys !== KEYS) throw new Error(`expected ${KEYS} keys held, got ${keys}`);
  return { bytes: after - before, keys };
}

if (typeof global.gc !== 'function') {
  console.error('run with node --expose-gc (npm run bench -- engine does)');
  process.exit(2);
}
const t = measureThroughput();
const packRate = figure('engine_pack_events_per_s', EVENTS / t.pack.seconds, 'events/s');
const emptyRate = figure('engine_no_rules_events_per_s', EVENTS / t.empty.seconds, 'events/s');
const m = measureMemory();
const perKey = figure('correlation_state_bytes_per_key', m.bytes / m.keys, 'bytes');
await report(
  'engine',
  [
    packRate,
    emptyRate,
    ratio('pack_to_no_rules_ratio', packRate, emptyRate),
    figure('correlation_state_heap_bytes', m.bytes, 'bytes'),
    perKey,
  ],
  {
    events: EVENTS,
    ruleFiles: t.fileCount,
    evaluators: t.ruleCount,
    detectionsWithPack: t.pack.detections,
    trackedKeys: m.keys,
    goals: { engine_pack_events_per_s: '>= 100000 per core', correlation_state_bytes_per_key: '<= 300' },
  },
);
