// One app of the sdk-overhead benchmark, in its own process (so the load generator does not share its thread):
//   node app.mjs <express|fastify> <bare|vigil|vigilgzip|als|pino> [collector URL]
// `vigilgzip` is Vigil with `gzip: true` (compression is off by default). `als` is the bare app running each request
// inside `AsyncLocalStorage.run`, and nothing else: what binding helpers to their request costs by itself, the floor
// under any SDK that does it on this Node.js.
// Routes: GET /hello (hello world) and POST /orders/:id (parse a JSON body, read a route parameter, answer ~1 KB of
// JSON). Tells its parent the port over IPC, and answers 'stats' with the SDK's counters, 'cpu' with its CPU time,
// 'version' with the Node.js version it runs on.
import { AsyncLocalStorage } from 'node:async_hooks';
import { createVigil } from '@vigil/sdk';
import { vigilErrorHandler, vigilExpress } from '@vigil/sdk/express';
import { vigilFastify } from '@vigil/sdk/fastify';
import express from 'express';
import Fastify from 'fastify';
import pino from 'pino';
import pinoHttp from 'pino-http';

const [framework, variant, collector] = process.argv.slice(2);

const vigil =
  variant === 'vigil' || variant === 'vigilgzip'
    ? createVigil({
        endpoint: collector,
        token: 'bench-ingest-token',
        service: `bench-${framework}`,
        flushOnExit: false,
        gzip: variant === 'vigilgzip',
        // Extra client options, for trying settings by hand (e.g. '{"gzip":false}').
        ...JSON.parse(process.env.BENCH_SDK_VIGIL_OPTIONS ?? '{}'),
      })
    : undefined;
const storage = new AsyncLocalStorage();
const devNull = () => pino.destination({ dest: '/dev/null', sync: false });

/** The realistic route's work: ~1 KB of JSON built from the body and the parameter. */
function order(id, body) {
  const items = body.items.map((item, i) => ({
    line: i + 1,
    sku: item.sku,
    quantity: item.quantity,
    unitPrice: item.price,
    total: Math.round(item.quantity * item.price * 100) / 100,
    description: `Item ${item.sku} for customer ${body.customer}`,
  }));
  return {
    id,
    customer: body.customer,
    status: 'accepted',
    currency: body.currency,
    items,
    total: items.reduce((sum, item) => sum + item.total, 0),
    shipping: { method: 'standard', address: body.address, estimatedDays: 3 },
    createdAt: new Date().toISOString(),
  };
}

async function start() {
  if (framework === 'express') {
    const app = express();
    if (vigil) app.use(vigilExpress(vigil));
    if (variant === 'pino') app.use(pinoHttp({ logger: pino(devNull()) }));
    if (variant === 'als') app.use((req, _res, next) => storage.run(req, next));
    app.use(express.json());
    app.get('/hello', (_req, res) => res.json({ hello: 'world' }));
    app.post('/orders/:id', (req, res) => res.json(order(req.params.id, req.body)));
    if (vigil) app.use(vigilErrorHandler(vigil));
    return new Promise((resolve) => {
      const server = app.listen(0, '127.0.0.1', () => resolve(server.address().port));
    });
  }
  const app = Fastify({ logger: variant === 'pino' ? { stream: devNull() } : false });
  if (vigil) await app.register(vigilFastify(vigil));
  if (variant === 'als') app.addHook('onRequest', (request, _reply, next) => storage.run(request, next));
  app.get('/hello', async () => ({ hello: 'world' }));
  app.post('/orders/:id', async (request) => order(request.params.id, request.body));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return app.server.address().port;
}

const port = await start();
// Forked by the sdk-overhead benchmark (IPC), or started under valgrind by sdk-instructions (the port on stdout).
if (process.send) process.send({ port });
else console.log(JSON.stringify({ port }));
process.on('message', (message) => {
  if (message === 'stats') process.send({ stats: vigil ? vigil.stats() : null });
  if (message === 'cpu') process.send({ cpu: process.cpuUsage() });
  if (message === 'version') process.send({ version: process.version });
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
