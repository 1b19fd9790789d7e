// Access logs written behind a load balancer: the log's client is the balancer, the client is in X-Forwarded-For.
// Lines are parsed as `vigil ingest` parses them and sent to a real server on loopback whose trusted proxies decide
// which hop is the client.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../testing/harness.js';
import { event, shipLines } from '../testing/line-results.js';
import { parseLine } from './access-log.js';

const BALANCER = '10.0.0.5';

async function clients(server: TestServer, service: string): Promise<unknown[]> {
  const res = await server.get('/api/v1/events?limit=1000');
  const { events } = (await res.json()) as { events: Record<string, unknown>[] };
  return events
    .filter((e) => e['service.name'] === service)
    .map((e) => [e['url.path'], e['client.address'], e['network.peer.address']])
    .sort();
}

describe('access logs behind a trusted proxy', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ enrich: { trustedProxies: ['10.0.0.0/8'] } });
  });
  after(async () => {
    await server.stop();
  });

  test("combined-xff (nginx's main format): the client is the first hop the trusted proxies did not add", async () => {
    const line = (path: string, forwarded: string) =>
      `${BALANCER} - - [10/Oct/2026:13:55:36 +0000] "POST ${path} HTTP/1.1" 401 12 "-" "curl/8.5" "${forwarded}"`;
    await shipLines(server, 'combined-xff', 'main-format', [
      // The client wrote its own X-Forwarded-For (1.1.1.1); the balancer appended the address it saw.
      line('/login', '1.1.1.1, 203.0.113.9'),
      line('/direct', '-'),
    ]);
    assert.deepEqual(await clients(server, 'main-format'), [
      ['/direct', BALANCER, undefined],
      ['/login', '203.0.113.9', BALANCER],
    ]);
  });

  test('the nginx, Envoy and Traefik JSON presets read the forwarded-for header their logs keep', async () => {
    await shipLines(server, 'nginx-json', 'json-presets', [
      `{"time_iso8601":"2026-10-10T13:55:36+00:00","remote_addr":"${BALANCER}","request_method":"GET","request_uri":"/nginx","status":"200","http_x_forwarded_for":"203.0.113.10"}`,
    ]);
    await shipLines(server, 'envoy-json', 'json-presets', [
      `{"start_time":"2026-10-10T13:55:36.000Z","method":"GET","path":"/envoy","response_code":200,"downstream_remote_address":"${BALANCER}:40000","x_forwarded_for":"203.0.113.11"}`,
    ]);
    await shipLines(server, 'traefik-json', 'json-presets', [
      `{"StartUTC":"2026-10-10T13:55:36Z","RequestMethod":"GET","RequestPath":"/traefik","DownstreamStatus":200,"ClientHost":"${BALANCER}","request_X-Forwarded-For":"203.0.113.12"}`,
    ]);
    assert.deepEqual(await clients(server, 'json-presets'), [
      ['/envoy', '203.0.113.11', BALANCER],
      ['/nginx', '203.0.113.10', BALANCER],
      ['/traefik', '203.0.113.12', BALANCER],
    ]);
  });

  test('plain combined ignores a column after the user agent; "" and "-" are no header in JSON either', () => {
    const line = `${BALANCER} - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "curl/8.5" "203.0.113.9"`;
    const combined = event(parseLine('combined', line));
    assert.equal(combined['http.request.header.x-forwarded-for'], undefined);
    for (const absent of ['', '-']) {
      const json = parseLine(
        'nginx-json',
        `{"time_iso8601":"2026-10-10T13:55:36+00:00","remote_addr":"${BALANCER}","request_method":"GET","request_uri":"/","status":"200","http_x_forwarded_for":"${absent}"}`,
      );
      assert.equal(event(json)['http.request.header.x-forwarded-for'], undefined);
    }
  });
});
