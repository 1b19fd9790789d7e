import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa from 'koa';
import { z } from 'zod';
import type { VigilSdkError } from '../report.js';
import { useTestApp } from '../testing/app.js';
import { vigilKoa } from './koa.js';

/** An error of the app's own that its error handler answers with a 404. */
class NotFound extends Error {}

// The Koa adapter end to end against the loopback receiver: an app with its own error-handling middleware in front.
describe('koa adapter: errors on their way to the app’s error middleware', () => {
  const app = useTestApp({}, (vigil) => {
    const koa = new Koa();
    // The app's error handler, first: a ZodError is the client's fault (400), an error with a status (the body
    // parser's) has it, anything else 500.
    koa.use(async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        const status = (error as { status?: unknown }).status;
        ctx.status =
          error instanceof z.ZodError
            ? 400
            : error instanceof NotFound
              ? 404
              : typeof status === 'number'
                ? status
                : 500;
        ctx.body = { error: ctx.status === 500 ? 'internal' : 'refused' };
      }
    });
    koa.use(vigilKoa(vigil));
    const router = new Router();
    router.get('/search', (ctx) => {
      const query = z.object({ page: z.coerce.number().int().min(1) }).parse(ctx.query);
      ctx.body = { page: query.page };
    });
    router.get('/fail', () => {
      throw new RangeError('secret-in-message');
    });
    router.get('/orders/:id', () => {
      throw new NotFound('no such order');
    });
    router.post('/orders', bodyParser(), (ctx) => {
      ctx.status = 201;
    });
    koa.use(router.routes());
    return createServer(koa.callback());
  });

  test('a JSON body @koa/bodyparser cannot parse: 400, input_validation_fail for the body, never its text', async () => {
    const events = await app.receiver.call(app.url, '/orders', 'koa-malformed', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"card": "4111111111111111", oops',
    });
    const request = events.find((e) => e.type === 'http_request')!;
    assert.equal(request['http.response.status_code'], 400);
    assert.equal(request['http.route'], '/orders');
    assert.deepEqual(
      events.filter((e) => e !== request).map((e) => [e.type, e['vigil.validation.name'], e['vigil.input.name']]),
      [['input_validation_fail', 'json', 'body']],
    );
    assert.ok(!app.receiver.allText.includes('4111111111111111'));
  });

  test('a thrown ZodError answered 400: input_validation_fail with the route, not app_error', async () => {
    const events = await app.receiver.call(app.url, '/search?page=0', 'koa-1');
    const request = events.find((e) => e.type === 'http_request')!;
    assert.equal(request['http.response.status_code'], 400);
    assert.equal(request['http.route'], '/search');
    assert.deepEqual(
      events.filter((e) => e !== request).map((e) => [e.type, e['vigil.input.name'], e['vigil.validation.rules']]),
      [['input_validation_fail', 'page', ['too_small']]],
    );
  });

  test('an error the app answers with a 4xx (its NotFound → 404) is an answer, not app_error', async () => {
    const events = await app.receiver.call(app.url, '/orders/77', 'koa-3');
    const request = events.find((e) => e.type === 'http_request')!;
    assert.equal(request['http.response.status_code'], 404);
    assert.equal(request['http.route'], '/orders/:id');
    assert.deepEqual(
      events.filter((e) => e !== request).map((e) => e.type),
      [],
    );
  });

  test('another error answered 500: app_error with its class, never its message', async () => {
    const events = await app.receiver.call(app.url, '/fail', 'koa-2');
    assert.deepEqual(
      events.filter((e) => e.type !== 'http_request').map((e) => [e.type, e['error.type']]),
      [['app_error', 'RangeError']],
    );
    assert.ok(!app.receiver.allText.includes('secret-in-message'));
  });
});

describe('koa adapter: a body parser mounted before it', () => {
  const warnings: VigilSdkError[] = [];
  const app = useTestApp({ onError: (e) => warnings.push(e) }, (vigil) => {
    const koa = new Koa();
    koa.silent = true; // the parser's 400 below is expected
    koa.use(bodyParser());
    koa.use(vigilKoa(vigil));
    koa.use((ctx) => {
      ctx.body = { ok: true };
    });
    return createServer(koa.callback());
  });
  const post = (tag: string, body: string) =>
    app.receiver.call(app.url, '/orders', tag, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });

  test('is named once, on the first request it parsed, with the fix; the requests it refuses are the ones lost', async () => {
    await app.receiver.call(app.url, '/orders', 'koa-order-get');
    assert.equal(warnings.length, 0, 'a GET leaves the body unset: nothing to tell yet');
    await post('koa-order-1', '{"a":1}');
    await post('koa-order-2', '{"a":2}');
    const order = warnings.filter((w) => w.code === 'middleware_order');
    assert.equal(order.length, 1);
    assert.match(order[0]!.message, /vigilKoa runs after a body parser.*Mount app\.use\(vigilKoa\(vigil\)\) first/);
    // What the warning is about: the parser's 400 never reaches Vigil.
    const before = app.receiver.events.length;
    const response = await fetch(`${app.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{oops',
    });
    assert.equal(response.status, 400);
    await app.vigil.flush();
    assert.equal(app.receiver.events.length, before);
  });
});

describe('koa adapter: routes behind router.use() middleware, and the middleware mounted twice', () => {
  const app = useTestApp({}, (vigil) => {
    const koa = new Koa();
    koa.use(vigilKoa(vigil));
    koa.use(vigilKoa(vigil)); // by mistake: each request must still be recorded once
    const router = new Router();
    // An authorization check in front of a group of routes answers by itself.
    router.use('/admin', async (ctx, next) => {
      if (ctx.get('x-admin') !== 'yes') {
        ctx.status = 403;
        return;
      }
      await next();
    });
    router.get('/admin/users/:id', (ctx) => {
      ctx.body = { id: ctx.params.id };
    });
    koa.use(router.routes());
    return createServer(koa.callback());
  });

  test('a request a router.use() middleware answers has the route it was headed for, not the middleware path', async () => {
    const events = await app.receiver.call(app.url, '/admin/users/7', 'koa-guarded');
    const request = events.filter((e) => e.type === 'http_request');
    assert.equal(request.length, 1, 'recorded once, though the middleware is mounted twice');
    assert.equal(request[0]!['http.response.status_code'], 403);
    assert.equal(request[0]!['http.route'], '/admin/users/:id');
    const fail = events.find((e) => e.type === 'authz_fail')!;
    assert.equal(fail['vigil.object.id'], 'GET /admin/users/:id');
    const allowed = await app.receiver.call(app.url, '/admin/users/8', 'koa-allowed', {
      headers: { 'x-admin': 'yes' },
    });
    assert.equal(allowed.find((e) => e.type === 'http_request')!['http.route'], '/admin/users/:id');
  });

  test('no route of the method matched: no template (never a middleware path)', async () => {
    const events = await app.receiver.call(app.url, '/admin', 'koa-admin-root');
    const request = events.find((e) => e.type === 'http_request')!;
    assert.equal('http.route' in request, false);
  });
});

describe('koa adapter: the route that answered, among all that matched the path', () => {
  const app = useTestApp({}, (vigil) => {
    const koa = new Koa();
    koa.use(vigilKoa(vigil));
    const items = new Router();
    items.get('/items/:itemId', (ctx) => {
      ctx.body = { item: ctx.params.itemId };
    });
    const shop = new Router({ prefix: '/t/:tid' });
    shop.use('/shop', items.routes());
    const router = new Router();
    router.get('/users/me', (ctx) => {
      ctx.body = { who: 'me' };
    });
    router.get('/users/:id', (ctx) => {
      ctx.body = { id: ctx.params.id };
    });
    router.get('/admin/stats', (ctx) => {
      ctx.status = 403;
    });
    router.use('/account', async (ctx, next) => {
      if (ctx.get('authorization') === '') {
        ctx.status = 401;
        return;
      }
      await next();
    });
    router.get('/account/settings', (ctx) => {
      ctx.body = {};
    });
    // Registered last, it matches every path: it is in ctx.matched for each request, though it answers none above.
    router.all('/{*rest}', (ctx) => {
      ctx.status = 404;
    });
    koa.use(shop.routes());
    koa.use(router.routes());
    return createServer(koa.callback());
  });
  const route = async (path: string, tag: string) => {
    const events = await app.receiver.call(app.url, path, tag);
    return events.find((e) => e.type === 'http_request')!['http.route'];
  };

  test('a request has the route that answered it, not the last one that matched its path', async () => {
    assert.equal(await route('/users/me', 'koa-me'), '/users/me');
    assert.equal(await route('/users/42', 'koa-user'), '/users/:id');
    assert.equal(await route('/t/acme/shop/items/9', 'koa-item'), '/t/:tid/shop/items/:itemId');
    assert.equal(await route('/nowhere', 'koa-nowhere'), '/{*rest}');
  });

  test('a router.use() middleware that answers: the first route it stood in front of', async () => {
    assert.equal(await route('/account/settings', 'koa-account'), '/account/settings');
  });

  test('the automatic authz_fail names the route that refused', async () => {
    const events = await app.receiver.call(app.url, '/admin/stats', 'koa-stats');
    assert.equal(events.find((e) => e.type === 'http_request')!['http.route'], '/admin/stats');
    assert.equal(events.find((e) => e.type === 'authz_fail')!['vigil.object.id'], 'GET /admin/stats');
  });
});

describe('koa adapter: a response body stream that fails', () => {
  const app = useTestApp({}, (vigil) => {
    const koa = new Koa();
    koa.silent = true; // the stream's error below is expected
    koa.use(vigilKoa(vigil));
    koa.use((ctx) => {
      ctx.type = 'text/plain';
      ctx.body = new Readable({
        read() {
          this.destroy(new RangeError('disk gone'));
        },
      });
    });
    return createServer(koa.callback());
  });

  test('is a 500 with app_error for the stream’s error, not a client that went away (499)', async () => {
    const events = await app.receiver.callBroken(app.url, '/report', 'koa-stream-fails');
    assert.equal(events.find((e) => e.type === 'http_request')!['http.response.status_code'], 500);
    assert.deepEqual(
      events.filter((e) => e.type !== 'http_request').map((e) => [e.type, e['error.type']]),
      [['app_error', 'RangeError']],
    );
  });
});
