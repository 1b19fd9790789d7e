import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SecurityEvent } from '@vigil/schema';
import { bruteForceRule } from './builtin.js';
import { Engine } from './engine.js';
import { compileSigma } from './sigma/compile.js';

const RULES = `
title: Login failures
name: login_fail
logsource: { product: vigil, service: authn_login_fail }
detection:
  sel: { type: authn_login_fail }
  condition: sel
---
title: Many accounts from one source
id: 6b1d2a50-0000-4000-8000-000000000001
correlation:
  type: value_count
  rules: [login_fail]
  group-by: [client.address]
  timespan: 10m
  condition: { field: user.id, gte: 4 }
---
title: Failures then success
id: 6b1d2a50-0000-4000-8000-000000000002
correlation:
  type: event_count
  rules: [login_fail]
  group-by: [user.id]
  timespan: 5m
  condition: { gte: 3 }
`;

const T0 = Date.UTC(2026, 10, 2, 10, 0, 0);
const events: SecurityEvent[] = Array.from({ length: 40 }, (_, i) => ({
  id: `e${i}`,
  time: T0 + i * 5000,
  type: 'authn_login_fail',
  attributes: { 'client.address': `192.0.2.${i % 3}`, 'user.id': `u${i % 5}` },
}));

function engine(text = RULES): Engine {
  const { evaluators, errors } = compileSigma([{ text, source: 'test.yml' }]);
  assert.deepEqual(errors, []);
  return new Engine([bruteForceRule({ threshold: 5, windowMillis: 60_000 }), ...evaluators]);
}

const run = (e: Engine, list: SecurityEvent[]) => list.flatMap((ev) => e.process(ev)).map((d) => JSON.stringify(d));

test('a snapshot taken mid-stream and restored into new rule instances gives the same detections after', () => {
  const whole = run(engine(), events);
  const first = engine();
  const before = run(first, events.slice(0, 17));
  const snapshot = JSON.parse(JSON.stringify(first.snapshot()));
  const second = engine();
  const { restored, skipped } = second.restore(snapshot);
  assert.equal(restored.length, 3);
  assert.deepEqual(skipped, []);
  const after = run(second, events.slice(17));
  assert.deepEqual([...before, ...after], whole);
  assert.ok(whole.length > 3, 'the stream does produce detections');
});

test('hot reload keeps the state of unchanged rules and resets changed ones', () => {
  const live = engine();
  run(live, events.slice(0, 10));
  const changed = RULES.replace('gte: 3', 'gte: 30');
  const { evaluators } = compileSigma([{ text: changed, source: 'test.yml' }]);
  const result = live.replaceRules([live.rules[0]!, ...evaluators]);
  assert.ok(result.kept.includes('6b1d2a50-0000-4000-8000-000000000001'));
  assert.ok(result.added.includes('6b1d2a50-0000-4000-8000-000000000002'));
  assert.equal(live.rules.find((r) => r.id === '6b1d2a50-0000-4000-8000-000000000001')!.stateSize() > 0, true);
  assert.equal(live.rules.find((r) => r.id === '6b1d2a50-0000-4000-8000-000000000002')!.stateSize(), 0);
});

test('a snapshot is not restored into a rule whose definition changed', () => {
  const first = engine();
  run(first, events.slice(0, 10));
  const second = engine(RULES.replace('timespan: 5m', 'timespan: 6m'));
  const { skipped } = second.restore(first.snapshot());
  assert.deepEqual(skipped, ['6b1d2a50-0000-4000-8000-000000000002']);
});

test('a rule whose saved state cannot be read is reported, and the rules after it are restored all the same', () => {
  const first = engine();
  run(first, events.slice(0, 17));
  const snapshot = JSON.parse(JSON.stringify(first.snapshot())) as {
    format: 1;
    rules: Record<string, { version: string; state: unknown }>;
  };
  // The brute-force rule comes first; its state is of a shape it cannot read (another release's).
  const bruteId = first.rules[0]!.id;
  snapshot.rules[bruteId] = { ...snapshot.rules[bruteId]!, state: { groups: 'not a list' } };
  const second = engine();
  const { restored, failed } = second.restore(snapshot);
  assert.deepEqual(
    failed.map((f) => f.id),
    [bruteId],
  );
  assert.deepEqual(restored.sort(), ['6b1d2a50-0000-4000-8000-000000000001', '6b1d2a50-0000-4000-8000-000000000002']);
});
