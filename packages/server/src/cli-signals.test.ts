/**
 * `vigil start` and the signals an init system sends: SIGHUP (reload) at any moment of the process's life, SIGTERM
 * (stop). A real server process on loopback.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from './testing/harness.js';

const bin = fileURLToPath(new URL('../bin/vigil.js', import.meta.url));

function start(dataDir: string): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [bin, 'start'], {
    env: {
      ...process.env,
      VIGIL_PORT: '0',
      VIGIL_DATA_DIR: dataDir,
      VIGIL_INGEST_TOKEN: 'signals-ingest-token-0123456789ab',
      VIGIL_API_TOKEN: 'signals-api-token-0123456789abcdef',
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
