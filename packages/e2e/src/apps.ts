/**
 * The same small API built on every supported framework, instrumented the way docs/sdk.md tells users to:
 *
 * - a stand-in for authentication middleware: `x-test-user: <id>` makes the request run as that user, the way
 *   each framework's auth libraries expose it (Passport's `req.user`, @fastify/jwt's `request.user`,
 *   koa-passport's `ctx.state.user`, `c.set('user')` in Hono);
 * - `GET /users/:id`: 200, records `sensitive_read` when a user is known;
 * - `POST /login` (JSON `{ user, password }`): `vigil.authn.loginFail(...)`, 401;
 * - `POST /search/:scope` (JSON body): 200, echoes nothing (for parameter inspection);
 * - `GET /admin`: 403 (an automatic `authz_fail`);
 * - `GET /boom`: the route throws an error whose message holds a secret (500, an automatic `app_error`);
 * - `GET /later/:doc`: after an `await`, `vigil.authz.fail(undefined, doc)` and 403 (helper bound to its request);
 * - `POST /orders/:orderId` (JSON `{ sku, quantity }`): 201, or 400 for a body that fails validation: Fastify's own
 *   schema validation (an automatic `input_validation_fail`), zod and `vigil.input.fromError` elsewhere;
 * - anything else: 404 with no route.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { Vigil } from '@vigil/sdk';
import { vigilErrorHandler, vigilExpress } from '@vigil/sdk/express';
import { vigilFastify } from '@vigil/sdk/fastify';
import { vigilHono } from '@vigil/sdk/hono';
import { vigilKoa } from '@vigil/sdk/koa';
import { wrap } from '@vigil/sdk/node';
import express5 from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { validator } from 'hono/validator';
import Koa from 'koa';
import { z } from 'zod';
import { closeServer, listenOnLoopback } from './support.js';

/** An error whose message holds what must never be stored. */
export class SecretError extends Error {}

export const SECRET_IN_ERROR = 'db-password=hunter2-in-error';

export interface RunningApp {
  readonly url: string;
  close(): Promise<void>;
}

export interface FrameworkCase {
  readonly name: string;
  start(vigil: Vigil): Promise<RunningApp>;
  /** What `POST /orders/:orderId` with `quantity: 0` records: the validator, the input, the rule it broke. */
  readonly invalidOrder: { readonly validator: string; readonly input: string; readonly rule: string };
  /**
   * What a JSON body that does not parse records (input `body`): from the framework's body parser, automatically;
   * on node:http, from the app's own `JSON.parse` error handed to `vigil.input.fromError`.
   */
  readonly malformedBody: { readonly validator: string; readonly rule: string };
}

/** zod through `vigil.input.fromError`, on every case without validation of its own. */
const ZOD_ORDER = { validator: 'zod', input: 'quantity', rule: 'too_small' } as const;

/** The body `POST /orders/:orderId` takes: zod where the framework has no validation of its own, JSON Schema on Fastify. */
const OrderBody = z.object({ sku: z.string(), quantity: z.number().int().min(1) });
const ORDER_BODY_SCHEMA = {
  type: 'object',
  required: ['sku', 'quantity'],
  properties: { sku: { type: 'string' }, quantity: { type: 'integer', minimum: 1 } },
} as const;

/** `POST /orders/:orderId` outside Fastify: the one-line helper with the failed parse, then a 400. */
function checkOrder(vigil: Vigil, body: unknown): boolean {
  const parsed = OrderBody.safeParse(body);
  if (!parsed.success) vigil.input.fromError(parsed.error);
  return parsed.success;
}

const delay = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis));
const testUser = (header: unknown) =>
  typeof header === 'string' && header.length > 0 ? { id: header, roles: ['customer'] } : undefined;

// biome-ignore lint/suspicious/noExplicitAny: Express 4 and 5 share this builder; Express 4 has no types installed
type AnyExpress = any;

function expressApp(express: AnyExpress, vigil: Vigil) {
  const app = express();
  app.use(vigilExpress(vigil)); // first
  app.use(express.json());
  app.use((req: AnyExpress, _res: AnyExpress, next: () => void) => {
    req.user = testUser(req.headers['x-test-user']);
    next();
  });
  app.get('/users/:id', (req: AnyExpress, res: AnyExpress) => {
    if (req.user) vigil.sensitive.read(undefined, { type: 'user', id: req.params.id });
    res.json({ id: req.params.id });
  });
  app.post('/login', (req: AnyExpress, res: AnyExpress) => {
    vigil.authn.loginFail(req.body.user, { reason: 'bad_password', userExists: true });
    res.status(401).json({ error: 'invalid credentials' });
  });
  app.post('/search/:scope', (_req: AnyExpress, res: AnyExpress) => res.json({ results: [] }));
  app.get('/admin', (_req: AnyExpress, res: AnyExpress) => res.status(403).json({ error: 'forbidden' }));
  app.get('/boom', () => {
    throw new SecretError(`query failed: ${SECRET_IN_ERROR}`);
  });
  app.get('/later/:doc', async (req: AnyExpress, res: AnyExpress, next: (e: unknown) => void) => {
    try {
      await delay(2);
      vigil.authz.fail(undefined, req.params.doc);
      res.status(403).json({ error: 'forbidden' });
    } catch (error) {
      next(error);
    }
  });
  app.post('/orders/:orderId', (req: AnyExpress, res: AnyExpress) => {
    if (!checkOrder(vigil, req.body)) return res.status(400).json({ error: 'invalid order' });
    res.status(201).json({ id: req.params.orderId });
  });
  app.use(vigilErrorHandler(vigil)); // after the routes, before the app's own error handler
  // The app's error handler: a client error keeps its status (body-parser's 400), anything else is a 500.
  app.use((error: { status?: unknown }, _req: unknown, res: AnyExpress, _next: unknown) => {
    const status = typeof error?.status === 'number' && error.status < 500 ? error.status : 500;
    res.status(status).json({ error: status === 500 ? 'internal' : 'rejected' });
  });
  return app;
}

async function startExpress(express: AnyExpress, vigil: Vigil): Promise<RunningApp> {
  const server = createServer(expressApp(express, vigil));
  const url = await listenOnLoopback(server);
  return { url, close: () => closeServer(server) };
}

async function startFastify(fastify: typeof Fastify, vigil: Vigil): Promise<RunningApp> {
  const app = fastify();
  await app.register(vigilFastify(vigil)); // before the routes
  app.addHook('onRequest', async (request) => {
    (request as unknown as { user: unknown }).user = testUser(request.headers['x-test-user']);
  });
  app.get<{ Params: { id: string } }>('/users/:id', async (request) => {
    if ((request as unknown as { user?: unknown }).user) {
      vigil.sensitive.read(undefined, { type: 'user', id: request.params.id });
    }
    return { id: request.params.id };
  });
  app.post<{ Body: { user: string } }>('/login', async (request, reply) => {
    vigil.authn.loginFail(request.body.user, { reason: 'bad_password', userExists: true });
    return reply.code(401).send({ error: 'invalid credentials' });
  });
  app.post('/search/:scope', async () => ({ results: [] }));
  app.get('/admin', async (_request, reply) => reply.code(403).send({ error: 'forbidden' }));
  app.get('/boom', async () => {
    throw new SecretError(`query failed: ${SECRET_IN_ERROR}`);
  });
  app.get<{ Params: { doc: string } }>('/later/:doc', async (request, reply) => {
    await delay(2);
    vigil.authz.fail(undefined, request.params.doc);
    return reply.code(403).send({ error: 'forbidden' });
  });
  app.post<{ Params: { orderId: string } }>(
    '/orders/:orderId',
    { schema: { body: ORDER_BODY_SCHEMA } },
    async (request, reply) => reply.code(201).send({ id: request.params.orderId }),
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = await listenOnLoopback(app.server);
  return { url, close: () => app.close() };
}

/** A minimal JSON body parser, for the node:http app (which has no framework to give one). */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString();
  return text ? JSON.parse(text) : undefined;
}

async function startKoa(koa: typeof Koa, vigil: Vigil): Promise<RunningApp> {
  const app = new koa();
  app.silent = true; // the 500 of /boom is expected; Koa would print its stack
  app.use(vigilKoa(vigil)); // first
  app.use(bodyParser());
  app.use(async (ctx, next) => {
    ctx.state.user = testUser(ctx.get('x-test-user'));
    await next();
  });
  const router = new Router();
  router.get('/users/:id', (ctx) => {
    if (ctx.state.user) vigil.sensitive.read(undefined, { type: 'user', id: ctx.params.id! });
    ctx.body = { id: ctx.params.id };
  });
  router.post('/login', (ctx) => {
    const body = (ctx.request as unknown as { body: { user: string } }).body;
    vigil.authn.loginFail(body.user, { reason: 'bad_password', userExists: true });
    ctx.status = 401;
    ctx.body = { error: 'invalid credentials' };
  });
  router.post('/search/:scope', (ctx) => {
    ctx.body = { results: [] };
  });
  router.get('/admin', (ctx) => {
    ctx.status = 403;
    ctx.body = { error: 'forbidden' };
  });
  router.get('/boom', () => {
    throw new SecretError(`query failed: ${SECRET_IN_ERROR}`);
  });
  router.get('/later/:doc', async (ctx) => {
    await delay(2);
    vigil.authz.fail(undefined, ctx.params.doc!);
    ctx.status = 403;
    ctx.body = { error: 'forbidden' };
  });
  router.post('/orders/:orderId', (ctx) => {
    const ok = checkOrder(vigil, (ctx.request as unknown as { body: unknown }).body);
    ctx.status = ok ? 201 : 400;
    ctx.body = ok ? { id: ctx.params.orderId } : { error: 'invalid order' };
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  const server = createServer(app.callback());
  const url = await listenOnLoopback(server);
  return { url, close: () => closeServer(server) };
}

type HonoEnv = { Variables: { user: { id: string; roles: string[] } | undefined } };

async function startHono(vigil: Vigil): Promise<RunningApp> {
  const app = new Hono<HonoEnv>();
  app.use(vigilHono(vigil)); // first
  app.use(async (c, next) => {
    c.set('user', testUser(c.req.header('x-test-user')));
    await next();
  });
  app.get('/users/:id', (c) => {
    if (c.get('user')) vigil.sensitive.read(undefined, { type: 'user', id: c.req.param('id') });
    return c.json({ id: c.req.param('id') });
  });
  app.post('/login', async (c) => {
    const body = await c.req.json<{ user: string }>();
    vigil.authn.loginFail(body.user, { reason: 'bad_password', userExists: true });
    return c.json({ error: 'invalid credentials' }, 401);
  });
  app.post('/search/:scope', async (c) => {
    await c.req.json();
    return c.json({ results: [] });
  });
  app.get('/admin', (c) => c.json({ error: 'forbidden' }, 403));
  app.get('/boom', () => {
    throw new SecretError(`query failed: ${SECRET_IN_ERROR}`);
  });
  app.get('/later/:doc', async (c) => {
    await delay(2);
    vigil.authz.fail(undefined, c.req.param('doc'));
    return c.json({ error: 'forbidden' }, 403);
  });
  app.post(
    '/orders/:orderId',
    validator('json', (value) => value),
    async (c) => {
      if (!checkOrder(vigil, c.req.valid('json'))) return c.json({ error: 'invalid order' }, 400);
      return c.json({ id: c.req.param('orderId') }, 201);
    },
  );
  // Hono's own client errors (hono/validator's 400 for a malformed body) keep their answer; the rest is a 500.
  app.onError((error, c) =>
    error instanceof HTTPException ? error.getResponse() : c.json({ error: 'internal' }, 500),
  );
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  const url = await listenOnLoopback(server);
  return { url, close: () => closeServer(server) };
}

/** node:http with a hand-written router, as an app without a framework has. */
const NODE_ROUTES: ReadonlyArray<{ method: string; template: string; pattern: RegExp; param?: string }> = [
  { method: 'GET', template: '/users/:id', pattern: /^\/users\/([^/]+)$/, param: 'id' },
  { method: 'POST', template: '/login', pattern: /^\/login$/ },
  { method: 'POST', template: '/search/:scope', pattern: /^\/search\/([^/]+)$/, param: 'scope' },
  { method: 'GET', template: '/admin', pattern: /^\/admin$/ },
  { method: 'GET', template: '/boom', pattern: /^\/boom$/ },
  { method: 'GET', template: '/later/:doc', pattern: /^\/later\/([^/]+)$/, param: 'doc' },
  { method: 'POST', template: '/orders/:orderId', pattern: /^\/orders\/([^/]+)$/, param: 'orderId' },
];

function matchNodeRoute(req: IncomingMessage) {
  const path = (req.url ?? '/').split('?')[0]!;
  for (const route of NODE_ROUTES) {
    const m = route.method === req.method ? route.pattern.exec(path) : null;
    if (m) return { template: route.template, param: m[1], params: route.param ? { [route.param]: m[1] } : {} };
  }
  return undefined;
}

async function startNode(vigil: Vigil): Promise<RunningApp> {
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const handler = async (req: IncomingMessage & { user?: unknown; body?: unknown }, res: ServerResponse) => {
    req.user = testUser(req.headers['x-test-user']);
    const route = matchNodeRoute(req);
    try {
      if (req.headers['content-type']?.startsWith('application/json')) {
        try {
          req.body = await readJson(req);
        } catch (error) {
          vigil.input.fromError(error); // the body is not JSON: the client's fault
          return send(res, 400, { error: 'malformed body' });
        }
      }
      switch (route?.template) {
        case '/users/:id':
          if (req.user) vigil.sensitive.read(undefined, { type: 'user', id: route.param! });
          return send(res, 200, { id: route.param });
        case '/login':
          vigil.authn.loginFail((req.body as { user: string }).user, { reason: 'bad_password', userExists: true });
          return send(res, 401, { error: 'invalid credentials' });
        case '/search/:scope':
          return send(res, 200, { results: [] });
        case '/admin':
          return send(res, 403, { error: 'forbidden' });
        case '/boom':
          throw new SecretError(`query failed: ${SECRET_IN_ERROR}`);
        case '/later/:doc':
          await delay(2);
          vigil.authz.fail(undefined, route.param!);
          return send(res, 403, { error: 'forbidden' });
        case '/orders/:orderId':
          if (!checkOrder(vigil, req.body)) return send(res, 400, { error: 'invalid order' });
          return send(res, 201, { id: route.param });
        default:
          return send(res, 404, { error: 'not found' });
      }
    } catch (error) {
      vigil.app.error(error); // node:http has no error hook: the app reports what it caught
      return send(res, 500, { error: 'internal' });
    }
  };
  const server = createServer(
    wrap(vigil, handler, {
      route: (req) => matchNodeRoute(req)?.template,
      params: (req) => matchNodeRoute(req)?.params,
    }),
  );
  const url = await listenOnLoopback(server);
  return { url, close: () => closeServer(server) };
}

/** Fastify's own schema validation, automatic: inputs named by the part of the request. */
const FASTIFY_ORDER = { validator: 'fastify', input: 'body.quantity', rule: 'minimum' } as const;

/** Express's `express.json()` (body-parser) refusing a body. */
const BODY_PARSER = { validator: 'body-parser', rule: 'parse' } as const;

/** A JSON parser's SyntaxError: marked 400 by Fastify 4 and co-body (Koa), handed to `input.fromError` on node:http. */
const JSON_SYNTAX = { validator: 'json', rule: 'parse' } as const;

/** Fastify's own error for a malformed JSON body (Fastify 5, and NestJS on it). */
const FASTIFY_JSON = { validator: 'fastify', rule: 'json' } as const;

/** NestJS validates with class-validator (`ValidationPipe`), which the helper is given in its exception factory. */
const NEST_ORDER = { validator: 'class-validator', input: 'quantity', rule: 'min' } as const;

export const FRAMEWORKS: readonly FrameworkCase[] = [
  {
    name: 'Express 5',
    start: (vigil) => startExpress(express5, vigil),
    invalidOrder: ZOD_ORDER,
    malformedBody: BODY_PARSER,
  },
  {
    name: 'Express 4',
    start: async (vigil) => startExpress((await import('express4' as string)).default, vigil),
    invalidOrder: ZOD_ORDER,
    malformedBody: BODY_PARSER,
  },
  {
    name: 'Fastify',
    start: (vigil) => startFastify(Fastify, vigil),
    invalidOrder: FASTIFY_ORDER,
    malformedBody: FASTIFY_JSON,
  },
  {
    name: 'Fastify 4',
    start: async (vigil) => startFastify((await import('fastify4' as string)).default, vigil),
    invalidOrder: FASTIFY_ORDER,
    malformedBody: JSON_SYNTAX, // Fastify 4 passes the parser's SyntaxError on, marked 400
  },
  {
    name: 'Koa',
    start: (vigil) => startKoa(Koa, vigil),
    invalidOrder: ZOD_ORDER,
    malformedBody: JSON_SYNTAX,
  },
  {
    name: 'Koa 2',
    start: async (vigil) => startKoa((await import('koa2' as string)).default, vigil),
    invalidOrder: ZOD_ORDER,
    malformedBody: JSON_SYNTAX,
  },
  { name: 'Hono', start: startHono, invalidOrder: ZOD_ORDER, malformedBody: { validator: 'hono', rule: 'json' } },
  {
    name: 'node:http',
    start: startNode,
    invalidOrder: ZOD_ORDER,
    malformedBody: JSON_SYNTAX,
  },
  // Loaded when started: NestJS needs reflect-metadata and decorators the other cases do without.
  {
    name: 'NestJS on Express',
    start: async (vigil) => (await import('./nest.js')).startNestExpress(vigil),
    invalidOrder: NEST_ORDER,
    // Nest answers body-parser's error itself; the exception filter of docs/sdk.md passes it on.
    malformedBody: BODY_PARSER,
  },
  {
    name: 'NestJS on Fastify',
    start: async (vigil) => (await import('./nest.js')).startNestFastify(vigil),
    invalidOrder: NEST_ORDER,
    malformedBody: FASTIFY_JSON,
  },
];
