import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FieldValue, SecurityEvent } from '@vigil/schema';
import { type Detection, SNAPSHOT_EVIDENCE_IDS } from '../types.js';
import { compileSigma, type SigmaCompileOptions } from './compile.js';
import { parseTimespan } from './correlation.js';

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const SECOND = 1000;
let sequence = 0;

function event(type: string, seconds: number, attributes: Record<string, FieldValue>): SecurityEvent {
  return { id: `${type}-${++sequence}`, time: T0 + seconds * SECOND, type, attributes };
}
const fail = (seconds: number, ip: string, user = 'alice') =>
  event('authn_login_fail', seconds, { 'client.address': ip, 'user.id': user });
const success = (seconds: number, ip: string, user = 'alice') =>
  event('authn_login_success', seconds, { 'client.address': ip, 'user.id': user });

const BASE_RULES = `
title: Failed login
name: failed_login
logsource: {product: vigil, service: authn_login_fail}
detection: {selection: {type: authn_login_fail}, condition: selection}
---
title: Successful login
name: successful_login
logsource: {product: vigil, service: authn_login_success}
detection: {selection: {type: authn_login_success}, condition: selection}
`;

function compile(correlation: string, options?: SigmaCompileOptions) {
  const result = compileSigma([{ source: 'corr.yml', text: `${correlation}\n---\n${BASE_RULES}` }], options);
  assert.deepEqual(result.errors, []);
  return result.evaluators;
}

/** The one top-level correlation of `correlation` (base rules it does not reference still compile beside it). */
function only(correlation: string, options?: SigmaCompileOptions) {
  const correlations = compile(correlation, options).filter((e) => e.kind === 'correlation');
  assert.equal(correlations.length, 1);
  return correlations[0]!;
}

function run(rule: { process(e: SecurityEvent): readonly Detection[] }, events: readonly SecurityEvent[]) {
  return events.map((e) => rule.process(e));
}

const BRUTE_FORCE = `
title: Login brute force
id: brute-force
level: high
tags: [attack.credential-access]
correlation:
    type: event_count
    rules: [failed_login]
    group-by: [c-ip]
    timespan: 1m
    condition: {gte: 3}
`;

describe("an event older than its group's window", () => {
  // After events at 100 s and 101 s, one from 30 s arrives (a sender's retry, later than the orderer waits): it lies
  // outside the minute that ends at 101 s and must not make three events "within 1m".
  it('is not counted by event_count', () => {
    const rule = only(BRUTE_FORCE);
    const out = run(rule, [fail(100, 'A'), fail(101, 'A'), fail(30, 'A')]);
    assert.deepEqual(
      out.map((d) => d.length),
      [0, 0, 0],
    );
    assert.equal(run(rule, [fail(102, 'A')])[0]!.length, 1, 'a third one inside the window still fires');
  });

  it('is not counted by value_count, and does not make a value look older', () => {
    const rule = only(`
title: Many addresses for one user
id: many-addresses
correlation:
    type: value_count
    rules: [failed_login]
    group-by: [user.id]
    timespan: 1m
    condition: {field: c-ip, gte: 3}
`);
    const out = run(rule, [fail(100, 'A'), fail(101, 'B'), fail(30, 'C'), fail(35, 'A')]);
    assert.deepEqual(
      out.map((d) => d.length),
      [0, 0, 0, 0],
    );
    assert.equal(run(rule, [fail(150, 'C')])[0]!.length, 1, 'A (100 s), B (101 s), C (150 s) within 1m');
  });
});

describe('event_count', () => {
  it('fires once the count is reached within the timespan, per group', () => {
    const rule = only(BRUTE_FORCE);
    const events = [fail(0, 'A'), fail(10, 'B'), fail(20, 'A'), fail(30, 'B'), fail(40, 'A')];
    const out = run(rule, events);
    assert.deepEqual(
      out.map((d) => d.length),
      [0, 0, 0, 0, 1],
    );
    const hit = out[4]![0]!;
    assert.equal(hit.ruleId, 'brute-force');
    assert.equal(hit.severity, 'high');
    assert.deepEqual(hit.tags, ['attack.credential-access']);
    assert.deepEqual(hit.groupLabels, { 'client.address': 'A' });
    assert.deepEqual(hit.eventIds, [events[0]!.id, events[2]!.id, events[4]!.id]);
    assert.equal(hit.firstTime, T0);
    assert.equal(hit.lastTime, T0 + 40 * SECOND);
    assert.equal(hit.eventCount, 3);
    assert.equal(hit.summary, 'Login brute force: 3 events within 1m for client.address=A');
  });

  it('slides the window in event time', () => {
    const rule = only(BRUTE_FORCE);
    // 0, 50, 100: never three within a minute. 110: 50, 100, 110 are.
    const out = run(rule, [fail(0, 'A'), fail(50, 'A'), fail(100, 'A'), fail(110, 'A')]);
    assert.deepEqual(
      out.map((d) => d.length),
      [0, 0, 0, 1],
    );
    assert.equal(out[3]![0]!.firstTime, T0 + 50 * SECOND);
  });

  it('counts an event exactly at the window edge', () => {
    const rule = only(BRUTE_FORCE);
    const out = run(rule, [fail(0, 'A'), fail(30, 'A'), fail(60, 'A')]);
    assert.equal(out[2]!.length, 1);
  });

  it('does not fire again for a group until its window has drained', () => {
    const rule = only(BRUTE_FORCE);
    const out = run(rule, [
      fail(0, 'A'),
      fail(1, 'A'),
      fail(2, 'A'), // fires
      fail(3, 'A'),
      fail(30, 'A'),
      fail(62, 'A'), // still within a minute of the firing: quiet
      fail(63, 'A'), // window drained since 2 s: 3, 30, 62, 63 in window → fires again
    ]);
    assert.deepEqual(
      out.map((d) => d.length),
      [0, 0, 1, 0, 0, 0, 1],
    );
  });

  it('ignores events the referenced rule does not match', () => {
    const rule = only(BRUTE_FORCE);
    const out = run(rule, [fail(0, 'A'), success(1, 'A'), success(2, 'A'), fail(3, 'A')]);
    assert.ok(out.every((d) => d.length === 0));
  });

  it('caps evidence ids, keeping the newest oldest first', () => {
    const rule = only(BRUTE_FORCE.replace('gte: 3', 'gte: 8'), { maxEvidenceIds: 5 });
    const events = Array.from({ length: 8 }, (_, i) => fail(i, 'A'));
    const hit = run(rule, events)[7]![0]!;
    assert.deepEqual(
      hit.eventIds,
      events.slice(3).map((e) => e.id),
    );
    assert.equal(hit.eventCount, 8);
    assert.equal(hit.firstTime, T0);
  });

  it('a snapshot keeps every time but only the newest ids, and a restored rule counts and reports the same', () => {
    const source = BRUTE_FORCE.replace('gte: 3', 'gte: 8');
    const before = only(source, { maxEvidenceIds: 5 });
    const events = Array.from({ length: 8 }, (_, i) => fail(i, 'A'));
    run(before, events.slice(0, 7));
    const state = JSON.parse(JSON.stringify(before.snapshot!())) as {
      core: { encoding: number; groups: { evidence: [number[], string[]] }[] };
    };
    assert.equal(state.core.encoding, 2);
    const [times, ids] = state.core.groups[0]!.evidence;
    assert.deepEqual(times, [T0, ...Array(6).fill(SECOND)], 'first time, then differences');
    assert.equal(ids.length, 5);
    const after = only(source, { maxEvidenceIds: 5 });
    after.restore!(state);
    const hit = run(after, [events[7]!])[0]![0]!;
    assert.equal(hit.eventCount, 8);
    assert.equal(hit.firstTime, T0);
    assert.deepEqual(
      hit.eventIds,
      events.slice(3).map((e) => e.id),
    );
  });

  it('a snapshot keeps at most SNAPSHOT_EVIDENCE_IDS ids; after a restore, a detection lists those and the new ones', () => {
    const source = BRUTE_FORCE.replace('gte: 3', 'gte: 30');
    const before = only(source, { maxEvidenceIds: 50 });
    const events = Array.from({ length: 30 }, (_, i) => fail(i, 'C'));
    run(before, events.slice(0, 29));
    const state = JSON.parse(JSON.stringify(before.snapshot!())) as { core: { groups: { evidence: unknown[][] }[] } };
    assert.equal(state.core.groups[0]!.evidence[1]!.length, SNAPSHOT_EVIDENCE_IDS);
    const after = only(source, { maxEvidenceIds: 50 });
    after.restore!(state);
    const hit = run(after, [events[29]!])[0]![0]!;
    assert.equal(hit.eventCount, 30);
    assert.deepEqual(
      hit.eventIds,
      events.slice(29 - SNAPSHOT_EVIDENCE_IDS).map((e) => e.id),
    );
  });

  it('restores a snapshot written with absolute times and every id', () => {
    const source = BRUTE_FORCE.replace('gte: 3', 'gte: 4');
    const rule = only(source);
    const events = Array.from({ length: 4 }, (_, i) => fail(i, 'B'));
    const old = {
      counters: { evictedGroups: 0, expiredGroups: 0 },
      core: {
        sequence: 3,
        watermark: events[2]!.time,
        groups: [
          {
            key: 'B',
            labels: { 'client.address': 'B' },
            lastTime: events[2]!.time,
            suppressedUntil: null,
            lastSequence: 3,
            metSequence: -1,
            measure: 3,
            evidence: [events.slice(0, 3).map((e) => e.time), events.slice(0, 3).map((e) => e.id)],
          },
        ],
        children: [],
      },
    };
    rule.restore!(old);
    const hit = run(rule, [events[3]!])[0]![0]!;
    assert.equal(hit.eventCount, 4);
    assert.deepEqual(
      hit.eventIds,
      events.map((e) => e.id),
    );
  });

  it('combines lower bounds', () => {
    const range = only(BRUTE_FORCE.replace('{gte: 3}', '{gt: 1, gte: 3}'));
    assert.deepEqual(
      run(range, [fail(0, 'A'), fail(1, 'A'), fail(2, 'A')]).map((d) => d.length),
      [0, 0, 1],
    );
  });

  it('refuses lt, lte and eq, which a later event of the same window could break', () => {
    // Decided on arrival, `eq: 2` fired on the second of three failures within the minute, and `lt: 3` on the first
    // event of every group: the spec counts over the timespan, where neither holds.
    for (const condition of ['{eq: 2}', '{lt: 3}', '{gt: 1, lte: 2}']) {
      const { errors, evaluators } = compileSigma([
        { source: 'corr.yml', text: `${BRUTE_FORCE.replace('{gte: 3}', condition)}\n---\n${BASE_RULES}` },
      ]);
      assert.equal(errors.length, 1, condition);
      assert.equal(errors[0]!.code, 'unsupported_correlation');
      assert.match(errors[0]!.message, /^`(eq|lt|lte)` is not supported: .*use gt or gte$/);
      assert.ok(!evaluators.some((e) => e.kind === 'correlation'));
    }
  });
});

describe('value_count', () => {
  const SPRAY = `
title: Password spraying
correlation:
    type: value_count
    rules: [failed_login]
    group-by: [c-ip]
    timespan: 5m
    condition:
        field: cs-username
        gte: 3
vigil:
    summary: '{c-ip} tried {count} accounts'
`;

  it("tells long values apart by a digest: what a group holds does not grow with the values' length", () => {
    const rule = only(SPRAY);
    const long = (n: number) => `${'x'.repeat(8000)}${n}`;
    const out = run(rule, [fail(0, 'A', long(1)), fail(1, 'A', long(1)), fail(2, 'A', long(2)), fail(3, 'A', long(3))]);
    assert.deepEqual(
      out.map((d) => d.length),
      [0, 0, 0, 1],
    );
    // Three values of 8 KB each: kept whole they would make the state 24 KB.
    assert.ok(JSON.stringify(rule.snapshot!()).length < 2000);
  });

  it('counts distinct values of the field per group', () => {
    const rule = only(SPRAY);
    const out = run(rule, [
      fail(0, 'A', 'u1'),
      fail(1, 'A', 'u1'),
      fail(2, 'A', 'u2'),
      fail(3, 'B', 'u3'),
      fail(4, 'A', 'u2'),
      fail(5, 'A', 'u3'),
    ]);
    assert.deepEqual(
      out.map((d) => d.length),
      [0, 0, 0, 0, 0, 1],
    );
    const hit = out[5]![0]!;
    assert.equal(hit.summary, 'A tried 3 accounts');
    assert.deepEqual(hit.groupLabels, { 'client.address': 'A' });
    assert.equal(hit.eventCount, 5);
  });

  it('forgets values that left the window', () => {
    const rule = only(SPRAY);
    const out = run(rule, [fail(0, 'A', 'u1'), fail(200, 'A', 'u2'), fail(400, 'A', 'u3'), fail(410, 'A', 'u1')]);
    // At 400 s, u1 (0 s) is older than 5 minutes; at 410 s it is back.
    assert.deepEqual(
      out.map((d) => d.length),
      [0, 0, 0, 1],
    );
  });

  it('skips events without the field', () => {
    const rule = only(SPRAY);
    const anonymous = (s: number) => event('authn_login_fail', s, { 'client.address': 'A' });
    const out = run(rule, [anonymous(0), anonymous(1), anonymous(2), fail(3, 'A', 'u1')]);
    assert.ok(out.every((d) => d.length === 0));
  });
});

describe('temporal and temporal_ordered', () => {
  const temporal = (type: string) => `
title: Fail and success
correlation:
    type: ${type}
    rules: [failed_login, successful_login]
    group-by: [user.id]
    timespan: 1m
`;

  it('accepts an upper bound no count of rules can break, and refuses one below the number of rules', () => {
    const all = only(`${temporal('temporal')}    condition: {eq: 2}\n`);
    assert.deepEqual(
      run(all, [success(0, 'A', 'bob'), fail(10, 'B', 'bob')]).map((d) => d.length),
      [0, 1],
    );
    only(`${temporal('temporal_ordered')}    condition: {gte: 1, lte: 2}\n`);
    const { errors } = compileSigma([
      { source: 'corr.yml', text: `${temporal('temporal')}    condition: {lt: 2}\n---\n${BASE_RULES}` },
    ]);
    assert.deepEqual(
      errors.map((e) => e.code),
      ['unsupported_correlation'],
    );
  });

  it('refuses a rule listed twice, by the same handle or by its id and its name', () => {
    // temporal over [failed_login, failed_login] was met by a single failed sign-in.
    for (const rules of ['[failed_login, failed_login]', '[failed_login, failed-login-id]']) {
      const { errors } = compileSigma([
        {
          source: 'corr.yml',
          text: `${temporal('temporal').replace('[failed_login, successful_login]', rules)}\n---\n${BASE_RULES.replace(
            'name: failed_login',
            'name: failed_login\nid: failed-login-id',
          )}`,
        },
      ]);
      assert.deepEqual(
        errors.map((e) => [e.code, e.line]),
        [['invalid_correlation', 5]],
        rules,
      );
      assert.match(errors[0]!.message, /names a rule already listed/);
    }
  });

  it('temporal: all rules within the timespan, any order', () => {
    const rule = only(temporal('temporal'));
    const out = run(rule, [success(0, 'A', 'bob'), fail(10, 'B', 'alice'), fail(20, 'C', 'bob')]);
    assert.deepEqual(
      out.map((d) => d.length),
      [0, 0, 1],
    );
    assert.deepEqual(out[2]![0]!.groupLabels, { 'user.id': 'bob' });
    assert.equal(out[2]![0]!.summary, 'Fail and success: 2 of 2 rules matched within 1m for user.id=bob');
  });

  it('temporal: not when the rules match too far apart', () => {
    const rule = only(temporal('temporal'));
    const out = run(rule, [success(0, 'A', 'bob'), fail(61, 'A', 'bob')]);
    assert.ok(out.every((d) => d.length === 0));
  });

  it('temporal_ordered: only in the given order', () => {
    const rule = only(temporal('temporal_ordered'));
    assert.deepEqual(
      run(rule, [success(0, 'A', 'bob'), fail(10, 'A', 'bob')]).map((d) => d.length),
      [0, 0],
    );
    assert.deepEqual(
      run(rule, [fail(20, 'A', 'bob'), success(30, 'A', 'bob')]).map((d) => d.length),
      [0, 1],
    );
  });

  it('temporal_ordered: the whole sequence must fit in the timespan', () => {
    const rule = only(temporal('temporal_ordered'));
    assert.deepEqual(
      run(rule, [
        fail(0, 'A', 'carol'),
        success(61, 'A', 'carol'),
        fail(70, 'A', 'carol'),
        success(80, 'A', 'carol'),
      ]).map((d) => d.length),
      [0, 0, 0, 1],
    );
  });

  it('chains correlations: many failures followed by a success (spec example)', () => {
    const rule = only(`
title: Brute force followed by success
id: bf-success
level: critical
correlation:
    type: temporal_ordered
    rules: [many_failed_logins, successful_login]
    group-by: [user.id]
    timespan: 10m
---
title: Many failed logins
name: many_failed_logins
correlation:
    type: event_count
    rules: [failed_login]
    group-by: [user.id]
    timespan: 10m
    condition: {gte: 3}
`);
    const out = run(rule, [
      success(0, 'A', 'dave'),
      fail(10, 'A', 'dave'),
      fail(20, 'A', 'dave'),
      success(25, 'A', 'dave'), // only two failures so far
      fail(30, 'A', 'dave'),
      success(40, 'A', 'dave'),
    ]);
    assert.deepEqual(
      out.map((d) => d.length),
      [0, 0, 0, 0, 0, 1],
    );
    const hit = out[5]![0]!;
    assert.equal(hit.ruleId, 'bf-success');
    assert.equal(hit.severity, 'critical');
    assert.deepEqual(hit.groupLabels, { 'user.id': 'dave' });
  });

  it('groups across rules through aliases', () => {
    const evaluators = compileSigma([
      {
        source: 'alias.yml',
        text: `title: Failures then admin change of the same account
correlation:
    type: temporal_ordered
    rules: [failed_login, admin_change]
    group-by: [account]
    timespan: 5m
    aliases:
        account:
            failed_login: user.id
            admin_change: vigil.target.user.id
---
title: Admin changes a user
name: admin_change
logsource: {category: webserver}
detection: {selection: {cs-method: PUT, cs-uri-stem|startswith: /admin/users/}, condition: selection}
---
${BASE_RULES}`,
      },
    ]);
    assert.deepEqual(evaluators.errors, []);
    const [rule] = evaluators.evaluators;
    const change = (s: number, target: string) =>
      event('http_request', s, {
        'http.request.method': 'PUT',
        'url.path': `/admin/users/${target}`,
        'user.id': 'admin',
        'vigil.target.user.id': target,
      });
    const out = run(rule!, [fail(0, 'A', 'erin'), change(10, 'frank'), change(20, 'erin')]);
    assert.deepEqual(
      out.map((d) => d.length),
      [0, 0, 1],
    );
    assert.deepEqual(out[2]![0]!.groupLabels, { account: 'erin' });
  });
});

describe('group-by fields missing from an event', () => {
  // Spec: the group-by fields of the correlated events "must all have the same value". An event without one has no
  // value to share, so it joins no group; it must not be counted with every other event that lacks it.
  const failNoUser = (seconds: number, ip: string) => event('authn_login_fail', seconds, { 'client.address': ip });

  it('leaves the event out of event_count', () => {
    const rule = only(BRUTE_FORCE.replace('[c-ip]', '[user.id]'));
    assert.deepEqual(
      run(rule, [failNoUser(0, 'A'), failNoUser(1, 'B'), failNoUser(2, 'C'), failNoUser(3, 'D')]).flat(),
      [],
    );
    assert.equal(rule.stateSize(), 0);
  });

  it('leaves the event out when any one of several group-by fields is missing', () => {
    const rule = only(BRUTE_FORCE.replace('[c-ip]', '[c-ip, user.id]'));
    const out = run(rule, [failNoUser(0, 'A'), failNoUser(1, 'A'), failNoUser(2, 'A'), fail(3, 'A'), fail(4, 'A')]);
    assert.deepEqual(
      out.map((d) => d.length),
      [0, 0, 0, 0, 0],
    );
    assert.equal(run(rule, [fail(5, 'A')])[0]!.length, 1, 'three events with both fields still fire');
  });

  it('leaves the event out of value_count and temporal_ordered', () => {
    const spray = only(`
title: Password spraying
correlation: {type: value_count, rules: [failed_login], group-by: [c-ip], timespan: 5m, condition: {field: user.id, gte: 3}}
`);
    const noAddress = (seconds: number, user: string) => event('authn_login_fail', seconds, { 'user.id': user });
    assert.deepEqual(run(spray, [noAddress(0, 'a'), noAddress(1, 'b'), noAddress(2, 'c')]).flat(), []);
    const sequence = only(`
title: Failure then success
correlation: {type: temporal_ordered, rules: [failed_login, successful_login], group-by: [user.id], timespan: 5m}
`);
    const successNoUser = event('authn_login_success', 2, { 'client.address': 'A' });
    assert.deepEqual(run(sequence, [failNoUser(0, 'A'), successNoUser]).flat(), []);
  });

  it('refuses an alias in group-by that gives no field for one of the rules', () => {
    const { errors } = compileSigma([
      {
        source: 'alias.yml',
        text: `title: Failure then success of one account
correlation:
    type: temporal_ordered
    rules: [failed_login, successful_login]
    group-by: [account]
    timespan: 5m
    aliases:
        account:
            failed_login: user.id
---
${BASE_RULES}`,
      },
    ]);
    assert.deepEqual(
      errors.map((e) => [e.code, e.line]),
      [['invalid_correlation', 8]],
    );
    assert.match(errors[0]!.message, /alias `account` gives no field for `successful_login`/);
  });

  it('drops a restored group that was keyed by a missing field', () => {
    const rule = only(BRUTE_FORCE);
    run(rule, [fail(0, 'A'), fail(1, 'A')]);
    const state = JSON.parse(JSON.stringify(rule.snapshot!())) as { core: { groups: { key: string }[] } };
    state.core.groups[0]!.key = '\u0000';
    const restored = only(BRUTE_FORCE);
    restored.restore!(state);
    assert.equal(restored.stateSize(), 0);
  });
});

describe('the correlation section', () => {
  it('refuses keys it does not know instead of ignoring them', () => {
    // Ignored, `group_by` would count every failure together, whoever it came from.
    const { errors, evaluators } = compileSigma([
      { source: 'corr.yml', text: `${BRUTE_FORCE.replace('group-by:', 'group_by:')}\n---\n${BASE_RULES}` },
    ]);
    assert.deepEqual(
      errors.map((e) => [e.code, e.line]),
      [['invalid_correlation', 9]],
    );
    assert.match(errors[0]!.message, /unknown key `group_by` in `correlation` \(did you mean `group-by`\?\)/);
    assert.deepEqual(
      evaluators.map((e) => e.title),
      ['Failed login', 'Successful login'],
    );
    const timeframe = compileSigma([
      { source: 'corr.yml', text: `${BRUTE_FORCE}    timeframe: 5m\n---\n${BASE_RULES}` },
    ]).errors.map((e) => e.message);
    assert.equal(timeframe.length, 1);
    assert.match(timeframe[0]!, /unknown key `timeframe` in `correlation` \(did you mean `timespan`\?\)/);
  });
});

describe('generate', () => {
  it('keeps referenced rules quiet by default and lets generate: true emit them too', () => {
    // successful_login is not referenced, so it runs as a rule of its own; failed_login is not.
    assert.deepEqual(
      compile(BRUTE_FORCE).map((e) => e.title),
      ['Login brute force', 'Successful login'],
    );
    assert.deepEqual(
      compile(`${BRUTE_FORCE}generate: true\n`).map((e) => e.title),
      ['Login brute force', 'Failed login', 'Successful login'],
    );
  });

  it('reads generate inside the correlation section too, where pySigma reads it', () => {
    assert.deepEqual(
      compile(`${BRUTE_FORCE}    generate: true\n`).map((e) => e.title),
      ['Login brute force', 'Failed login', 'Successful login'],
    );
    const { errors } = compileSigma([
      { source: 'corr.yml', text: `${BRUTE_FORCE}    generate: true\ngenerate: false\n---\n${BASE_RULES}` },
    ]);
    assert.deepEqual(
      errors.map((e) => e.message),
      ['`generate` is given twice, with different values: keep one'],
    );
  });
});

describe('bounded state', () => {
  it('evicts the least recently active group beyond maxGroupKeys and counts it', () => {
    const rule = only(BRUTE_FORCE, { maxGroupKeys: 2 });
    const out = run(rule, [
      fail(0, 'A'),
      fail(1, 'A'),
      fail(2, 'B'),
      fail(3, 'C'), // A is evicted
      fail(4, 'A'), // A starts over: 1 event
      fail(5, 'A'),
    ]);
    assert.ok(out.every((d) => d.length === 0));
    assert.equal(rule.counters().evictedGroups, 2);
    assert.ok(rule.stateSize() <= 2);
  });

  it('keeps a group that stays active across many windows, and still drops the ones that drained', () => {
    const rule = only(BRUTE_FORCE);
    const events: SecurityEvent[] = [];
    // A fails every 31 s for ten minutes: never three within a minute, so never a detection; B fails once early.
    events.push(fail(1, 'B'));
    for (let t = 0; t < 600; t += 31) events.push(fail(t, 'A'));
    events.sort((a, b) => a.time - b.time);
    const out = run(rule, events).flat();
    assert.deepEqual(out, []);
    assert.equal(rule.stateSize(), 1);
    assert.deepEqual(rule.counters(), { evictedGroups: 0, expiredGroups: 1 });
    // Then A speeds up: the count within the window is right although A was re-queued many times.
    const burst = run(rule, [fail(600, 'A')]).flat();
    assert.equal(burst.length, 1);
    assert.equal(burst[0]!.eventCount, 3);
  });

  it('drops groups whose window drained, without counting them as evictions', () => {
    const rule = only(BRUTE_FORCE);
    run(rule, [fail(0, 'A'), fail(1, 'B'), fail(2, 'C')]);
    assert.equal(rule.stateSize(), 3);
    run(rule, [fail(200, 'D'), fail(201, 'D')]);
    assert.equal(rule.stateSize(), 1);
    assert.deepEqual(rule.counters(), { evictedGroups: 0, expiredGroups: 3 });
  });

  it('counts nested correlation state in stateSize', () => {
    const rule = only(`
title: Chain
correlation:
    type: temporal_ordered
    rules: [many, successful_login]
    group-by: [user.id]
    timespan: 10m
---
title: Many
name: many
correlation: {type: event_count, rules: [failed_login], group-by: [c-ip], timespan: 10m, condition: {gte: 2}}
`);
    run(rule, [fail(0, 'A', 'x'), fail(1, 'B', 'y')]);
    // Two groups in the inner event_count; the outer has seen no signal yet.
    assert.equal(rule.stateSize(), 2);
  });
});

describe('determinism', () => {
  it('gives the same detections when the same events are replayed', () => {
    // A pseudo-random but fixed stream: a linear congruential generator with a constant seed.
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const ips = ['A', 'B', 'C', 'D'];
    const users = ['u1', 'u2', 'u3', 'u4', 'u5'];
    let seconds = 0;
    const stream = Array.from({ length: 2000 }, () => {
      seconds += Math.floor(random() * 20);
      const ip = ips[Math.floor(random() * ips.length)]!;
      const user = users[Math.floor(random() * users.length)]!;
      return random() < 0.8 ? fail(seconds, ip, user) : success(seconds, ip, user);
    });
    const rules = `${BRUTE_FORCE}
---
title: Spray
correlation: {type: value_count, rules: [failed_login], group-by: [c-ip], timespan: 5m, condition: {field: user.id, gte: 4}}
---
title: Ordered
correlation: {type: temporal_ordered, rules: [failed_login, successful_login], group-by: [user.id], timespan: 2m}
`;
    const replay = () => {
      const evaluators = compile(rules, { maxGroupKeys: 3 });
      return stream.flatMap((e) => evaluators.flatMap((rule) => rule.process(e)));
    };
    const first = replay();
    assert.ok(first.length > 10, `the stream should produce detections (got ${first.length})`);
    assert.deepEqual(replay(), first);
  });
});

describe('parseTimespan', () => {
  it('reads s, m, h and d', () => {
    assert.equal(parseTimespan('30s'), 30_000);
    assert.equal(parseTimespan('90m'), 5_400_000);
    assert.equal(parseTimespan('2h'), 7_200_000);
    assert.equal(parseTimespan('1d'), 86_400_000);
    for (const bad of ['1w', '1H', '10', 'm', '0s', 5]) assert.equal(parseTimespan(bad), undefined, String(bad));
  });
});
