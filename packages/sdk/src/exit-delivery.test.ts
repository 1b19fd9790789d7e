import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseEvent } from '@vigil/schema';
import { Receiver, TEST_TOKEN } from './testing/receiver.js';

/**
 * A process that ends without closing its client (a crash, `process.exit()`) has its queued events sent from a
 * worker thread at `exit`, and a crash nothing handles is recorded as `sys_crash`. Each test runs a real app in a
 * child process, against a real receiver on loopback; events wait in the queue (a one-minute flush interval), so
 * only the delivery at exit can bring them.
 */
const esm = fileURLToPath(new URL('./index.js', import.meta.url));
const cjs = fileURLToPath(new URL('../cjs/index.js', import.meta.url));

/** How the poison request throws: later in a callback, out of the handler itself, or as the async handler's rejection. */
const THROWS = {
  'in a callback': `setTimeout(() => { throw poison(); }, 5)`,
  'out of the handler': `throw poison()`,
  "in req.on('end')": `req.resume().on('end', () => { throw poison(); })`, // Node.js emits it in the connection's context
  'as an async handler': `return Promise.reject(poison())`,
};

/**
 * A server that crashes on `/poison/:id`, with a failed login recorded before, and one request to the poison: a POST
 * whose body is sent once the server has the request, so that its events come from the connection, as a body does.
 */
const crashingApp = (load: string, options = '', throws = THROWS['in a callback']) => `
  ${load}
  const vigil = createVigil({ service: 'crashy', flushIntervalMillis: 60000 ${options} });
  vigil.authn.loginFail('ann', { reason: 'bad_password' });
  const poison = () => new TypeError('card 4111 1111 1111 1111 was refused');
  const server = createServer(vigil.wrap((req, res) => {
    if (req.url.startsWith('/poison')) ${throws};
    else res.end('ok');
  }, { route: (req) => (req.url.startsWith('/poison') ? '/poison/:id' : '/') }));
  server.listen(0, '127.0.0.1', () => {
    const url = 'http://127.0.0.1:' + server.address().port + '/poison/7?token=zqx-query-token';
    const sending = request(url, { method: 'POST', headers: { 'user-agent': 'fuzzer/1.0' } }).on('error', () => {});
    server.once('request', () => setImmediate(() => sending.end('{}')));
    sending.flushHeaders();
  });
`;

const ESM_LOAD = `
  import { createVigil } from ${JSON.stringify(esm)};
  import { createServer, request } from 'node:http';
`;
const CJS_LOAD = `
  const { createVigil } = require(${JSON.stringify(cjs)});
  const { createServer, request } = require('node:http');
`;

async function runChild(source: string, env: Record<string, string>, module = true) {
  const args = module ? ['--input-type=module', '-e', source] : ['-e', source];
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  return { code, signal, stderr, stdout };
}

describe('delivery at exit', () => {
  let receiver: Receiver;
  let env: Record<string, string>;
  before(async () => {
    receiver = await Receiver.start();
    env = { VIGIL_ENDPOINT: receiver.url, VIGIL_INGEST_TOKEN: TEST_TOKEN };
  });
  beforeEach(() => {
    receiver.requests.length = 0;
  });
  after(() => receiver.close());

  for (const [build, load, module, how] of [
    ['ES module', ESM_LOAD, true, 'in a callback'],
    ['CommonJS', CJS_LOAD, false, 'in a callback'],
    ['ES module', ESM_LOAD, true, 'out of the handler'],
    ['ES module', ESM_LOAD, true, "in req.on('end')"],
    ['ES module', ESM_LOAD, true, 'as an async handler'],
  ] as const) {
    test(`${build} build: a crash in a request (thrown ${how}) is recorded as sys_crash of that request, and what was queued is sent`, async () => {
      const { code, signal, stderr } = await runChild(crashingApp(load, '', THROWS[how]), env, module);
      // The process ends as it would have without the SDK: exit code 1, Node.js's own report of the error.
      assert.equal(code, 1, `ended by ${signal}`);
      assert.match(stderr, /TypeError: card 4111/);
      assert.deepEqual(receiver.events.map((e) => e.type).sort(), ['authn_login_fail', 'sys_crash']);
      const crash = receiver.events.find((e) => e.type === 'sys_crash')!;
      assert.ok(parseEvent(crash).ok, JSON.stringify(crash));
      assert.equal(crash['event.reason'], how === 'as an async handler' ? 'unhandled_rejection' : 'uncaught_exception');
      assert.equal(crash['error.type'], 'TypeError');
      assert.match(String(crash['vigil.error.fingerprint']), /^[0-9a-f]{16}$/);
      // Bound to the request that crashed the process: the evidence of what caused it.
      assert.equal(crash['http.route'], '/poison/:id');
      assert.equal(crash['url.path'], '/poison/7');
      assert.equal(crash['user_agent.original'], 'fuzzer/1.0');
      assert.equal(crash['client.address'], '127.0.0.1');
      // The message may hold data; it never leaves the process, nor does the query's token. (The secrets are
      // chosen so that no event id, time, port or fingerprint can hold them by chance: "abc" once matched an id.)
      assert.doesNotMatch(receiver.allText, /4111 1111|card|zqx/);
    });
  }

  test('an unhandled rejection that ends the process is recorded with its origin', async () => {
    const { code } = await runChild(
      `
      import { createVigil } from ${JSON.stringify(esm)};
      const vigil = createVigil({ service: 'crashy', flushIntervalMillis: 60000 });
      vigil.data.export('ann', 3);
      setTimeout(() => { Promise.reject(new RangeError('no')); }, 5);
      `,
      env,
    );
    assert.equal(code, 1);
    const crash = receiver.events.find((e) => e.type === 'sys_crash');
    assert.equal(crash?.['event.reason'], 'unhandled_rejection');
    assert.equal(crash?.['error.type'], 'RangeError');
    assert.ok(receiver.events.some((e) => e.type === 'data_export'));
  });

  test('process.exit() without close(): the queued events are sent, and the exit code is kept', async () => {
    const { code } = await runChild(
      `
      import { createVigil } from ${JSON.stringify(esm)};
      const vigil = createVigil({ service: 'script', flushIntervalMillis: 60000, maxBatchSize: 100 });
      for (let i = 0; i < 250; i++) vigil.data.export('u' + i, i);
      process.exit(3);
      `,
      env,
    );
    assert.equal(code, 3);
    assert.equal(receiver.events.filter((e) => e.type === 'data_export').length, 250);
    assert.equal(receiver.events.filter((e) => e.type === 'sys_crash').length, 0);
    // Sent in batches of maxBatchSize, as the transport would have.
    assert.ok(receiver.requests.every((r) => r.events.length <= 100));
  });

  test("SIGTERM with the app's own listener ending in process.exit(): the batch the SDK started sending is sent", async () => {
    // The SDK's SIGTERM listener runs first and starts sending what is queued; the app's then exits at once, before
    // that request is even connected.
    const { code } = await runChild(
      `
      import { createVigil } from ${JSON.stringify(esm)};
      const vigil = createVigil({ service: 'server', flushIntervalMillis: 60000 });
      process.on('SIGTERM', () => process.exit(0));
      for (let i = 0; i < 20; i++) vigil.data.export('u' + i, i);
      setInterval(() => {}, 1000); // a server stays up
      setTimeout(() => process.kill(process.pid, 'SIGTERM'), 100);
      `,
      env,
    );
    assert.equal(code, 0);
    const ids = new Set(receiver.events.filter((e) => e.type === 'data_export').map((e) => e.id));
    assert.equal(ids.size, 20);
  });

  test('flush() that joins a retry already waiting keeps the process alive until its outcome', async () => {
    receiver.respond = (_request, index) =>
      index === 0 ? { status: 503, headers: { 'retry-after': '1' } } : undefined;
    try {
      const { code, stdout } = await runChild(
        `
        import { createVigil } from ${JSON.stringify(esm)};
        const vigil = createVigil({ service: 'script', flushOnExit: false, flushIntervalMillis: 20 });
        vigil.data.export('ann', 1);
        // The interval's send is refused and waits a second for its retry, a timer that holds nothing alive.
        while (vigil.stats().retries === 0) await new Promise((resolve) => setTimeout(resolve, 10));
        await vigil.flush();
        console.log('flushed', vigil.stats().sent);
        `,
        env,
      );
      assert.equal(code, 0, 'exit code 13: the awaited flush() was left unsettled');
      assert.equal(stdout.trim(), 'flushed 1');
    } finally {
      receiver.respond = () => undefined;
    }
  });

  test('after a flush() that gave up, later retries keep nothing alive', async () => {
    // Two attempts of the first batch fail within the flush; the second batch's retry then waits 30 s.
    receiver.respond = (_request, index) =>
      index < 2 ? { status: 503 } : { status: 503, headers: { 'retry-after': '30' } };
    try {
      const { stdout } = await runChild(
        `
        import { createVigil } from ${JSON.stringify(esm)};
        const vigil = createVigil({
          service: 'script', flushOnExit: false, maxBatchSize: 1, flushIntervalMillis: 20,
          maxRetries: 1, initialBackoffMillis: 20, maxBackoffMillis: 60000,
        });
        vigil.data.export('ann', 1);
        vigil.data.export('bob', 2);
        await vigil.flush();
        const check = () => {
          if (vigil.stats().retries < 2) return setTimeout(check, 10);
          // Out of this timer's callback, where it is still listed itself.
          setImmediate(() => {
            console.log(JSON.stringify(process.getActiveResourcesInfo()));
            process.exit(0);
          });
        };
        check();
        `,
        env,
      );
      const active = JSON.parse(stdout.trim()) as string[];
      assert.ok(!active.includes('Timeout'), `a timer holds the process: ${stdout}`);
    } finally {
      receiver.respond = () => undefined;
    }
  });

  test('a batch waiting to be retried when the process exits is sent with the rest', async () => {
    receiver.respond = (_request, index) =>
      index === 0 ? { status: 503, headers: { 'retry-after': '30' } } : undefined;
    try {
      const { code } = await runChild(
        `
        import { createVigil } from ${JSON.stringify(esm)};
        const vigil = createVigil({ service: 'script', flushIntervalMillis: 60000 });
        vigil.data.export('first', 1);
        void vigil.flush(); // refused with 503: the batch waits 30 s for its retry
        setTimeout(() => { vigil.data.export('second', 2); process.exit(0); }, 300);
        `,
        env,
      );
      assert.equal(code, 0);
      assert.equal(receiver.requests[0]?.events.length, 0, 'the first attempt was refused');
      assert.deepEqual(receiver.events.map((e) => e['user.id']).sort(), ['first', 'second']);
    } finally {
      receiver.respond = () => undefined;
    }
  });

  test('an error the app handles (its own uncaughtException listener) is not a crash', async () => {
    const { code } = await runChild(
      `
      import { createVigil } from ${JSON.stringify(esm)};
      const vigil = createVigil({ service: 'resilient', flushIntervalMillis: 60000 });
      process.on('uncaughtException', () => {
        vigil.data.export('after', 1);
        setTimeout(() => process.exit(0), 5);
      });
      setTimeout(() => { throw new Error('handled'); }, 5);
      `,
      env,
    );
    assert.equal(code, 0);
    assert.deepEqual(
      receiver.events.map((e) => e.type),
      ['data_export'],
    );
  });

  test('a collector that never answers holds the exit for at most closeTimeoutMillis, and the crash still ends it', async () => {
    // A listener that accepts connections and never reads or answers them.
    const silent = createServer(() => {});
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const port = (silent.address() as { port: number }).port;
    try {
      const started = Date.now();
      const { code, stderr } = await runChild(
        `
        import { createVigil } from ${JSON.stringify(esm)};
        const vigil = createVigil({ service: 'crashy', flushIntervalMillis: 60000, closeTimeoutMillis: 500 });
        vigil.data.export('ann', 1);
        setTimeout(() => { throw new Error('down'); }, 5);
        `,
        { ...env, VIGIL_ENDPOINT: `http://127.0.0.1:${port}` },
      );
      assert.equal(code, 1);
      assert.match(stderr, /Error: down/);
      // Generous: this bounds a hang (the child is killed after 20 s), not the machine's speed.
      assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    } finally {
      silent.close();
    }
  });

  test('flushOnExit: false installs nothing: a crash loses what was queued', async () => {
    const { code } = await runChild(crashingApp(ESM_LOAD, ', flushOnExit: false'), env);
    assert.equal(code, 1);
    assert.equal(receiver.events.length, 0);
  });

  test("mode 'stdout': the crash is written at exit with the lines before it", async () => {
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
        import { createVigil } from ${JSON.stringify(esm)};
        const vigil = createVigil({ mode: 'stdout', service: 'crashy' });
        vigil.data.export('ann', 1);
        throw new SyntaxError('bad');
        `,
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 1);
    const types = stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { type: string }).type);
    assert.deepEqual(types, ['data_export', 'sys_crash']);
  });
});
