/**
 * `vigil start` as a process of its own, for tests that kill it (SIGKILL: no shutdown, no final flush) and start it
 * again on the same data directory; and `vigil verify` on that directory.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/vigil.js', import.meta.url));

export interface VigilProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly ingestToken: string;
  readonly apiToken: string;
  /** What the process wrote to standard output and error so far. */
  output(): string;
  /** POST JSON with the ingest token (`/v1/...`) or the API token (`/api/...`). */
  post(path: string, body: unknown): Promise<Response>;
  /** GET with the API token. */
  get(path: string): Promise<Response>;
  /** SIGKILL, and wait until the process is gone. */
  kill(): Promise<void>;
}

const ingestToken = 'crash-test-ingest-token-0123456789';
const apiToken = 'crash-test-api-token-0123456789abc';

function environment(dataDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    VIGIL_CONFIG: join(dataDir, 'vigil.config.yaml'),
    VIGIL_HOST: '127.0.0.1',
    VIGIL_PORT: '0',
    VIGIL_DATA_DIR: dataDir,
    VIGIL_INGEST_TOKEN: ingestToken,
    VIGIL_API_TOKEN: apiToken,
  };
}

/** Start `vigil start` on `dataDir` with `config` (written as the configuration file) and wait until it listens. */
export async function startVigilProcess(dataDir: string, config: Record<string, unknown>): Promise<VigilProcess> {
  // JSON is YAML.
  writeFileSync(join(dataDir, 'vigil.config.yaml'), JSON.stringify(config));
  const child = spawn(process.execPath, [bin, 'start'], {
    env: environment(dataDir),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`vigil start exited early with ${code}:\n${out}`)));
    setTimeout(() => reject(new Error(`vigil start did not listen in 20 s:\n${out}`)), 20_000).unref();
  });
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  };
  return {
    child,
    url,
    ingestToken,
    apiToken,
    output: () => out,
    post: (path, body) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${path.startsWith('/api/') ? apiToken : ingestToken}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
      }),
    get: (path) => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${apiToken}` } }),
    kill,
  };
}

/** `vigil verify` on `dataDir`: its exit code and what it printed. */
export function verifyDataDir(dataDir: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [bin, 'verify'], { env: environment(dataDir), encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}
