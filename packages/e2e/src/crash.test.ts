/**
 * A request that crashes the app, end to end: an Express app in its own process, instrumented as docs/sdk.md says,
 * dies on an error nothing handles. The crash (with the request that caused it) and the events still queued reach a
 * real Vigil server as the process exits, and the shipped rule raises its alert.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type AppProcess,
  eventually,
  spawnApp,
  startTestServer,
  storedAlerts,
  storedEvents,
  type TestServer,
} from './support.js';

// Inside the package, so that the app resolves @vigil/sdk and express as an installed app would.
const DIR = fileURLToPath(new URL('../dist/fixtures/crash-app', import.meta.url));

// A minute's flush interval: only the delivery at exit can bring the events of this app. The exit waits up to 20 s
// for the server (5 s by default): on a loaded two-core machine, the server in this test's process answered later
// than 5 s once, and the delivery under test was given up before it was answered.
const APP = `
import express from 'express';
import { createVigil } from '@vigil/sdk';
import { vigilErrorHandler, vigilExpress } from '@vigil/sdk/express';

const vigil = createVigil({ service: 'e2e-crash', flushIntervalMillis: 60000, closeTimeoutMillis: 20000 });
const app = express();
app.use(vigilExpress(vigil));
app.get('/orders/:id', (req, res) => {
  if (req.params.id === 'poison') {
    // A callback outside Express's reach: its error ends the process.
    setTimeout(() => JSON.parse(req.query.payload), 1);
    return;
  }
  vigil.access('order', req.params.id);
  res.json({ id: req.params.id });
});
app.use(vigilErrorHandler(vigil));
const server = app.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + server.address().port));
`;

let server: TestServer;
let app: AppProcess;

before(async () => {
  server = await startTestServer();
  mkdirSync(DIR, { recursive: true });
  writeFileSync(join(DIR, 'app.mjs'), APP);
  app = await spawnApp(join(DIR, 'app.mjs'), { VIGIL_ENDPOINT: server.url, VIGIL_INGEST_TOKEN: server.ingestToken });
});

after(async () => {
  if (app.child.exitCode === null && app.child.signalCode === null) {
    app.child.kill('SIGKILL');
    await once(app.child, 'exit');
  }
  await server.stop();
});

test('a request that crashes the app: sys_crash with that request, the queued events, and an alert', async () => {
  const ok = await fetch(`${app.url}/orders/17`);
  assert.equal(ok.status, 200);
  await ok.arrayBuffer();
  const exited = once(app.child, 'exit');
  // The request never gets an answer: the process dies under it.
  await fetch(`${app.url}/orders/poison?payload=%7Bnot-json`).catch(() => undefined);
  const [code] = (await exited) as [number | null];
  assert.equal(code, 1, 'the process ends as it would have without the SDK');
  assert.match(app.stderr(), /SyntaxError/);

  const events = await eventually(async () => {
    const stored = await storedEvents(server);
    assert.ok(stored.some((e) => e.type === 'sys_crash'));
    return stored;
  });
  const crash = events.find((e) => e.type === 'sys_crash')!;
  assert.equal(crash['service.name'], 'e2e-crash');
  assert.equal(crash['event.reason'], 'uncaught_exception');
  assert.equal(crash['error.type'], 'SyntaxError');
  assert.equal(crash['http.route'], '/orders/:id');
  assert.equal(crash['url.path'], '/orders/poison');
  assert.equal(crash['client.address'], '127.0.0.1');
  // Queued before the crash, sent at exit: the first request and its object access.
  assert.ok(events.some((e) => e.type === 'http_request' && e['url.path'] === '/orders/17'));
  assert.ok(events.some((e) => e.type === 'object_access' && e['vigil.object.id'] === '17'));

  const alert = await eventually(async () => {
    const found = (await storedAlerts(server)).find((a) => a.rule.title === 'Service crashed on an unhandled error');
    assert.ok(found);
    return found;
  });
  assert.equal(alert.labels['service.name'], 'e2e-crash');
  assert.ok(alert.evidence.includes(crash.id));
});
