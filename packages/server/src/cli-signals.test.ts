/**
 * `vigil start` and the signals an init system sends: SIGHUP (reload) at any moment of the process's life, SIGTERM
 * (stop). A real server process on loopback.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from './testing/harness.js';

const bin = fileURLToPath(new URL('../bin/vigil.js', import.meta.url));

function start(dataDir: string, env: Record<string, string> = {}): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [bin, 'start'], {
    env: {
      ...process.env,
      VIGIL_PORT: '0',
      VIGIL_DATA_DIR: dataDir,
      VIGIL_INGEST_TOKEN: 'signals-ingest-token-0123456789ab',
      VIGIL_API_TOKEN: 'signals-api-token-0123456789abcdef',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return { child, output: () => output };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !check(); waited += 50) {
    if (waited > 15_000) throw new Error(`${what}: not within 15 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('SIGHUP during start-up and during a graceful stop neither ends the server nor cuts its stop short', async () => {
  const dataDir = tempDir();
  const { child, output } = start(dataDir);
  const exited = once(child, 'exit');
  try {
    // While the server starts: its store is there, and compiling the rules takes a while more before it listens.
    await until(() => existsSync(join(dataDir, 'vigil.db')), 'the store');
    child.kill('SIGHUP');
    await until(() => /listening on/.test(output()), 'listening');
    assert.equal(child.exitCode, null, 'still running');
    assert.equal(child.signalCode, null);
    // A stop, and a reload asked while it runs: the stop finishes as a stop.
    child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 5));
    child.kill('SIGHUP');
    const [code, signal] = await exited;
    assert.deepEqual([code, signal], [0, null], output());
  } finally {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('once up, it says where the dashboard is', async () => {
  const dataDir = tempDir();
  const { child, output } = start(dataDir);
  const exited = once(child, 'exit');
  try {
    await until(() => /The dashboard is at/.test(output()), 'the dashboard line');
    const url = /listening on (http:\/\/\S+)/.exec(output())![1]!;
    assert.match(
      output(),
      new RegExp(`The dashboard is at ${url.replaceAll('.', '\\.')}/ : sign in with an API token`),
    );
    assert.equal((await fetch(`${url}/`)).headers.get('content-type'), 'text/html; charset=utf-8');
    child.kill('SIGTERM');
    assert.deepEqual(await exited, [0, null], output());
  } finally {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a listen address that is not this machine stops start-up as a configuration error naming where it was set', async () => {
  const { child, output } = start(tempDir(), { VIGIL_HOST: '192.0.2.55' });
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 78, output());
  assert.match(output(), /VIGIL_HOST: 192\.0\.2\.55 is not an address of this machine/);
});

test('a port in use stops start-up as a configuration error naming VIGIL_PORT when that set it', async () => {
  const busy = createServer();
  busy.listen(0, '127.0.0.1');
  await once(busy, 'listening');
  try {
    const port = (busy.address() as AddressInfo).port;
    const { child, output } = start(tempDir(), { VIGIL_PORT: String(port) });
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 78, output());
    assert.match(output(), new RegExp(`VIGIL_PORT: port ${port} is already in use`));
  } finally {
    busy.close();
  }
});

test('a data directory that cannot be made stops start-up as a configuration error naming VIGIL_DATA_DIR when that set it', async () => {
  const parent = tempDir();
  try {
    writeFileSync(join(parent, 'a-file'), '');
    const { child, output } = start(join(parent, 'a-file', 'data'));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 78, output());
    assert.match(output(), /vigil: configuration: VIGIL_DATA_DIR: .*: a part of the path is a file/);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});

test('a graceful stop ends while a sender keeps its keep-alive connection busy: answers from then on close it', async () => {
  const { child, output } = start(tempDir());
  const exited = once(child, 'exit');
  await until(() => /listening on/.test(output()), 'listening');
  const url = /listening on (http:\/\/\S+)/.exec(output())![1]!;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  /** POST one event; `during` runs once half of its body is sent. */
  const post = (id: string, during?: () => Promise<void>) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(`${url}/v1/events`, {
        method: 'POST',
        agent,
        headers: {
          authorization: 'Bearer signals-ingest-token-0123456789ab',
          'content-type': 'application/json',
        },
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res));
      });
      req.on('error', reject);
      const body = JSON.stringify({ id, time: Date.now(), type: 'authn_login_success', 'user.id': 'ann' });
      req.setHeader('content-length', Buffer.byteLength(body));
      if (!during) return void req.end(body);
      req.write(body.slice(0, 10));
      // Once the server has the request's head: connected, and a while for it to read.
      req.once('socket', (socket) =>
        socket.once('connect', () => setTimeout(() => void during().then(() => req.end(body.slice(10))), 1000)),
      );
    });
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  try {
    // The stop comes while a request is under way on the connection, which it then cannot close as idle.
    const sigterm = async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 200));
    };
    const during = await post('during', sigterm);
    assert.equal(during.statusCode, 200);
    // The sender goes on, one request after another, until the server is gone.
    const after: Array<string | undefined> = [];
    for (let n = 0; !ended && n < 200; n++) {
      try {
        after.push((await post(`after-${n}`)).headers.connection);
      } catch {
        break; // refused: the server stopped listening
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const [code] = await exited;
    assert.equal(code, 0, output());
    assert.deepEqual([during.headers.connection, ...after.slice(0, 1)], ['close'], JSON.stringify(after));
  } finally {
    agent.destroy();
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
