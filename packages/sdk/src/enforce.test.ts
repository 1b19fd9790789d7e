/**
 * The decision cache and the enforcer against a small decision stream on loopback: lookups by address, /64, user
 * and API key; expiry; revocation; fail-open before the first answer and when the stream goes away; throttling.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { addressKeys, DecisionCache, Enforcer } from './enforce.js';

const TOKEN = 'test-ingest-token-0123456789';

interface StreamState {
  snapshot: unknown[];
  queue: unknown[];
  polls: number;
  status: number;
}

async function startStream(state: StreamState): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    state.polls++;
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.headers.authorization !== `Bearer ${TOKEN}` || url.pathname !== '/v1/decisions/stream') {
      res.writeHead(401).end();
      return;
    }
    if (state.status !== 200) {
      res.writeHead(state.status).end();
      return;
    }
    const decisions = url.searchParams.has('since') ? state.queue.splice(0) : state.snapshot;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ decisions, cursor: `c${state.polls}` }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const inAMinute = () => new Date(Date.now() + 60_000).toISOString();

function decision(id: string, action: string, scope: string, value: string, extra: Record<string, unknown> = {}) {
  return { id, action, scope, value, status: 'active', expiresAt: inAMinute(), ruleId: 'r', alertId: 'a', ...extra };
}

describe('addressKeys', () => {
  test('gives one key for every spelling of an address, and the /64 of IPv6', () => {
    assert.deepEqual(addressKeys('203.0.113.9'), { ip: '203.0.113.9', prefix: '203.0.113.9' });
    assert.deepEqual(addressKeys('::ffff:203.0.113.9'), { ip: '203.0.113.9', prefix: '203.0.113.9' });
    const a = addressKeys('2001:DB8:0:0:0:1::1');
    const b = addressKeys('[2001:db8::1:0:1]');
    assert.deepEqual(a, b);
    assert.equal(a?.prefix, '2001:db8:0:0/64');
    assert.equal(addressKeys('2001:db8::/64'.split('/')[0]!)?.prefix, '2001:db8:0:0/64');
    assert.equal(addressKeys('64:ff9b::192.0.2.1')?.ip, '64:ff9b:0:0:0:0:c000:201');
    assert.equal(addressKeys('not an address'), undefined);
    // Every spelling of an IPv4-mapped address is that IPv4 address.
    for (const mapped of ['0:0:0:0:0:ffff:203.0.113.9', '::ffff:cb00:7109', '::FFFF:CB00:7109']) {
      assert.deepEqual(addressKeys(mapped), { ip: '203.0.113.9', prefix: '203.0.113.9' }, mapped);
    }
  });
});

describe('DecisionCache', () => {
  const state: StreamState = { snapshot: [], queue: [], polls: 0, status: 200 };
  let stream: { server: Server; url: string };
  before(async () => {
    stream = await startStream(state);
  });
  after(() => stream.server.close());

  test('fails open before its first answer, then finds decisions by every scope', async () => {
    state.snapshot = [
      decision('d-ip', 'block', 'ip', '198.51.100.9'),
      decision('d-prefix', 'throttle', 'prefix', '2001:db8:1:2::/64', { ratePerMinute: 6 }),
      decision('d-user', 'flag', 'user', 'mallory'),
      decision('d-key', 'block', 'api_key', 'key_7'),
      decision('d-gone', 'block', 'ip', '198.51.100.10', { status: 'expired' }),
    ];
    const cache = new DecisionCache({ endpoint: stream.url, token: TOKEN, minPollIntervalMillis: 20 });
    assert.equal(cache.check({ clientAddress: '198.51.100.9' }), undefined);
    assert.equal(cache.stats().failOpen, 1);
    cache.start();
    try {
      assert.ok(await cache.synced(2000));
      assert.equal(cache.check({ clientAddress: '198.51.100.9' })?.decision.id, 'd-ip');
      assert.equal(cache.check({ clientAddress: '2001:db8:1:2:aaaa::7' })?.action, 'throttle');
      assert.equal(cache.check({ clientAddress: '2001:db8:1:3::7' }), undefined);
      assert.equal(cache.check({ userId: 'mallory' })?.action, 'flag');
      assert.equal(cache.check({ apiKeyId: 'key_7' })?.action, 'block');
      assert.equal(cache.check({ clientAddress: '198.51.100.10' }), undefined);
      // The strongest decision wins when several apply.
      assert.equal(cache.check({ clientAddress: '198.51.100.9', userId: 'mallory' })?.action, 'block');
      assert.equal(cache.stats().decisions, 4);

      // A revocation arrives on the stream: the decision is dropped.
      state.queue.push(decision('d-ip', 'block', 'ip', '198.51.100.9', { status: 'revoked' }));
      await cache.synced(2000);
      await cache.synced(2000);
      assert.equal(cache.check({ clientAddress: '198.51.100.9' }), undefined);
    } finally {
      cache.close();
    }
  });

  test('expires decisions locally, without waiting for the stream', async () => {
    // Far enough ahead that a slow first poll on a busy machine still finds it in force; the lookups name the time.
    const expiresAt = Date.now() + 60_000;
    state.snapshot = [
      decision('d-short', 'block', 'ip', '198.51.100.50', { expiresAt: new Date(expiresAt).toISOString() }),
    ];
    const cache = new DecisionCache({
      endpoint: stream.url,
      token: TOKEN,
      minPollIntervalMillis: 20,
      staleAfterMillis: 3_600_000,
    });
    cache.start();
    try {
      assert.ok(await cache.synced(2000));
      assert.equal(cache.check({ clientAddress: '198.51.100.50' }, expiresAt - 1)?.action, 'block');
      assert.ok(cache.fresh(expiresAt), 'still fresh then: the lookup below passes because the decision expired');
      assert.equal(cache.check({ clientAddress: '198.51.100.50' }, expiresAt), undefined);
    } finally {
      cache.close();
    }
  });

  test('goes stale and fails open when the stream stops answering, and recovers', async () => {
    state.snapshot = [decision('d-ip2', 'block', 'ip', '198.51.100.60')];
    const errors: Error[] = [];
    const cache = new DecisionCache({
      endpoint: stream.url,
      token: TOKEN,
      minPollIntervalMillis: 20,
      staleAfterMillis: 300,
      initialBackoffMillis: 20,
      maxBackoffMillis: 50,
      onError: (e) => errors.push(e),
    });
    cache.start();
    try {
      assert.ok(await cache.synced(2000));
      assert.equal(cache.check({ clientAddress: '198.51.100.60' })?.action, 'block');
      state.status = 503;
      await new Promise((r) => setTimeout(r, 500));
      const before = cache.stats().failOpen;
      assert.equal(cache.check({ clientAddress: '198.51.100.60' }), undefined);
      assert.equal(cache.stats().failOpen, before + 1);
      assert.ok(cache.stats().stale);
      assert.ok(cache.stats().pollFailures > 0);
      assert.match(errors[0]!.message, /503/);
      state.status = 200;
      assert.ok(await cache.synced(2000));
      assert.equal(cache.check({ clientAddress: '198.51.100.60' })?.action, 'block');
    } finally {
      state.status = 200;
      cache.close();
    }
  });

  test('holds at most maxDecisions', async () => {
    const cache = new DecisionCache({ endpoint: 'http://127.0.0.1:9', token: TOKEN, maxDecisions: 2 });
    cache.apply([
      decision('a', 'block', 'ip', '192.0.2.1'),
      decision('b', 'block', 'ip', '192.0.2.2'),
      decision('c', 'block', 'ip', '192.0.2.3'),
    ]);
    assert.equal(cache.stats().decisions, 2);
    assert.equal(cache.stats().dropped, 1);
  });

  test('an endpoint that is no URL is said at start, and nothing is polled', () => {
    const errors: Error[] = [];
    const cache = new DecisionCache({ endpoint: '127.0.0.1:7070', token: TOKEN, onError: (e) => errors.push(e) });
    cache.start();
    assert.equal(cache.configured, false);
    assert.match(errors[0]?.message ?? '', /not an http\(s\) URL/);
  });

  test('waitMillis is sent in whole milliseconds (the server takes no other)', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(new URL(req.url ?? '/', 'http://x').searchParams.get('waitMillis') ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"decisions":[],"cursor":"c"}');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const cache = new DecisionCache({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      token: TOKEN,
      waitMillis: 1500.5,
    });
    cache.start();
    assert.equal(await cache.synced(5000), true);
    cache.close();
    server.close();
    assert.equal(seen[0], '1500');
  });

  test('close() then start() again runs one polling loop, not one per start', async () => {
    let polls = 0;
    const server = createServer((_req, res) => {
      polls++;
      setTimeout(
        () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"decisions":[],"cursor":"c"}'),
        20,
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const cache = new DecisionCache({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      token: TOKEN,
      minPollIntervalMillis: 100,
      initialBackoffMillis: 100,
    });
    for (let i = 0; i < 4; i++) {
      cache.start();
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (i < 3) cache.close();
    }
    polls = 0;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    cache.close();
    server.close();
    // One loop polls about every 120 ms: some 8 in a second; four loops would be some 30.
    assert.ok(polls <= 12, `${polls} polls in a second`);
  });

  test('a poll the server holds does not keep a process that has nothing else to do alive', async () => {
    const held: Array<import('node:http').ServerResponse> = [];
    const server = createServer((_req, res) => held.push(res)); // holds every poll, as the server does when idle
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
        import { DecisionCache } from ${JSON.stringify(new URL('./enforce.js', import.meta.url).href)};
        new DecisionCache({ endpoint: process.env.ENDPOINT, token: 't', waitMillis: 25000 }).start();
        `,
      ],
      {
        env: { ...process.env, ENDPOINT: `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
        stdio: 'ignore',
      },
    );
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    clearTimeout(killer);
    for (const res of held) res.destroy();
    server.close();
    assert.equal(signal, null, 'ended by itself, not killed after 10 s');
    assert.equal(code, 0);
  });

  test('without endpoint or token it stays empty and says so once', () => {
    const errors: Error[] = [];
    const saved = { e: process.env.VIGIL_ENDPOINT, t: process.env.VIGIL_INGEST_TOKEN };
    delete process.env.VIGIL_ENDPOINT;
    delete process.env.VIGIL_INGEST_TOKEN;
    try {
      const cache = new DecisionCache({ onError: (e) => errors.push(e) });
      cache.start();
      assert.equal(cache.configured, false);
      assert.equal(cache.check({ clientAddress: '192.0.2.1' }), undefined);
      assert.equal(errors.length, 1);
    } finally {
      if (saved.e !== undefined) process.env.VIGIL_ENDPOINT = saved.e;
      if (saved.t !== undefined) process.env.VIGIL_INGEST_TOKEN = saved.t;
    }
  });
});

describe('Enforcer', () => {
  function filled(decisions: unknown[]): DecisionCache {
    const cache = new DecisionCache({ endpoint: 'http://127.0.0.1:9', token: TOKEN });
    cache.apply(decisions);
    // As if a poll had just succeeded.
    (cache as unknown as { lastSyncAt: number }).lastSyncAt = Date.now();
    return cache;
  }

  test('dry-run passes everything and records what it would have done', () => {
    const recorded: [string, string][] = [];
    const enforcer = new Enforcer(filled([decision('b', 'block', 'ip', '192.0.2.1')]), {
      record: (d, mode) => recorded.push([d.id, mode]),
    });
    assert.equal(enforcer.mode, 'dry-run');
    assert.equal(enforcer.evaluate({ clientAddress: '192.0.2.1' }).kind, 'pass');
    assert.equal(enforcer.evaluate({ clientAddress: '192.0.2.1' }).kind, 'pass');
    assert.equal(enforcer.evaluate({ clientAddress: '192.0.2.2' }).kind, 'pass');
    // Recorded once per decision per recordIntervalMillis, counted every time.
    assert.deepEqual(recorded, [['b', 'dry-run']]);
    assert.equal(enforcer.stats().wouldBlock, 2);
  });

  test('enforce blocks, throttles with a token bucket, and passes flags', () => {
    const enforcer = new Enforcer(
      filled([
        decision('b', 'block', 'ip', '192.0.2.1'),
        decision('t', 'throttle', 'user', 'bob', { ratePerMinute: 6 }),
        decision('f', 'flag', 'user', 'eve'),
      ]),
      { mode: 'enforce' },
    );
    assert.equal(enforcer.evaluate({ clientAddress: '192.0.2.1' }).kind, 'block');
    const now = Date.now();
    assert.equal(enforcer.evaluate({ userId: 'bob' }, now).kind, 'pass'); // the burst: one request
    const limited = enforcer.evaluate({ userId: 'bob' }, now);
    assert.equal(limited.kind, 'throttle');
    assert.equal(limited.kind === 'throttle' ? limited.retryAfterSeconds : 0, 10);
    assert.equal(enforcer.evaluate({ userId: 'bob' }, now + 10_000).kind, 'pass'); // refilled
    assert.equal(enforcer.evaluate({ userId: 'eve' }).kind, 'flag');
    assert.deepEqual([enforcer.stats().blocked, enforcer.stats().throttled, enforcer.stats().flagged], [1, 1, 1]);
  });

  test('two throttles on one request (its user and its address): the stricter one applies', () => {
    const enforcer = new Enforcer(
      filled([
        decision('user', 'throttle', 'user', 'bob', { ratePerMinute: 6 }),
        decision('ip', 'throttle', 'ip', '192.0.2.9', { ratePerMinute: 600 }),
      ]),
      { mode: 'enforce' },
    );
    const now = Date.now();
    let passed = 0;
    for (let i = 0; i < 20; i++) {
      if (enforcer.evaluate({ userId: 'bob', clientAddress: '192.0.2.9' }, now + i * 10).kind === 'pass') passed++;
    }
    assert.equal(passed, 1, 'the user is allowed 6 a minute: a burst of one');
  });

  test('more throttled subjects than buckets: throttling still holds (a new bucket past the bound starts empty)', () => {
    const decisions = Array.from({ length: 11 }, (_, i) =>
      decision(`t${i}`, 'throttle', 'ip', `192.0.2.${i + 1}`, { ratePerMinute: 6 }),
    );
    const enforcer = new Enforcer(filled(decisions), { mode: 'enforce', maxBuckets: 10 });
    const now = Date.now();
    let passed = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 11; i++) {
        if (enforcer.evaluate({ clientAddress: `192.0.2.${i + 1}` }, now + round * 100).kind === 'pass') passed++;
      }
    }
    // Each subject's burst is one request; round-robin over one bucket too few must not refill them all.
    assert.ok(passed <= 11, `${passed} of 55 passed`);
  });
});
