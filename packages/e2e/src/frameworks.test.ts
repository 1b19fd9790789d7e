/**
 * Black-box, per framework: a real app instrumented as docs/sdk.md says sends to a real Vigil server on loopback;
 * every assertion is on what the server stored (`GET /api/v1/events`).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createVigil, type Vigil, type VigilSdkError } from '@vigil/sdk';
import { FRAMEWORKS, type RunningApp, SECRET_IN_ERROR } from './apps.js';
import { eventsOfRequest, type StoredEvent, startTestServer, type TestServer } from './support.js';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** The one event of `type` among `events` (asserting there is exactly one). */
function only(events: readonly StoredEvent[], type: string, message?: string): StoredEvent {
  const found = events.filter((e) => e.type === type);
  assert.equal(found.length, 1, message ?? `one ${type}, got ${found.length}`);
  return found[0]!;
}

describe('frameworks, end to end', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });

  after(async () => {
    await server.stop();
  });

  for (const framework of FRAMEWORKS) {
    describe(framework.name, () => {
      let vigil: Vigil;
      let app: RunningApp;
      let counter = 0;
      /** What the SDK reported (the spoofed forwarding header below is one thing it reports). */
      const reported: VigilSdkError[] = [];
      const prefix = framework.name.replace(/\W/g, '').toLowerCase();

      before(async () => {
        vigil = createVigil({
          endpoint: server.url,
          token: server.ingestToken,
          service: `e2e-${prefix}`,
          flushIntervalMillis: 20,
          flushOnExit: false,
          accessParams: { orderId: 'order' },
          onError: (e) => reported.push(e),
        });
        app = await framework.start(vigil);
      });

      after(async () => {
        await app.close();
        await vigil.close();
      });

      /** Send one request with a fresh request id; return its status and the events stored for it. */
      async function call(
        path: string,
        init: RequestInit = {},
        expectTypes: readonly string[] = [],
      ): Promise<{ status: number; events: StoredEvent[]; request: StoredEvent; requestId: string }> {
        const requestId = `${prefix}-${++counter}-${hex(4)}`;
        const headers = new Headers(init.headers);
        headers.set('x-request-id', requestId);
        const response = await fetch(`${app.url}${path}`, { ...init, headers });
        await response.arrayBuffer();
        const events = await eventsOfRequest(server, requestId, expectTypes);
        const request = events.find((e) => e.type === 'http_request')!;
        return { status: response.status, events, request, requestId };
      }

      test('route template, status, principal, socket address (spoofed X-Forwarded-For ignored), trace ids', async () => {
        const traceId = hex(16);
        const spanId = hex(8);
        const { status, events, request } = await call(
          '/users/4711?expand=profile',
          {
            headers: {
              'x-test-user': 'alice',
              traceparent: `00-${traceId}-${spanId}-01`,
              'x-forwarded-for': '203.0.113.50',
              'user-agent': 'e2e-agent/1.0',
            },
          },
          ['sensitive_read'],
        );
        assert.equal(status, 200);
        assert.equal(request['http.route'], '/users/:id');
        assert.equal(request['http.request.method'], 'GET');
        assert.equal(request['url.path'], '/users/4711');
        assert.equal(request['url.query'], 'expand=profile');
        assert.equal(request['http.response.status_code'], 200);
        assert.equal(request['event.outcome'], 'success');
        assert.equal(request['user.id'], 'alice');
        assert.deepEqual(request['user.roles'], ['customer']);
        assert.equal(request['client.address'], '127.0.0.1', 'the forwarding header of an untrusted peer is ignored');
        // From loopback it could be a proxy of the app's own that nobody trusted: the SDK says so.
        const forwarding = reported.filter((e) => e.code === 'forwarding_ignored');
        assert.equal(forwarding.length, 1);
        assert.match(forwarding[0]!.message, /^requests from 127\.0\.0\.1 carry X-Forwarded-For, but trustedProxies/);
        assert.equal(request['network.peer.address'], '127.0.0.1');
        assert.equal(request['user_agent.original'], 'e2e-agent/1.0');
        assert.equal(request['trace.id'], traceId);
        assert.equal(request['span.id'], spanId);
        assert.equal(request['service.name'], `e2e-${prefix}`);
        assert.equal(typeof request['http.server.request.duration'], 'number');
        assert.ok((request['http.response.body.size'] as number) > 0);

        const read = events.find((e) => e.type === 'sensitive_read')!;
        assert.equal(read['user.id'], 'alice');
        assert.equal(read['vigil.object.id'], '4711');
        assert.equal(read['http.route'], '/users/:id');
        assert.equal(read['trace.id'], traceId);
        assert.equal(read['client.address'], '127.0.0.1');
      });

      test('accessParams: a successful request records object_access for the named route parameter', async () => {
        const { status, events } = await call(
          '/orders/A-17',
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-test-user': 'carol' },
            body: JSON.stringify({ sku: 'BOOK-1', quantity: 2 }),
          },
          ['object_access'],
        );
        assert.equal(status, 201);
        const access = only(events, 'object_access');
        assert.equal(access['vigil.object.type'], 'order');
        assert.equal(access['vigil.object.id'], 'A-17');
        assert.equal(access['user.id'], 'carol');
        assert.equal(access['http.route'], '/orders/:orderId');
        assert.equal(access['client.address'], '127.0.0.1');
      });

      test('a body that fails validation: one input_validation_fail naming the inputs, never their values', async () => {
        const secret = `note-${hex(6)}`;
        const { status, events, request } = await call(
          '/orders/A-18',
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-test-user': 'carol' },
            body: JSON.stringify({ sku: 'BOOK-1', quantity: 0, note: secret }),
          },
          ['input_validation_fail'],
        );
        assert.equal(status, 400);
        assert.equal(request['http.response.status_code'], 400);
        const invalid = only(
          events,
          'input_validation_fail',
          'one event, whether the framework or the app reported it',
        );
        const expected = framework.invalidOrder;
        assert.equal(invalid['vigil.validation.name'], expected.validator);
        assert.equal(invalid['vigil.input.name'], expected.input);
        assert.deepEqual(invalid['vigil.validation.rules'], [expected.rule]);
        assert.equal(invalid['user.id'], 'carol');
        assert.equal(invalid['http.route'], '/orders/:orderId');
        assert.ok(!events.some((e) => e.type === 'object_access'), 'a refused request accessed no object');
        assert.ok(!events.some((e) => e.type === 'app_error'), 'bad input is not an application error');
        assert.ok(!JSON.stringify(events).includes(secret));
      });

      test('a JSON body that does not parse: 400 and one input_validation_fail for the body', async () => {
        const expected = framework.malformedBody;
        const secret = `note-${hex(6)}`;
        const { status, events, request } = await call(
          '/orders/A-19',
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-test-user': 'dave' },
            body: `{"sku": "BOOK-1", "note": "${secret}", oops`,
          },
          ['input_validation_fail'],
        );
        assert.equal(status, 400);
        assert.equal(request['http.response.status_code'], 400);
        const invalid = only(events, 'input_validation_fail');
        assert.equal(invalid['vigil.validation.name'], expected.validator);
        assert.equal(invalid['vigil.input.name'], 'body');
        assert.deepEqual(invalid['vigil.validation.rules'], [expected.rule]);
        assert.ok(!events.some((e) => e.type === 'app_error'), 'bad input is not an application error');
        assert.ok(!JSON.stringify(events).includes(secret));
      });

      test('no route matched: 404, and the raw path is never sent as the route', async () => {
        const { status, request } = await call('/definitely/not/12345');
        assert.equal(status, 404);
        assert.equal(request['http.response.status_code'], 404);
        assert.equal(request['url.path'], '/definitely/not/12345');
        assert.equal(request['event.outcome'], 'failure');
        // The SDK sends no route; the collector may derive a template from the path (a number becomes `{id}`),
        // which it would not do over a route the SDK had sent.
        assert.ok(
          request['http.route'] === undefined || request['http.route'] === '/definitely/not/{id}',
          `unexpected route ${String(request['http.route'])}`,
        );
      });

      test('a login handler calling vigil.authn.loginFail records one failure, attached to its request', async () => {
        const { status, events, request } = await call(
          '/login',
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ user: 'mallory', password: 'not-the-password' }),
          },
          ['authn_login_fail'],
        );
        assert.equal(status, 401);
        assert.equal(request['http.route'], '/login');
        const fail = only(events, 'authn_login_fail');
        assert.equal(fail['user.id'], 'mallory');
        assert.equal(fail['event.reason'], 'bad_password');
        assert.equal(fail['client.address'], '127.0.0.1');
        assert.equal(fail['http.route'], '/login');
      });

      test('403 records an automatic authz_fail naming the endpoint', async () => {
        const { status, events } = await call('/admin', { headers: { 'x-test-user': 'bob' } }, ['authz_fail']);
        assert.equal(status, 403);
        const fail = events.find((e) => e.type === 'authz_fail')!;
        assert.equal(fail['user.id'], 'bob');
        assert.equal(fail['vigil.object.type'], 'endpoint');
        assert.equal(fail['vigil.object.id'], 'GET /admin');
      });

      test('a thrown error: 500 and app_error with class and fingerprint, never the message', async () => {
        const { status, events, request } = await call('/boom', {}, ['app_error']);
        assert.equal(status, 500);
        assert.equal(request['http.response.status_code'], 500);
        const errors = events.filter((e) => e.type === 'app_error');
        assert.equal(errors.length, 1);
        assert.equal(errors[0]!['error.type'], 'SecretError');
        assert.match(String(errors[0]!['vigil.error.fingerprint']), /^[0-9a-f]{16}$/);
        assert.ok(!JSON.stringify(events).includes(SECRET_IN_ERROR.split('=')[1]!));
      });

      test('a helper called after an await is attached to its own request', async () => {
        const traceId = hex(16);
        const { status, events, request } = await call(
          '/later/doc-9',
          { headers: { 'x-test-user': 'carol', traceparent: `00-${traceId}-${hex(8)}-01` } },
          ['authz_fail'],
        );
        assert.equal(status, 403);
        assert.equal(request['http.route'], '/later/:doc');
        const fail = only(events, 'authz_fail', 'the helper replaces the automatic event');
        assert.equal(fail['vigil.object.id'], 'doc-9');
        assert.equal(fail['user.id'], 'carol');
        assert.equal(fail['trace.id'], traceId);
        assert.equal(fail['http.route'], '/later/:doc');
      });

      test('concurrent requests keep their own context', async () => {
        const results = await Promise.all(
          ['u1', 'u2', 'u3', 'u4'].map((user) =>
            call(`/later/doc-${user}`, { headers: { 'x-test-user': user } }, ['authz_fail']),
          ),
        );
        for (const [i, { events }] of results.entries()) {
          const fail = events.find((e) => e.type === 'authz_fail')!;
          assert.equal(fail['user.id'], `u${i + 1}`);
          assert.equal(fail['vigil.object.id'], `doc-u${i + 1}`);
        }
      });
    });
  }
});
