import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SecurityEvent } from '@vigil/schema';
import { Engine } from './engine.js';
import { compileSigma } from './sigma/compile.js';
import type { Detection, RuleEvaluator } from './types.js';

const eventOf = (type: string, n: number): SecurityEvent => ({ id: `${type}-${n}`, time: n, type, attributes: {} });

/** A rule that records the event types it was shown. */
function recorder(id: string, eventTypes?: ReadonlySet<string>): RuleEvaluator & { seen: string[] } {
  const seen: string[] = [];
  return {
    id,
    title: id,
    eventTypes,
    seen,
    process(event): readonly Detection[] {
      seen.push(event.type);
      return [];
    },
    stateSize: () => 0,
  };
}

describe('Engine', () => {
  it('shows each event only to the rules that cover its type, in rule order', () => {
    const logins = recorder('logins', new Set(['authn_login_fail', 'authn_login_success']));
    const everything = recorder('everything');
    const requests = recorder('requests', new Set(['http_request']));
    const engine = new Engine([logins, everything, requests]);
    for (const [n, type] of ['http_request', 'authn_login_fail', 'x_custom', 'http_request'].entries()) {
      engine.process(eventOf(type, n));
    }
    assert.deepEqual(logins.seen, ['authn_login_fail']);
    assert.deepEqual(everything.seen, ['http_request', 'authn_login_fail', 'x_custom', 'http_request']);
    assert.deepEqual(requests.seen, ['http_request', 'http_request']);
  });

  it('routes by type again after the rules are replaced', () => {
    const first = recorder('a', new Set(['http_request']));
    const engine = new Engine([first]);
    engine.process(eventOf('authz_fail', 1));
    const second = recorder('b', new Set(['authz_fail']));
    engine.replaceRules([second]);
    engine.process(eventOf('authz_fail', 2));
    assert.deepEqual(first.seen, []);
    assert.deepEqual(second.seen, ['authz_fail']);
  });

  it('gives compiled Sigma rules the event types of their log source, and correlations those of their rules', () => {
    const { evaluators, errors } = compileSigma([
      {
        source: 'types.yml',
        text: `title: Web
logsource: {category: webserver}
detection: {selection: {cs-method: DELETE}, condition: selection}
---
title: Any vigil event
logsource: {product: vigil}
detection: {selection: {user.id: mallory}, condition: selection}
---
title: Failures then success
correlation:
  type: temporal_ordered
  rules: [failure, success]
  group-by: [user.id]
  timespan: 5m
---
title: failure
name: failure
logsource: {product: vigil, service: authn_login_fail}
detection: {selection: {user.id|exists: true}, condition: selection}
---
title: success
name: success
logsource: {product: vigil, category: authn}
detection: {selection: {type: authn_login_success}, condition: selection}
`,
      },
    ]);
    assert.deepEqual(errors, []);
    const types = Object.fromEntries(
      evaluators.map((e) => [e.title, e.eventTypes === undefined ? 'all' : [...e.eventTypes].sort()]),
    );
    assert.deepEqual(types.Web, ['http_request']);
    assert.equal(types['Any vigil event'], 'all');
    const chain = types['Failures then success'] as string[];
    assert.ok(chain.includes('authn_login_fail') && chain.includes('authn_login_success'), String(chain));
    assert.ok(!chain.includes('http_request'));
  });
});
