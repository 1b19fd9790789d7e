import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect as connectHttp2, createServer as createHttp2Server } from 'node:http2';
import { type AddressInfo, connect } from 'node:net';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { idHasher } from '../fingerprint.js';
import { createVigil, type Vigil } from '../index.js';
import { secretSegments } from '../redact.js';
import { objectTypeOf } from '../request.js';
import { startTestApp, type TestApp, useTestApp } from '../testing/app.js';
import { Receiver, TEST_TOKEN } from '../testing/receiver.js';
import { type WrapOptions, wrap } from './node.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A node:http server that runs `handler` through `wrap`, for a test app (testing/app.ts). */
const wrapped = (handler: (vigil: Vigil) => Handler, wrapOptions: WrapOptions<IncomingMessage>) => (vigil: Vigil) =>
  createServer(wrap(vigil, handler(vigil), wrapOptions));

describe('node:http adapter', () => {
  const app = useTestApp(
    { service: 'node-test' },
    wrapped(
      (client) => (req, res) => {
        const match = /^\/items\/([^/?]+)/.exec(req.url ?? '');
        if (match) {
          client.access('item', match[1]!);
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('item');
          return;
        }
        if (req.url === '/throws') {
          res.statusCode = 500;
          res.end();
          return;
        }
        res.writeHead(404).end();
      },
      { route: (req) => (req.url?.startsWith('/items/') ? '/items/:id' : undefined) },
    ),
  );

  test('records requests with the route from the resolver, and helpers see the request', async () => {
    const events = await app.receiver.call(app.url, '/items/abc?x=1', 'node-1');
    const request = events.find((e) => e.type === 'http_request')!;
    assert.equal(request['http.route'], '/items/:id');
    assert.equal(request['url.path'], '/items/abc');
    assert.equal(request['url.query'], 'x=1');
    assert.equal(request['http.response.status_code'], 200);
    assert.equal(request['http.response.body.size'], 4);
    const access = events.find((e) => e.type === 'object_access')!;
    assert.equal(access['vigil.object.id'], 'abc');
    assert.equal(access['http.route'], '/items/:id');
  });

  test('without a route the template is omitted; a 5xx records app_error with the status as its type', async () => {
    const events = await app.receiver.call(app.url, '/throws', 'node-2');
    const request = events.find((e) => e.type === 'http_request')!;
    assert.equal('http.route' in request, false);
    const error = events.find((e) => e.type === 'app_error')!;
    assert.equal(error['error.type'], '500');
  });

  test('session.id: a hash of the session cookie of express-session, @fastify/session or koa-session', async () => {
    const ids = [];
    for (const cookie of ['connect.sid=s%3Aq7Zx9', 'theme=dark; sessionId=q7Zx9', 'koa.sess=q7Zx9', 'theme=dark']) {
      const events = await app.receiver.call(app.url, '/items/1', `node-session-${ids.length}`, {
        headers: { cookie },
      });
      ids.push(events.find((e) => e.type === 'http_request')!['session.id']);
    }
    for (const id of ids.slice(0, 3)) assert.match(String(id), /^[0-9a-f]{16}$/);
    assert.equal(ids[1], ids[2], 'the same session value, the same hash');
    assert.equal(ids[3], undefined);
    assert.ok(!app.receiver.allText.includes('q7Zx9'));
  });

  test('an absolute-form request target (as sent to a proxy) keeps its path and query', async () => {
    const port = new URL(app.url).port;
    for (const [target, path, query, id] of [
      ['http://evil.example?q=%27%20OR%201%3D1', '/', 'q=%27%20OR%201%3D1', 'abs-1'],
      ['http://evil.example/items/9?x=1#frag', '/items/9', 'x=1', 'abs-2'],
    ] as const) {
      const socket = connect(Number(port), '127.0.0.1');
      socket.end(`GET ${target} HTTP/1.1\r\nHost: evil.example\r\nx-request-id: ${id}\r\nConnection: close\r\n\r\n`);
      socket.resume();
      await once(socket, 'close');
      await app.receiver.waitFor(() => app.receiver.events.some((e) => e['http.request.id'] === id));
      const request = app.receiver.events.find((e) => e['http.request.id'] === id && e.type === 'http_request')!;
      assert.equal(request['url.path'], path, target);
      assert.equal(request['url.query'], query, target);
    }
  });

  test('vigil.wrap is the same adapter', () => {
    const handler = app.vigil.wrap((_req: IncomingMessage, res: ServerResponse) => res.end());
    assert.equal(typeof handler, 'function');
  });
});

test('HTTP/2 (the compatibility API): each body byte is counted once, the request and its helpers recorded', async () => {
  const receiver = await Receiver.start();
  const vigil = createVigil({ endpoint: receiver.url, token: TEST_TOKEN, service: 'h2-test', flushOnExit: false });
  const server = createHttp2Server(
    wrap(vigil, (req, res) => {
      // Called once the body was read: the request's own events run in its context over HTTP/2 too.
      req.resume();
      req.on('end', () => {
        vigil.access('doc', '7');
        res.writeHead(200, { 'content-type': 'text/plain' });
        if (req.url === '/two-chunks') res.write('hello, ');
        res.end('world');
      });
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const session = connectHttp2(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  try {
    for (const [path, id] of [
      ['/one-chunk', 'h2-1'],
      ['/two-chunks', 'h2-2'],
    ] as const) {
      const stream = session.request({
        ':method': 'POST',
        ':path': path,
        'x-request-id': id,
        'user-agent': 'h2-client',
      });
      stream.resume();
      stream.write('a body');
      setTimeout(() => stream.end(' in two parts'), 5);
      await once(stream, 'end');
    }
    await vigil.flush();
    const request = (id: string) =>
      receiver.events.find((e) => e['http.request.id'] === id && e.type === 'http_request')!;
    assert.equal(request('h2-1')['http.response.body.size'], 5);
    assert.equal(request('h2-2')['http.response.body.size'], 12);
    assert.equal(request('h2-1')['user_agent.original'], 'h2-client');
    assert.equal(request('h2-1')['client.address'], '127.0.0.1');
    const access = receiver.events.find((e) => e['http.request.id'] === 'h2-2' && e.type === 'object_access')!;
    assert.equal(access['url.path'], '/two-chunks');
  } finally {
    session.close();
    server.close();
    await vigil.close();
    await receiver.close();
  }
});

describe('node:http adapter: helpers called from the listeners of the request and its response', () => {
  const app = useTestApp(
    {},
    wrapped(
      (client) => (req, res) => {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (chunk: string) => {
          body += chunk;
        });
        req.on('end', () => {
          client.authn.loginFail(JSON.parse(body).user, { reason: 'bad_password' });
          res.on('finish', () => client.event('x_login_answered', { outcome: 'refused' }));
          res.writeHead(401).end();
        });
      },
      { route: () => '/login' },
    ),
  );

  test("a login read from req.on('end') records the app's authn_login_fail with its request, and no automatic one", async () => {
    const events = await app.receiver.call(app.url, '/login', 'node-body-events', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'ann' }),
    });
    const fails = events.filter((e) => e.type === 'authn_login_fail');
    assert.deepEqual(
      fails.map((e) => [e['event.reason'], e['http.route'], e['client.address']]),
      [['bad_password', '/login', '127.0.0.1']],
    );
    await app.vigil.flush();
    const answered = app.receiver.events.find((e) => e.type === 'x_login_answered');
    assert.equal(answered?.['http.request.id'], 'node-body-events', "res.on('finish') runs in the request's context");
  });
});

test('skipPaths: a successful GET or HEAD of exactly that path records nothing; anything else is recorded', async () => {
  const errors: string[] = [];
  const app = await startTestApp(
    { skipPaths: ['/healthz', 'metrics'], onError: (e) => errors.push(`${e.code}: ${e.message}`) },
    wrapped(
      () => (req, res) => {
        res.writeHead(req.headers['x-fail'] ? 503 : 200).end(req.method === 'HEAD' ? undefined : 'ok');
      },
      {},
    ),
  );
  try {
    const requests: Array<[string, string, RequestInit?]> = [
      ['/healthz', 'skip-get'],
      ['/healthz', 'skip-head', { method: 'HEAD' }],
      ['/healthz?probe=1', 'with-query'],
      ['/healthz', 'post', { method: 'POST' }],
      ['/healthz', 'failing', { headers: { 'x-fail': '1' } }],
      ['/healthz/', 'trailing-slash'],
      ['/metrics', 'not-a-path-entry'],
    ];
    for (const [path, id, init] of requests) {
      const headers = new Headers(init?.headers);
      headers.set('x-request-id', id);
      await (await fetch(`${app.url}${path}`, { ...init, headers })).arrayBuffer();
    }
    await app.vigil.flush();
    const recorded = (type: string) =>
      app.receiver.events.filter((e) => e.type === type).map((e) => e['http.request.id']);
    assert.deepEqual(recorded('http_request'), ['with-query', 'post', 'failing', 'trailing-slash', 'not-a-path-entry']);
    assert.deepEqual(recorded('app_error'), ['failing']);
    assert.deepEqual(errors, [
      'config_invalid: option skipPaths takes paths such as "/healthz" (no query); others are ignored',
    ]);
  } finally {
    await app.close();
  }
});

describe('node:http adapter: the request event is redacted like every other event', () => {
  test('configured paths, secrets in headers and path, and odd principals from identify()', async () => {
    const { receiver, url, close } = await startTestApp(
      {
        service: 'node-redaction',
        redact: ['user_agent.original', 'http.route'],
        // An app's hook may return numbers, ObjectId-like objects and junk: only ids as text reach the event.
        identify: () => ({
          userId: 42 as unknown as string,
          roles: ['admin', 7 as unknown as string, null as unknown as string],
          apiKeyId: { toHexString: () => 'key-hex' } as unknown as string,
        }),
      },
      wrapped(
        (client) => (_req, res) => {
          client.access('card', 'c-1');
          res.end('ok');
        },
        { route: () => '/cards/:number' },
      ),
    );
    try {
      const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.c2lnbmF0dXJl';
      await (
        await fetch(`${url}/cards/4111111111111111?token=abc&page=2`, {
          headers: { 'user-agent': 'probe/1', 'x-request-id': `req ${jwt}` },
        })
      ).text();
      await receiver.waitFor(() => receiver.events.some((e) => e.type === 'http_request'));
      for (const type of ['http_request', 'object_access']) {
        const event = receiver.events.find((e) => e.type === type)!;
        assert.equal(event['user_agent.original'], '[REDACTED]', type);
        assert.equal(event['http.route'], '[REDACTED]', type);
        assert.equal(event['url.path'], '/cards/[REDACTED]', type);
        assert.equal(event['http.request.id'], 'req [REDACTED]', type);
        assert.equal(event['user.id'], '42', type);
        assert.deepEqual(event['user.roles'], ['admin', '7'], type);
        assert.equal(event['vigil.api_key.id'], 'key-hex', type);
      }
      const request = receiver.events.find((e) => e.type === 'http_request')!;
      assert.equal(request['url.query'], 'token=[REDACTED]&page=2');
      assert.equal(request['client.address'], '127.0.0.1');
      assert.equal(request['network.peer.address'], '127.0.0.1');
      assert.equal(request['event.outcome'], 'success');
      assert.equal(receiver.requests[0]?.headers['content-encoding'], undefined);
    } finally {
      await close();
    }
  });
});

describe('node:http adapter: a 401 on a login route, by default and configured', () => {
  const answers401 = wrapped(() => (_req, res) => res.writeHead(401).end(), { route: (req) => req.url });
  let sent = 0;
  /** The automatic events of one request, `id` being "METHOD /path". */
  const automatic = async (app: TestApp, id: string) => {
    const [method, path] = id.split(' ') as [string, string];
    const events = await app.receiver.call(app.url, path, `login-route-${++sent}`, { method });
    return events.filter((e) => e.type !== 'http_request').map((e) => e.type);
  };

  test('by default, a POST answered 401 on the usual login endpoints records authn_login_fail', async () => {
    const app = await startTestApp({}, answers401);
    try {
      for (const id of ['POST /login', 'POST /api/v1/auth/login', 'POST /oauth/token/', 'POST /users/sign_in']) {
        assert.deepEqual(await automatic(app, id), ['authn_login_fail'], id);
      }
      for (const id of ['GET /login', 'POST /orders', 'POST /loginhistory']) {
        assert.deepEqual(await automatic(app, id), [], id);
      }
    } finally {
      await app.close();
    }
  });

  test('configured: only the routes listed; [] records no automatic login failure', async () => {
    const listed = await startTestApp({ loginRoutes: ['PUT */auth', '/exact'] }, answers401);
    const none = await startTestApp({ loginRoutes: [] }, answers401);
    try {
      assert.deepEqual(await automatic(listed, 'PUT /v2/auth'), ['authn_login_fail']);
      assert.deepEqual(await automatic(listed, 'GET /exact'), ['authn_login_fail']);
      assert.deepEqual(await automatic(listed, 'POST /login'), []);
      assert.deepEqual(await automatic(none, 'POST /login'), []);
    } finally {
      await listed.close();
      await none.close();
    }
  });
});

describe("node:http adapter: the app's user objects that throw", () => {
  const throwingUser = (req: IncomingMessage) =>
    Object.defineProperty(req, 'user', {
      get() {
        throw new Error('session store unreachable');
      },
    });

  for (const [name, identify] of [
    ['a req.user getter that throws (default conventions)', undefined],
    [
      'an identify() principal whose fields throw',
      () => ({
        get userId(): string {
          throw new Error('lazy field of an ORM entity');
        },
      }),
    ],
  ] as const) {
    test(`${name}: every event of the request is still recorded, without a principal`, async () => {
      const codes: string[] = [];
      const { receiver, url, vigil, close } = await startTestApp(
        { service: 'node-odd-user', identify, onError: (error) => codes.push(error.code) },
        wrapped(
          (client) => (req, res) => {
            throwingUser(req);
            client.authz.fail(undefined, 'doc-1');
            res.writeHead(403).end();
          },
          { route: () => '/docs/:id' },
        ),
      );
      try {
        const events = await receiver.call(url, '/docs/doc-1', `odd-${codes.length}`);
        const request = events.find((e) => e.type === 'http_request')!;
        assert.equal(request['http.response.status_code'], 403);
        assert.equal(request['http.route'], '/docs/:id');
        assert.equal(request['user.id'], undefined);
        const fail = events.find((e) => e.type === 'authz_fail')!;
        assert.equal(fail['vigil.object.id'], 'doc-1');
        assert.equal(vigil.stats().dropped.internal, 0);
        assert.ok(codes.includes(identify ? 'hook_failed' : 'identify_failed'), codes.join());
        assert.ok(!codes.includes('internal'), codes.join());
      } finally {
        await close();
      }
    });
  }

  test('an async identify(): reported, the default conventions used, its rejection never unhandled', async () => {
    const errors: string[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const { receiver, url, close } = await startTestApp(
      {
        service: 'node-async-identify',
        identify: (async () => {
          throw new Error('user lookup failed');
        }) as unknown as () => undefined,
        onError: (error) => errors.push(`${error.code}: ${error.message}`),
      },
      wrapped(
        () => (req, res) => {
          (req as IncomingMessage & { user?: unknown }).user = { id: 'u-9' };
          res.end('ok');
        },
        {},
      ),
    );
    try {
      const events = await receiver.call(url, '/me', 'async-identify');
      assert.equal(events.find((e) => e.type === 'http_request')!['user.id'], 'u-9', 'req.user, by default');
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
      assert.equal(errors.length, 1);
      assert.match(errors[0]!, /^hook_failed: the identify\(req\) hook returned a Promise/);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await close();
    }
  });

  test('an event the SDK cannot build is counted as dropped (internal), never thrown', async () => {
    const codes: string[] = [];
    const { vigil, close } = await startTestApp(
      { onError: (error) => codes.push(error.code) },
      wrapped(() => (_req, res) => res.end(), {}),
    );
    try {
      const fields = {
        get note(): string {
          throw new Error('a getter of the app');
        },
      };
      vigil.event('x_odd', fields);
      vigil.authz.fail('ann', 'doc', fields);
      assert.equal(vigil.stats().dropped.internal, 2);
      assert.deepEqual(codes, ['internal', 'internal']);
    } finally {
      await close();
    }
  });
});

describe('node:http adapter: object access from route parameters, validation errors', () => {
  const ROUTES = [
    { template: '/tenants/:tenantId/invoices/:invoiceId', pattern: /^\/tenants\/([^/]+)\/invoices\/([^/]+)$/ },
    { template: '/files/:a/:b/:c/:d/:e', pattern: /^\/files\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)$/ },
  ];
  const match = (req: IncomingMessage) => {
    for (const route of ROUTES) {
      const m = route.pattern.exec(req.url ?? '');
      if (!m) continue;
      const names = [...route.template.matchAll(/:(\w+)/g)].map((n) => n[1]!);
      return { template: route.template, params: Object.fromEntries(names.map((n, i) => [n, m[i + 1]])) };
    }
    return undefined;
  };

  const app = useTestApp(
    { service: 'node-test', accessParams: true, hashObjectIds: true },
    wrapped(
      (client) => (req, res) => {
        if (req.url === '/validate') {
          client.input.fromError(z.object({ email: z.string().email() }).safeParse({ email: 'no' }));
          client.input.fromError('not a validation error');
          try {
            JSON.parse('{"card": "4111111111111111", oops');
          } catch (error) {
            client.input.fromError(error); // the app's own JSON.parse of the body
          }
          res.writeHead(422).end();
          return;
        }
        res.writeHead(req.headers['x-status'] ? Number(req.headers['x-status']) : 200).end('ok');
      },
      { route: (req) => match(req)?.template, params: (req) => match(req)?.params },
    ),
  );

  const eventsOf = (path: string, requestId: string, headers: Record<string, string> = {}) =>
    app.receiver.call(app.url, path, requestId, { headers });

  test('accessParams: true records each parameter, typed by the segment before it, ids hashed', async () => {
    const events = await eventsOf('/tenants/acme/invoices/9001', 'access-1');
    const access = events.filter((e) => e.type === 'object_access');
    assert.deepEqual(
      access.map((e) => [e['vigil.object.type'], e['vigil.object.id'], e['event.outcome']]),
      [
        ['tenants', idHasher(TEST_TOKEN)('acme'), 'success'],
        ['invoices', idHasher(TEST_TOKEN)('9001'), 'success'],
      ],
    );
    assert.ok(!JSON.stringify(events).includes('"9001"'), 'the raw id is only in url.path');
  });

  test('at most four per request; a parameter after a parameter is typed by its own name', async () => {
    const access = (await eventsOf('/files/1/2/3/4/5', 'access-2')).filter((e) => e.type === 'object_access');
    assert.deepEqual(
      access.map((e) => e['vigil.object.type']),
      ['files', 'b', 'c', 'd'],
    );
  });

  test('a refused or failed request accessed no object', async () => {
    for (const status of ['403', '404', '500']) {
      const events = await eventsOf('/tenants/acme/invoices/9002', `access-${status}`, { 'x-status': status });
      assert.ok(!events.some((e) => e.type === 'object_access'), status);
    }
  });

  test('vigil.input.fromError: a zod result names its inputs, a SyntaxError is the body, anything else (unknown)', async () => {
    const invalid = (await eventsOf('/validate', 'validate-1')).filter((e) => e.type === 'input_validation_fail');
    assert.equal(invalid.length, 3);
    assert.equal(invalid[0]!['vigil.input.name'], 'email');
    assert.deepEqual(invalid[0]!['vigil.validation.rules'], ['invalid_format']);
    assert.equal(invalid[1]!['vigil.input.name'], '(unknown)');
    assert.deepEqual(
      [invalid[2]!['vigil.input.name'], invalid[2]!['vigil.validation.name'], invalid[2]!['vigil.validation.rules']],
      ['body', 'json', ['parse']],
    );
    assert.ok(!app.receiver.allText.includes('4111111111111111'));
  });
});

test("a rejection the caller handles stays handled: wrap returns the handler's outcome, not a second promise", async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const { receiver, url, close } = await startTestApp({ service: 'node-test' }, (vigil) => {
    const handler = wrap(vigil, async (_req: IncomingMessage, _res: ServerResponse) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      throw new TypeError('rejected');
    });
    // The app's own server catches what its async handler rejects with, and answers 500.
    return createServer((req, res) => {
      handler(req, res).catch(() => {
        res.statusCode = 500;
        res.end();
      });
    });
  });
  try {
    const response = await fetch(`${url}/x`);
    assert.equal(response.status, 500);
    await receiver.waitFor(() => receiver.events.some((e) => e.type === 'app_error'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(unhandled, []);
    const error = receiver.events.find((e) => e.type === 'app_error')!;
    assert.equal(error['error.type'], 'TypeError');
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await close();
  }
});

test('a secret route parameter is redacted on a plain success too; a path with $ patterns stays itself', async () => {
  const { receiver, url, close } = await startTestApp({ service: 'node-test' }, (vigil) =>
    createServer(
      wrap(
        vigil,
        (req: IncomingMessage, res: ServerResponse) => {
          res.statusCode = req.url?.includes('/forbidden') ? 403 : 204;
          res.end();
        },
        { route: (req) => (req.url?.startsWith('/orgs/') ? '/orgs/:org/invites/:token' : '/reset/:token') },
      ),
    ),
  );
  try {
    await fetch(`${url}/reset/f3c1a9e07b2d4c58`, { method: 'POST' }).then((r) => r.arrayBuffer());
    await fetch(`${url}/reset/f3c1a9e07b2d4c59/`, { method: 'POST' }).then((r) => r.arrayBuffer());
    await fetch(`${url}/orgs/$&$'/invites/x/forbidden`).then((r) => r.arrayBuffer());
    await fetch(`${url}/orgs/$&$'/invites/tok`).then((r) => r.arrayBuffer());
    await receiver.waitFor(() => receiver.events.filter((e) => e.type === 'http_request').length === 4);
    const paths = receiver.events.filter((e) => e.type === 'http_request').map((e) => e['url.path']);
    assert.deepEqual(paths, [
      '/reset/[REDACTED]',
      '/reset/[REDACTED]/',
      "/orgs/$&$'/invites/x/forbidden",
      "/orgs/$&$'/invites/[REDACTED]",
    ]);
    assert.ok(!receiver.allText.includes('f3c1a9e07b2d4c5'));
  } finally {
    await close();
  }
});

test('429 with the limit advertised records excess_rate_limit_exceeded (RateLimit-Limit, a draft-8 policy, writeHead)', async () => {
  const { receiver, url, close } = await startTestApp({ service: 'node-test' }, (vigil) =>
    createServer(
      wrap(vigil, (req: IncomingMessage, res: ServerResponse) => {
        // writeHead with the headers as an object, none set before: they never reach getHeader.
        if (req.url === '/written') return res.writeHead(429, { 'X-Other': 'a', 'X-RateLimit-Limit': '20' }).end();
        res.statusCode = 429;
        if (req.url === '/policy') res.setHeader('RateLimit-Policy', '"default";q=100;w=60');
        else res.setHeader('RateLimit-Limit', '50');
        res.end();
      }),
    ),
  );
  try {
    await fetch(`${url}/limit`).then((r) => r.arrayBuffer());
    await fetch(`${url}/policy`).then((r) => r.arrayBuffer());
    await fetch(`${url}/written`).then((r) => r.arrayBuffer());
    await receiver.waitFor(() => receiver.events.filter((e) => e.type === 'excess_rate_limit_exceeded').length === 3);
    const limits = receiver.events
      .filter((e) => e.type === 'excess_rate_limit_exceeded')
      .map((e) => e['vigil.limit.value']);
    assert.deepEqual(limits.sort(), [100, 20, 50]);
  } finally {
    await close();
  }
});

test('entries with a trailing slash, paths in another case, quoted and escaped session cookies', async () => {
  const { receiver, url, close } = await startTestApp(
    { service: 'node-test', loginRoutes: ['POST /login', '*/signin/'], graphqlPaths: ['*/graphql/'] },
    (vigil) =>
      createServer(
        wrap(vigil, (req: IncomingMessage, res: ServerResponse) => {
          res.statusCode = req.url?.includes('graphql') ? 200 : 401;
          res.end();
        }),
      ),
  );
  try {
    const post = (path: string, init: RequestInit = {}) =>
      fetch(`${url}${path}`, { method: 'POST', ...init }).then((r) => r.arrayBuffer());
    await post('/Login/');
    await post('/api/signin');
    await post('/api/graphql', { headers: { 'content-type': 'application/json' }, body: '{}' });
    for (const cookie of ['sid=abc', 'sid="abc"', 'sid=a%62c']) await post('/other', { headers: { cookie } });
    await receiver.waitFor(() => receiver.events.filter((e) => e.type === 'http_request').length === 6);
    const fails = receiver.events.filter((e) => e.type === 'authn_login_fail').map((e) => e['url.path']);
    assert.deepEqual(fails, ['/Login/', '/api/signin']);
    const sessions = receiver.events
      .filter((e) => e.type === 'http_request' && e['url.path'] === '/other')
      .map((e) => e['session.id']);
    assert.equal(sessions.length, 3);
    assert.equal(new Set(sessions).size, 1, 'one session to the app is one session.id');
  } finally {
    await close();
  }
});

test('HEAD, 204 and 304 send no body, whatever the handler wrote: body size 0', async () => {
  const { receiver, url, close } = await startTestApp({ service: 'node-test' }, (vigil) =>
    createServer(
      wrap(vigil, (req: IncomingMessage, res: ServerResponse) => {
        if (req.url === '/not-modified') res.statusCode = 304;
        res.end('hello world');
      }),
    ),
  );
  try {
    await fetch(`${url}/page`, { method: 'HEAD' }).then((r) => r.arrayBuffer());
    await fetch(`${url}/not-modified`).then((r) => r.arrayBuffer());
    await fetch(`${url}/page`).then((r) => r.arrayBuffer());
    await receiver.waitFor(() => receiver.events.filter((e) => e.type === 'http_request').length === 3);
    const sizes = receiver.events
      .filter((e) => e.type === 'http_request')
      .map((e) => [e['http.request.method'], e['http.response.status_code'], e['http.response.body.size']]);
    assert.deepEqual(sizes, [
      ['HEAD', 200, 0],
      ['GET', 304, 0],
      ['GET', 200, 11],
    ]);
  } finally {
    await close();
  }
});

test('objectTypeOf: the literal segment before a parameter, in every template syntax', () => {
  assert.equal(objectTypeOf('/orders/:id', 'id'), 'orders');
  assert.equal(objectTypeOf('/orders/:id(\\d+)', 'id'), 'orders');
  assert.equal(objectTypeOf('/orders/:id{[0-9]+}', 'id'), 'orders');
  assert.equal(objectTypeOf('/v1/orders/{orderId}/lines/{line}', 'line'), 'lines');
  assert.equal(objectTypeOf('/:slug', 'slug'), 'slug');
  assert.equal(objectTypeOf('/files/*/:name', 'name'), 'name');
  assert.equal(objectTypeOf(undefined, 'id'), 'id');
  assert.equal(objectTypeOf('/users/:id', 'other'), 'other');
});

test('secretSegments: the parameters of a template named as secrets, in every template syntax', () => {
  const secret = (name: string) => /token|password|sessionId/i.test(name);
  assert.deepEqual(secretSegments('/reset/:token', secret), [3, 2]);
  assert.deepEqual(secretSegments('/reset/:token(\\w+)/confirm', secret), [4, 2]);
  assert.deepEqual(secretSegments('/v1/sessions/{sessionId}/tokens/{token}', secret), [6, 3, 5]);
  assert.deepEqual(secretSegments('/users/:id', secret), []);
  assert.deepEqual(secretSegments('/static/tokens.json', secret), [], 'a literal segment is no parameter');
  // Several parameters in one segment: a secret among them redacts the whole segment.
  assert.deepEqual(secretSegments('/confirm/:uid-:token', secret), [3, 2]);
  assert.deepEqual(secretSegments('/confirm/:uid-:token(\\w+)/done', secret), [4, 2]);
  assert.deepEqual(secretSegments('/v1/links/{id}.{sessionId}', secret), [4, 3]);
  assert.deepEqual(secretSegments('/files/:name.:ext', secret), []);
  assert.deepEqual(secretSegments('/api/reset::token', secret), [], "Fastify's `::` is a literal colon");
  assert.deepEqual(secretSegments('/v1/keys/{keyId}:rotateToken', secret), [], 'a custom method is literal');
});

test('url.path: a secret route parameter sharing its segment with another is redacted with it', async () => {
  const { receiver, url, close } = await startTestApp(
    { service: 'node-test' },
    wrapped(() => (_req, res) => res.end('ok'), { route: () => '/confirm/:uid-:token' }),
  );
  try {
    const events = await receiver.call(url, '/confirm/42-SECRETTOKEN123', 'multi-1');
    assert.equal(events.find((e) => e.type === 'http_request')?.['url.path'], '/confirm/[REDACTED]');
    assert.ok(!receiver.allText.includes('SECRETTOKEN123'));
  } finally {
    await close();
  }
});

test('url.path: segments with escapes are judged decoded; the others are kept as they came', async () => {
  const { receiver, url, close } = await startTestApp(
    { service: 'node-test' },
    wrapped(() => (_req, res) => res.end('ok'), {}),
  );
  try {
    const paths: Record<string, string> = {
      '/cards/4111%201111%201111%201111/verify': '/cards/[REDACTED]/verify',
      '/search/my%20card%20is%204111%201111%201111%201111': '/search/my%20card%20is%20[REDACTED]',
      '/auth/Bearer%20abcdefghijklmnop': '/auth/Bearer%20[REDACTED]',
      '/files/caf%C3%A9%20menu.pdf': '/files/caf%C3%A9%20menu.pdf',
      '/q/%zz/a+b': '/q/%zz/a+b',
    };
    let i = 0;
    for (const [path, expected] of Object.entries(paths)) {
      const events = await receiver.call(url, path, `escaped-${i++}`);
      assert.equal(events.find((e) => e.type === 'http_request')?.['url.path'], expected, path);
    }
    assert.doesNotMatch(receiver.allText, /4111%201111|abcdefghijklmnop/);
  } finally {
    await close();
  }
});

test("inspect: 'params': an operator object under a secret arrives with its keys, its operands hidden", async () => {
  const { receiver, url, close } = await startTestApp(
    { service: 'node-test', inspect: 'params' },
    wrapped(
      () => (req, res) => {
        let text = '';
        req.setEncoding('utf8');
        req.on('data', (chunk: string) => {
          text += chunk;
        });
        req.on('end', () => {
          // As a body parser in front of the handler would leave it.
          (req as IncomingMessage & { body?: unknown }).body = JSON.parse(text);
          res.statusCode = 401;
          res.end();
        });
      },
      { route: () => '/login' },
    ),
  );
  try {
    const body = { username: 'admin', password: { $ne: null }, pin: { $gt: 1234 }, token: { $regex: 'hunter2' } };
    const events = await receiver.call(url, '/login', 'operator-1', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const request = events.find((e) => e.type === 'http_request')!;
    assert.equal(request['vigil.inspect.body.username'], 'admin');
    assert.equal(request['vigil.inspect.body.password'], '{"$ne":null}');
    assert.equal(request['vigil.inspect.body.pin'], '{"$gt":"[REDACTED]"}');
    assert.equal(request['vigil.inspect.body.token'], '{"$regex":"[REDACTED]"}');
    assert.doesNotMatch(receiver.allText, /hunter2/);
  } finally {
    await close();
  }
});

test('accessParams as a map: only the parameters it names (an inherited name is not one of them)', async () => {
  const { receiver, url, close } = await startTestApp(
    { service: 'node-test', accessParams: { orderId: 'order' } },
    wrapped(() => (_req, res) => res.end('ok'), {
      route: () => '/orders/:orderId/:constructor/:toString',
      params: (req) => {
        const [, , orderId, a, b] = (req.url ?? '').split('/');
        return { orderId, constructor: a, toString: b };
      },
    }),
  );
  try {
    const access = (await receiver.call(url, '/orders/o-1/x/y', 'map-1')).filter((e) => e.type === 'object_access');
    assert.deepEqual(
      access.map((e) => [e['vigil.object.type'], e['vigil.object.id']]),
      [['order', 'o-1']],
    );
    assert.equal(receiver.allText.match(/"object_access"/g)?.length, 1, 'nothing else was sent, valid or not');
  } finally {
    await close();
  }
});
