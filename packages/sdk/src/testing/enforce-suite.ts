/**
 * The black-box suite every framework's enforcement middleware runs: a real app of the framework on loopback, with
 * its recording adapter, an authentication step and the enforcement middleware, in front of a real Vigil server with
 * response enabled. All test traffic comes from 127.0.0.1, so the client address is simulated with a trusted proxy
 * (loopback) and `X-Forwarded-For`.
 *
 * The server is loaded at run time (the SDK does not depend on it; the test only needs it to be built).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { EnforcementControls, VigilEnforceOptions } from '../adapters/enforcement.js';
import { createVigil, type Vigil } from '../index.js';

export interface EnforceApp {
  readonly url: string;
  readonly controls: EnforcementControls;
  close(): Promise<void>;
}

export interface EnforceTarget {
  readonly name: string;
  /**
   * Start an app of the framework on a free loopback port, listening: the recording adapter of `vigil` (when given),
   * authentication (the user named by `x-user`, put where the framework's authentication middleware puts it), the
   * enforcement middleware made with `options` (the client first when given), and two routes: `POST /login` records
   * a failed login of the user named by `x-login-user` and answers 401, `GET /orders` answers 200.
   */
  start(vigil: Vigil | undefined, options: VigilEnforceOptions): Promise<EnforceApp>;
}

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

interface Decision {
  readonly id: string;
  readonly scope: string;
  readonly value: string;
  readonly action: string;
}

/** A request to the app as if from `address` (through the trusted loopback proxy), as `user` when given. */
export function from(
  url: string,
  address: string | undefined,
  options: { path?: string; method?: string; user?: string; loginUser?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (address) headers['x-forwarded-for'] = address;
  if (options.user) headers['x-user'] = options.user;
  if (options.loginUser) headers['x-login-user'] = options.loginUser;
  return fetch(`${url}${options.path ?? '/orders'}`, { method: options.method ?? 'GET', headers });
}

/** Polls that answer fast, and a cache stale after 3 s: quick to fail open, not so quick a busy machine trips it. */
const POLLING = {
  waitMillis: 250,
  minPollIntervalMillis: 20,
  staleAfterMillis: 3000,
  initialBackoffMillis: 50,
  maxBackoffMillis: 200,
  onError: () => {},
} satisfies VigilEnforceOptions;

export function enforcementSuite(target: EnforceTarget): void {
  describe(`${target.name} enforcement with a real Vigil server`, () => {
    let harness: Harness;
    let server: TestServer;
    let vigil: Vigil;
    let enforcing: EnforceApp;
    let dryRun: EnforceApp;
    const ATTACKER = '198.51.100.9';
    const serverProblems: string[] = [];
    const keep = (level: string) => (msg: string, fields?: unknown) =>
      serverProblems.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
    const serverLog = { debug() {}, info() {}, warn: keep('warn'), error: keep('error') };

    before(async () => {
      harness = (await import(HARNESS)) as Harness;
      const block = [{ action: 'block', duration: '15m' }];
      server = await harness.startTestServer(
        {
          response: {
            enabled: true,
            rules: [
              { matchers: ['rule="vigil-authn-brute-force"', 'client.address!=""'], scope: 'ip', ladder: block },
              { matchers: ['rule="vigil-authn-brute-force"', 'user.id!=""'], scope: 'user', ladder: block },
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
      const connection = { endpoint: server.url, token: server.ingestToken, ...POLLING };
      enforcing = await target.start(vigil, { ...connection, mode: 'enforce' });
      dryRun = await target.start(vigil, { ...connection, mode: 'dry-run' });
      assert.ok(await enforcing.controls.cache.synced(5000));
    });

    after(async () => {
      await enforcing?.close();
      await dryRun?.close();
      await vigil?.close();
      await server?.stop().catch(() => {});
    });

    async function activeDecision(scope: string, value: string): Promise<Decision> {
      return harness.eventually(async () => {
        const res = await server.get(`/api/v1/decisions?active=true&scope=${scope}`);
        const decisions = ((await res.json()) as { decisions: Decision[] }).decisions;
        assert.deepEqual(
          decisions.map((d) => d.value),
          [value],
        );
        return decisions[0]!;
      }, 30_000);
    }

    async function eventsOf(type: string): Promise<Record<string, unknown>[]> {
      const res = await server.get(`/api/v1/events?type=${type}&limit=1000`);
      return ((await res.json()) as { events: Record<string, unknown>[] }).events;
    }

    test('failed logins get the attacker blocked with a bare 403, recorded as enforced and not as authz_fail', async () => {
      for (let i = 1; i <= 5; i++) {
        const res = await from(enforcing.url, ATTACKER, { path: '/login', method: 'POST', loginUser: `u${i}` });
        assert.equal(res.status, 401);
      }
      const decision = await activeDecision('ip', ATTACKER);
      assert.equal(decision.action, 'block');

      const blocked = await harness.eventually(async () => {
        const res = await from(enforcing.url, ATTACKER);
        assert.equal(res.status, 403);
        return res;
      }, 5000);
      assert.deepEqual(await blocked.json(), { error: 'forbidden' });
      assert.equal(blocked.headers.get('cache-control'), 'no-store');
      assert.match(blocked.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal((await from(enforcing.url, '198.51.100.10')).status, 200);
      assert.equal((await from(enforcing.url, undefined)).status, 200);
      assert.ok(enforcing.controls.stats().blocked >= 1);

      await harness.eventually(async () => {
        const enforced = (await eventsOf('decision_enforced')).find((e) => e['vigil.decision.mode'] === 'enforce');
        assert.ok(enforced, 'no decision_enforced event arrived');
        assert.equal(enforced['vigil.decision.id'], decision.id);
        assert.equal(enforced['vigil.decision.action'], 'block');
        assert.equal(enforced['client.address'], ATTACKER);
      }, 5000);
      // The recording adapter still records the refused request, with its status and the decision that refused it.
      await harness.eventually(async () => {
        const refused = (await eventsOf('http_request')).filter(
          (e) => e['client.address'] === ATTACKER && e['http.response.status_code'] === 403,
        );
        assert.ok(refused.length >= 1, 'no http_request of the refused request arrived');
        for (const e of refused) {
          assert.equal(e['vigil.decision.id'], decision.id);
          assert.equal(e['vigil.decision.action'], 'block');
        }
      }, 5000);
      assert.deepEqual(await eventsOf('authz_fail'), []);
    });

    test('dry-run lets the attacker through and records what it would have done', async () => {
      await harness.eventually(async () => {
        assert.equal(dryRun.controls.cache.stats().decisions, 1);
      }, 5000);
      assert.equal((await from(dryRun.url, ATTACKER)).status, 200);
      await harness.eventually(async () => {
        const recorded = (await eventsOf('decision_enforced')).find((e) => e['vigil.decision.mode'] === 'dry-run');
        assert.ok(recorded, 'no dry-run record arrived');
        assert.equal(recorded['client.address'], ATTACKER);
      }, 5000);
      assert.equal(dryRun.controls.stats().wouldBlock, 1);
      assert.equal(dryRun.controls.stats().mode, 'dry-run');
    });

    test('a user decision applies to the requests authentication says are that user’s', async () => {
      // One failed login each from five addresses: the account is attacked, no address is.
      for (let i = 1; i <= 5; i++) {
        const res = await from(enforcing.url, `203.0.113.${i}`, {
          path: '/login',
          method: 'POST',
          loginUser: 'mallory',
        });
        assert.equal(res.status, 401);
      }
      const decision = await activeDecision('user', 'mallory');
      const CLEAN = '192.0.2.7';
      await harness.eventually(async () => {
        assert.equal((await from(enforcing.url, CLEAN, { user: 'mallory' })).status, 403);
      }, 5000);
      // The same client, not signed in, or signed in as someone else, passes.
      assert.equal((await from(enforcing.url, CLEAN)).status, 200);
      assert.equal((await from(enforcing.url, CLEAN, { user: 'alice' })).status, 200);
      await harness.eventually(async () => {
        const enforced = (await eventsOf('decision_enforced')).find((e) => e['vigil.decision.id'] === decision.id);
        assert.ok(enforced, 'no decision_enforced event for the user decision arrived');
        assert.equal(enforced['vigil.decision.scope'], 'user');
        assert.equal(enforced['user.id'], 'mallory');
      }, 5000);
    });

    test('revoking a decision lifts it', async () => {
      const decision = await activeDecision('ip', ATTACKER);
      assert.equal((await from(enforcing.url, ATTACKER)).status, 403);
      const res = await fetch(`${server.url}/api/v1/decisions/${decision.id}`, {
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
      // The user decision is still in force (the address decision was revoked above).
      const blocked = () => from(enforcing.url, '192.0.2.7', { user: 'mallory' });
      assert.equal((await blocked()).status, 403);
      await server.stop();
      const before = enforcing.controls.stats().failOpen;
      await harness.eventually(async () => {
        assert.equal((await blocked()).status, 200);
      }, 15_000);
      assert.ok(enforcing.controls.stats().stale);
      assert.ok(enforcing.controls.stats().failOpen > before);
    });
  });

  describe(`${target.name} enforcement on its own (options only, no client)`, () => {
    let stream: Server;
    let app: EnforceApp;

    before(async () => {
      // A decision stream that always answers with one throttle on an IPv6 /64.
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
      app = await target.start(undefined, {
        mode: 'enforce',
        endpoint: `http://127.0.0.1:${(stream.address() as AddressInfo).port}`,
        token: 'test-ingest-token-0123456789',
        // Without a recording adapter, the middleware works the client address out itself.
        trustedProxies: ['loopback'],
        minPollIntervalMillis: 50,
      });
      assert.ok(await app.controls.cache.synced(5000));
    });

    after(async () => {
      await app?.close();
      stream?.close();
    });

    test('throttles a whole IPv6 /64 with 429 and Retry-After', async () => {
      assert.equal((await from(app.url, '2001:db8:1:2::a')).status, 200); // the burst: ten seconds' worth, one
      const limited = await from(app.url, '2001:db8:1:2::b'); // another address, the same /64
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), '10');
      assert.equal(limited.headers.get('cache-control'), 'no-store');
      assert.deepEqual(await limited.json(), { error: 'too_many_requests' });
      assert.equal((await from(app.url, '2001:db8:1:3::a')).status, 200);
      assert.equal(app.controls.stats().throttled, 1);
    });
  });
}

/** Listen on a free loopback port; the app's base URL. */
export async function listenOnLoopback(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
