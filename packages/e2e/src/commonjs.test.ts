/**
 * The SDK from CommonJS. A TypeScript app compiled to CommonJS (fixtures/commonjs-app, checked with the compiler's
 * `node16` and `node10` rules and `skipLibCheck: false`, so the SDK's declarations for `require` are checked too) runs as its own
 * process against a real Vigil server; `require` and `import` give the same API; and an app that loads both builds
 * still binds helpers to their request and still ends on `SIGTERM`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type AppProcess, eventsOfRequest, spawnApp, startTestServer, type TestServer } from './support.js';

const require = createRequire(import.meta.url);
const FIXTURE = fileURLToPath(new URL('../fixtures/commonjs-app', import.meta.url));
// Inside the package, so that the compiled app resolves @vigil/sdk and express as an installed app would.
const OUT = fileURLToPath(new URL('../dist/fixtures/commonjs-app', import.meta.url));
const TSC = require.resolve('typescript/bin/tsc');
const SUBPATHS = ['', '/express', '/fastify', '/koa', '/hono', '/node', '/enforce', '/testing'];

let server: TestServer;
let app: AppProcess | undefined;

before(async () => {
  server = await startTestServer();
  // The compiler fails (and so this test) if the SDK's types cannot be used from a CommonJS file: with the `node16`
  // rules (package exports), and with the older `node10` ones that `module: commonjs` still defaults to.
  const tsc = promisify(execFile);
  await Promise.all([
    tsc(process.execPath, [TSC, '-p', FIXTURE, '--outDir', OUT]),
    tsc(process.execPath, [TSC, '-p', join(FIXTURE, 'tsconfig.node10.json')]),
  ]);
  writeFileSync(join(OUT, 'package.json'), '{ "type": "commonjs" }\n');
  app = await spawnApp(join(OUT, 'app.js'), { VIGIL_INGEST_TOKEN: server.ingestToken, VIGIL_ENDPOINT: server.url });
});

after(async () => {
  if (app?.child.exitCode === null) {
    app.child.kill('SIGTERM');
    await once(app.child, 'exit');
  }
  await server?.stop();
});

async function call(path: string, init: RequestInit & { requestId: string; user?: string }): Promise<number> {
  const headers = new Headers(init.headers);
  headers.set('x-request-id', init.requestId);
  if (init.user) headers.set('x-test-user', init.user);
  const response = await fetch(`${app!.url}${path}`, { ...init, headers });
  await response.arrayBuffer();
  return response.status;
}

test('a TypeScript app compiled to CommonJS records its requests, helpers and automatic events', async () => {
  assert.equal(await call('/orders/4711', { requestId: 'cjs-order', user: 'u-17' }), 200);
  const order = await eventsOfRequest(server, 'cjs-order', ['object_access']);
  const request = order.find((e) => e.type === 'http_request')!;
  assert.equal(request['service.name'], 'commonjs-api');
  assert.equal(request['http.route'], '/orders/:id');
  assert.equal(request['url.path'], '/orders/4711');
  assert.equal(request['http.response.status_code'], 200);
  assert.equal(request['user.id'], 'u-17');
  assert.equal(request['client.address'], '127.0.0.1');
  // The helper ran after an await, and still belongs to its request.
  const access = order.find((e) => e.type === 'object_access')!;
  assert.equal(access['vigil.object.type'], 'order');
  assert.equal(access['vigil.object.id'], '4711');
  assert.equal(access['http.route'], '/orders/:id');
  assert.equal(access['user.id'], 'u-17');

  const loginInit = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":"ann"}' };
  assert.equal(await call('/login', { ...loginInit, requestId: 'cjs-login' }), 401);
  const login = await eventsOfRequest(server, 'cjs-login', ['authn_login_fail']);
  const fail = login.find((e) => e.type === 'authn_login_fail')!;
  assert.equal(fail['user.id'], 'ann');
  assert.equal(fail['http.route'], '/login');

  assert.equal(await call('/admin', { requestId: 'cjs-admin', user: 'u-17' }), 403);
  const denied = await eventsOfRequest(server, 'cjs-admin', ['authz_fail']);
  assert.equal(denied.find((e) => e.type === 'authz_fail')!['user.id'], 'u-17');
});

test('require and import give the same exports for every entry point', async () => {
  for (const subpath of SUBPATHS) {
    const name = `@vigil/sdk${subpath}`;
    const required = require(name) as Record<string, unknown>;
    const imported = (await import(name)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(required).sort(), Object.keys(imported).sort(), name);
    for (const [key, value] of Object.entries(imported))
      assert.equal(typeof required[key], typeof value, `${name}.${key}`);
  }
  // Each framework's enforcement, from its adapter's entry point.
  for (const [subpath, name] of [
    ['/enforce', 'vigilEnforce'],
    ['/fastify', 'vigilFastifyEnforce'],
    ['/koa', 'vigilKoaEnforce'],
    ['/hono', 'vigilHonoEnforce'],
    ['/node', 'vigilNodeEnforce'],
  ] as const) {
    assert.equal(typeof (require(`@vigil/sdk${subpath}`) as Record<string, unknown>)[name], 'function', name);
  }
  const schema = require('@vigil/schema') as Record<string, unknown>;
  assert.deepEqual(Object.keys(schema).sort(), Object.keys(await import('@vigil/schema')).sort());
});

// Both builds in one process: the client from one, the adapter from the other (an ES module app whose dependency
// `require`s the SDK). The request context and the shutdown listeners are one per process.
const MIXED_APP = `
const { createServer } = require('node:http');
const { createVigil } = require('@vigil/sdk');
(async () => {
  const { wrap } = await import('@vigil/sdk/node');
  const esm = await import('@vigil/sdk');
  const vigil = createVigil({ endpoint: process.env.VIGIL_ENDPOINT, service: 'mixed-builds' });
  const audit = esm.createVigil({ endpoint: process.env.VIGIL_ENDPOINT, service: 'mixed-builds-audit' });
  const server = createServer(wrap(vigil, (req, res) => {
    setImmediate(() => {
      vigil.access('report', '12');
      audit.event('x_report_viewed');
      res.end('ok');
    });
  }));
  server.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + server.address().port));
})();
`;

test('with both builds loaded, helpers find their request and SIGTERM still ends the process', async () => {
  const dir = join(OUT, 'mixed');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'app.js'), MIXED_APP);
  const mixed = await spawnApp(join(dir, 'app.js'), {
    VIGIL_INGEST_TOKEN: server.ingestToken,
    VIGIL_ENDPOINT: server.url,
  });
  const child = mixed.child;
  try {
    const response = await fetch(`${mixed.url}/reports/12`, { headers: { 'x-request-id': 'mixed-1' } });
    assert.equal(await response.text(), 'ok');
    // No SIGTERM listener of the app's own: the SDK sends what it holds, then the process ends by the signal.
    // Each build made a client; with a pair of listeners each, each would take the other's for the app's own.
    child.kill('SIGTERM');
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    const timeout = new Promise<never>((_, reject) => {
      setTimeout(() => reject(new Error('the app did not end within 10 s of SIGTERM')), 10_000).unref();
    });
    const [code, signal] = await Promise.race([exited, timeout]);
    assert.equal(signal, 'SIGTERM', `exit code ${code}`);
    const events = await eventsOfRequest(server, 'mixed-1', ['object_access', 'x_report_viewed']);
    assert.equal(events.find((e) => e.type === 'x_report_viewed')!['service.name'], 'mixed-builds-audit');
    const access = events.find((e) => e.type === 'object_access')!;
    assert.equal(access['url.path'], '/reports/12');
    assert.equal(access['vigil.object.id'], '12');
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
