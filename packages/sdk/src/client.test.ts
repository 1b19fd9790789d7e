import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseEvent } from '@vigil/schema';
import { Receiver, TEST_TOKEN } from './testing/receiver.js';

const entry = fileURLToPath(new URL('./index.js', import.meta.url));

/** Run an ES module snippet in a child node process; resolves with its output and how it ended. */
async function runChild(source: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  return { code, signal, stdout, stderr };
}

describe('client', () => {
  let receiver: Receiver;
  before(async () => {
    receiver = await Receiver.start();
  });
  after(() => receiver.close());

  test("mode 'stdout' writes one valid event per line, with the OWASP envelope", async () => {
    const { stdout, stderr, code } = await runChild(`
      import { createVigil } from ${JSON.stringify(entry)};
      const vigil = createVigil({ mode: 'stdout', service: 'shop' });
      vigil.authn.loginFail('ann', { reason: 'bad_password', password: 'hunter2' });
      vigil.authz.fail('bob', 'invoice-7');
      vigil.authn.tokenCreated('ann,admin:x', ['read', 'write all']);
      vigil.authz.admin(null, 'purge'); // no user outside a request: not written, counted
      await vigil.close();
      console.error(JSON.stringify(vigil.stats().dropped));
    `);
    assert.equal(code, 0);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // The refused authz_admin is reported by close() as an sdk_drops line.
    assert.equal(lines.length, 4);
    assert.equal(lines[3]!.type, 'sdk_drops');
    assert.equal(lines[3]!['vigil.drop.reason'], 'rejected');
    assert.equal(lines[0]!.event, 'authn_login_fail:ann');
    assert.equal(lines[0]!.level, 'WARN');
    assert.equal(lines[0]!.appid, 'shop');
    assert.equal(lines[0]!.datetime, lines[0]!.time);
    assert.equal(lines[0]!.password, '[REDACTED]');
    assert.equal(lines[1]!.event, 'authz_fail:bob,invoice-7');
    // Separators inside an argument are percent-encoded: the event still reads as type:arg,arg.
    assert.equal(lines[2]!.event, 'authn_token_created:ann%2Cadmin%3Ax,read write%20all');
    for (const line of lines) assert.ok(parseEvent(line).ok, JSON.stringify(line));
    assert.match(stderr, /"rejected":1/);
    assert.match(stderr, /authz_admin event needs user\.id/);
  });

  test("mode 'stdout': lines written before process.exit() are not lost; envelope names are not repeated", async () => {
    const { stdout, code } = await runChild(`
      import { createVigil } from ${JSON.stringify(entry)};
      const vigil = createVigil({ mode: 'stdout', service: 'shop' });
      for (let i = 0; i < 300; i++) vigil.data.export('u' + i, i);
      vigil.event('x_custom', { level: 'mine', description: 'mine too' });
      process.exit(3);
    `);
    assert.equal(code, 3);
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 301);
    assert.equal((JSON.parse(lines[299]!) as Record<string, unknown>).event, 'data_export:u299,,299');
    const custom = lines[300]!;
    assert.equal(custom.match(/"level":/g)?.length, 1, custom);
    assert.equal(custom.match(/"description":/g)?.length, 1, custom);
    assert.equal((JSON.parse(custom) as Record<string, unknown>).level, 'INFO');
  });

  test('SIGTERM flushes, then the process ends by SIGTERM as it would have without the SDK', async () => {
    receiver.requests.length = 0;
    const { signal, code } = await runChild(
      `
      import { createVigil } from ${JSON.stringify(entry)};
      const vigil = createVigil({ service: 'worker', flushIntervalMillis: 60000 });
      setInterval(() => {}, 1000); // a server keeping the process alive
      vigil.sys.shutdown();
      setTimeout(() => process.kill(process.pid, 'SIGTERM'), 20);
    `,
      { VIGIL_ENDPOINT: receiver.url, VIGIL_INGEST_TOKEN: TEST_TOKEN },
    );
    assert.equal(signal, 'SIGTERM', `exit code ${code}`);
    assert.deepEqual(
      receiver.events.map((e) => e.type),
      ['sys_shutdown'],
    );
  });

  for (const order of ['before', 'after'] as const) {
    test(`SIGTERM with signal-exit loaded ${order} the SDK: flushed, its cleanup runs, and the process ends`, async () => {
      receiver.requests.length = 0;
      const signalExit = JSON.stringify(import.meta.resolve('signal-exit'));
      const cleanup = `onExit((code, signal) => console.log('cleanup', signal));`;
      const { signal, code, stdout } = await runChild(
        `
        import { onExit } from ${signalExit};
        import { createVigil } from ${JSON.stringify(entry)};
        ${order === 'before' ? cleanup : ''}
        const vigil = createVigil({ service: 'tool', flushIntervalMillis: 60000 });
        ${order === 'after' ? cleanup : ''}
        setInterval(() => {}, 1000);
        vigil.sys.shutdown();
        setTimeout(() => process.kill(process.pid, 'SIGTERM'), 20);
      `,
        { VIGIL_ENDPOINT: receiver.url, VIGIL_INGEST_TOKEN: TEST_TOKEN },
      );
      // Each waiting for the other, the process would run until killed (runChild's SIGKILL after 10 s).
      assert.equal(signal, 'SIGTERM', `exit code ${code}`);
      assert.match(stdout, /cleanup SIGTERM/);
      assert.deepEqual(
        receiver.events.map((e) => e.type),
        ['sys_shutdown'],
      );
    });
  }

  test("SIGTERM with the host's own once-listener, registered first: the host's graceful shutdown runs to its end", async () => {
    receiver.requests.length = 0;
    const { signal, code } = await runChild(
      `
      import { createVigil } from ${JSON.stringify(entry)};
      process.once('SIGTERM', async () => {
        await new Promise((resolve) => setTimeout(resolve, 200)); // requests in flight finish
        vigil.data.export('during-drain', 1);
        await vigil.close();
        process.exit(0);
      });
      const vigil = createVigil({ service: 'graceful', flushIntervalMillis: 60000 });
      setInterval(() => {}, 1000);
      vigil.sys.shutdown();
      setTimeout(() => process.kill(process.pid, 'SIGTERM'), 20);
    `,
      { VIGIL_ENDPOINT: receiver.url, VIGIL_INGEST_TOKEN: TEST_TOKEN },
    );
    assert.equal(code, 0, `ended by ${signal}: the SDK must not end a process whose owner handles SIGTERM`);
    assert.deepEqual(receiver.events.map((e) => e.type).sort(), ['data_export', 'sys_shutdown']);
  });

  test('SIGTERM with a host listener: queued events are sent at once, and events of the drain still go out', async () => {
    receiver.requests.length = 0;
    const { code } = await runChild(
      `
      import { createVigil } from ${JSON.stringify(entry)};
      const vigil = createVigil({ service: 'graceful', flushIntervalMillis: 60000 });
      const server = setInterval(() => {}, 1000);
      vigil.sys.shutdown();
      process.on('SIGTERM', () => {
        setTimeout(() => {
          vigil.data.export('during-drain', 1); // the client is still open
          clearInterval(server); // the loop runs empty: beforeExit sends the rest
        }, 200);
      });
      setTimeout(() => process.kill(process.pid, 'SIGTERM'), 20);
    `,
      { VIGIL_ENDPOINT: receiver.url, VIGIL_INGEST_TOKEN: TEST_TOKEN },
    );
    assert.equal(code, 0);
    assert.equal(receiver.requests.length, 2, 'one batch at SIGTERM, one at beforeExit');
    assert.deepEqual(
      receiver.events.map((e) => e.type),
      ['sys_shutdown', 'data_export'],
    );
  });

  test('beforeExit flushes what is queued', async () => {
    receiver.requests.length = 0;
    const { code } = await runChild(
      `
      import { createVigil } from ${JSON.stringify(entry)};
      const vigil = createVigil({ service: 'script', flushIntervalMillis: 60000 });
      vigil.data.export('u1', 10);
    `,
      { VIGIL_ENDPOINT: receiver.url, VIGIL_INGEST_TOKEN: TEST_TOKEN },
    );
    assert.equal(code, 0);
    assert.deepEqual(
      receiver.events.map((e) => e.type),
      ['data_export'],
    );
  });

  test('await flush() against a collector that keeps refusing settles before the script ends (its retries wait)', async () => {
    receiver.requests.length = 0;
    receiver.respond = () => ({ status: 503 });
    try {
      const { code, stdout } = await runChild(
        `
        import { createVigil } from ${JSON.stringify(entry)};
        const vigil = createVigil({
          service: 'script', flushOnExit: false, maxRetries: 2, initialBackoffMillis: 100, onError: () => {},
        });
        vigil.data.export('u1', 10);
        await vigil.flush();
        console.log(JSON.stringify(vigil.stats().dropped));
      `,
        { VIGIL_ENDPOINT: receiver.url, VIGIL_INGEST_TOKEN: TEST_TOKEN },
      );
      // Exit code 13 would be a top-level await never settled: the process ended during a retry's wait.
      assert.equal(code, 0);
      assert.equal((JSON.parse(stdout) as { retries_exhausted: number }).retries_exhausted, 1);
      assert.equal(receiver.requests.length, 3);
    } finally {
      receiver.respond = () => undefined;
    }
  });
});
