/**
 * Every adapter: helpers called from the app's own listeners of the request's and the response's events
 * (`req.on('data')`, `req.on('end')`, `res.on('finish')`) know their request. Node.js emits those events in the
 * connection's async context, not the handler's; a handler that reads its body itself (a webhook checking a
 * signature over the raw bytes) records its events there.
 *
 * The body is sent only once the handler is listening for it, as a client's body that arrives after its headers:
 * sent with the headers, Node.js could emit it from a tick the handler scheduled, in the handler's context.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { describe, test } from 'node:test';
import { createAdaptorServer } from '@hono/node-server';
import Router from '@koa/router';
import Fastify5 from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import type { Vigil } from '../index.js';
import { useTestApp } from '../testing/app.js';
import { vigilExpress } from './express.js';
import { vigilFastify } from './fastify.js';
import { vigilHono } from './hono.js';
import { vigilKoa } from './koa.js';
import { wrap } from './node.js';

/** Resolved by the app once it listens for the body of the request being tested. */
let listening: () => void = () => {};

/**
 * What each app does on `POST /hook/:source`: listens to the response's `finish` (`watchAnswer`) and reads the body
 * through its own listeners (`readBody`, resolving with its size), recording an event in each.
 */
function watchAnswer(vigil: Vigil, res: ServerResponse): void {
  res.on('finish', () => vigil.event('x_hook_answered', { step: 'finish' }));
}

function readBody(vigil: Vigil, req: IncomingMessage): Promise<number> {
  return new Promise((resolve) => {
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
    });
    req.on('end', () => {
      vigil.event('x_hook_body', { size });
      resolve(size);
    });
    listening();
  });
}

// biome-ignore lint/suspicious/noExplicitAny: Express 4 and 5 are loaded at run time, with their own types
type Express = any;

const expressApp = (express: Express) => (vigil: Vigil) => {
  const app = express();
  app.use(vigilExpress(vigil));
  app.post('/hook/:source', (req: Express, res: Express) => {
    watchAnswer(vigil, res);
    void readBody(vigil, req).then(() => res.status(401).end());
  });
  return createServer(app);
};

const APPS: Array<[string, (vigil: Vigil) => Server | Promise<Server>]> = [
  [
    'node:http',
    (vigil) =>
      createServer(
        wrap(
          vigil,
          (req, res) => {
            watchAnswer(vigil, res);
            void readBody(vigil, req).then(() => res.writeHead(401).end());
          },
          { route: () => '/hook/:source' },
        ),
      ),
  ],
  ['Express 5', async (vigil) => expressApp((await import('express')).default)(vigil)],
  [
    'Express 4',
    async (vigil) => {
      const name = 'express4';
      return expressApp((await import(name)).default)(vigil);
    },
  ],
  [
    'Koa',
    (vigil) => {
      const koa = new Koa();
      koa.use(vigilKoa(vigil));
      const router = new Router();
      router.post('/hook/:source', async (ctx) => {
        watchAnswer(vigil, ctx.res);
        await readBody(vigil, ctx.req);
        ctx.status = 401;
      });
      koa.use(router.routes());
      return createServer(koa.callback());
    },
  ],
  [
    'Hono',
    (vigil) => {
      const hono = new Hono<{ Bindings: { incoming: IncomingMessage; outgoing: ServerResponse } }>();
      hono.use(vigilHono(vigil));
      hono.post('/hook/:source', async (c) => {
        watchAnswer(vigil, c.env.outgoing);
        await readBody(vigil, c.env.incoming);
        return c.body(null, 401);
      });
      return createAdaptorServer({ fetch: hono.fetch }) as Server;
    },
  ],
  [
    'Fastify',
    async (vigil) => {
      const fastify = Fastify5();
      await fastify.register(vigilFastify(vigil));
      // A body parser of the app's own, as for a webhook's raw bytes: Fastify hands it the request to read.
      fastify.addContentTypeParser('application/octet-stream', (_request, payload, done) => {
        void readBody(vigil, payload as IncomingMessage).then((size) => done(null, size));
      });
      fastify.addHook('onRequest', async (_request, reply) => watchAnswer(vigil, reply.raw));
      fastify.post('/hook/:source', async (_request, reply) => reply.code(401).send());
      await fastify.ready();
      return fastify.server;
    },
  ],
];

/** POST `size` bytes to `url`, the body only once the app listens for it; the response's status. */
async function postWhenListening(url: string, requestId: string, size: number): Promise<number> {
  const ready = new Promise<void>((resolve) => {
    listening = resolve;
  });
  const request = httpRequest(url, {
    method: 'POST',
    headers: { 'x-request-id': requestId, 'content-type': 'application/octet-stream', 'content-length': size },
  });
  request.flushHeaders();
  await ready;
  request.end(Buffer.alloc(size, 'x'));
  const [response] = (await once(request, 'response')) as [IncomingMessage];
  response.resume();
  await once(response, 'end');
  return response.statusCode ?? 0;
}

for (const [name, makeServer] of APPS) {
  describe(`${name}: helpers in the app's own listeners of request and response events`, () => {
    const app = useTestApp({}, makeServer);

    test('req.on("end") and res.on("finish") record with their request', async () => {
      const requestId = `listeners-${name.replace(/\W/g, '')}`;
      const status = await postWhenListening(`${app.url}/hook/github`, requestId, 4096);
      assert.equal(status, 401);
      const mine = () => app.receiver.events.filter((e) => e['http.request.id'] === requestId);
      const types = () => mine().map((e) => e.type);
      await app.receiver.waitFor(() =>
        ['http_request', 'x_hook_body', 'x_hook_answered'].every((t) => types().includes(t)),
      );
      const request = mine().find((e) => e.type === 'http_request')!;
      for (const type of ['x_hook_body', 'x_hook_answered']) {
        const event = mine().find((e) => e.type === type)!;
        assert.equal(event['http.route'], '/hook/:source', type);
        assert.equal(event['client.address'], '127.0.0.1', type);
        assert.equal(event['url.path'], '/hook/github', type);
      }
      assert.equal(mine().find((e) => e.type === 'x_hook_body')!.size, 4096);
      assert.equal(request['http.response.status_code'], 401);
      assert.equal(
        app.receiver.events.filter((e) => e['http.request.id'] === undefined && String(e.type).startsWith('x_hook'))
          .length,
        0,
        'no event of the request recorded without it',
      );
    });
  });
}
