import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Field, REDACTED, type SecurityEvent } from '@vigil/schema';
import { createRedactionStage } from './redact.js';

function event(attributes: SecurityEvent['attributes']): SecurityEvent {
  return { id: 'e1', time: Date.parse('2025-01-01T00:00:00Z'), type: 'http_request', attributes } as SecurityEvent;
}

describe('createRedactionStage', () => {
  const stage = createRedactionStage();

  test('a sender other than the SDK cannot store credentials from the URL or free text', () => {
    const output = stage.apply(
      event({
        [Field.urlQuery]: 'state=s1&code=4%2F0AY0e&q=4111+1111+1111+1111',
        'vigil.inspect.query.code': '4/0AY0e',
        'vigil.inspect.query.X-Amz-Signature': 'fe5f80',
        'vigil.inspect.query.q': 'shoes',
        'vigil.inspect.body.code': 'E42',
        [Field.eventReason]: 'rejected Authorization: Token abcdef123456',
      }),
    );
    assert.deepEqual(output.attributes, {
      [Field.urlQuery]: `state=s1&code=${REDACTED}&q=${REDACTED}`,
      'vigil.inspect.query.code': REDACTED,
      'vigil.inspect.query.X-Amz-Signature': REDACTED,
      'vigil.inspect.query.q': 'shoes',
      'vigil.inspect.body.code': 'E42',
      [Field.eventReason]: `rejected Authorization: ${REDACTED}`,
    });
  });

  test('URLs (url.full, the referrer, an inspected Referer) lose the credentials of their query', () => {
    const callback = 'https://app.example/callback?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz';
    const output = stage.apply(
      event({
        [Field.urlFull]: callback,
        [Field.httpRequestReferrer]: callback,
        'vigil.inspect.header.referer': callback,
        // Free text: `code` counts only as a parameter of a query, after `?` or `&`.
        'vigil.inspect.header.user-agent': 'probe code=1; see /x?code=2',
      }),
    );
    const redacted = `https://app.example/callback?code=${REDACTED}&state=xyz`;
    assert.deepEqual(output.attributes, {
      [Field.urlFull]: redacted,
      [Field.httpRequestReferrer]: redacted,
      'vigil.inspect.header.referer': redacted,
      'vigil.inspect.header.user-agent': `probe code=1; see /x?code=${REDACTED}`,
    });
  });

  test('an event with nothing to redact is returned as it is', () => {
    const clean = event({ [Field.urlQuery]: 'page=2&q=red+shoes', 'vigil.inspect.query.q': 'red shoes' });
    assert.equal(stage.apply(clean), clean);
  });
});
