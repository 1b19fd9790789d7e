/**
 * Redaction and parameter inspection, end to end, on every framework: secrets sent in headers, the query string,
 * the body and error objects never reach the store (the stored events' JSON is searched for them), also with
 * `inspect: 'params'`, which records the request's parameters for payload detection.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createVigil, type Vigil } from '@vigil/sdk';
import { FRAMEWORKS, type RunningApp } from './apps.js';
import { eventsOfRequest, startTestServer, storedEvents, type TestServer } from './support.js';

/** Every secret the requests carry; none may appear anywhere in the store. */
const SECRETS = {
  bearer: 'BearerSecret0123456789abcdef',
  basic: 'QmFzaWNTZWNyZXQ6cGFzc3dvcmQ=',
  cookie: 'CookieSecretValue42',
  apiKey: 'ApiKeySecretValue42',
  queryToken: 'QueryTokenSecret42',
  queryPassword: 'QueryPasswordSecret42',
  queryOAuthCode: 'QueryOAuthCodeSecret42',
  /** An Amex test number, grouped: in the query string it travels as `3782+822463+10005`. */
  queryCard: '3782 822463 10005',
  bodyPassword: 'BodyPasswordSecret42',
  bodyApiKey: 'BodyApiKeySecret42',
  nestedSecret: 'NestedClientSecret42',
  card: '4111111111111111',
  cardGrouped: '5500 0000 0000 0004',
  jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNlY3JldA',
  errorMessage: 'ErrorMessageSecret42',
  helperPassword: 'HelperPasswordSecret42',
} as const;

/** Payloads that must arrive (inspected) for the collector's detection. */
const PAYLOADS = {
  query: "1' UNION SELECT password FROM users--",
  body: '<script>alert(document.cookie)</script>',
  nested: '../../../../etc/passwd',
  path: 'scope-7',
  referer: 'https://evil.example/phish',
} as const;

function searchRequest(url: string, requestId: string): Promise<Response> {
  const query = new URLSearchParams({
    q: PAYLOADS.query,
    token: SECRETS.queryToken,
    password: SECRETS.queryPassword,
    code: SECRETS.queryOAuthCode,
    note: `paid with ${SECRETS.queryCard}`,
    page: '2',
  });
  return fetch(`${url}/search/${PAYLOADS.path}?${query}`, {
    method: 'POST',
    headers: {
      'x-request-id': requestId,
      'content-type': 'application/json',
      authorization: `Bearer ${SECRETS.bearer}`,
      'proxy-authorization': `Basic ${SECRETS.basic}`,
      cookie: `sid=${SECRETS.cookie}; theme=dark`,
      'x-api-key': SECRETS.apiKey,
      referer: PAYLOADS.referer,
      'user-agent': 'sqlmap/1.7',
    },
    body: JSON.stringify({
      comment: PAYLOADS.body,
      password: SECRETS.bodyPassword,
      apiKey: SECRETS.bodyApiKey,
      payment: { card_number: SECRETS.card, note: `card ${SECRETS.cardGrouped} token ${SECRETS.jwt}` },
      oauth: { client: { client_secret: SECRETS.nestedSecret, file: PAYLOADS.nested } },
      tags: ['a', 'b'],
    }),
  });
}

function assertNoSecret(json: string) {
  for (const [name, secret] of Object.entries(SECRETS)) {
    assert.ok(!json.includes(secret), `secret ${name} reached the store`);
  }
  // The grouped card numbers without their spaces, or with the `+` of a query string, too.
  for (const grouped of [SECRETS.cardGrouped, SECRETS.queryCard]) {
    assert.ok(!json.includes(grouped.replace(/ /g, '')), `grouped card number ${grouped} reached the store`);
    assert.ok(!json.includes(grouped.replace(/ /g, '+')), `grouped card number ${grouped} reached the store`);
  }
}

describe('redaction and inspection, end to end', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  for (const framework of FRAMEWORKS) {
    for (const inspect of ['url', 'params'] as const) {
      describe(`${framework.name}, inspect: '${inspect}'`, () => {
        let vigil: Vigil;
        let app: RunningApp;
        before(async () => {
          vigil = createVigil({
            endpoint: server.url,
            token: server.ingestToken,
            service: 'e2e-redaction',
            flushIntervalMillis: 20,
            flushOnExit: false,
            inspect,
          });
          app = await framework.start(vigil);
        });
        after(async () => {
          await app.close();
          await vigil.close();
        });

        test('secrets in headers, query and body never reach the store', async () => {
          const requestId = `redact-${inspect}-${randomBytes(6).toString('hex')}`;
          const response = await searchRequest(app.url, requestId);
          assert.equal(response.status, 200);
          await response.arrayBuffer();
          const events = await eventsOfRequest(server, requestId);
          const request = events.find((e) => e.type === 'http_request')!;
          assertNoSecret(JSON.stringify(events));
          assert.match(String(request['url.query']), /token=\[REDACTED\]/);
          assert.match(String(request['url.query']), /password=\[REDACTED\]/);
          assert.match(String(request['url.query']), /code=\[REDACTED\]/);
          assert.match(String(request['url.query']), /note=paid%20with%20\[REDACTED\]/);
          assert.ok(request['session.id'], 'the session cookie is sent as a hash');

          const inspected = Object.keys(request).filter((k) => k.startsWith('vigil.inspect.'));
          if (inspect === 'url') {
            assert.deepEqual(inspected, [], 'nothing is inspected by default');
            return;
          }
          assert.equal(request['vigil.inspect.path.scope'], PAYLOADS.path);
          assert.equal(request['vigil.inspect.query.q'], PAYLOADS.query);
          assert.equal(request['vigil.inspect.query.page'], '2');
          assert.equal(request['vigil.inspect.query.token'], '[REDACTED]');
          assert.equal(request['vigil.inspect.query.password'], '[REDACTED]');
          assert.equal(request['vigil.inspect.query.code'], '[REDACTED]');
          assert.equal(request['vigil.inspect.query.note'], 'paid with [REDACTED]');
          assert.equal(request['vigil.inspect.body.comment'], PAYLOADS.body);
          assert.equal(request['vigil.inspect.body.password'], '[REDACTED]');
          assert.equal(request['vigil.inspect.body.apiKey'], '[REDACTED]');
          assert.equal(request['vigil.inspect.body.payment.card_number'], '[REDACTED]');
          assert.match(String(request['vigil.inspect.body.payment.note']), /^card \[REDACTED\] token \[REDACTED\]$/);
          assert.equal(request['vigil.inspect.body.oauth.client.client_secret'], '[REDACTED]');
          assert.equal(request['vigil.inspect.body.oauth.client.file'], PAYLOADS.nested);
          assert.deepEqual(request['vigil.inspect.body.tags'], ['a', 'b']);
          assert.equal(request['vigil.inspect.header.referer'], PAYLOADS.referer);
          assert.equal(request['vigil.inspect.header.user-agent'], 'sqlmap/1.7');
          assert.equal(request['vigil.inspect.header.content-type'], 'application/json');
          // Headers outside inspectHeaders are not inspected at all.
          assert.ok(!inspected.some((k) => /authorization|cookie|api-key/.test(k)), inspected.join(', '));
        });

        if (inspect === 'params') {
          test('an operator object under a secret is stored with its operator, its operands hidden', async () => {
            const requestId = `operator-${randomBytes(6).toString('hex')}`;
            const response = await fetch(`${app.url}/search/login`, {
              method: 'POST',
              headers: { 'x-request-id': requestId, 'content-type': 'application/json' },
              body: JSON.stringify({
                username: 'admin',
                password: { $ne: null },
                token: { $regex: SECRETS.bodyPassword },
              }),
            });
            await response.arrayBuffer();
            const request = (await eventsOfRequest(server, requestId)).find((e) => e.type === 'http_request')!;
            assert.equal(request['vigil.inspect.body.password'], '{"$ne":null}');
            assert.equal(request['vigil.inspect.body.token'], '{"$regex":"[REDACTED]"}');
            assert.ok((request['vigil.payload.classes'] as string[]).includes('nosqli'), JSON.stringify(request));
            assertNoSecret(JSON.stringify(request));
          });
        }
      });
    }
  }

  test('secrets in error objects and helper fields never reach the store', async () => {
    const vigil = createVigil({
      endpoint: server.url,
      token: server.ingestToken,
      service: 'e2e-redaction-errors',
      flushIntervalMillis: 20,
      flushOnExit: false,
    });
    class PaymentDeclined extends Error {}
    const error = new PaymentDeclined(`card ${SECRETS.card} declined; password=${SECRETS.errorMessage}`);
    vigil.app.error(error);
    vigil.event('x_checkout_failed', {
      error,
      password: SECRETS.helperPassword,
      detail: { authorization: `Bearer ${SECRETS.bearer}`, note: `jwt ${SECRETS.jwt}` },
      'client.address': '192.0.2.10',
    });
    await vigil.close();
    const events = (await storedEvents(server)).filter((e) => e['service.name'] === 'e2e-redaction-errors');
    assert.equal(events.length, 2, JSON.stringify(events));
    assertNoSecret(JSON.stringify(events));
    const appError = events.find((e) => e.type === 'app_error')!;
    assert.equal(appError['error.type'], 'PaymentDeclined');
    const custom = events.find((e) => e.type === 'x_checkout_failed')!;
    assert.equal(custom.error, 'PaymentDeclined');
    assert.equal(custom.password, '[REDACTED]');
  });

  test('the whole store, after every request above, holds none of the secrets', async () => {
    assertNoSecret(JSON.stringify(await storedEvents(server)));
  });
});
