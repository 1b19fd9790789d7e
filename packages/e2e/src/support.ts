/**
 * What every end-to-end test needs: a real Vigil server on loopback, reading back what it stored, and starting an
 * app's server on a free loopback port.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { eventually, startTestServer, type TestServer } from '@vigil/server/testing';

export { eventually, startTestServer, type TestServer };

/** A stored event in the API's canonical form: flat dotted names. */
export type StoredEvent = Record<string, unknown> & { id: string; type: string; time: string };

export interface StoredAlert {
  readonly id: string;
  readonly status: string;
  readonly rule: { readonly id: string; readonly title: string };
  readonly labels: Record<string, string>;
  readonly eventCount: number;
  readonly summary: string;
  readonly evidence: readonly string[];
}

/** Every stored event (newest first), following `nextCursor`. */
export async function storedEvents(server: TestServer, query = ''): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  let cursor: string | undefined;
  do {
    const params = new URLSearchParams(query);
    params.set('limit', '1000');
    if (cursor) params.set('cursor', cursor);
    const response = await server.get(`/api/v1/events?${params}`);
    if (response.status !== 200) throw new Error(`GET /api/v1/events answered ${response.status}`);
    const page = (await response.json()) as { events: StoredEvent[]; nextCursor?: string };
    out.push(...page.events);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

export async function storedAlerts(server: TestServer): Promise<StoredAlert[]> {
  const response = await server.get('/api/v1/alerts?limit=1000');
  if (response.status !== 200) throw new Error(`GET /api/v1/alerts answered ${response.status}`);
  return ((await response.json()) as { alerts: StoredAlert[] }).alerts;
}

/**
 * The stored events of one request (matched by its `http.request.id`), once its `http_request` event and
 * `expectTypes` have arrived.
 */
export async function eventsOfRequest(
  server: TestServer,
  requestId: string,
  expectTypes: readonly string[] = [],
  timeoutMillis = 10_000,
): Promise<StoredEvent[]> {
  return eventually(async () => {
    const events = (await storedEvents(server)).filter((e) => e['http.request.id'] === requestId);
    for (const type of ['http_request', ...expectTypes]) {
      if (!events.some((e) => e.type === type)) {
        throw new Error(`no ${type} event stored for request ${requestId} (have ${events.map((e) => e.type)})`);
      }
    }
    return events;
  }, timeoutMillis);
}

/** Listen on a free loopback port; returns the base URL. */
export async function listenOnLoopback(server: Server): Promise<string> {
  if (!server.listening) {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  }
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export interface AppProcess {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  /** The URL the app printed (`listening on http://...`). */
  readonly url: string;
  /** What the app wrote to stderr so far. */
  stderr(): string;
}

/**
 * Run a Node.js app as its own process, the way a user starts it, and wait until it prints `listening on <url>`.
 * Rejects with its stderr if it exits first.
 */
export async function spawnApp(file: string, env: Record<string, string>): Promise<AppProcess> {
  const child = spawn(process.execPath, [file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`${file} exited (${code}) before listening: ${stderr}`)));
  });
  return { child, url, stderr: () => stderr };
}
