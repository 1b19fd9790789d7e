/**
 * A small collector for tests: a real HTTP server on loopback that takes `POST /v1/events` the way the Vigil
 * collector does (NDJSON, gzip or not, bearer token, each event validated with @vigil/schema), records what arrived,
 * and can be told to answer differently (429, 503, 401, 413...) or go down and come back on the same port.
 */
import { once } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { parseEvent } from '@vigil/schema';
import type { VigilOptions } from '../options.js';

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The body as sent (still compressed if it was). */
  readonly raw: Buffer;
  /** The body decompressed. */
  readonly text: string;
  readonly events: Array<Record<string, unknown>>;
  readonly at: number;
}

export interface Answer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
}

/** Decides the answer to the n-th request (0-based); undefined means the default (validate and accept). */
export type Responder = (request: ReceivedRequest, index: number) => Answer | undefined | 'hang';

export interface ReceiverOptions {
  /** Serve https with this certificate and key (PEM) instead of plain http. */
  readonly tls?: { readonly cert: string; readonly key: string };
}

export const TEST_TOKEN = 'test-ingest-token-0123456789';

/**
 * Options for a client that sends to `endpoint` with test-sized timings: batches go out on `flush()` / `close()`
 * (not on a timer), retries wait milliseconds, and nothing is installed for shutdown.
 */
export function fastClientOptions(endpoint: string, extra: VigilOptions = {}): VigilOptions {
  return {
    endpoint,
    token: TEST_TOKEN,
    flushIntervalMillis: 10_000,
    initialBackoffMillis: 1,
    maxBackoffMillis: 20,
    requestTimeoutMillis: 2000,
    closeTimeoutMillis: 2000,
    flushOnExit: false,
    onError: () => {},
    ...extra,
  };
}

export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  respond: Responder = () => undefined;
  private server: Server;
  private port = 0;
  private readonly hanging = new Set<ServerResponse>();

  private constructor(private readonly tls: ReceiverOptions['tls']) {
    this.server = this.create();
  }

  static async start(options: ReceiverOptions = {}): Promise<Receiver> {
    const r = new Receiver(options.tls);
    await r.listen();
    return r;
  }

  get url(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  /** Every event accepted so far, in arrival order. */
  get events(): Array<Record<string, unknown>> {
    return this.requests.flatMap((r) => r.events);
  }

  /** Everything that was sent, decompressed, as one string: for "this secret never left the app" assertions. */
  get allText(): string {
    return this.requests.map((r) => r.text).join('\n');
  }

  /**
   * Wait until `predicate` holds, polling; fails after `timeoutMillis`. The default bounds a machine busy with other
   * suites, as the server harness's `eventually` does: a condition that holds returns at once.
   */
  async waitFor(predicate: () => boolean, timeoutMillis = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMillis;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`receiver: condition not met within ${timeoutMillis} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /**
   * Send a request (`GET` unless `init` says otherwise) to an app with `X-Request-Id: requestId`, wait for that
   * request's `http_request` event, and return every event recorded for the request.
   */
  async call(base: string, path: string, requestId: string, init: RequestInit = {}) {
    const headers = new Headers(init.headers);
    headers.set('x-request-id', requestId);
    await (await fetch(`${base}${path}`, { ...init, headers })).text();
    return this.eventsOf(requestId);
  }

  /** `call` for a request whose response breaks off (the connection reset): what the client got is not looked at. */
  async callBroken(base: string, path: string, requestId: string) {
    await fetch(`${base}${path}`, { headers: { 'x-request-id': requestId } })
      .then((response) => response.text())
      .catch(() => undefined);
    return this.eventsOf(requestId);
  }

  /** Every event recorded for a request, once its `http_request` arrived. */
  private async eventsOf(requestId: string) {
    const mine = () => this.events.filter((e) => e['http.request.id'] === requestId);
    await this.waitFor(() => mine().some((e) => e.type === 'http_request'));
    return mine();
  }

  /** Stop listening (the port refuses connections) but remember it, to come back with `restart()`. */
  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async restart(): Promise<void> {
    this.server = this.create();
    await this.listen(this.port);
  }

  close(): Promise<void> {
    return this.stop();
  }

  private async listen(port = 0): Promise<void> {
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
  }

  private create(): Server {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        let text = '';
        try {
          text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
        } catch {
          text = '';
        }
        const lines = text.split('\n').filter((l) => l.length > 0);
        const parsed = lines.map((l) => {
          try {
            return JSON.parse(l) as Record<string, unknown>;
          } catch {
            return undefined;
          }
        });
        const request: ReceivedRequest = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          raw,
          text,
          events: [],
          at: Date.now(),
        };
        const index = this.requests.length;
        const custom = this.respond(request, index);
        if (custom === 'hang') {
          this.hanging.add(res);
          return;
        }
        if (custom) {
          this.requests.push(request);
          res.writeHead(custom.status, { 'content-type': 'application/json', ...custom.headers });
          res.end(custom.body === undefined ? '' : JSON.stringify(custom.body));
          return;
        }
        if (req.headers.authorization !== `Bearer ${TEST_TOKEN}`) {
          this.requests.push(request);
          res.writeHead(401).end();
          return;
        }
        const rejected: Array<{ index: number; issues: unknown[] }> = [];
        const accepted: Array<Record<string, unknown>> = [];
        parsed.forEach((event, i) => {
          const result = parseEvent(event);
          if (result.ok && event) accepted.push(event);
          else rejected.push({ index: i, issues: result.ok ? [] : result.issues });
        });
        this.requests.push({ ...request, events: accepted });
        res.writeHead(accepted.length === 0 && rejected.length > 0 ? 422 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ accepted: accepted.length, rejected }));
      });
    };
    return this.tls ? createTlsServer(this.tls, handler) : createServer(handler);
  }
}
