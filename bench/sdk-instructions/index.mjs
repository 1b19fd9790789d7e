// SDK instructions: the machine instructions the app process executes per request, bare, bare with each request
// run in AsyncLocalStorage (`als`), with Vigil, with Vigil tracking requests but recording no http_request
// (`tracking`: `recordRequests: false`), and with pino, counted by valgrind's callgrind. Throughput on a shared
// two-core machine moves with the neighbours' load; an instruction count does not, so this ranks what a request
// costs where sdk-overhead's ratios cannot (it says nothing of cache misses or waiting).
//
// - The apps are sdk-overhead's (app.mjs), each run under callgrind twice, serving N_SHORT and then N_LONG requests
//   (autocannon in this process, 10 connections); the difference of the two totals over N_LONG - N_SHORT is the
//   cost of a request, startup and warm-up cancelled out. What is left varies by ~10-15 % from run to run (garbage
//   collection and JIT compilation happen at other moments), so compare variants, not runs.
// - Under valgrind a request takes longer than a millisecond, so what the SDK computes once per millisecond (the
//   event timestamp's milliseconds, the event id's time part) is computed for every request here.
//   Optimised code also arrives later (the compiler thread waits its turn), which weighs on every variant.
// - Events go to a minimal receiver in this process, as in sdk-overhead.
// - Skipped (with a message, exit 0) where valgrind is not installed: `apt-get install valgrind`.
//
// Environment: BENCH_SDK_NODE (the Node.js binary the apps run on; default this one), BENCH_INSTR_SHORT (default
// 2000), BENCH_INSTR_LONG (default 10000).
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { figure, ratio, report } from '../lib.mjs';
import { ROUTES } from '../sdk-overhead/routes.mjs';

const APP = fileURLToPath(new URL('../sdk-overhead/app.mjs', import.meta.url));
const APP_NODE = process.env.BENCH_SDK_NODE || process.execPath;
const N_SHORT = Number(process.env.BENCH_INSTR_SHORT ?? 2000);
const N_LONG = Number(process.env.BENCH_INSTR_LONG ?? 10_000);
const VARIANTS = {
  bare: { app: 'bare' },
  als: { app: 'als' },
  vigil: { app: 'vigil' },
  tracking: { app: 'vigil', options: { recordRequests: false } },
  pino: { app: 'pino' },
};

if (spawnSync('valgrind', ['--version']).status !== 0) {
  console.log('sdk-instructions: valgrind is not installed (apt-get install valgrind); skipped');
  process.exit(0);
}

const collector = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"rejected":[]}'));
});
collector.listen(0, '127.0.0.1');
await once(collector, 'listening');
const collectorUrl = `http://127.0.0.1:${collector.address().port}`;

/** Instructions the app executed from its start to its exit, serving `requests` requests of `route`. */
async function instructions(variant, route, requests) {
  const out = join(tmpdir(), `vigil-callgrind-${process.pid}-${variant}-${route}-${requests}.out`);
  const { app, options } = VARIANTS[variant];
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      `--callgrind-out-file=${out}`,
      '--smc-check=all-non-file',
      APP_NODE,
      APP,
      'fastify',
      app,
      collectorUrl,
    ],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, BENCH_SDK_VIGIL_OPTIONS: JSON.stringify(options ?? {}) },
    },
  );
  let output = '';
  child.stdout.setEncoding('utf8');
  const port = await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const line = output.split('\n').find((l) => l.startsWith('{"port"'));
      if (line) resolve(JSON.parse(line).port);
    });
    child.on('exit', (code) => reject(new Error(`${variant} ${route}: the app exited (${code}) before listening`)));
  });
  const { path, ...request } = ROUTES[route];
  const result = await autocannon({
    url: `http://127.0.0.1:${port}${path}`,
    ...request,
    connections: 10,
    amount: requests,
    // Under valgrind on a busy machine a request can take seconds; autocannon's default 10 s counts it as an error.
    timeout: 60,
  });
  // A request lost now and then changes the per-request figure by far less than its run-to-run spread.
  const failed = result.errors + result.non2xx;
  if (failed > requests / 1000)
    throw new Error(`${variant} ${route}: ${result.errors} errors, ${result.non2xx} non-2xx`);
  if (failed > 0) console.log(`${variant} ${route}: ${failed} of ${requests} requests failed (kept: under 0.1 %)`);
  await new Promise((resolve) => setTimeout(resolve, 1000)); // the last batch leaves
  child.kill('SIGTERM');
  await once(child, 'exit');
  const totals = readFileSync(out, 'utf8').match(/^totals:\s+(\d+)/m);
  rmSync(out, { force: true });
  if (!totals) throw new Error(`${variant} ${route}: callgrind wrote no totals`);
  return Number(totals[1]);
}

const figures = [];
const ratios = [];
try {
  for (const route of Object.keys(ROUTES)) {
    const perRequest = {};
    for (const variant of Object.keys(VARIANTS)) {
      // The two runs of a variant side by side: two cores.
      const [short, long] = await Promise.all([
        instructions(variant, route, N_SHORT),
        instructions(variant, route, N_LONG),
      ]);
      const value = (long - short) / (N_LONG - N_SHORT);
      console.log(`fastify ${route} ${variant}: ${Math.round(value)} instructions per request`);
      perRequest[variant] = figure(`fastify_${route}_${variant}_instructions_per_request`, value, 'instructions');
      figures.push(perRequest[variant]);
    }
    for (const variant of ['als', 'vigil', 'tracking', 'pino']) {
      ratios.push(ratio(`fastify_${route}_${variant}_instruction_ratio`, perRequest.bare, perRequest[variant]));
    }
  }
  const appNode = spawnSync(APP_NODE, ['--version'], { encoding: 'utf8' }).stdout.trim();
  await report(
    APP_NODE === process.execPath ? 'sdk-instructions' : `sdk-instructions-node${appNode.split('.')[0].slice(1)}`,
    [...ratios, ...figures],
    {
      appNode,
      requests: { short: N_SHORT, long: N_LONG },
      method: 'callgrind totals of two runs, difference over the extra requests; ratio: bare / variant',
    },
  );
} finally {
  collector.close();
}
