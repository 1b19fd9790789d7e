/**
 * The README quickstart, end to end: examples/express-quickstart/app.mjs runs as its own process, exactly as a
 * user starts it (`VIGIL_INGEST_TOKEN=... node examples/express-quickstart/app.mjs`), against a real Vigil server;
 * five failed logins through the app give exactly one alert.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
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

const APP = fileURLToPath(new URL('../../../examples/express-quickstart/app.mjs', import.meta.url));

let server: TestServer;
let app: AppProcess;

before(async () => {
  server = await startTestServer();
  app = await spawnApp(APP, { VIGIL_INGEST_TOKEN: server.ingestToken, VIGIL_ENDPOINT: server.url, PORT: '0' });
});

after(async () => {
  if (app?.child.exitCode === null) {
    app.child.kill('SIGTERM');
    await once(app.child, 'exit');
  }
  await server.stop();
});

async function login(user: string, password: string): Promise<number> {
  const response = await fetch(`${app.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user, password }),
  });
  await response.arrayBuffer();
  return response.status;
}

test('five failed logins through the quickstart app raise exactly one alert, for the user and the address', async () => {
  for (let i = 0; i < 5; i++) assert.equal(await login('alice', `guess-${i}`), 401);

  const alert = await eventually(async () => {
    const alerts = await storedAlerts(server);
    assert.equal(alerts.length, 1, `alerts: ${JSON.stringify(alerts)}`);
    return alerts[0]!;
  }, 15_000);
  assert.equal(alert.rule.id, 'vigil-authn-brute-force');
  assert.equal(alert.status, 'firing');
  assert.equal(alert.labels['user.id'], 'alice');
  assert.equal(alert.labels['client.address'], '127.0.0.1');
  assert.equal(alert.eventCount, 5);
  assert.match(alert.summary, /5 failed logins/);

  // The evidence is the five authn_login_fail events the app recorded, each bound to its request.
  const fails = (await storedEvents(server, 'type=authn_login_fail')).filter((e) => e['service.name'] === 'shop-api');
  assert.equal(fails.length, 5);
  assert.deepEqual([...alert.evidence].sort(), fails.map((e) => e.id).sort());
  for (const fail of fails) {
    assert.equal(fail['http.route'], '/login');
    assert.equal(fail['event.reason'], 'bad_password');
  }
  // The password never reached the store.
  assert.ok(!JSON.stringify(await storedEvents(server)).includes('guess-'));

  // A successful login afterwards does not open another alert.
  assert.equal(await login('alice', 'correct horse battery staple'), 204);
  await eventually(async () => {
    const events = await storedEvents(server, 'type=authn_login_success');
    assert.equal(events.length, 1);
  }, 10_000);
  assert.equal((await storedAlerts(server)).length, 1);
  assert.equal(app.stderr(), '', 'the example printed no warning');
});
