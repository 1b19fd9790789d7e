import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRelativeTime, parseRuleTests, runRuleTests } from './rule-test.js';
import { compileSigma } from './sigma/compile.js';

const RULES = `title: Three failures
id: three-failures
correlation:
  type: event_count
  rules: [fail]
  group-by: [user.id]
  timespan: 1m
  condition: {gte: 3}
---
title: Failure
name: fail
logsource: {product: vigil, service: authn_login_fail}
detection: {selection: {user.id|exists: true}, condition: selection}
`;

const create = () => compileSigma([{ source: 'rules.yml', text: RULES }]).evaluators;

function parse(text: string) {
  const { file, errors } = parseRuleTests(text, 'tests/rules.test.yaml');
  assert.deepEqual(errors, []);
  assert.ok(file);
  return file;
}

describe('rule tests', () => {
  it('reads relative times', () => {
    assert.equal(parseRelativeTime('+0s'), 0);
    assert.equal(parseRelativeTime('+1.5m'), 90_000);
    assert.equal(parseRelativeTime('+250ms'), 250);
    assert.equal(parseRelativeTime('30s'), undefined);
  });

  it('expands repeats with {i} and times from the base', () => {
    const file = parse(`base: 2026-03-14T09:00:00Z
cases:
  - name: r
    events:
      - repeat: 3
        every: 10s
        event: { time: +1s, type: authn_login_fail, user.id: "u{i}", client.as.number: "{i}" }
    expect: none
`);
    const events = file.cases[0]!.events;
    const base = Date.parse('2026-03-14T09:00:00Z');
    assert.deepEqual(
      events.map((e) => [e.time, e['user.id'], e['client.as.number']]),
      [
        [base + 1000, 'u1', 1],
        [base + 11_000, 'u2', 2],
        [base + 21_000, 'u3', 3],
      ],
    );
  });

  it('passes when the expected detection and nothing else fires, in time order', () => {
    const file = parse(`cases:
  - name: fires
    events:
      - { time: +20s, type: authn_login_fail, user.id: a }
      - { time: +0s, type: authn_login_fail, user.id: a }
      - { time: +10s, type: authn_login_fail, user.id: a }
    expect:
      - { rule: Three failures, labels: { user.id: a }, eventCount: 3 }
  - name: quiet
    events:
      - repeat: 2
        every: 1s
        event: { type: authn_login_fail, user.id: a }
    expect: none
`);
    const results = runRuleTests(file, create);
    assert.deepEqual(
      results.map((r) => [r.name, r.passed, r.failures]),
      [
        ['fires', true, []],
        ['quiet', true, []],
      ],
    );
    assert.deepEqual(results[0]!.detections[0]!.eventIds, ['case1-event2', 'case1-event3', 'case1-event1']);
  });

  it('fails on a missing, a mismatched or an unexpected detection', () => {
    const file = parse(`cases:
  - name: wrong count
    events:
      - repeat: 3
        every: 1s
        event: { type: authn_login_fail, user.id: a }
    expect:
      - { rule: three-failures, eventCount: 4 }
  - name: unexpected
    events:
      - repeat: 3
        every: 1s
        event: { type: authn_login_fail, user.id: a }
    expect: none
  - name: missing
    events:
      - { time: +0s, type: authn_login_fail, user.id: a }
    expect:
      - { rule: Three failures }
`);
    const results = runRuleTests(file, create);
    assert.deepEqual(
      results.map((r) => r.passed),
      [false, false, false],
    );
    assert.match(results[0]!.failures[0]!, /expected "three-failures" \(4 events\), got "Three failures"/);
    assert.match(results[1]!.failures[0]!, /unexpected detection "Three failures" \{user.id=a\} \(3 events\)/);
    assert.match(results[2]!.failures[0]!, /got no detection/);
  });

  it('ignores detections of rules out of scope', () => {
    const file = parse(`cases:
  - name: other rules only
    events:
      - repeat: 3
        every: 1s
        event: { type: authn_login_fail, user.id: a }
    expect: none
`);
    const [result] = runRuleTests(file, create, { inScope: (e) => e.id !== 'three-failures' });
    assert.equal(result!.passed, true);
  });

  it('reports invalid events as failures', () => {
    const file = parse(`cases:
  - name: bad
    events:
      - { time: +0s, type: not_a_type }
    expect: none
`);
    const [result] = runRuleTests(file, create);
    assert.equal(result!.passed, false);
    assert.match(result!.failures[0]!, /event 1 is invalid: type: unknown event type/);
  });

  it('reports malformed files and cases with their line', () => {
    const { errors } = parseRuleTests(
      `cases:
  - name: ok
    events: [{ time: +0s, type: authn_login_fail }]
    expect: none
  - name: broken
    events: [{ time: yesterday, type: authn_login_fail }]
    expect: [{ labels: {} }]
`,
      'bad.test.yaml',
    );
    assert.deepEqual(
      errors.map((e) => [e.source, e.line]),
      [
        ['bad.test.yaml', 5],
        ['bad.test.yaml', 5],
      ],
    );
    assert.match(errors[0]!.message, /time must be/);
    assert.match(errors[1]!.message, /needs `rule`/);
    const yaml = parseRuleTests('cases:\n  - name: [unclosed\n', 'y.test.yaml');
    assert.equal(yaml.file, undefined);
    assert.equal(yaml.errors[0]!.source, 'y.test.yaml');
    assert.match(yaml.errors[0]!.message, /^YAML:/);
  });
});
