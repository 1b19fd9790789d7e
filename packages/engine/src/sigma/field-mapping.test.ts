import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Field, type SecurityEvent } from '@vigil/schema';
import { fieldAccessor, SIGMA_WEB_FIELD_MAPPING, vigilFieldName } from './field-mapping.js';

const event: SecurityEvent = {
  id: 'e1',
  time: Date.UTC(2026, 0, 5, 10, 11, 12),
  type: 'http_request',
  attributes: {
    [Field.httpRequestMethod]: 'GET',
    [Field.urlPath]: '/download/report.PDF',
    [Field.urlQuery]: 'id=7&x=1',
    [Field.clientAddress]: '203.0.113.7',
    [Field.userAgentOriginal]: 'curl/8.5.0',
    [Field.httpResponseStatusCode]: 404,
    [Field.httpRequestReferrer]: 'https://example.test/',
    [Field.serverAddress]: 'api.example',
    [Field.httpRequestBodySize]: 10,
    [Field.httpResponseBodySize]: 2048,
    [Field.userId]: '4711',
    [Field.serverPort]: 443,
  },
};

describe('web-server taxonomy → Vigil fields', () => {
  it('maps each taxonomy field to its Vigil field', () => {
    const expected: Record<string, unknown> = {
      'cs-method': 'GET',
      'cs-uri-stem': '/download/report.PDF',
      'cs-uri-query': 'id=7&x=1',
      'c-ip': '203.0.113.7',
      'c-useragent': 'curl/8.5.0',
      'sc-status': 404,
      'cs-referer': 'https://example.test/',
      'cs-host': 'api.example',
      'cs-bytes': 10,
      'sc-bytes': 2048,
      'cs-username': '4711',
      's-port': 443,
    };
    for (const [sigma, value] of Object.entries(expected)) {
      assert.equal(fieldAccessor(sigma)(event), value, sigma);
    }
  });

  it('composes c-uri and cs-uri from path and query', () => {
    assert.equal(fieldAccessor('c-uri')(event), '/download/report.PDF?id=7&x=1');
    assert.equal(fieldAccessor('cs-uri')(event), '/download/report.PDF?id=7&x=1');
    const noQuery = { ...event, attributes: { [Field.urlPath]: '/x' } };
    assert.equal(fieldAccessor('c-uri')(noQuery), '/x');
    assert.equal(fieldAccessor('c-uri')({ ...event, attributes: {} }), undefined);
  });

  it('derives c-uri-extension, date and time', () => {
    assert.equal(fieldAccessor('c-uri-extension')(event), 'PDF');
    assert.equal(fieldAccessor('date')(event), '2026-01-05');
    assert.equal(fieldAccessor('time')(event), '10:11:12');
  });

  it('reads unknown names as the Vigil attribute of the same name', () => {
    assert.equal(fieldAccessor(Field.userId)(event), '4711');
    assert.equal(fieldAccessor('no.such.field')(event), undefined);
    assert.equal(fieldAccessor('constructor')(event), undefined);
  });

  it('names group labels by their Vigil field', () => {
    assert.equal(vigilFieldName('c-ip'), 'client.address');
    assert.equal(vigilFieldName('user.id'), 'user.id');
    assert.equal(SIGMA_WEB_FIELD_MAPPING['cs-username'], 'user.id');
  });
});
