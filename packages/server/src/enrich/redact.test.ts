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

  test('an inspected value under a sensitive key or a configured path is hidden, however deep', () => {
    const configured = createRedactionStage({ keys: ['customer.address'] });
    const output = configured.apply(
      event({
        'vigil.inspect.body.password.new': 'hunter2',
        'vigil.inspect.body.credentials.user': 'bob',
        'vigil.inspect.body.otp.0': '123456',
        'vigil.inspect.body.customer.address.street': 'Main St',
        'vigil.inspect.body.customer.name': 'Ann',
        'vigil.inspect.body.items.0.sku': 'BOOK-1',
      }),
    );
    assert.deepEqual(output.attributes, {
      'vigil.inspect.body.password.new': REDACTED,
      'vigil.inspect.body.credentials.user': REDACTED,
      'vigil.inspect.body.otp.0': REDACTED,
      'vigil.inspect.body.customer.address.street': REDACTED,
      'vigil.inspect.body.customer.name': 'Ann',
      'vigil.inspect.body.items.0.sku': 'BOOK-1',
    });
  });

  test("a field of the sender's data under a sensitive key or a configured path is hidden; the model's are not", () => {
    const configured = createRedactionStage({ keys: ['customer.address'] });
    const output = configured.apply(
      event({
        'password.new': 'hunter2',
        'credentials.user': 'bob',
        'customer.address.street': 'Main St',
        'customer.name': 'Ann',
        [Field.sessionId]: '0123456789abcdef',
        [Field.apiKeyId]: 'key-7',
      }),
    );
    assert.deepEqual(output.attributes, {
      'password.new': REDACTED,
      'credentials.user': REDACTED,
      'customer.address.street': REDACTED,
      'customer.name': 'Ann',
      [Field.sessionId]: '0123456789abcdef',
      [Field.apiKeyId]: 'key-7',
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

  test('an inspected operator object under a secret keeps its keys, every string and number in it hidden', () => {
    const output = stage.apply(
      event({
        'vigil.inspect.body.password': '{"$ne":null}',
        'vigil.inspect.body.user.password': '{"$regex":"[REDACTED]","$exists":true}',
        // A sender that is not the SDK: its operands are hidden here.
        'vigil.inspect.body.pin': '{"$gt":1234,"$in":["hunter2",{"a":"b"}]}',
        // Anything else under a secret is hidden whole, as before.
        'vigil.inspect.body.token': 'hunter2',
        'vigil.inspect.body.secret': '{"nested":{"$ne":"hunter2"}}',
        'vigil.inspect.body.api_key': '{"$ne":"hunt',
        'vigil.inspect.query.password': '{"$ne":"hunter2"}',
        'vigil.inspect.header.authorization': '{"$ne":"hunter2"}',
        password: '{"$ne":"hunter2"}',
      }),
    );
    assert.deepEqual(output.attributes, {
      'vigil.inspect.body.password': '{"$ne":null}',
      'vigil.inspect.body.user.password': `{"$regex":"${REDACTED}","$exists":true}`,
      'vigil.inspect.body.pin': `{"$gt":"${REDACTED}","$in":["${REDACTED}",{"a":"${REDACTED}"}]}`,
      'vigil.inspect.body.token': REDACTED,
      'vigil.inspect.body.secret': REDACTED,
      'vigil.inspect.body.api_key': REDACTED,
      'vigil.inspect.query.password': REDACTED,
      'vigil.inspect.header.authorization': REDACTED,
      password: REDACTED,
    });
  });

  test('an inspected JSON object under another key has the values of the secrets inside it hidden', () => {
    const configured = createRedactionStage({ keys: ['customer.address'] });
    const output = configured.apply(
      event({
        // Free text alone finds `"password":"x"`, not a list, a number or an object under it.
        'vigil.inspect.body.filter': '{"$ne":1,"password":["hunter2"],"user":{"pin":1234,"name":"ann"}}',
        // The configured path is judged from the body's top: `query.customer.address` holds it.
        'vigil.inspect.body.query': '{"$where":"1","customer":{"address":{"street":"Elm 5"},"id":"c1"}}',
        // Not an operator object (the SDK never sends one; another sender may): the same.
        'vigil.inspect.body.note': '{"password":["hunter2"],"card":"4111 1111 1111 1111"}',
        // Not JSON: free text, as before.
        'vigil.inspect.body.text': '{password: ["hunter2"]} 4111 1111 1111 1111',
      }),
    );
    assert.deepEqual(output.attributes, {
      'vigil.inspect.body.filter': `{"$ne":1,"password":"${REDACTED}","user":{"pin":"${REDACTED}","name":"ann"}}`,
      'vigil.inspect.body.query': `{"$where":"1","customer":{"address":"${REDACTED}","id":"c1"}}`,
      'vigil.inspect.body.note': `{"password":"${REDACTED}","card":"${REDACTED}"}`,
      'vigil.inspect.body.text': `{password: ${REDACTED}} ${REDACTED}`,
    });
  });

  test('url.path: segments with escapes are judged decoded, the others kept as they came', () => {
    const output = stage.apply(event({ [Field.urlPath]: '/cards/4111%201111%201111%201111/caf%C3%A9' }));
    assert.equal(output.attributes[Field.urlPath], `/cards/${REDACTED}/caf%C3%A9`);
  });

  test('an event with nothing to redact is returned as it is', () => {
    const clean = event({ [Field.urlQuery]: 'page=2&q=red+shoes', 'vigil.inspect.query.q': 'red shoes' });
    assert.equal(stage.apply(clean), clean);
  });
});
