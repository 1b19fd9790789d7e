import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SecurityEvent } from '@vigil/schema';
import { bruteForceRule } from './builtin.js';
import { ThresholdRule } from './threshold.js';

const T0 = Date.UTC(2026, 10, 2, 10, 0, 0);
let seq = 0;
const fail = (offsetMillis: number, address: string, user?: string): SecurityEvent => ({
  id: `e${++seq}`,
  time: T0 + offsetMillis,
  type: 'authn_login_fail',
  attributes: { 'client.address': address, ...(user ? { 'user.id': user } : {}) },
});

/** Three failed logins per address within a minute; `maxKeys` groups at most when given. */
const perAddress = (maxKeys?: number) =>
  new ThresholdRule({
    id: 'r',
    title: 'r',
    severity: 'low',
    eventTypes: ['authn_login_fail'],
    groupBy: [['client.address']],
    threshold: 3,
    windowMillis: 60_000,
    summary: '{count}',
    ...(maxKeys !== undefined ? { maxKeys } : {}),
  });

describe('brute-force threshold rule', () => {
  test('fires once at the fifth failure within a minute, then updates the same incident', () => {
    const rule = bruteForceRule({ threshold: 5, windowMillis: 60_000 });
    const out = [0, 10, 20, 30].flatMap((s, i) => rule.process(fail(s * 1000, '192.0.2.1', `u${i}`)));
    assert.equal(out.length, 0);
    const [d] = rule.process(fail(40_000, '192.0.2.1', 'u4'));
    assert.deepEqual(d!.groupLabels, { 'client.address': '192.0.2.1' });
    assert.equal(d!.eventCount, 5);
    assert.equal(d!.firstTime, T0);
    assert.equal(d!.lastTime, T0 + 40_000);
    assert.equal(d!.summary, '5 failed logins from 192.0.2.1 within 1 min');
    const [update] = rule.process(fail(45_000, '192.0.2.1', 'u5'));
    assert.deepEqual(update!.groupLabels, { 'client.address': '192.0.2.1' });
    assert.equal(update!.eventIds.length, 1);
  });

  test('five failures spread over more than the window do not fire', () => {
    const rule = bruteForceRule({ threshold: 5, windowMillis: 60_000 });
    const out = [0, 20, 40, 61, 82].flatMap((s) => rule.process(fail(s * 1000, '192.0.2.2')));
    assert.equal(out.length, 0);
  });

  test('five for one user from one address give one detection carrying both labels', () => {
    const rule = bruteForceRule({ threshold: 5, windowMillis: 60_000 });
    const out = [0, 1, 2, 3, 4].flatMap((s) => rule.process(fail(s * 1000, '192.0.2.3', 'bob')));
    assert.equal(out.length, 1);
    assert.deepEqual(out[0]!.groupLabels, { 'user.id': 'bob', 'client.address': '192.0.2.3' });
    assert.equal(rule.process(fail(5000, '192.0.2.3', 'bob')).length, 1, 'updates go to that one incident');
  });

  test('distributed failures against one user fire on the user', () => {
    const rule = bruteForceRule({ threshold: 5, windowMillis: 60_000 });
    const out = [1, 2, 3, 4, 5].flatMap((i) => rule.process(fail(i * 1000, `192.0.2.${i}`, 'carol')));
    assert.equal(out.length, 1);
    assert.deepEqual(out[0]!.groupLabels, { 'user.id': 'carol' });
  });

  test('arrival order within the window does not change the result', () => {
    const events = [0, 5, 10, 15, 20].map((s, i) => fail(s * 1000, '192.0.2.9', `o${i}`));
    const run = (order: SecurityEvent[]) => {
      const rule = bruteForceRule({ threshold: 5, windowMillis: 60_000 });
      return order.flatMap((e) => rule.process(e)).map((d) => [d.groupLabels, d.firstTime, d.lastTime, d.eventCount]);
    };
    assert.deepEqual(run(events), run([events[3]!, events[0]!, events[4]!, events[1]!, events[2]!]));
  });

  test('a new incident opens after the window drained', () => {
    const rule = bruteForceRule({ threshold: 2, windowMillis: 10_000 });
    assert.equal(rule.process(fail(0, '192.0.2.10')).length, 0);
    assert.equal(rule.process(fail(1000, '192.0.2.10')).length, 1);
    assert.equal(rule.process(fail(100_000, '192.0.2.10')).length, 0, 'alone again after a quiet period');
    const [d] = rule.process(fail(101_000, '192.0.2.10'));
    assert.equal(d!.firstTime, T0 + 100_000);
  });

  test('a late event from before the incident window does not join it; one inside the window does', () => {
    const rule = bruteForceRule({ threshold: 2, windowMillis: 10_000 });
    rule.process(fail(100_000, '192.0.2.20'));
    assert.equal(rule.process(fail(101_000, '192.0.2.20')).length, 1);
    assert.deepEqual(rule.process(fail(-25 * 86_400_000, '192.0.2.20')), [], 'a failure of 25 days ago');
    const [late] = rule.process(fail(95_000, '192.0.2.20'));
    assert.equal(late?.firstTime, T0 + 95_000, 'within the window of the first hit: part of the attack');
    // Saved and restored, the incident keeps where it started.
    const restored = bruteForceRule({ threshold: 2, windowMillis: 10_000 });
    restored.restore(JSON.parse(JSON.stringify(rule.snapshot())));
    assert.deepEqual(restored.process(fail(50_000, '192.0.2.20')), []);
  });

  test('holds at most maxKeys groups and counts evictions', () => {
    const rule = perAddress(100);
    for (let i = 0; i < 1000; i++) rule.process(fail(i, `10.0.${i >> 8}.${i & 255}`));
    assert.equal(rule.stateSize(), 100);
    assert.equal(rule.evictions, 900);
  });

  test('drops the groups whose window has drained, without counting them as evictions', () => {
    const rule = perAddress();
    // 500 sources failing once within two minutes; then one more, ten minutes later.
    for (let i = 0; i < 500; i++) rule.process(fail(i * 200, `10.1.${i >> 8}.${i & 255}`));
    assert.ok(rule.stateSize() > 50);
    rule.process(fail(700_000, '10.9.9.9'));
    assert.equal(rule.stateSize(), 1);
    assert.equal(rule.evictions, 0);
  });
});
