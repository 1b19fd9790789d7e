import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { describe, test } from 'node:test';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { validator } from 'hono/validator';
import { z } from 'zod';
import { useTestApp } from '../testing/app.js';
import { type HonoContextLike, honoRoute, vigilHono } from './hono.js';

type Handler = (...args: never[]) => void;

/** A middleware's handler takes `next`; an endpoint's does not. */
const middleware = (_c: unknown, _next: unknown) => {};
const endpoint = (_c: unknown) => {};

function context(routes: Array<[string, string, Handler?]>, routeIndex: number): HonoContextLike {
  return {
    req: {
      method: 'GET',
      url: 'http://x/',
      raw: { headers: { forEach() {} } },
      matchedRoutes: routes.map(([method, path, handler = method === 'ALL' ? middleware : endpoint]) => ({
        method,
        path,
        handler,
      })),
      routeIndex,
    },
  };
}

describe('honoRoute', () => {
  const routes: Array<[string, string]> = [
    ['ALL', '/*'], // Vigil
    ['ALL', '/api/*'], // authentication middleware
    ['GET', '/api/users/me'],
    ['GET', '/api/users/:id'],
  ];

  test('the route that answered', () => {
    assert.equal(honoRoute(context(routes, 2), 0), '/api/users/me');
    assert.equal(honoRoute(context(routes, 3), 0), '/api/users/:id');
  });

  test('middleware answered (a 401): the first route after it that would have', () => {
    assert.equal(honoRoute(context(routes, 1), 0), '/api/users/me');
  });

  test('only middleware matched (a 404): no route, never the raw path', () => {
    assert.equal(honoRoute(context([['ALL', '/*']], 0), 0), undefined);
    assert.equal(
      honoRoute(
        context(
          [
            ['ALL', '/*'],
            ['ALL', '/api/*'],
          ],
          1,
        ),
        0,
      ),
      undefined,
    );
  });

  test('an app.all() endpoint counts as a route', () => {
    assert.equal(
      honoRoute(
        context(
          [
            ['ALL', '/*'],
            ['ALL', '/graphql'],
          ],
          1,
        ),
        0,
      ),
      '/graphql',
    );
  });

  test('an app.all() endpoint on a wildcard path counts as a route; middleware on it does not', () => {
    const routes: Array<[string, string, Handler]> = [
      ['ALL', '/*', middleware],
      ['ALL', '/proxy/*', endpoint],
    ];
    assert.equal(honoRoute(context(routes, 1), 0), '/proxy/*');
    routes[1]![2] = middleware;
    assert.equal(honoRoute(context(routes, 1), 0), undefined);
  });

  test('older Hono without matchedRoutes: routePath', () => {
    const c = { req: { method: 'GET', url: 'http://x/', raw: { headers: { forEach() {} } }, routePath: '/a/:b' } };
    assert.equal(honoRoute(c), '/a/:b');
    assert.equal(honoRoute({ req: { ...c.req, routePath: '/*' } }), undefined);
  });
});

describe('hono adapter: errors answered by app.onError', () => {
  const app = useTestApp({}, (vigil) => {
    const hono = new Hono();
    hono.use(vigilHono(vigil));
    hono.post('/orders/:id', async (c) => {
      const body = z.object({ sku: z.string(), quantity: z.number().min(1) }).parse(await c.req.json());
      return c.json({ id: c.req.param('id'), ...body }, 201);
    });
    hono.post(
      '/notes',
      validator('json', (value) => value),
      (c) => c.json({ ok: true }, 201),
    );
    hono.post(
      '/uploads',
      validator('form', (value) => value),
      (c) => c.json({ ok: true }, 201),
    );
    hono.onError((error, c) => {
      if (error instanceof HTTPException) return error.getResponse();
      return c.json({ error: 'rejected' }, error instanceof z.ZodError ? 400 : 500);
    });
    return createAdaptorServer({ fetch: hono.fetch }) as Server;
  });

  test('a body hono/validator cannot parse (JSON, form): 400, input_validation_fail for the body', async () => {
    for (const [path, type, body, rule] of [
      ['/notes', 'application/json', '{"card": "4111111111111111", oops', 'json'],
      ['/uploads', 'multipart/form-data; boundary=x', '--x\r\nbroken', 'form'],
    ] as const) {
      const events = await app.receiver.call(app.url, path, `hono-malformed-${rule}`, {
        method: 'POST',
        headers: { 'content-type': type },
        body,
      });
      const request = events.find((e) => e.type === 'http_request')!;
      assert.equal(request['http.response.status_code'], 400, path);
      assert.deepEqual(
        events
          .filter((e) => e !== request)
          .map((e) => [e.type, e['vigil.validation.name'], e['vigil.input.name'], e['vigil.validation.rules']]),
        [['input_validation_fail', 'hono', 'body', [rule]]],
      );
    }
    assert.ok(!app.receiver.allText.includes('4111111111111111'));
  });

  test('a ZodError answered 400: input_validation_fail naming the inputs', async () => {
    const events = await app.receiver.call(app.url, '/orders/7', 'hono-1', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sku: 5, quantity: 0 }),
    });
    assert.equal(events.find((e) => e.type === 'http_request')?.['http.response.status_code'], 400);
    assert.deepEqual(
      events.filter((e) => e.type !== 'http_request').map((e) => [e.type, e['vigil.input.names'], e['http.route']]),
      [['input_validation_fail', ['sku', 'quantity'], '/orders/:id']],
    );
  });
});

describe('hono adapter: a response body stream that fails', () => {
  const app = useTestApp({}, (vigil) => {
    const hono = new Hono();
    hono.use(vigilHono(vigil));
    hono.get('/report', (c) =>
      c.body(
        new ReadableStream({
          pull(controller) {
            controller.error(new RangeError('disk gone'));
          },
        }),
      ),
    );
    return createAdaptorServer({ fetch: hono.fetch }) as Server;
  });

  test('is a 500 with app_error for the stream’s error, not the 200 its headers said', async (t) => {
    t.mock.method(console, 'error', () => {}); // @hono/node-server logs the stream's error
    const events = await app.receiver.callBroken(app.url, '/report', 'hono-stream-fails');
    assert.equal(events.find((e) => e.type === 'http_request')!['http.response.status_code'], 500);
    assert.deepEqual(
      events.filter((e) => e.type !== 'http_request').map((e) => [e.type, e['error.type'], e['http.route']]),
      [['app_error', 'RangeError', '/report']],
    );
  });
});
