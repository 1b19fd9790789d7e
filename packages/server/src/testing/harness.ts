/**
 * Test harness: a real server on a loopback port with a temporary data directory, and a real HTTP receiver on
 * loopback for webhooks. Used by the server's own tests and by the end-to-end tests of other packages.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type StartOptions, startVigil, type VigilServer } from '../app.js';
import { buildConfig } from '../config.js';
import { silentLogger } from '../log.js';
import { SqliteStore } from '../store/sqlite.js';

export interface TestServer extends VigilServer {
  readonly ingestToken: string;
  readonly apiToken: string;
  readonly dataDir: string;
  /** POST a body to a path with the ingest token (or the given headers). */
  post(path: string, body: string | Buffer, headers?: Record<string, string>): Promise<Response>;
  /** GET a path with the API token. */
  get(path: string, token?: string): Promise<Response>;
  stop(): Promise<void>;
}

export function tempDir(prefix = 'vigil-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startTestServer(
  rawConfig: Record<string, unknown> = {},
  options: StartOptions & { dataDir?: string; keepData?: boolean } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDir();
  const ingestToken = `test-ingest-${randomBytes(12).toString('hex')}`;
  const apiToken = `test-api-${randomBytes(12).toString('hex')}`;
  const config = buildConfig(
    { ...rawConfig, server: { port: 0, host: '127.0.0.1', ...(rawConfig.server as object) } },
    { VIGIL_DATA_DIR: dataDir, VIGIL_INGEST_TOKEN: ingestToken, VIGIL_API_TOKEN: apiToken },
  );
  const server = await startVigil(config, { log: silentLogger, notifyPollMillis: 50, ...options });
  return Object.assign(server, {
    ingestToken,
    apiToken,
    dataDir,
    post: (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        body,
        headers: { authorization: `Bearer ${ingestToken}`, 'content-type': 'application/json', ...headers },
      }),
    get: (path: string, token = apiToken) =>
      fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } }),
    stop: async () => {
      await server.close();
      if (!options.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

export interface ReceivedRequest {
  readonly at: number;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface Receiver {
  readonly url: string;
  readonly received: ReceivedRequest[];
  /** Status to answer with; change it to simulate an outage. */
  status: number;
  /** Resolves when `count` requests have arrived (or rejects after `timeoutMillis`). */
  waitFor(count: number, timeoutMillis?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: ReceivedRequest[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const receiver: Receiver = {
    url: '',
    received,
    status: 200,
    waitFor(count, timeoutMillis = 5000) {
      if (received.length >= count) return Promise.resolve(received);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`receiver got ${received.length} of ${count} requests in ${timeoutMillis} ms`)),
          timeoutMillis,
        );
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(received);
          },
        });
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (receiver.status >= 200 && receiver.status < 300) {
        received.push({
          at: Date.now(),
          path: req.url ?? '/',
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        });
      }
      res.writeHead(receiver.status).end();
      for (const w of [...waiters]) {
        if (received.length >= w.count) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return Object.assign(receiver, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` });
}

/** NDJSON of `n` failed logins from one address, spaced 500 ms apart in event time, ending now. */
export function failedLogins(n: number, address: string, userPrefix = 'u', end = Date.now()): string {
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      time: end - (n - 1 - i) * 500,
      type: 'authn_login_fail',
      'client.address': address,
      'user.id': `${userPrefix}${i}`,
    }),
  ).join('\n');
}

/**
 * Retry an assertion until it passes or `timeoutMillis` runs out (detection runs behind the watermark). The default
 * is a bound for a machine busy with other suites, not a measure: a check that passes returns at once, and what
 * takes a few hundred milliseconds alone has taken several seconds in a full parallel run.
 */
export async function eventually<T>(check: () => Promise<T>, timeoutMillis = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMillis;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** What `vigil verify` would report on a store file, opened afresh. */
export async function reopenAndVerify(file: string) {
  const store = new SqliteStore({ file });
  try {
    return await store.verify();
  } finally {
    await store.close();
  }
}
