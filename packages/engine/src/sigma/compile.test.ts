import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FieldValue, SecurityEvent } from '@vigil/schema';
import { compileSigma } from './compile.js';

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
let sequence = 0;

function request(attributes: Record<string, FieldValue>, time = T0): SecurityEvent {
  return { id: `r${++sequence}`, time, type: 'http_request', attributes };
}

function compileOne(text: string) {
  const result = compileSigma([{ source: 'rules/test.yml', text }]);
  assert.deepEqual(result.errors, []);
  assert.equal(result.evaluators.length, 1);
  return result.evaluators[0]!;
}

// Rules in the style of the public SigmaHQ `web` rules (written for these tests), which must run unchanged.
const PATH_TRAVERSAL = `
title: Path Traversal Attempt In Query
id: 6f1c0e5e-3d0b-4c38-9a55-0d7e3c1a0b11
status: test
description: Query strings that climb out of the web root.
author: Vigil tests
date: 2026-01-05
tags:
    - attack.initial-access
    - attack.t1190
logsource:
    category: webserver
detection:
    selection:
        cs-uri-query|contains:
            - '../'
            - '..%2f'
            - '%2e%2e/'
            - '..\\'
    filter_health:
        cs-uri-stem: '/healthz'
    condition: selection and not filter_health
falsepositives:
    - Unknown
level: high
`;

const SUSPICIOUS_USER_AGENT = `
title: Offensive Tool User Agent
id: 0b6b3c1e-8f2e-4d8e-b0a7-5f3a4e2d9c22
logsource:
    category: webserver
    product: nginx
detection:
    selection:
        c-useragent|contains:
            - 'sqlmap'
            - 'nikto'
            - 'dirbuster'
            - 'Nuclei - Open-source project'
    condition: selection
fields:
    - c-ip
    - c-useragent
level: medium
`;

const WEBSHELL_404 = `
title: Probing For Known Webshell Paths
id: 5d2e1f0a-9c3b-4a7e-8b6d-1e2f3a4b5c33
logsource:
    category: webserver
detection:
    selection:
        cs-method: 'GET'
        sc-status: 404
        cs-uri-stem|endswith:
            - '/cmd.php'
            - '/shell.jsp'
            - '/c99.php'
    condition: selection
level: low
`;

describe('SigmaHQ-style web rules run unchanged', () => {
  it('path traversal on cs-uri-query|contains', () => {
    const rule = compileOne(PATH_TRAVERSAL);
    const [hit] = rule.process(request({ 'url.path': '/files', 'url.query': 'name=..%2F..%2Fetc%2Fpasswd' }));
    assert.ok(hit);
    assert.equal(hit.ruleId, '6f1c0e5e-3d0b-4c38-9a55-0d7e3c1a0b11');
    assert.equal(hit.ruleTitle, 'Path Traversal Attempt In Query');
    assert.equal(hit.severity, 'high');
    assert.deepEqual(hit.tags, ['attack.initial-access', 'attack.t1190']);
    assert.deepEqual(hit.groupLabels, {});
    assert.equal(hit.eventCount, 1);
    assert.equal(hit.firstTime, T0);
    assert.equal(rule.process(request({ 'url.path': '/files', 'url.query': 'name=..\\boot.ini' })).length, 1);
    assert.equal(rule.process(request({ 'url.path': '/healthz', 'url.query': 'x=../' })).length, 0);
    assert.equal(rule.process(request({ 'url.path': '/files', 'url.query': 'name=report.pdf' })).length, 0);
    // Not a request event: the webserver logsource does not cover it.
    const login: SecurityEvent = { id: 'l1', time: T0, type: 'authn_login_fail', attributes: { 'url.query': '../' } };
    assert.equal(rule.process(login).length, 0);
  });

  it('suspicious user agent on c-useragent|contains', () => {
    const rule = compileOne(SUSPICIOUS_USER_AGENT);
    assert.equal(
      rule.process(request({ 'user_agent.original': 'sqlmap/1.7.2#stable (https://sqlmap.org)' })).length,
      1,
    );
    assert.equal(
      rule.process(request({ 'user_agent.original': 'Mozilla/5.0 nuclei - open-source project' })).length,
      1,
    );
    assert.equal(rule.process(request({ 'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64)' })).length, 0);
    assert.equal(rule.process(request({})).length, 0);
  });

  it('404 probing on sc-status and cs-uri-stem|endswith', () => {
    const rule = compileOne(WEBSHELL_404);
    const probe = { 'http.request.method': 'GET', 'url.path': '/uploads/cmd.php', 'http.response.status_code': 404 };
    assert.equal(rule.process(request(probe)).length, 1);
    assert.equal(rule.process(request({ ...probe, 'http.response.status_code': 200 })).length, 0);
    assert.equal(rule.process(request({ ...probe, 'http.request.method': 'POST' })).length, 0);
  });

  it('matches unquoted numbers as they are written, not as YAML reads them', () => {
    const rule = compileOne(`
title: Numbers as written
logsource: {category: webserver}
detection:
    version: {http.version: 1.0}
    account: {user.id: 12345678901234567890}
    hex: {url.query|contains: 0x1F}
    status: {http.response.status_code: 404}
    condition: version or account or hex or status
`);
    const matches = (attributes: Record<string, FieldValue>) => rule.process(request(attributes)).length === 1;
    assert.ok(matches({ 'http.version': '1.0' }));
    assert.ok(!matches({ 'http.version': '1' }));
    assert.ok(matches({ 'user.id': '12345678901234567890' }));
    assert.ok(!matches({ 'user.id': '12345678901234567000' }));
    assert.ok(matches({ 'url.query': 'color=0x1f' }));
    assert.ok(matches({ 'http.response.status_code': 404 }));
    assert.ok(matches({ 'http.response.status_code': '404' }));
  });

  it('keeps numbers as numbers outside detection', () => {
    const { errors } = compileSigma([
      {
        source: 'c.yml',
        text: `
title: Base
name: base
logsource: {category: webserver}
detection: {s: {sc-status: 401}, condition: s}
---
title: Many
correlation: {type: event_count, rules: base, group-by: [c-ip], timespan: 1m, condition: {gte: 3.0}}
`,
      },
    ]);
    assert.deepEqual(errors, []);
  });
});

describe('compileSigma', () => {
  it('compiles every document of a multi-document file, in order', () => {
    const { evaluators, errors } = compileSigma([
      { source: 'a.yml', text: `${PATH_TRAVERSAL}\n---\n${SUSPICIOUS_USER_AGENT}` },
      { source: 'b.yml', text: WEBSHELL_404 },
    ]);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      evaluators.map((e) => [e.kind, e.source, e.title]),
      [
        ['detection', 'a.yml', 'Path Traversal Attempt In Query'],
        ['detection', 'a.yml', 'Offensive Tool User Agent'],
        ['detection', 'b.yml', 'Probing For Known Webshell Paths'],
      ],
    );
  });

  it('maps levels to severities, with medium for rules without one', () => {
    const levels = ['informational', 'low', 'medium', 'high', 'critical'];
    const text = levels
      .map(
        (level) =>
          `title: ${level}\nlevel: ${level}\nlogsource: {category: webserver}\ndetection: {s: {cs-method: GET}, condition: s}`,
      )
      .concat('title: none\nlogsource: {category: webserver}\ndetection: {s: {cs-method: GET}, condition: s}')
      .join('\n---\n');
    const { evaluators } = compileSigma([{ source: 'levels.yml', text }]);
    const severities = evaluators.map((e) => e.process(request({ 'http.request.method': 'GET' }))[0]?.severity);
    assert.deepEqual(severities, ['info', 'low', 'medium', 'high', 'critical', 'medium']);
  });

  it('uses id, then name, then source and position as the rule id', () => {
    const text = ['title: A\nid: rule-a\nname: a_name', 'title: B\nname: b_name', 'title: C']
      .map((head) => `${head}\nlogsource: {category: webserver}\ndetection: {s: {cs-method: GET}, condition: s}`)
      .join('\n---\n');
    const { evaluators } = compileSigma([{ source: 'ids.yml', text }]);
    assert.deepEqual(
      evaluators.map((e) => e.id),
      ['rule-a', 'b_name', 'ids.yml#3'],
    );
  });

  it('fills vigil.summary from vigil.group-by labels and event fields', () => {
    const rule = compileOne(`
title: Admin path from outside
level: high
logsource: {category: webserver}
detection:
    selection:
        cs-uri-stem|startswith: /admin
    condition: selection
vigil:
    summary: '{c-ip} requested {cs-uri-stem} as {user.id}'
    group-by: [c-ip]
`);
    const [hit] = rule.process(request({ 'client.address': '198.51.100.4', 'url.path': '/admin/users' }));
    assert.ok(hit);
    assert.deepEqual(hit.groupLabels, { 'client.address': '198.51.100.4' });
    assert.equal(hit.summary, '198.51.100.4 requested /admin/users as (unknown)');
  });

  it('accepts the dotted form of the custom attributes', () => {
    const rule = compileOne(`
title: Dotted
logsource: {category: webserver}
detection: {s: {cs-method: DELETE}, condition: s}
vigil.summary: 'DELETE by {user.id}'
vigil.group-by: user.id
`);
    const [hit] = rule.process(request({ 'http.request.method': 'DELETE', 'user.id': 'u1' }));
    assert.equal(hit?.summary, 'DELETE by u1');
    assert.deepEqual(hit?.groupLabels, { 'user.id': 'u1' });
  });

  it('summarises with the title and group values when there is no template', () => {
    const rule = compileOne(`
title: Admin path
logsource: {category: webserver}
detection: {s: {cs-uri-stem: /admin}, condition: s}
vigil: {group-by: [c-ip]}
`);
    assert.equal(
      rule.process(request({ 'url.path': '/admin', 'client.address': '192.0.2.9' }))[0]?.summary,
      'Admin path: client.address=192.0.2.9',
    );
  });

  it('runs rules on Vigil vocabulary events with product: vigil', () => {
    const rule = compileOne(`
title: Login failure for a service account
logsource:
    product: vigil
    category: authn
detection:
    selection:
        type: authn_login_fail
        user.id|startswith: svc-
    condition: selection
`);
    const event = (type: string, user: string): SecurityEvent => ({
      id: `${type}-${user}`,
      time: T0,
      type,
      attributes: { 'user.id': user },
    });
    assert.equal(rule.process(event('authn_login_fail', 'svc-backup')).length, 1);
    assert.equal(rule.process(event('authn_login_success', 'svc-backup')).length, 0);
    assert.equal(rule.process(event('authn_login_fail', 'alice')).length, 0);
  });
});

describe('lint errors carry file and line', () => {
  const lint = (text: string) =>
    compileSigma([{ source: 'bad.yml', text }]).errors.map((e) => `${e.line} ${e.code} ${e.message}`);

  it('points at the offending field entry', () => {
    const errors = lint(`title: Bad modifier
logsource:
    category: webserver
detection:
    selection:
        cs-method: GET
        cs-uri-query|contians: '../'
    condition: selection
`);
    assert.deepEqual(errors, ['7 invalid_modifier cs-uri-query|contians: unknown modifier `contians`']);
  });

  it('points at the condition, with the character position', () => {
    const errors = lint(`title: Bad condition
logsource: {category: webserver}
detection:
    selection:
        cs-method: GET
    condition: selection and filter
`);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /^6 invalid_condition condition: unknown search identifier `filter` \(at character 15\)$/);
  });

  it('reports YAML syntax errors with their line', () => {
    const result = compileSigma([
      { source: 'broken.yml', text: 'title: x\ndetection:\n  sel: [a, b\n  condition: sel\n' },
    ]);
    assert.equal(result.evaluators.length, 0);
    assert.equal(result.errors[0]?.code, 'yaml');
    assert.equal(result.errors[0]?.source, 'broken.yml');
    assert.ok((result.errors[0]?.line ?? 0) >= 3);
  });

  it('reports duplicate keys', () => {
    const errors = lint('title: a\ntitle: b\nlogsource: {category: webserver}\ndetection: {s: {x: 1}, condition: s}\n');
    assert.match(errors[0] ?? '', /^2 yaml .*unique/i);
  });

  it('reports missing sections and bad metadata on their lines, and keeps the good rules', () => {
    const { evaluators, errors } = compileSigma([
      {
        source: 'mixed.yml',
        text: `title: Good
logsource: {category: webserver}
detection: {s: {cs-method: GET}, condition: s}
---
logsource: {category: webserver}
level: severe
detection:
    s: {cs-method: GET}
---
title: Windows
logsource:
    product: windows
    category: process_creation
detection: {s: {Image|endswith: '\\\\whoami.exe'}, condition: s}
---
title: Old aggregation
logsource: {category: webserver}
detection:
    s: {sc-status: 404}
    timeframe: 5m
    condition: s | count() by c-ip > 10
`,
      },
    ]);
    assert.equal(evaluators.length, 1);
    assert.deepEqual(
      errors.map((e) => [e.line, e.code]),
      [
        [5, 'invalid_rule'],
        [6, 'invalid_rule'],
        [7, 'invalid_condition'],
        [11, 'unsupported_logsource'],
        [20, 'invalid_detection'],
        [21, 'invalid_condition'],
      ],
    );
    assert.match(errors[0]!.message, /`title` is required/);
    assert.match(errors[3]!.message, /use `category: webserver` or `product: vigil`/);
    assert.match(errors[5]!.message, /correlation rule/);
  });

  it('reports unknown correlation references and duplicate ids', () => {
    const { errors } = compileSigma([
      {
        source: 'corr.yml',
        text: `title: Base
name: base
logsource: {category: webserver}
detection: {s: {cs-method: GET}, condition: s}
---
title: Same name
name: base
logsource: {category: webserver}
detection: {s: {cs-method: PUT}, condition: s}
---
title: Count
correlation:
    type: event_count
    rules:
        - base
        - missing_rule
    group-by: [c-ip]
    timespan: 5m
    condition: {gte: 3}
`,
      },
    ]);
    assert.deepEqual(
      errors.map((e) => [e.line, e.code]),
      [
        [7, 'duplicate_rule'],
        [16, 'unknown_reference'],
      ],
    );
  });

  it('reports invalid correlation sections field by field', () => {
    const errors = lint(`title: Bad correlation
correlation:
    type: event_cnt
    rules: base
    group-by: c-ip
    timespan: 1w
    condition:
        more: 3
`);
    assert.deepEqual(
      errors.map((e) => e.split(' ').slice(0, 2).join(' ')),
      ['3 invalid_correlation', '6 invalid_correlation', '8 invalid_correlation', '7 invalid_correlation'],
    );
  });

  it('rejects the metric correlation types of later versions by name', () => {
    const errors = lint(`title: Sum
correlation:
    type: value_sum
    rules: [base]
    group-by: [c-ip]
    timespan: 1h
    condition: {field: cs-bytes, gt: 1000000}
`);
    assert.match(errors[0] ?? '', /^3 unsupported_correlation `value_sum` was added in Sigma 2\.1\.0/);
  });
});
