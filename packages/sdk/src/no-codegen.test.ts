import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Receiver, TEST_TOKEN } from './testing/receiver.js';

/**
 * The SDK compiles its redaction rules, route matchers and encoders without `eval` or `new Function`: an app that
 * runs with code generation from strings forbidden (a hardening some teams use, and what strict CSP-like
 * sandboxes impose) must be able to run it. V8 throws an EvalError at any such call under this flag.
 */
const run = promisify(execFile);

const APP = `
import { createServer, request } from 'node:http';
import { once } from 'node:events';
import { createVigil } from ${JSON.stringify(new URL('./index.js', import.meta.url).href)};
import { wrap } from ${JSON.stringify(new URL('./adapters/node.js', import.meta.url).href)};

const vigil = createVigil({
  endpoint: process.env.ENDPOINT, token: process.env.TOKEN, service: 'no-codegen', gzip: true, flushOnExit: false,
  redact: ['customer.email', 'nickname'], inspect: 'params', hashObjectIds: true,
  loginRoutes: ['POST */login', '/custom-login'], skipPaths: ['/healthz'],
  onError: (e) => { console.error(e.code, e.message); process.exitCode = 3; },
});
const server = createServer(wrap(vigil, (req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    vigil.access('order', '4711');
    vigil.authn.loginFail('alice', { reason: 'bad_password' });
    const parsed = JSON.parse(body);
    res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: parsed.customer.email.length }));
  });
}, { route: () => '/login', params: () => ({ id: '4711' }) }));
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const payload = JSON.stringify({ password: 'hunter2', card: '4111 1111 1111 1111', customer: { email: 'a@example.com' } });
await new Promise((resolve, reject) => {
  const r = request({ port: server.address().port, path: '/login?token=abc&q=1', method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer secret-value', cookie: 'sid=s1' } },
    (res) => res.resume().on('end', resolve));
  r.on('error', reject);
  r.end(payload);
});
await vigil.close();
server.close();
`;

let receiver: Receiver;
before(async () => {
  receiver = await Receiver.start();
});
after(() => receiver.close());

test('the SDK runs with code generation from strings forbidden', async () => {
  const { stderr } = await run(
    process.execPath,
    ['--disallow-code-generation-from-strings', '--input-type=module', '-e', APP],
    { env: { ...process.env, ENDPOINT: receiver.url, TOKEN: TEST_TOKEN }, timeout: 30_000 },
  );
  assert.equal(stderr, '');
  const types = receiver.events.map((e) => e.type).sort();
  // The app's own login failure, in the request's context from the body's 'end' listener: no automatic second one.
  assert.deepEqual(types, ['authn_login_fail', 'http_request', 'object_access']);
  const stored = JSON.stringify(receiver.events);
  for (const secret of ['hunter2', '4111 1111 1111 1111', 'a@example.com', 'secret-value', 'token=abc']) {
    assert.ok(!stored.includes(secret), `${secret} reached the collector`);
  }
});

test('the flag does forbid code generation (so the test above can fail)', async () => {
  await assert.rejects(
    run(process.execPath, ['--disallow-code-generation-from-strings', '-e', 'new Function("return 1")()']),
    /EvalError: Code generation from strings disallowed/,
  );
});
