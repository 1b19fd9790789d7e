// Alert latency: time from sending the event that completes a rule to the notification arriving at a webhook
// receiver on loopback, with notifications sent at once (no grouping wait), on the embedded default
// configuration, under a background load of ~10,000 events per second. Prints p50 and p99.
// The server runs as its own process (`vigil start`), as in production; load, probes and the receiver run here.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { figure, report } from '../lib.mjs';

const LOAD_EVENTS_PER_S = Number(process.env.BENCH_LOAD ?? 10_000);
const PROBES = Number(process.env.BENCH_PROBES ?? 200);
const PROBE_EVERY_MS = 150;

const arrivals = new Map();
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const at = performance.now();
    try {
      const payload = JSON.parse(body);
      const address = payload.alert?.labels?.['client.address'];
      if (payload.change === 'opened' && address && !arrivals.has(address)) arrivals.set(address, at);
    } catch {}
    res.writeHead(204).end();
  });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const hook = `http://127.0.0.1:${receiver.address().port}/hook`;

const dataDir = join(tmpdir(), `vigil-bench-latency-${process.pid}`);
mkdirSync(dataDir, { recursive: true });
const configFile = join(dataDir, 'vigil.config.yaml');
writeFileSync(
  configFile,
  `notify:\n  receivers:\n    - { type: webhook, name: bench, url: "${hook}", allowPrivateNetwork: true }\n`,
);
const ingest = 'bench-latency-ingest-0123456789';
const bin = fileURLToPath(new URL('../../packages/server/bin/vigil.js', import.meta.url));
// BENCH_SERVER_NODE_ARGS: extra Node.js flags for the server process (e.g. `--cpu-prof` to see where its time goes).
const serverArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
const child = spawn(process.execPath, [...serverArgs, bin, 'start'], {
  env: {
    ...process.env,
    VIGIL_CONFIG: configFile,
    VIGIL_PORT: '0',
    VIGIL_DATA_DIR: dataDir,
    VIGIL_INGEST_TOKEN: ingest,
    VIGIL_API_TOKEN: 'bench-latency-api-0123456789',
  },
  stdio: ['ignore', 'pipe', 'ignore'],
});
const serverUrl = await new Promise((resolve, reject) => {
  let out = '';
  child.stdout.on('data', (c) => {
    out += c;
    const m = /listening on (http:\/\/\S+)/.exec(out);
    if (m) resolve(m[1]);
  });
  child.once('exit', (code) => reject(new Error(`vigil start exited with ${code}`)));
});
const post = (lines) =>
  fetch(`${serverUrl}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ingest}`, 'content-type': 'application/x-ndjson' },
    body: lines.join('\n'),
  }).then(async (r) => {
    await r.arrayBuffer();
    return r.ok;
  });

// Background load: benign traffic (5,000 clients, none fast enough to trip a rate rule), so the probes' alerts are
// the only ones. Open loop: two senders, each due to send a batch every 50 ms on a fixed timetable whether or not
// the previous answer has come (a sender that waited for answers would lower the load exactly when the server is
// slow). At most MAX_IN_FLIGHT batches per sender are outstanding; a batch that finds that many is late, not lost.
const MAX_IN_FLIGHT = 8;
let loadSent = 0; // events sent (the offered load)
let loadAcknowledged = 0; // events the server answered 2xx for
let running = true;
const perBatch = Math.round(LOAD_EVENTS_PER_S / 20 / 2);
async function loadSender(id) {
  let n = 0;
  const inFlight = new Set();
  const first = performance.now();
  for (let k = 0; running; k++) {
    const due = first + k * 50 + (id - 1) * 25;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
    const now = Date.now();
    const lines = [];
    for (let i = 0; i < perBatch; i++, n++) {
      lines.push(
        JSON.stringify({
          time: now,
          type: 'http_request',
          'http.request.method': 'GET',
          'url.path': `/api/items/${n}`,
          'http.route': '/api/items/:id',
          'http.response.status_code': 200,
          // 2,500 clients per sender at 2 requests per second each: ordinary traffic, under every rule's threshold.
          'client.address': `198.${50 + id}.${Math.floor(n / 250) % 10}.${n % 250}`,
        }),
      );
    }
    loadSent += lines.length;
    const sent = post(lines).then(
      (ok) => {
        if (ok) loadAcknowledged += lines.length;
        inFlight.delete(sent);
      },
      () => inFlight.delete(sent),
    );
    inFlight.add(sent);
  }
  await Promise.all(inFlight);
}
const senders = [loadSender(1), loadSender(2)];
// Warm up under load: the first seconds of a fresh process run unoptimised code (the JIT has not compiled the hot
// paths yet). Measured from there on, as a server that has been running a while.
await new Promise((r) => setTimeout(r, 3000));

// The load that counts is the one the probes met: events acknowledged while they were being sent.
const window = { start: performance.now(), sent: loadSent, acknowledged: loadAcknowledged };
const sentAt = new Map();
for (let p = 0; p < PROBES; p++) {
  const address = `203.0.${Math.floor(p / 250)}.${p % 250}`;
  const now = Date.now();
  const lines = Array.from({ length: 5 }, (_, i) =>
    JSON.stringify({
      time: now - (4 - i) * 10,
      type: 'authn_login_fail',
      'client.address': address,
      'user.id': `p${p}-${i}`,
    }),
  );
  sentAt.set(address, performance.now());
  void post(lines);
  await new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
}
const windowSeconds = (performance.now() - window.start) / 1000;
const offered = (loadSent - window.sent) / windowSeconds;
const acknowledged = (loadAcknowledged - window.acknowledged) / windowSeconds;
const deadline = performance.now() + 5000;
while (arrivals.size < PROBES && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
running = false;
await Promise.all(senders);
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
receiver.close();
rmSync(dataDir, { recursive: true, force: true });

const latencies = [...sentAt]
  .filter(([a]) => arrivals.has(a))
  .map(([a, t]) => arrivals.get(a) - t)
  .sort((x, y) => x - y);
const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN;
await report(
  'alert-latency',
  [
    figure('p50_ms', q(0.5), 'ms'),
    figure('p90_ms', q(0.9), 'ms'),
    figure('p99_ms', q(0.99), 'ms'),
    figure('max_ms', latencies[latencies.length - 1] ?? Number.NaN, 'ms'),
    figure('background_load_events_per_s', offered, 'events/s'),
    figure('background_acknowledged_events_per_s', acknowledged, 'events/s'),
    figure('probes_delivered', latencies.length, 'count'),
  ],
  {
    probes: PROBES,
    targetLoadEventsPerS: LOAD_EVENTS_PER_S,
    latenessMillis: 500,
    grouping: 'none (sent at once)',
  },
);
