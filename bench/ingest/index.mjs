// Ingest throughput: events per second through POST /v1/events (HTTP, validation, SQLite with the hash chain,
// the brute-force rule on), next to the physical baseline measured in the same run on the same events:
// JSON.parse + a batched SQLite insert in one process (same pragmas), no HTTP, no validation.
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { buildConfig, startVigil } from '../../packages/server/dist/index.js';
import { figure, ratio, report } from '../lib.mjs';

const TOTAL = Number(process.env.BENCH_INGEST_EVENTS ?? 100_000);
const BATCH = 500;
const CLIENTS = 4;

function makeBatches() {
  const batches = [];
  const start = Date.now() - 3_600_000;
  for (let b = 0; b < TOTAL / BATCH; b++) {
    const events = [];
    for (let i = 0; i < BATCH; i++) {
      const n = b * BATCH + i;
      const fail = n % 10 === 0;
      events.push({
        time: start + n,
        type: fail ? 'authn_login_fail' : 'http_request',
        'client.address': `198.51.${(n >> 8) & 255}.${n & 255}`,
        'user.id': `user-${n % 5000}`,
        'http.request.method': 'GET',
        'url.path': `/api/orders/${n}`,
        'http.route': '/api/orders/:id',
        'http.response.status_code': fail ? 401 : 200,
        'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) bench',
      });
    }
    batches.push(events.map((e) => JSON.stringify(e)).join('\n'));
  }
  return batches;
}

async function viaHttp(batches) {
  const dataDir = join(tmpdir(), `vigil-bench-ingest-${process.pid}`);
  const ingest = 'bench-ingest-token-0123456789';
  const config = buildConfig(
    { server: { port: 0 } },
    { VIGIL_DATA_DIR: dataDir, VIGIL_INGEST_TOKEN: ingest, VIGIL_API_TOKEN: 'bench-api-token-0123456789ab' },
  );
  const server = await startVigil(config, { log: { debug() {}, info() {}, warn() {}, error() {} } });
  const url = `${server.url}/v1/events`;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < batches.length) {
        const body = batches[next++];
        const res = await fetch(url, {
          method: 'POST',
          body,
          headers: { authorization: `Bearer ${ingest}`, 'content-type': 'application/x-ndjson' },
        });
        const result = await res.json();
        if (res.status !== 200 || result.accepted !== BATCH) throw new Error(`ingest failed: ${res.status}`);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const alerts = (await server.store.listAlerts({ limit: 1000 })).items.length;
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
  return { seconds, alerts };
}

function baseline(batches) {
  const file = join(tmpdir(), `vigil-bench-baseline-${process.pid}.db`);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT, time INTEGER, type TEXT, body TEXT)');
  const insert = db.prepare('INSERT INTO events (id, time, type, body) VALUES (?, ?, ?, ?)');
  const insertAll = db.transaction((events) => {
    for (const e of events) insert.run(crypto.randomUUID(), e.time, e.type, JSON.stringify(e));
  });
  const started = performance.now();
  for (const body of batches) insertAll(body.split('\n').map((line) => JSON.parse(line)));
  const seconds = (performance.now() - started) / 1000;
  db.close();
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  return { seconds };
}

const batches = makeBatches();
baseline(batches.slice(0, 10)); // warm-up
const base = baseline(batches);
const http = await viaHttp(batches);
const httpRate = figure('http_ingest_events_per_s', TOTAL / http.seconds, 'events/s');
const baseRate = figure('baseline_parse_insert_events_per_s', TOTAL / base.seconds, 'events/s');
await report('ingest', [httpRate, baseRate, ratio('http_to_baseline_ratio', httpRate, baseRate)], {
  events: TOTAL,
  batchSize: BATCH,
  clients: CLIENTS,
  synchronous: 'FULL',
  alertsRaised: http.alerts,
});
