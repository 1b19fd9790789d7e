import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { DEFAULTS } from '../defaults.js';
import { eventually, failedLogins, startTestServer, type TestServer } from '../testing/harness.js';
import { tokenIdOf } from './sessions.js';

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** A request with its target sent exactly as written (fetch would resolve `..` before sending). */
function raw(
  url: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function cookieOf(res: Response): string {
  const header = res.headers.get('set-cookie') ?? '';
  const match = /^vigil_session=([A-Za-z0-9_-]{43});/.exec(header);
  assert.ok(match, `a session cookie: ${header}`);
  return `vigil_session=${match[1]}`;
}

describe('the dashboard files', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  test('/ is the sign-in page without a session, with the security headers', async () => {
    const res = await fetch(`${server.url}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('content-security-policy'), CSP);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const html = await res.text();
    assert.match(html, /<script type="module" src="\/ui\/main\.js"><\/script>/);
    assert.doesNotMatch(html, /<script>|<style|\sstyle=|\son[a-z]+=/i, 'no inline script or style');
  });

  test('scripts and the style sheet are served under /ui/ with their types and the same headers', async () => {
    for (const [file, type] of [
      ['main.js', 'text/javascript; charset=utf-8'],
      ['dashboard.css', 'text/css; charset=utf-8'],
    ] as const) {
      const res = await fetch(`${server.url}/ui/${file}`);
      assert.equal(res.status, 200, file);
      assert.equal(res.headers.get('content-type'), type);
      assert.equal(res.headers.get('content-security-policy'), CSP);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      const etag = res.headers.get('etag')!;
      assert.ok(etag);
      const again = await fetch(`${server.url}/ui/${file}`, { headers: { 'if-none-match': etag } });
      assert.equal(again.status, 304);
    }
  });

  test('no file outside the dashboard is served, however the path is written', async () => {
    for (const path of [
      '/ui/../package.json',
      '/ui/..%2Fpackage.json',
      '/ui/%2e%2e%2fpackage.json',
      '/ui/%2E%2E/package.json',
      '/ui/..%5Cpackage.json',
      '/ui/%2e%2e%2f%2e%2e%2fserver%2fpackage.json',
      '/ui/../../server/dist/app.js',
      '/ui/nope.js',
      '/ui/main.d.ts',
      '/ui/.tsbuildinfo',
      '/ui/index.html/..',
      '/ui/dist%2Fmain.js',
    ]) {
      const res = await raw(server.url, path);
      assert.equal(res.status, 404, path);
      assert.doesNotMatch(res.body, /"name"|"version"|import /, path);
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8', path);
    }
    const unknown = await raw(server.url, '/ui/nope.js');
    assert.equal(unknown.headers['content-security-policy'], CSP);
  });

  test('no data is served without a session or a token', async () => {
    for (const path of ['/api/v1/alerts', '/api/v1/events', '/api/v1/alerts/x/history']) {
      assert.equal((await fetch(`${server.url}${path}`)).status, 401, path);
    }
    const session = await fetch(`${server.url}/api/v1/session`);
    assert.deepEqual(await session.json(), { signedIn: false });
  });
});

describe('signing in and cookie authentication', () => {
  let server: TestServer;
  let alertId: string;
  before(async () => {
    server = await startTestServer();
    assert.equal(
      (await server.post('/v1/events', failedLogins(5, '203.0.113.9'), { 'content-type': 'application/x-ndjson' }))
        .status,
      200,
    );
    alertId = await eventually(async () => {
      const { alerts } = (await (await server.get('/api/v1/alerts')).json()) as { alerts: { id: string }[] };
      assert.equal(alerts.length, 1);
      return alerts[0]!.id;
    });
  });
  after(() => server.stop());

  const signIn = (body: unknown, headers: Record<string, string> = { 'x-vigil-request': '1' }) =>
    fetch(`${server.url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  test('an unknown token and an ingest token are refused, counted, and told apart', async () => {
    const before = {
      unauthorized: server.metrics.authFailures.get({ reason: 'unauthorized' }),
      forbidden: server.metrics.authFailures.get({ reason: 'forbidden' }),
    };
    const unknown = await signIn({ token: 'not-a-token', actor: 'alice' });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.headers.get('set-cookie'), null);
    const ingest = await signIn({ token: server.ingestToken, actor: 'alice' });
    assert.equal(ingest.status, 403);
    assert.match(((await ingest.json()) as { error: { message: string } }).error.message, /ingest token/);
    assert.equal(ingest.headers.get('set-cookie'), null);
    assert.equal(server.metrics.authFailures.get({ reason: 'unauthorized' }), before.unauthorized + 1);
    assert.equal(server.metrics.authFailures.get({ reason: 'forbidden' }), before.forbidden + 1);
    assert.equal((await signIn({ token: server.apiToken })).status, 400, 'a name is required');
  });

  test('an API token opens a session: an HttpOnly, SameSite=Strict cookie for the session lifetime', async () => {
    const res = await signIn({ token: server.apiToken, actor: 'alice' });
    assert.equal(res.status, 201);
    assert.deepEqual(await res.json(), { signedIn: true, actor: 'alice' });
    const header = res.headers.get('set-cookie')!;
    assert.match(
      header,
      new RegExp(
        `^vigil_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${DEFAULTS.sessionLifetimeMillis / 1000}$`,
      ),
    );
    const cookie = cookieOf(res);
    const session = await fetch(`${server.url}/api/v1/session`, { headers: { cookie } });
    assert.deepEqual(await session.json(), { signedIn: true, actor: 'alice' });
    const alerts = await fetch(`${server.url}/api/v1/alerts?status=open`, { headers: { cookie } });
    assert.equal(alerts.status, 200);
    assert.equal(((await alerts.json()) as { alerts: unknown[] }).alerts.length, 1);
    assert.equal((await fetch(`${server.url}/api/v1/events/nope`, { headers: { cookie } })).status, 404);
  });

  test('sign-in from another site is refused', async () => {
    assert.equal((await signIn({ token: server.apiToken, actor: 'alice' }, {})).status, 403);
    const foreign = await signIn(
      { token: server.apiToken, actor: 'alice' },
      { 'x-vigil-request': '1', origin: 'https://evil.example' },
    );
    assert.equal(foreign.status, 403);
  });

  test('a change made with the cookie needs the dashboard header and this origin, and records the session', async () => {
    const cookie = cookieOf(await signIn({ token: server.apiToken, actor: 'carol' }));
    const ack = (headers: Record<string, string>) =>
      fetch(`${server.url}/api/v1/alerts/${alertId}/acknowledge`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ comment: 'on it' }),
      });
    const bare = await ack({});
    assert.equal(bare.status, 403);
    assert.match(((await bare.json()) as { error: { message: string } }).error.message, /x-vigil-request: 1/);
    assert.equal((await ack({ 'x-vigil-request': '1', origin: 'https://evil.example' })).status, 403);
    assert.equal((await ack({ 'x-vigil-request': '1', origin: 'null' })).status, 403);
    const ok = await ack({ 'x-vigil-request': '1', origin: server.url });
    assert.equal(ok.status, 200);

    const history = (await (await server.get(`/api/v1/alerts/${alertId}/history`)).json()) as {
      actions: { action: string; actor: string; tokenId: string; comment: string }[];
    };
    assert.deepEqual(
      history.actions.map((a) => [a.action, a.actor, a.tokenId, a.comment]),
      [['acknowledge', 'carol', tokenIdOf(server.apiToken), 'on it']],
    );
  });

  test('a bearer header is what counts when present, and the cookie is not taken outside the API', async () => {
    const cookie = cookieOf(await signIn({ token: server.apiToken, actor: 'alice' }));
    const wrongBearer = await fetch(`${server.url}/api/v1/alerts`, {
      headers: { cookie, authorization: 'Bearer wrong' },
    });
    assert.equal(wrongBearer.status, 401);
    assert.equal((await server.get('/api/v1/alerts')).status, 200, 'the bearer token still works alone');
    assert.equal((await fetch(`${server.url}/metrics`, { headers: { cookie } })).status, 401);
    // The router resolves dot segments: this is /metrics, not an API path.
    assert.equal((await raw(server.url, '/api/v1/../../metrics', { cookie })).status, 401);
    assert.equal(
      (
        await fetch(`${server.url}/v1/events`, {
          method: 'POST',
          headers: { cookie, 'x-vigil-request': '1', 'content-type': 'application/json' },
          body: '{}',
        })
      ).status,
      401,
    );
  });

  test('signing out ends the session: the old cookie is then a 401', async () => {
    const cookie = cookieOf(await signIn({ token: server.apiToken, actor: 'alice' }));
    const out = (headers: Record<string, string>) =>
      fetch(`${server.url}/api/v1/session`, { method: 'DELETE', headers: { cookie, ...headers } });
    assert.equal((await out({})).status, 403, 'signing out is a change: it needs the header too');
    const res = await out({ 'x-vigil-request': '1' });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('set-cookie')!, /^vigil_session=; .*Max-Age=0/);
    const after = await fetch(`${server.url}/api/v1/alerts`, { headers: { cookie } });
    assert.equal(after.status, 401);
    assert.match(((await after.json()) as { error: { message: string } }).error.message, /sign in again/);
    assert.equal(
      (await fetch(`${server.url}/api/v1/alerts`, { headers: { cookie: 'vigil_session=junk' } })).status,
      401,
    );
  });
});

describe("a session's silences and revocations are recorded as its actor", () => {
  let server: TestServer;
  let carol: string;
  before(async () => {
    server = await startTestServer({
      response: {
        enabled: true,
        rules: [
          {
            matchers: ['rule="vigil-authn-brute-force"'],
            scope: 'ip',
            ladder: [{ action: 'block', duration: '15m' }],
          },
        ],
      },
    });
    const res = await fetch(`${server.url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-vigil-request': '1' },
      body: JSON.stringify({ token: server.apiToken, actor: 'carol' }),
    });
    carol = cookieOf(res);
  });
  after(() => server.stop());

  /** A change with the session cookie (and the dashboard's header), or with the API token. */
  const send = (method: string, path: string, body: unknown, auth: 'session' | 'token') =>
    fetch(`${server.url}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(auth === 'session'
          ? { cookie: carol, 'x-vigil-request': '1' }
          : { authorization: `Bearer ${server.apiToken}` }),
      },
      body: JSON.stringify(body),
    });
  const silence = { matchers: ['client.address="203.0.113.50"'], durationMillis: 3_600_000, comment: 'pen test' };

  test("a silence created with a session is the session actor's, whatever the body names", async () => {
    const bare = await send('POST', '/api/v1/silences', silence, 'session');
    assert.equal(bare.status, 201, await bare.clone().text());
    assert.equal(((await bare.json()) as { createdBy: string }).createdBy, 'carol');
    const named = await send('POST', '/api/v1/silences', { ...silence, createdBy: 'mallory' }, 'session');
    assert.equal(named.status, 201);
    const created = (await named.json()) as { id: string; createdBy: string };
    assert.equal(created.createdBy, 'carol');

    const ended = await send('DELETE', `/api/v1/silences/${created.id}`, { actor: 'mallory' }, 'session');
    assert.equal(ended.status, 200);
    assert.deepEqual(
      (({ state, expiredBy }) => ({ state, expiredBy }))((await ended.json()) as Record<string, unknown>),
      { state: 'expired', expiredBy: 'carol' },
    );
  });

  test('with the API token, the body still names the author, and must', async () => {
    assert.equal((await send('POST', '/api/v1/silences', silence, 'token')).status, 400);
    const res = await send('POST', '/api/v1/silences', { ...silence, createdBy: 'dave' }, 'token');
    assert.equal(res.status, 201);
    assert.equal(((await res.json()) as { createdBy: string }).createdBy, 'dave');
  });

  test("a decision revoked with a session records the session's actor and its token's hash", async () => {
    const posted = await server.post('/v1/events', failedLogins(5, '203.0.113.9'), {
      'content-type': 'application/x-ndjson',
    });
    assert.equal(posted.status, 200);
    const id = await eventually(async () => {
      const { decisions } = (await (await server.get('/api/v1/decisions?active=true')).json()) as {
        decisions: { id: string }[];
      };
      assert.equal(decisions.length, 1);
      return decisions[0]!.id;
    });
    const res = await send('DELETE', `/api/v1/decisions/${id}`, { actor: 'mallory', comment: 'office NAT' }, 'session');
    assert.equal(res.status, 200);
    const stored = (await (await server.get(`/api/v1/decisions/${id}`)).json()) as Record<string, unknown>;
    assert.deepEqual(
      [stored.status, stored.revokedBy, stored.tokenId, stored.revokeComment],
      ['revoked', 'carol', tokenIdOf(server.apiToken), 'office NAT'],
    );
  });
});

describe('session limits', () => {
  let server: TestServer;
  const clock = { now: Date.now() };
  before(async () => {
    server = await startTestServer(
      { dashboard: { sessionIdleMillis: 60_000, sessionLifetimeMillis: 600_000, maxSessions: 2 } },
      { sessionClock: () => clock.now },
    );
  });
  after(() => server.stop());

  const open = async (actor: string) => {
    const res = await fetch(`${server.url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-vigil-request': '1' },
      body: JSON.stringify({ token: server.apiToken, actor }),
    });
    assert.equal(res.headers.get('set-cookie')?.endsWith('Max-Age=600'), true);
    return cookieOf(res);
  };
  const status = async (cookie: string) => (await fetch(`${server.url}/api/v1/alerts`, { headers: { cookie } })).status;

  test('a session idle past its time, or past its lifetime, is a 401', async () => {
    const idle = await open('a');
    clock.now += 60_000;
    assert.equal(await status(idle), 401);

    const busy = await open('b');
    for (let i = 0; i < 19; i++) {
      clock.now += 30_000;
      assert.equal(await status(busy), 200);
    }
    clock.now += 30_000;
    assert.equal(await status(busy), 401, 'ended 10 min after sign-in, used or not');
  });

  test('signing in beyond the bound ends the oldest session', async () => {
    const first = await open('a');
    const second = await open('b');
    const third = await open('c');
    assert.equal(await status(first), 401);
    assert.equal(await status(second), 200);
    assert.equal(await status(third), 200);
  });
});
