import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { type AddressInfo, connect, createServer as createNetServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { DecisionCache, type DecisionCacheOptions } from './enforce.js';
import { createVigil, type VigilOptions } from './index.js';
import { bypassesProxy, parseProxy, proxyFor } from './outbound.js';
import type { VigilSdkError } from './report.js';
import { fastClientOptions, Receiver, TEST_TOKEN } from './testing/receiver.js';

/**
 * A forward proxy on loopback, as a corporate egress proxy behaves: CONNECT tunnels and absolute-form requests,
 * optionally behind Basic credentials (407 without them). Every host name resolves to 127.0.0.1, so an endpoint
 * with a name that only the proxy knows (`collector.vigil.test`) can be reached through it and not around it.
 */
class ForwardProxy {
  readonly seen: Array<{ method: string; target: string; authorization: string | undefined }> = [];
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    private readonly credentials: string | undefined,
  ) {}

  /** `tls`: serve the proxy itself over TLS (an `https://` proxy URL). */
  static async start(credentials?: string, tls?: { cert: string; key: string }): Promise<ForwardProxy> {
    const handler = (req: IncomingMessage, res: ServerResponse) => proxy.forward(req, res);
    const proxy: ForwardProxy = new ForwardProxy(
      tls ? createTlsServer(tls, handler) : createServer(handler),
      credentials,
    );
    proxy.server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => proxy.tunnel(req, socket, head));
    proxy.server.on('connection', (socket: Socket) => {
      proxy.sockets.add(socket);
      socket.on('close', () => proxy.sockets.delete(socket));
    });
    proxy.server.listen(0, '127.0.0.1');
    await once(proxy.server, 'listening');
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private allowed(req: IncomingMessage): boolean {
    const authorization = req.headers['proxy-authorization'];
    this.seen.push({ method: req.method ?? '', target: req.url ?? '', authorization });
    return (
      this.credentials === undefined || authorization === `Basic ${Buffer.from(this.credentials).toString('base64')}`
    );
  }

  private tunnel(req: IncomingMessage, socket: Socket, head: Buffer): void {
    if (!this.allowed(req)) {
      socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\n\r\n');
      return;
    }
    const port = Number(new URL(`http://${req.url}`).port);
    const upstream = connect(port, '127.0.0.1', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    this.sockets.add(upstream);
    upstream.on('close', () => this.sockets.delete(upstream));
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    if (!this.allowed(req)) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"' }).end();
      return;
    }
    const target = new URL(req.url ?? '');
    const { 'proxy-authorization': _, ...headers } = req.headers;
    const upstream = request(
      { host: '127.0.0.1', port: target.port, path: `${target.pathname}${target.search}`, method: req.method, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  }
}

/** Run `body` with these environment variables set, and the previous values back afterwards. */
async function withEnv<T>(vars: Record<string, string | undefined>, body: () => Promise<T>): Promise<T> {
  const previous = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  set(vars);
  try {
    return await body();
  } finally {
    set(previous);
  }
}

const NO_PROXY_ENV = {
  http_proxy: undefined,
  HTTP_PROXY: undefined,
  https_proxy: undefined,
  HTTPS_PROXY: undefined,
  no_proxy: undefined,
  NO_PROXY: undefined,
};

function options(endpoint: string, errors: VigilSdkError[], extra: VigilOptions = {}): VigilOptions {
  return fastClientOptions(endpoint, { service: 'proxy-test', onError: (e) => errors.push(e), ...extra });
}

describe('which proxy', () => {
  const https = new URL('https://collector.example.com/v1/events');
  const http = new URL('http://collector.example.com:7070/v1/events');

  test('the variable of the endpoint scheme, lower case first; blank is unset', () => {
    const env = { HTTPS_PROXY: 'http://upper:3128', https_proxy: 'http://lower:3128', HTTP_PROXY: 'http://plain:80' };
    assert.equal(proxyFor(https, undefined, env).proxy?.display, 'lower:3128');
    assert.equal(proxyFor(http, undefined, env).proxy?.display, 'plain:80');
    assert.equal(
      proxyFor(https, undefined, { https_proxy: ' ', HTTPS_PROXY: 'upper:8080' }).proxy?.display,
      'upper:8080',
    );
    assert.equal(proxyFor(https, undefined, { HTTP_PROXY: 'http://plain:80' }).proxy, undefined);
  });

  test('the option wins over the environment, false turns the environment off', () => {
    const env = { HTTPS_PROXY: 'http://env:3128' };
    assert.equal(proxyFor(https, 'http://option:3128', env).proxy?.display, 'option:3128');
    assert.equal(proxyFor(https, false, env).proxy, undefined);
    // Explicit: used for loopback and whatever NO_PROXY says.
    assert.equal(
      proxyFor(new URL('https://127.0.0.1:7070'), 'http://option:3128', { NO_PROXY: '*' }).proxy?.display,
      'option:3128',
    );
  });

  test('a loopback endpoint is never sent through the environment proxy', () => {
    const env = { HTTPS_PROXY: 'http://env:3128', HTTP_PROXY: 'http://env:3128' };
    for (const endpoint of [
      'http://127.0.0.1:7070',
      'https://localhost',
      'http://[::1]:7070',
      'http://vigil.localhost',
    ]) {
      assert.equal(proxyFor(new URL(endpoint), undefined, env).proxy, undefined, endpoint);
    }
  });

  test('NO_PROXY: names with their subdomains, IPs and CIDR blocks, ports, *', () => {
    const bypass = (endpoint: string, noProxy: string) => bypassesProxy(new URL(endpoint), noProxy);
    assert.ok(bypass('https://collector.example.com', 'example.com'));
    assert.ok(bypass('https://collector.example.com', '.example.com'));
    assert.ok(bypass('https://collector.example.com', '*.example.com'));
    assert.ok(bypass('https://example.com', '.example.com'));
    assert.ok(!bypass('https://badexample.com', 'example.com'), 'a suffix of the name is not a subdomain');
    assert.ok(bypass('https://Collector.Example.COM', 'other.org, example.com'));
    assert.ok(bypass('https://collector.example.com', 'other.org example.com'));
    assert.ok(bypass('https://10.1.2.3:7070', '10.0.0.0/8'));
    assert.ok(!bypass('https://11.1.2.3:7070', '10.0.0.0/8'));
    assert.ok(bypass('https://[fd00::5]:7070', 'fd00::/8'));
    assert.ok(bypass('https://collector.example.com:8443', 'example.com:8443'));
    assert.ok(!bypass('https://collector.example.com', 'example.com:8443'), 'the default port 443 is not 8443');
    assert.ok(bypass('http://collector.example.com', 'example.com:80'));
    assert.ok(bypass('https://anything.org', '*'));
    assert.ok(!bypass('https://collector.example.com', ''));
    assert.equal(proxyFor(https, undefined, { HTTPS_PROXY: 'http://p:1', no_proxy: 'example.com' }).proxy, undefined);
  });

  test('proxy URLs: a bare host:port is http; credentials become Basic and never the display', () => {
    const bare = parseProxy('proxy.internal:3128');
    assert.ok(!('invalid' in bare));
    assert.equal(bare.url.protocol, 'http:');
    assert.equal(bare.display, 'proxy.internal:3128');
    const withCredentials = parseProxy('http://alice:s%40cret@proxy.internal');
    assert.ok(!('invalid' in withCredentials));
    assert.equal(withCredentials.authorization, `Basic ${Buffer.from('alice:s@cret').toString('base64')}`);
    assert.equal(withCredentials.display, 'proxy.internal:80');
    assert.match(
      (parseProxy('socks5://proxy:1080') as { invalid: string }).invalid,
      /socks5 proxies are not supported/,
    );
    assert.ok('invalid' in parseProxy('http://'));
    assert.match((parseProxy('http://al%zzice:pw@proxy:3128') as { invalid: string }).invalid, /percent-encoding/);
    assert.equal((parseProxy('http://[::1]:3128') as { display: string }).display, '[::1]:3128');
  });

  test('an unusable proxy is reported, without its credentials, and not used', async () => {
    const errors: VigilSdkError[] = [];
    await withEnv({ ...NO_PROXY_ENV, HTTPS_PROXY: 'socks5://bob:hunter2@proxy:1080' }, async () => {
      const vigil = createVigil(options('https://collector.example.com', errors));
      await vigil.close();
    });
    const invalid = errors.find((e) => e.code === 'config_invalid');
    assert.match(invalid?.message ?? '', /HTTPS_PROXY: socks5 proxies are not supported/);
    assert.ok(!errors.some((e) => e.message.includes('hunter2')));
    const wrongType = createVigil(options('https://collector.example.com', errors, { proxy: 3128 as never }));
    assert.ok(errors.some((e) => e.code === 'config_invalid' && /option proxy must be/.test(e.message)));
    await wrongType.close();
  });
});

describe('sending through a proxy', () => {
  const tlsFile = (name: string) => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url), 'utf8');
  let plain: Receiver;
  let secure: Receiver;
  before(async () => {
    plain = await Receiver.start();
    secure = await Receiver.start({ tls: { cert: tlsFile('collector.crt'), key: tlsFile('collector.key') } });
  });
  after(() => Promise.all([plain.close(), secure.close()]));

  test('http endpoint from HTTP_PROXY: absolute-form request through the proxy, token and batch intact', async () => {
    const proxy = await ForwardProxy.start();
    try {
      plain.requests.length = 0;
      const errors: VigilSdkError[] = [];
      // A host only the proxy can resolve: delivered means it went through the proxy.
      const endpoint = `http://collector.vigil.test:${new URL(plain.url).port}`;
      await withEnv({ ...NO_PROXY_ENV, HTTP_PROXY: `http://127.0.0.1:${proxy.port}` }, async () => {
        const vigil = createVigil(options(endpoint, errors));
        vigil.event('x_test', { n: 1 });
        vigil.event('x_test', { n: 2 });
        await vigil.close();
      });
      assert.deepEqual(
        plain.events.map((e) => e.n),
        [1, 2],
      );
      assert.deepEqual(proxy.seen[0], {
        method: 'POST',
        target: `${endpoint}/v1/events`,
        authorization: undefined,
      });
      assert.equal(plain.requests[0]?.headers.authorization, `Bearer ${TEST_TOKEN}`);
      assert.deepEqual(
        errors.map((e) => e.code),
        ['insecure_endpoint'],
      );
    } finally {
      await proxy.close();
    }
  });

  test('https endpoint: a CONNECT tunnel, TLS end to end with the collector (its certificate still checked)', async () => {
    const proxy = await ForwardProxy.start();
    try {
      secure.requests.length = 0;
      const errors: VigilSdkError[] = [];
      const endpoint = `https://localhost:${new URL(secure.url).port}`;
      const base = options(endpoint, errors, { proxy: `http://127.0.0.1:${proxy.port}` });
      const vigil = createVigil({ ...base, ca: tlsFile('collector.crt') });
      for (let i = 0; i < 3; i++) vigil.event('x_test', { n: i });
      await vigil.flush();
      vigil.event('x_test', { n: 3 });
      await vigil.close();
      assert.deepEqual(
        errors.map((e) => e.message),
        [],
      );
      assert.deepEqual(
        secure.events.map((e) => e.n),
        [0, 1, 2, 3],
      );
      assert.equal(proxy.seen.length, 1, 'one tunnel, kept alive for both batches');
      assert.deepEqual(proxy.seen[0], {
        method: 'CONNECT',
        target: `localhost:${new URL(secure.url).port}`,
        authorization: undefined,
      });

      // Without the CA, the collector's certificate is refused inside the tunnel as it would be without the proxy.
      const untrusted = createVigil({ ...base, maxRetries: 0 });
      untrusted.event('x_test', { n: 4 });
      await untrusted.close();
      assert.ok(errors.some((e) => e.code === 'tls_untrusted'));
      assert.ok(!secure.events.some((e) => e.n === 4));
    } finally {
      await proxy.close();
    }
  });

  test('an https:// proxy: TLS to the proxy (checked with ca as well), then the tunnel; also for an http endpoint', async () => {
    const tls = { cert: tlsFile('collector.crt'), key: tlsFile('collector.key') };
    const proxy = await ForwardProxy.start(undefined, tls);
    try {
      secure.requests.length = 0;
      plain.requests.length = 0;
      const errors: VigilSdkError[] = [];
      for (const endpoint of [
        `https://localhost:${new URL(secure.url).port}`,
        `http://collector.vigil.test:${new URL(plain.url).port}`,
      ]) {
        // By name and by address: the proxy's certificate holds both.
        for (const proxyUrl of [`https://localhost:${proxy.port}`, `https://127.0.0.1:${proxy.port}`]) {
          const vigil = createVigil(options(endpoint, errors, { proxy: proxyUrl, ca: tls.cert }));
          vigil.event('x_test', { n: 1 });
          await vigil.close();
        }
      }
      assert.deepEqual(
        [...secure.events, ...plain.events].map((e) => e.n),
        [1, 1, 1, 1],
      );
      assert.deepEqual(
        proxy.seen.map((r) => r.method),
        ['CONNECT', 'CONNECT', 'POST', 'POST'],
      );
      assert.deepEqual(
        errors.map((e) => e.code),
        ['insecure_endpoint', 'insecure_endpoint'], // once per client of the http endpoint
      );
    } finally {
      await proxy.close();
    }
  });

  test('a proxy that wants credentials: 407 named once without them, delivered with them; the password never shows', async () => {
    const proxy = await ForwardProxy.start('alice:p@ss word');
    try {
      secure.requests.length = 0;
      const endpoint = `https://localhost:${new URL(secure.url).port}`;
      const errors: VigilSdkError[] = [];
      const refused = createVigil(
        options(endpoint, errors, {
          proxy: `http://127.0.0.1:${proxy.port}`,
          ca: tlsFile('collector.crt'),
          maxRetries: 2,
        }),
      );
      refused.event('x_test', { n: 1 });
      await refused.close();
      const failed = errors.filter((e) => e.code === 'proxy_failed');
      assert.equal(failed.length, 1, 'named once, however many attempts');
      assert.match(
        failed[0]!.message,
        new RegExp(`the proxy 127\\.0\\.0\\.1:${proxy.port} refused the tunnel.*HTTP 407.*credentials`),
      );
      assert.equal(refused.stats().dropped.retries_exhausted, 1);
      assert.equal(secure.requests.length, 0);

      const accepted = createVigil(
        options(endpoint, errors, {
          proxy: `http://alice:${encodeURIComponent('p@ss word')}@127.0.0.1:${proxy.port}`,
          ca: tlsFile('collector.crt'),
        }),
      );
      accepted.event('x_test', { n: 2 });
      await accepted.close();
      assert.deepEqual(
        secure.events.map((e) => e.n),
        [2],
      );
      assert.equal(proxy.seen.at(-1)?.authorization, `Basic ${Buffer.from('alice:p@ss word').toString('base64')}`);
      assert.ok(!errors.some((e) => /p@ss|p%40ss/.test(e.message)));
    } finally {
      await proxy.close();
    }
  });

  test('an http endpoint behind a proxy that wants credentials: its 407 names the proxy, not the endpoint', async () => {
    const proxy = await ForwardProxy.start('alice:secret');
    try {
      const errors: VigilSdkError[] = [];
      const vigil = createVigil(
        options(`http://collector.vigil.test:${new URL(plain.url).port}`, errors, {
          proxy: `http://127.0.0.1:${proxy.port}`,
          maxRetries: 1,
        }),
      );
      vigil.event('x_test', { n: 1 });
      await vigil.close();
      assert.deepEqual(
        errors.map((e) => e.code),
        ['insecure_endpoint', 'proxy_failed', 'delivery_failed'],
      );
      assert.match(
        errors[1]!.message,
        new RegExp(`the proxy 127\\.0\\.0\\.1:${proxy.port} refused the request: HTTP 407`),
      );
      assert.equal(vigil.stats().dropped.retries_exhausted, 1);
    } finally {
      await proxy.close();
    }
  });

  test('a proxy that is down: the drops are counted and the proxy is named', async () => {
    const proxy = await ForwardProxy.start();
    const port = proxy.port;
    await proxy.close();
    const errors: VigilSdkError[] = [];
    const vigil = createVigil(
      options(`https://localhost:${new URL(secure.url).port}`, errors, {
        proxy: `http://127.0.0.1:${port}`,
        maxRetries: 1,
      }),
    );
    vigil.event('x_test', { n: 1 });
    await vigil.flush();
    assert.equal(vigil.stats().dropped.retries_exhausted, 1);
    assert.match(
      errors.find((e) => e.code === 'proxy_failed')?.message ?? '',
      /could not reach the proxy 127\.0\.0\.1:\d+: .*ECONNREFUSED/,
    );
    await vigil.close();
  });

  test('a proxy that never answers: close() gives up at its deadline and ends the pending tunnel', async () => {
    const silent = createNetServer();
    const accepted: Socket[] = [];
    silent.on('connection', (socket) => {
      accepted.push(socket);
      socket.resume(); // reading, so that the client's end is seen
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const errors: VigilSdkError[] = [];
      const vigil = createVigil(
        options(`https://localhost:${new URL(secure.url).port}`, errors, {
          proxy: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
          requestTimeoutMillis: 60_000,
          closeTimeoutMillis: 300,
        }),
      );
      vigil.event('x_test', { n: 1 });
      void vigil.flush();
      while (accepted.length === 0) await delay(10);
      const closed = once(accepted[0]!, 'close');
      await vigil.close();
      await closed; // the test's own timeout is the bound: without it, the tunnel would wait 60 s
      assert.equal(vigil.stats().dropped.shutdown, 1);
    } finally {
      silent.close();
    }
  });

  test('a loopback endpoint with HTTPS_PROXY set goes direct; NO_PROXY keeps a named host off the proxy', async () => {
    const proxy = await ForwardProxy.start();
    try {
      secure.requests.length = 0;
      const errors: VigilSdkError[] = [];
      await withEnv({ ...NO_PROXY_ENV, HTTPS_PROXY: `http://127.0.0.1:${proxy.port}` }, async () => {
        const vigil = createVigil(
          options(`https://localhost:${new URL(secure.url).port}`, errors, { ca: tlsFile('collector.crt') }),
        );
        vigil.event('x_test', { n: 1 });
        await vigil.close();
      });
      assert.deepEqual(
        secure.events.map((e) => e.n),
        [1],
      );
      await withEnv(
        { ...NO_PROXY_ENV, HTTP_PROXY: `http://127.0.0.1:${proxy.port}`, NO_PROXY: '.vigil.test' },
        async () => {
          // Not through the proxy, so the made-up name does not resolve: a network error, not a delivery.
          const vigil = createVigil(
            options(`http://collector.vigil.test:${new URL(plain.url).port}`, errors, { maxRetries: 0 }),
          );
          vigil.event('x_test', { n: 2 });
          await vigil.close();
          assert.equal(vigil.stats().dropped.retries_exhausted, 1);
        },
      );
      assert.deepEqual(proxy.seen, []);
    } finally {
      await proxy.close();
    }
  });
});

describe('the decision stream through a proxy and with a private CA', () => {
  const tlsFile = (name: string) => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url), 'utf8');
  const ATTACKER = '203.0.113.7';
  // A decision stream: one block in force for the attacker, whatever the cursor.
  const answer = (req: IncomingMessage, res: ServerResponse) => {
    const decision = {
      id: 'dec_1',
      action: 'block',
      scope: 'ip',
      value: ATTACKER,
      status: 'active',
      expiresAt: new Date(Date.now() + 600_000).toISOString(),
    };
    const body = req.url?.startsWith('/v1/decisions/stream') ? { decisions: [decision], cursor: 'c1' } : {};
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  let plain: Server;
  let secure: Server;
  const portOf = (server: Server) => (server.address() as AddressInfo).port;
  before(async () => {
    plain = createServer(answer).listen(0, '127.0.0.1');
    secure = createTlsServer({ cert: tlsFile('collector.crt'), key: tlsFile('collector.key') }, answer).listen(
      0,
      '127.0.0.1',
    );
    await Promise.all([once(plain, 'listening'), once(secure, 'listening')]);
  });
  after(async () => {
    for (const server of [plain, secure]) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  async function poll(
    options: DecisionCacheOptions,
  ): Promise<{ synced: boolean; errors: string[]; cache: DecisionCache }> {
    const errors: string[] = [];
    const cache = new DecisionCache({ token: TEST_TOKEN, onError: (e) => errors.push(e.message), ...options });
    cache.start();
    const synced = await cache.synced(3000);
    cache.close();
    return { synced, errors, cache };
  }

  test('https with the collector certificate in ca: polled, and the block holds; without it, refused', async () => {
    const endpoint = `https://localhost:${portOf(secure)}`;
    const trusted = await poll({ endpoint, ca: tlsFile('collector.crt'), proxy: false });
    assert.equal(trusted.synced, true, trusted.errors.join('; '));
    assert.equal(trusted.cache.check({ clientAddress: ATTACKER })?.action, 'block');
    const untrusted = await poll({ endpoint, proxy: false });
    assert.equal(untrusted.synced, false);
    assert.match(untrusted.errors[0] ?? '', /self[- ]signed|certificate/i);
  });

  test('https through the proxy option: a CONNECT tunnel, TLS with the collector inside it', async () => {
    const proxy = await ForwardProxy.start();
    try {
      // A host only the proxy can resolve: synced means it went through the proxy.
      const endpoint = `https://collector.vigil.test:${portOf(secure)}`;
      const { synced, errors, cache } = await withEnv(NO_PROXY_ENV, () =>
        poll({ endpoint, ca: tlsFile('collector.crt'), proxy: `http://127.0.0.1:${proxy.port}` }),
      );
      // The certificate is for localhost: the tunnel is checked against the name asked for, and refused.
      assert.equal(synced, false);
      assert.match(errors[0] ?? '', /altnames|does not match|localhost/i);
      assert.equal(proxy.seen[0]?.method, 'CONNECT');
      assert.equal(proxy.seen[0]?.target, `collector.vigil.test:${portOf(secure)}`);
      assert.equal(cache.stats().decisions, 0);
      const local = await withEnv(NO_PROXY_ENV, () =>
        poll({
          endpoint: `https://localhost:${portOf(secure)}`,
          ca: tlsFile('collector.crt'),
          proxy: `http://127.0.0.1:${proxy.port}`,
        }),
      );
      assert.equal(local.synced, true, local.errors.join('; '));
      assert.equal(proxy.seen.at(-1)?.target, `localhost:${portOf(secure)}`);
      assert.equal(local.cache.check({ clientAddress: ATTACKER })?.action, 'block');
    } finally {
      await proxy.close();
    }
  });

  test('http from HTTP_PROXY: the poll is sent to the proxy in absolute form', async () => {
    const proxy = await ForwardProxy.start();
    try {
      const endpoint = `http://collector.vigil.test:${portOf(plain)}`;
      const { synced, errors, cache } = await withEnv(
        { ...NO_PROXY_ENV, HTTP_PROXY: `http://127.0.0.1:${proxy.port}` },
        () => poll({ endpoint }),
      );
      assert.equal(synced, true, errors.join('; '));
      assert.equal(cache.check({ clientAddress: ATTACKER })?.action, 'block');
      assert.equal(proxy.seen[0]?.method, 'GET');
      assert.match(proxy.seen[0]?.target ?? '', new RegExp(`^${endpoint}/v1/decisions/stream\\?`));
    } finally {
      await proxy.close();
    }
  });
});
