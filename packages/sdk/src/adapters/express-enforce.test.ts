/**
 * Black-box tests of the enforcement middleware: a real Express app on loopback, with `vigilExpress` and
 * `vigilEnforce`, in front of a real Vigil server with response enabled. All test traffic comes from 127.0.0.1, so
 * the client address is simulated with a trusted proxy (loopback) and `X-Forwarded-For`.
 *
 * The server is loaded at run time (the SDK does not depend on it; the test only needs it to be built).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createVigil, type Vigil } from '../index.js';
import { vigilExpress } from './express.js';
import { type VigilEnforceMiddleware, vigilEnforce } from './express-enforce.js';

// biome-ignore lint/suspicious/noExplicitAny: Express is loaded at run time, with its own types
type Express = any;

interface TestServer {
  readonly url: string;
  readonly ingestToken: string;
  readonly apiToken: string;
  get(path: string, token?: string): Promise<Response>;
  stop(): Promise<void>;
}
interface Harness {
  startTestServer(config: Record<string, unknown>, options?: { log?: unknown }): Promise<TestServer>;
  eventually<T>(check: () => Promise<T>, timeoutMillis?: number): Promise<T>;
}

const HARNESS = '@vigil/server/testing';

async function listen(app: Express): Promise<{ server: Server; url: string }> {
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function from(url: string, address: string | undefined, path = '/orders', init: RequestInit = {}) {
  return fetch(`${url}${path}`, {
    ...init,
    headers: { ...(address ? { 'x-forwarded-for': address } : {}), ...(init.headers as Record<string, string>) },
  });
}

describe('vigilEnforce with a real Vigil server', () => {
  let harness: Harness;
  let vigil: Vigil;
  let server: TestServer;
  let enforcing: { server: Server; url: string; middleware: VigilEnforceMiddleware };
  let dryRun: { server: Server; url: string; middleware: VigilEnforceMiddleware };
  const ATTACKER = '198.51.100.9';
  // The server's warnings and errors, shown when a test fails.
  const serverProblems: string[] = [];
  const keep = (level: string) => (msg: string, fields?: unknown) =>
    serverProblems.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  const serverLog = { debug() {}, info() {}, warn: keep('warn'), error: keep('error') };

  function buildApp(express: Express, mode: 'enforce' | 'dry-run') {
    const app = express();
    app.use(vigilExpress(vigil));
    const middleware = vigilEnforce(vigil, {
      mode,
      endpoint: server.url,
      token: server.ingestToken,
      // Polls held a quarter of a second, and stale only after 3 s without an answer: with polls held 1 s and stale
      // at 1.5 s, a poll answered half a second late on a busy machine made the cache fail open mid-test.
      waitMillis: 250,
      minPollIntervalMillis: 20,
      staleAfterMillis: 3000,
      initialBackoffMillis: 50,
      maxBackoffMillis: 200,
      onError: () => {},
    });
    app.use(middleware);
    app.post('/login', (_req: Express, res: Express) => {
      vigil.authn.loginFail('someone', { reason: 'bad_password', userExists: false });
      res.status(401).json({ error: 'bad credentials' });
    });
    app.get('/orders', (_req: Express, res: Express) => {
      res.json({ orders: [] });
    });
    return { app, middleware };
  }

  before(async () => {
    harness = (await import(HARNESS)) as Harness;
    server = await harness.startTestServer(
      {
        response: {
          enabled: true,
          rules: [
            {
              matchers: ['rule="vigil-authn-brute-force"'],
              scope: 'ip',
              ladder: [{ action: 'block', duration: '15m' }],
            },
          ],
          stream: { maxWaitMillis: 1000, maxWaiters: 16 },
        },
      },
      { log: serverLog },
    );
    vigil = createVigil({
      endpoint: server.url,
      token: server.ingestToken,
      service: 'orders',
      trustedProxies: ['loopback'],
      flushIntervalMillis: 20,
      flushOnExit: false,
      closeTimeoutMillis: 200,
      // The server is stopped on purpose in the last test; its delivery failures are expected.
      onError: () => {},
    });
    const express = (await import('express')).default;
    const e = buildApp(express, 'enforce');
    const d = buildApp(express, 'dry-run');
    enforcing = { ...(await listen(e.app)), middleware: e.middleware };
    dryRun = { ...(await listen(d.app)), middleware: d.middleware };
    assert.ok(await enforcing.middleware.cache.synced(5000));
  });

  after(async () => {
    enforcing?.middleware.close();
    dryRun?.middleware.close();
    enforcing?.server.close();
    dryRun?.server.close();
    await vigil?.close();
    await server?.stop().catch(() => {});
  });

  async function activeDecisions(): Promise<{ id: string; value: string; action: string }[]> {
    const res = await server.get('/api/v1/decisions?active=true');
    return ((await res.json()) as { decisions: { id: string; value: string; action: string }[] }).decisions;
  }

  async function eventTypes(type: string): Promise<Record<string, unknown>[]> {
    const res = await server.get(`/api/v1/events?type=${type}`);
    return ((await res.json()) as { events: Record<string, unknown>[] }).events;
  }

  test('five failed logins through the app get the attacker blocked, and nobody else', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await from(enforcing.url, ATTACKER, '/login', { method: 'POST' });
      assert.equal(res.status, 401);
    }
    const [decision] = await harness.eventually(async () => {
      const list = await activeDecisions();
      assert.equal(list.length, 1);
      return list;
    }, 30_000);
    assert.equal(decision!.value, ATTACKER);
    assert.equal(decision!.action, 'block');

    const blocked = await harness.eventually(async () => {
      const res = await from(enforcing.url, ATTACKER);
      assert.equal(res.status, 403);
      return res;
    }, 5000);
    // A bare answer: nothing about the rule, the decision or its duration.
    assert.deepEqual(await blocked.json(), { error: 'forbidden' });
    assert.equal((await from(enforcing.url, '198.51.100.10')).status, 200);
    assert.equal((await from(enforcing.url, undefined)).status, 200);

    // What was done is recorded, and Vigil's own 403 is not recorded as the app refusing someone.
    const enforced = await harness.eventually(async () => {
      const events = await eventTypes('decision_enforced');
      assert.ok(events.some((e) => e['vigil.decision.mode'] === 'enforce'));
      return events;
    }, 5000);
    const mine = enforced.find((e) => e['vigil.decision.mode'] === 'enforce')!;
    assert.equal(mine['vigil.decision.id'], decision!.id);
    assert.equal(mine['vigil.decision.action'], 'block');
    assert.equal(mine['client.address'], ATTACKER);
    assert.deepEqual(await eventTypes('authz_fail'), []);
    assert.equal(enforcing.middleware.stats().blocked >= 1, true);
    // Its http_request names the decision, and detection leaves it out: the refusals Vigil answered itself (six
    // more, on an administrative route) raise no alert of their own against the blocked address.
    for (let i = 0; i < 6; i++) assert.equal((await from(enforcing.url, ATTACKER, `/admin/users/${i}`)).status, 403);
    const answered = await harness.eventually(async () => {
      const requests = (await eventTypes('http_request')).filter(
        (e) => e['client.address'] === ATTACKER && e['http.response.status_code'] === 403,
      );
      assert.ok(requests.length >= 6);
      return requests;
    }, 5000);
    assert.ok(answered.every((e) => e['vigil.decision.id'] === decision!.id && e['vigil.decision.action'] === 'block'));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const alerts = ((await (await server.get('/api/v1/alerts')).json()) as { alerts: { rule: { title: string } }[] })
      .alerts;
    assert.deepEqual(
      alerts.map((a) => a.rule.title).filter((t) => !/failed logins|brute/i.test(t)),
      [],
      'no alert from the requests Vigil refused itself',
    );
  });

  test('dry-run lets the attacker through and records what it would have done', async () => {
    await harness.eventually(async () => {
      assert.equal(dryRun.middleware.cache.stats().decisions, 1);
    }, 5000);
    const res = await from(dryRun.url, ATTACKER);
    assert.equal(res.status, 200);
    await harness.eventually(async () => {
      const events = await eventTypes('decision_enforced');
      const recorded = events.find((e) => e['vigil.decision.mode'] === 'dry-run');
      assert.ok(recorded, 'no dry-run record arrived');
      assert.equal(recorded['client.address'], ATTACKER);
    }, 5000);
    assert.equal(dryRun.middleware.stats().wouldBlock, 1);
    assert.equal(dryRun.middleware.stats().mode, 'dry-run');
  });

  test('revoking the decision lifts the block', async () => {
    const [decision] = await activeDecisions();
    const res = await fetch(`${server.url}/api/v1/decisions/${decision!.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ actor: 'carol', comment: 'it was our own load test' }),
    });
    assert.equal(res.status, 200);
    await harness.eventually(async () => {
      assert.equal((await from(enforcing.url, ATTACKER)).status, 200);
    }, 5000);
  });

  test('fails open when Vigil goes away', async () => {
    const attacker = '198.51.100.77';
    for (let i = 0; i < 5; i++) await from(enforcing.url, attacker, '/login', { method: 'POST' });
    // Events, detection, the decision and the middleware's next poll: quick alone, slower under a full parallel
    // test run (10 s was once not enough). The wait ends as soon as the block holds.
    await harness
      .eventually(async () => {
        assert.equal((await from(enforcing.url, attacker)).status, 403);
      }, 30_000)
      .catch(async (error: Error) => {
        // What the server and the middleware held when the block never came: events, alerts, decisions, polling.
        const logins = (await eventTypes('authn_login_fail')).map((e) => [e['client.address'], e.time]);
        const alerts = (
          (await (await server.get('/api/v1/alerts')).json()) as { alerts: { labels: unknown; createdAt: string }[] }
        ).alerts.map((a) => [a.labels, a.createdAt]);
        const decisions = (
          (await (await server.get('/api/v1/decisions')).json()) as { decisions: Record<string, unknown>[] }
        ).decisions.map((d) => [d.value, d.action, d.status, d.createdAt]);
        const middleware = enforcing.middleware.stats();
        const state = { logins, alerts, decisions, middleware, client: vigil.stats(), serverProblems, now: Date.now() };
        throw new Error(`${error.message}\n${JSON.stringify(state, null, 1)}`);
      });
    await server.stop();
    const before = enforcing.middleware.stats().failOpen;
    await harness.eventually(async () => {
      assert.equal((await from(enforcing.url, attacker)).status, 200);
    }, 15_000);
    assert.ok(enforcing.middleware.stats().stale);
    assert.ok(enforcing.middleware.stats().failOpen > before);
  });
});

describe('vigilEnforce on its own (options only, no client)', () => {
  let stream: Server;
  let app: { server: Server; url: string };
  let middleware: VigilEnforceMiddleware;

  before(async () => {
    stream = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          cursor: 'c',
          decisions: [
            {
              id: 'dec_t',
              action: 'throttle',
              scope: 'prefix',
              value: '2001:db8:1:2::/64',
              status: 'active',
              expiresAt: new Date(Date.now() + 60_000).toISOString(),
              ratePerMinute: 6,
            },
          ],
        }),
      );
    });
    stream.listen(0, '127.0.0.1');
    await once(stream, 'listening');
    const express = (await import('express')).default;
    const e = express();
    middleware = vigilEnforce({
      mode: 'enforce',
      endpoint: `http://127.0.0.1:${(stream.address() as AddressInfo).port}`,
      token: 'test-ingest-token-0123456789',
      trustedProxies: ['loopback'],
      minPollIntervalMillis: 50,
    });
    e.use(middleware);
    e.get('/orders', (_req: Express, res: Express) => res.json({ ok: true }));
    app = await listen(e);
    assert.ok(await middleware.cache.synced(5000));
  });

  after(() => {
    middleware.close();
    app.server.close();
    stream.close();
  });

  test('throttles a whole IPv6 /64 with 429 and Retry-After', async () => {
    assert.equal((await from(app.url, '2001:db8:1:2::a')).status, 200); // the burst
    const limited = await from(app.url, '2001:db8:1:2::b'); // another address, the same /64
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '10');
    assert.deepEqual(await limited.json(), { error: 'too_many_requests' });
    assert.equal((await from(app.url, '2001:db8:1:3::a')).status, 200);
  });
});
