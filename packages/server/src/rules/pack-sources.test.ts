/**
 * Pack rules that tell sources apart by `vigil.source.name`, against the names a real server stamps on what it
 * ingests: the rule tests (rules/tests) give events the names by hand, and cannot see a name the server gives.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, startTestServer, type TestServer } from '../testing/harness.js';

const SIGN_IN_BURST = 'Burst of refused sign-in requests from one source';

interface AlertBody {
  readonly alerts: { rule: { title: string }; labels: Record<string, string>; eventCount: number }[];
}

/** A POST /login answered 401, as a span of an OpenTelemetry-instrumented service (OTLP/JSON). */
function refusedSignInSpan(client: string, startMillis: number, n: number) {
  const nanos = (millis: number) => `${BigInt(millis) * 1_000_000n}`;
  return {
    traceId: (n + 1).toString(16).padStart(32, '0'),
    spanId: (n + 1).toString(16).padStart(16, '0'),
    name: 'POST /login',
    kind: 2,
    startTimeUnixNano: nanos(startMillis),
    endTimeUnixNano: nanos(startMillis + 40),
    attributes: [
      { key: 'http.request.method', value: { stringValue: 'POST' } },
      { key: 'url.path', value: { stringValue: '/login' } },
      { key: 'http.route', value: { stringValue: '/login' } },
      { key: 'http.response.status_code', value: { intValue: '401' } },
      { key: 'client.address', value: { stringValue: client } },
    ],
  };
}

describe('pack rules and the source names the server stamps', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  it('counts refused sign-ins from OTLP spans, not from Vigil events posted to /v1/events', async () => {
    const start = Date.now() - 120_000;
    // An application with the SDK: its request events arrive on /v1/events (stamped `http`), and it reports its
    // sign-ins itself, which the authn_login_fail rules count.
    const posted = Array.from({ length: 35 }, (_, i) => ({
      time: start + i * 1000,
      type: 'http_request',
      'http.request.method': 'POST',
      'url.path': '/login',
      'http.route': '/login',
      'http.response.status_code': 401,
      'client.address': '203.0.113.9',
    }));
    const answer = await server.post('/v1/events', JSON.stringify(posted));
    assert.equal(answer.status, 200);
    // A service instrumented with OpenTelemetry only: its spans are all there is (stamped `otlp-traces`).
    const spans = Array.from({ length: 35 }, (_, i) => refusedSignInSpan('198.51.100.23', start + i * 1000, i));
    const otlp = await server.post(
      '/v1/traces',
      JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ spans }] }] }),
    );
    assert.equal(otlp.status, 200);

    const burst = await eventually(async () => {
      const { alerts } = (await (await server.get('/api/v1/alerts')).json()) as AlertBody;
      const found = alerts.filter((a) => a.rule.title === SIGN_IN_BURST);
      assert.ok(found.length > 0, 'the OTLP burst raised its alert');
      return found;
    });
    // The posted events came first in event time, so detection has seen them by now.
    assert.deepEqual(
      burst.map((a) => a.labels['vigil.client.prefix']),
      ['198.51.100.23'],
    );
  });
});
