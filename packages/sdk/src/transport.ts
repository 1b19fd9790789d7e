/**
 * The HTTP transport: a bounded queue of serialised events (line-queue.ts: each written into its batch's NDJSON body
 * as it is queued), sent in batches to `POST /v1/events`.
 *
 * Invariants, after OpenTelemetry's batch processor:
 * - `enqueue` is synchronous and O(1); it never waits and never throws. A full queue drops the new event and
 *   counts it (`queue_full`), so memory stays bounded however long the collector is down: at most `maxQueueSize`
 *   queued events and `maxQueueBytes` of them, plus one batch in flight.
 * - At most one request is in flight per client; batches go out in order.
 * - Retries use exponential backoff with full jitter (a random wait between 0 and the ceiling), and honour
 *   `Retry-After` on 429 and 503. Requests that retrying cannot fix (400, 401, 403, 413, 422) are not retried.
 * - Every event given up on is counted by reason and reported as `sdk_drops` once delivery works again: after the
 *   next batch the collector takes, or on its own when nothing else is queued (tried again every `maxBackoffMillis`
 *   while the collector is down), so an app that goes quiet still reports what it lost.
 *
 * Cost on the host: under load, the queue fills faster than a batch takes to send, so only full batches go out
 * between intervals (a partial batch waits for its interval or a `flush()`); each batch is one request on one
 * kept-alive connection through `node:http`, which costs a fraction of `fetch()` per batch. Compression (`gzip`) is
 * off by default: it costs more CPU per event than everything else the SDK does for a request.
 */
import { type Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { DEFAULTS, EVENTS_PATH } from './defaults.js';
import { DropCounter, type DropCounts, type DropReason } from './drops.js';
import type { ExitJob } from './exit-delivery.js';
import { type Batch, LineQueue } from './line-queue.js';
import { agentFor, type forwardThrough, type OutboundProxy, ProxyError } from './outbound.js';
import type { Reporter } from './report.js';

const gzip = promisify(gzipCallback);
const GZIP_LEVEL = 1;
/** The collector answers a few hundred bytes; anything past this is not kept (bounded memory). */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** What `attempt` needs of an answer. */
interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly text: string;
}

/** Where events go. The HTTP transport and the stdout writer both implement it. */
export interface Sink {
  /**
   * Take one serialised event (a JSON object, no trailing newline). Never throws, never waits. A `routine` event
   * (`http_request`) may use only the first 90 % of the queue's bounds: the rest is kept for the security events,
   * which an attack's flood of requests must not crowd out.
   */
  enqueue(line: string, routine?: boolean): void;
  /** Send what is queued now; resolves when it was sent or given up on. Never rejects. */
  flush(): Promise<void>;
  /** Count an event that was lost before it reached the sink (the SDK failed to build it). */
  countDrop(reason: DropReason): void;
  /** Flush and stop, waiting at most `timeoutMillis`; what is still queued then counts as `shutdown`. */
  close(timeoutMillis: number): Promise<void>;
  stats(): SinkStats;
  /**
   * The process is exiting without a `close()`: stop, and hand over what is queued for exit-delivery.ts to send.
   * Undefined when there is nothing to send (or the sink needs no help: stdout writes its lines at exit itself).
   */
  exitJob?(timeoutMillis: number): ExitJob | undefined;
}

export interface SinkStats {
  /** Events waiting in the queue. */
  queued: number;
  /** Their size in bytes (UTF-8, as they will be sent). */
  queuedBytes: number;
  /** Events in the request currently in flight. */
  inFlight: number;
  /** Events the collector accepted (or lines written, for stdout). */
  sent: number;
  /** Requests that failed and were retried. */
  retries: number;
  /** Events given up on, by reason, since the client was created. */
  dropped: DropCounts;
}

export interface HttpTransportOptions {
  readonly endpoint: string;
  readonly token: string;
  readonly maxQueueSize?: number;
  readonly maxQueueBytes?: number;
  readonly maxBatchSize?: number;
  readonly flushIntervalMillis?: number;
  readonly gzip?: boolean;
  readonly maxRetries?: number;
  readonly initialBackoffMillis?: number;
  readonly maxBackoffMillis?: number;
  readonly requestTimeoutMillis?: number;
  readonly maxEventBytes?: number;
  /** PEM certificates trusted for an https endpoint, besides Node.js's bundled roots. */
  readonly ca?: readonly string[];
  /** The HTTP proxy to reach the collector through (outbound.ts). */
  readonly proxy?: OutboundProxy;
  /** Serialise the `sdk_drops` event for one reason. */
  readonly dropEvent: (reason: DropReason, count: number) => string;
  readonly reporter: Reporter;
}

/** What the collector answers on 200: how many events it took, and which it rejected (by index in the batch). */
interface IngestResponse {
  accepted?: number;
  rejected?: Array<{ index?: number; issues?: Array<{ field?: string; code?: string; message?: string }> }>;
}

type Attempt =
  | { kind: 'done' }
  | { kind: 'retry'; waitMillis?: number; why: string }
  | { kind: 'drop'; reason: DropReason }
  | { kind: 'split' };

/** The share of the queue's bounds routine events (`http_request`) may fill; the rest is for security events. */
export const ROUTINE_SHARE = 0.9;

/** The type marker of an sdk_drops line; the event builder always writes `type` right after `time`. */
const SDK_DROPS_MARKER = '"type":"sdk_drops"';

/**
 * Parse a `Retry-After` value: delay-seconds or an HTTP date (RFC 9110 §10.2.3). Undefined when absent or invalid.
 */
export function parseRetryAfter(value: string | null, nowMillis = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // Only the three date forms HTTP defines: `Date.parse` alone reads `-5`, `1.5` or `5, 10` as dates long past,
  // and the retries would follow each other at once against a collector that asked for a pause.
  if (!HTTP_DATE.test(v)) return undefined;
  // asctime names no zone; HTTP dates are GMT (Date.parse would take it as local time).
  const date = Date.parse(v.endsWith('GMT') ? v : `${v} GMT`);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMillis);
}

/**
 * An HTTP-date (RFC 9110, 5.6.7): IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, the obsolete RFC 850 form
 * `Sunday, 06-Nov-94 08:49:37 GMT`, and asctime `Sun Nov  6 08:49:37 1994`.
 */
const HTTP_DATE =
  /^(?:[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT|[A-Za-z]{6,9}, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT|[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4})$/;

/** Full jitter: a random wait between 0 and min(max, initial × 2^attempt). */
export function backoffMillis(attempt: number, initialMillis: number, maxMillis: number): number {
  return Math.random() * Math.min(maxMillis, initialMillis * 2 ** attempt);
}

export class HttpTransport implements Sink {
  private readonly url: string;
  private readonly headers: Record<string, string>;
  private readonly maxQueueSize: number;
  private readonly maxQueueBytes: number;
  private readonly maxBatchSize: number;
  private readonly flushIntervalMillis: number;
  private readonly gzip: boolean;
  private readonly maxRetries: number;
  private readonly initialBackoffMillis: number;
  private readonly maxBackoffMillis: number;
  private readonly requestTimeoutMillis: number;
  private readonly maxEventBytes: number;
  private readonly drops = new DropCounter();
  private readonly shutdown = new AbortController();
  private readonly target: URL | undefined;
  private readonly agent: HttpAgent | undefined;
  /** An `http://` endpoint behind a proxy: the request goes to the proxy, for the endpoint's absolute URL. */
  private readonly forward: ReturnType<typeof forwardThrough> | undefined;
  /** Set by `flush()` and `close()`: send partial batches too, until the queue is empty. */
  private flushRequested = false;

  private readonly queue: LineQueue;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private sending: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private closed = false;
  private inFlight = 0;
  /** Report batches (`sdk_drops`) and the counts they carry, restored if the report cannot be delivered. */
  private readonly reports = new WeakMap<Batch, Array<[DropReason, number]>>();
  /**
   * The batch being delivered (sent, waiting for an answer, or waiting for a retry), until the collector has taken
   * it or it was given up. It is not known to be at the collector, so the exit worker sends it again: the collector
   * stores an event id once, so a copy that did arrive is counted as a duplicate there.
   */
  private delivering: Batch | undefined;
  /** The timer of the retry being waited for, if one is. */
  private retryTimer: NodeJS.Timeout | undefined;
  private sent = 0;
  private retries = 0;
  /**
   * The collector refused the token and has not taken a batch since: a drops report on its own would be refused too
   * (and lost: its counts are not restored), so it waits for a batch that is taken.
   */
  private tokenRefused = false;

  constructor(private readonly options: HttpTransportOptions) {
    this.url = `${options.endpoint.replace(/\/+$/, '')}${EVENTS_PATH}`;
    try {
      this.target = new URL(this.url);
    } catch {
      this.target = undefined;
    }
    if (this.target) {
      ({ agent: this.agent, forward: this.forward } = agentFor(this.target, options.proxy, {
        ca: options.ca,
        connectTimeoutMillis: options.requestTimeoutMillis ?? DEFAULTS.requestTimeoutMillis,
      }));
    }
    this.maxQueueSize = options.maxQueueSize ?? DEFAULTS.maxQueueSize;
    this.maxQueueBytes = options.maxQueueBytes ?? DEFAULTS.maxQueueBytes;
    this.maxBatchSize = options.maxBatchSize ?? DEFAULTS.maxBatchSize;
    this.queue = new LineQueue(this.maxBatchSize, this.maxQueueBytes);
    this.flushIntervalMillis = options.flushIntervalMillis ?? DEFAULTS.flushIntervalMillis;
    this.gzip = options.gzip ?? DEFAULTS.gzip;
    this.maxRetries = options.maxRetries ?? DEFAULTS.maxRetries;
    this.initialBackoffMillis = options.initialBackoffMillis ?? DEFAULTS.initialBackoffMillis;
    this.maxBackoffMillis = options.maxBackoffMillis ?? DEFAULTS.maxBackoffMillis;
    this.requestTimeoutMillis = options.requestTimeoutMillis ?? DEFAULTS.requestTimeoutMillis;
    this.maxEventBytes = options.maxEventBytes ?? DEFAULTS.maxEventBytes;
    this.headers = {
      'content-type': 'application/x-ndjson',
      authorization: `Bearer ${options.token}`,
      ...(this.gzip ? { 'content-encoding': 'gzip' } : {}),
    };
  }

  enqueue(line: string, routine = false): void {
    if (this.closed || this.closing) {
      this.drops.add('shutdown');
      return;
    }
    // A UTF-8 byte is at most 3 per UTF-16 unit: only long lines need measuring.
    if (tooLarge(line, this.maxEventBytes, this.options.reporter)) {
      this.countDrop('too_large');
      return;
    }
    // A line's UTF-8 size is at least its length: the bound is overshot by at most the last line's extra bytes.
    // Memory is what the batches' buffers hold (`reserved`), more than their lines when batches are small.
    const share = routine ? ROUTINE_SHARE : 1;
    const held = Math.max(this.queue.bytes + line.length, this.queue.reserved);
    if (this.queue.size >= this.maxQueueSize * share || held > this.maxQueueBytes * share) {
      this.drops.add('queue_full');
      return;
    }
    if (this.queue.push(line)) this.schedule(0);
    else this.schedule(this.flushIntervalMillis);
  }

  countDrop(reason: DropReason): void {
    this.drops.add(reason);
    // Reported with the next batch, or on its own at the next interval if nothing else is queued by then (not while
    // the collector refuses the token: the report waits for a batch it takes).
    if (!this.closing && !this.tokenRefused) this.schedule(this.flushIntervalMillis);
  }

  flush(): Promise<void> {
    this.clearTimers();
    this.flushRequested = true;
    // A retry the run it joins sleeps on now keeps the process alive too: the caller awaits its outcome.
    this.retryTimer?.ref();
    return this.run();
  }

  close(timeoutMillis: number): Promise<void> {
    if (this.closing) return this.closing;
    this.clearTimers();
    // Not unref()ed: this timer is what keeps a process alive while it flushes on its way out, and it is bounded.
    const deadline = setTimeout(() => this.shutdown.abort(), timeoutMillis);
    this.flushRequested = true;
    this.closing = (async () => {
      try {
        await this.run();
        // A send that started before close() may have left events behind (it stops at the first failed batch).
        if (this.queue.size > 0 && !this.shutdown.signal.aborted) await this.run();
      } finally {
        clearTimeout(deadline);
        this.closed = true;
        this.drops.add('shutdown', this.queue.clear());
        this.agent?.destroy();
      }
    })();
    return this.closing;
  }

  exitJob(timeoutMillis: number): ExitJob | undefined {
    if (this.closed || this.closing || this.target === undefined) return undefined;
    this.closed = true;
    this.clearTimers();
    const { lines } = this.takeReports();
    if (this.delivering !== undefined) lines.push(...this.delivering.lines());
    for (let batch = this.queue.shift(); batch !== undefined; batch = this.queue.shift()) lines.push(...batch.lines());
    if (lines.length === 0) return undefined;
    const { options } = this;
    return {
      endpoint: options.endpoint,
      token: options.token,
      ca: options.ca,
      proxy: options.proxy?.url.href,
      gzip: this.gzip,
      maxBatchSize: this.maxBatchSize,
      maxEventBytes: this.maxEventBytes,
      maxRetries: this.maxRetries,
      initialBackoffMillis: this.initialBackoffMillis,
      requestTimeoutMillis: this.requestTimeoutMillis,
      timeoutMillis,
      lines,
    };
  }

  stats(): SinkStats {
    return {
      queued: this.queue.size,
      queuedBytes: this.queue.bytes,
      inFlight: this.inFlight,
      sent: this.sent,
      retries: this.retries,
      dropped: { ...this.drops.total },
    };
  }

  private schedule(delayMillis: number): void {
    if (this.sending || this.closed) return;
    if (delayMillis === 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      // setImmediate, not a direct call: the request path that queued the event must not pay for the send.
      this.immediate ??= setImmediate(() => {
        this.immediate = undefined;
        void this.run();
      }).unref();
      return;
    }
    if (this.timer || this.immediate) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, delayMillis).unref();
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  private run(): Promise<void> {
    this.sending ??= this.drain()
      .catch((error: unknown) => {
        this.options.reporter.error('internal', 'the transport failed unexpectedly', error);
        return false;
      })
      .then((delivered) => {
        this.sending = undefined;
        if (this.closing) return;
        // The flush this run served is over, delivered or not: later retries must not keep the process alive.
        this.flushRequested = false;
        if (this.queue.size > 0) this.schedule(this.flushIntervalMillis);
        // Drops with no batch left to follow: their report goes on its own, after a pause if the collector is down;
        // never a shorter one than a batch waits after a failure (maxBackoffMillis may be 0: rounds without end).
        else if (this.drops.hasPending() && !this.tokenRefused) {
          this.schedule(
            delivered ? this.flushIntervalMillis : Math.max(this.maxBackoffMillis, this.flushIntervalMillis),
          );
        }
      });
    return this.sending;
  }

  /** Send what is queued; true unless the last batch tried was not delivered. */
  private async drain(): Promise<boolean> {
    // Drops counted while nothing is queued (an event too large, a batch given up on) have no delivery to follow:
    // their report goes now. Otherwise it follows the first batch delivered. Not while the collector refuses the
    // token, flush() and close() included: the report would be refused, and its counts lost with it.
    if (this.queue.size === 0 && !this.shutdown.signal.aborted && !this.tokenRefused) this.queueDropReports();
    let delivered = true;
    // The first batch goes out whatever its size (its interval elapsed, or it is full); the events queued while it
    // was sent go out now only if they fill a batch, or if a flush asked for everything. The others wait for their
    // interval (scheduled when this run ends): under load, this keeps batches full and requests few.
    for (let first = true; this.queue.size > 0 && !this.shutdown.signal.aborted; first = false) {
      if (!first && !this.flushRequested && !this.queue.firstIsFull()) break;
      const batch = this.queue.shift();
      if (batch === undefined) break;
      this.inFlight = batch.count;
      this.delivering = batch;
      delivered = false;
      try {
        delivered = await this.deliver(batch);
      } finally {
        this.inFlight = 0;
        this.delivering = undefined;
      }
      // Only a delivered batch's buffer is reused: after a failure, a cut-off request might still hold it.
      if (delivered) this.queue.release(batch);
      // After a failed batch, wait for the next interval instead of hammering a collector that is down.
      if (!delivered) break;
    }
    if (this.queue.size === 0 || this.shutdown.signal.aborted) this.flushRequested = false;
    return delivered;
  }

  /** Send one batch, retrying as needed. True when the collector took it (even if it rejected some events). */
  private async deliver(batch: Batch): Promise<boolean> {
    let body: Buffer;
    try {
      // Level 1: NDJSON of similar events still shrinks several times, at a fraction of the default level's CPU,
      // which the app's own requests would otherwise pay for on a busy machine.
      body = this.gzip ? await gzip(batch.bytes(), { level: GZIP_LEVEL }) : batch.bytes();
    } catch (error) {
      this.options.reporter.error('internal', 'could not encode a batch', error);
      this.giveUp(batch, 'rejected');
      return false;
    }
    for (let attempt = 0; ; attempt++) {
      const result = await this.attempt(body, batch);
      if (result.kind === 'done') return true;
      if (result.kind === 'drop') {
        this.giveUp(batch, result.reason);
        return result.reason !== 'shutdown' && result.reason !== 'auth';
      }
      if (result.kind === 'split') {
        const [half, rest] = batch.split();
        // The halves of a report are reports, each with the counts of its lines: not events to count as dropped.
        const counts = this.reports.get(batch);
        if (counts !== undefined) {
          this.reports.set(half, counts.slice(0, half.count));
          this.reports.set(rest, counts.slice(half.count));
        }
        const first = await this.deliver(half);
        const second = await this.deliver(rest);
        return first && second;
      }
      if (attempt >= this.maxRetries) {
        this.giveUp(batch, 'retries_exhausted');
        this.options.reporter.error(
          'delivery_failed',
          `could not deliver ${batch.count} events to ${this.url} after ${attempt + 1} attempts (${result.why}); ` +
            'they are counted as dropped (retries_exhausted)',
        );
        return false;
      }
      this.retries++;
      const wait = Math.min(
        result.waitMillis ?? backoffMillis(attempt, this.initialBackoffMillis, this.maxBackoffMillis),
        this.maxBackoffMillis,
      );
      this.options.reporter.debug(`${result.why}; retry ${attempt + 1}/${this.maxRetries} in ${Math.round(wait)} ms`);
      const slept = await this.sleep(wait);
      if (!slept) {
        this.giveUp(batch, 'shutdown');
        return false;
      }
    }
  }

  private async attempt(body: Buffer, batch: Batch): Promise<Attempt> {
    if (this.shutdown.signal.aborted) return { kind: 'drop', reason: 'shutdown' };
    let answer: Answer;
    try {
      answer = await this.post(body);
    } catch (error) {
      if (this.shutdown.signal.aborted) return { kind: 'drop', reason: 'shutdown' };
      const code = errorCode(error);
      if (error instanceof ProxyError) {
        this.options.reporter.warnOnce('proxy_failed', `${error.message}; events wait and are retried`);
      } else if (code !== undefined && CERTIFICATE_ERROR.test(code)) {
        // Retried like any failure (a certificate can be fixed on the collector's side), but said plainly once.
        this.options.reporter.warnOnce(
          'tls_untrusted',
          `the collector at ${this.target?.host} presented a certificate this process does not trust (${code}): ` +
            'give its CA certificate in the ca option (or NODE_EXTRA_CA_CERTS), or fix the certificate',
        );
      }
      return { kind: 'retry', why: `request failed: ${describeError(error)}` };
    }
    const { status, text } = answer;
    if (status >= 200 && status < 300) {
      this.accepted(batch, text);
      return { kind: 'done' };
    }
    switch (status) {
      case 401:
      case 403:
        this.tokenRefused = true;
        this.options.reporter.warnOnce(
          'auth_rejected',
          `the collector refused the ingest token (HTTP ${status}): check the token option or VIGIL_INGEST_TOKEN; ` +
            'events are dropped until it is fixed',
        );
        return { kind: 'drop', reason: 'auth' };
      case 407:
        // Only a proxy answers 407 (an http:// endpoint's requests go to it; a tunnel's 407 is a ProxyError above).
        this.options.reporter.warnOnce(
          'proxy_failed',
          `the proxy ${this.options.proxy?.display ?? ''} refused the request: HTTP 407 (it wants credentials: ` +
            'http://user:password@host:port); events wait and are retried',
        );
        return { kind: 'retry', why: 'HTTP 407 from the proxy' };
      case 413:
        return batch.count > 1 ? { kind: 'split' } : { kind: 'drop', reason: 'too_large' };
      case 400:
      case 422:
        this.reportRejected(batch.count, text);
        return { kind: 'drop', reason: 'rejected' };
      case 408:
      case 429:
      case 503:
        return {
          kind: 'retry',
          waitMillis: status === 408 ? undefined : parseRetryAfter(answer.retryAfter),
          why: `HTTP ${status}`,
        };
      default:
        if (status >= 500) return { kind: 'retry', why: `HTTP ${status}` };
        this.options.reporter.warnOnce(
          'endpoint_rejected',
          `the collector at ${this.url} answered HTTP ${status}: check the endpoint option (it is the base URL, ` +
            `without ${EVENTS_PATH})`,
        );
        return { kind: 'drop', reason: 'rejected' };
    }
  }

  /**
   * POST one encoded batch. Resolves with the answer (its body bounded), rejects on a network error, a timeout or
   * shutdown. Redirects are not followed: a 3xx is an answer like any other.
   */
  private post(body: Buffer): Promise<Answer> {
    const target = this.target;
    if (!target) return Promise.reject(new TypeError('the endpoint is not a valid URL'));
    const shutdown = this.shutdown.signal;
    if (shutdown.aborted) return Promise.reject(new Error('shut down'));
    const forward = this.forward;
    const send = (forward?.url ?? target).protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Answer>((resolve, reject) => {
      // A timer for the deadline and one listener for shutdown, both set once the request exists and dropped when it
      // settles: per batch, a fraction of the cost of combining a timeout signal with the shutdown signal.
      let deadline: NodeJS.Timeout | undefined;
      // Settled here and not by the request's 'error' event, which a request still waiting for its connection (a
      // proxy tunnel being opened) emits only once it has one.
      const fail = (error: Error) => {
        request.destroy(error);
        if (answered) return answered();
        settle();
        reject(error);
      };
      const onShutdown = () => fail(new Error('shut down'));
      const settle = () => {
        clearTimeout(deadline);
        shutdown.removeEventListener('abort', onShutdown);
      };
      /** Set once the status line arrived: from then on the batch was taken, whatever happens to the body. */
      let answered: (() => void) | undefined;
      const headers = { ...this.headers, ...forward?.headers, 'content-length': String(body.length) };
      const request = send(
        forward?.url ?? target,
        {
          method: 'POST',
          agent: this.agent,
          headers,
          ...(forward ? { path: forward.path, servername: forward.servername } : {}),
        },
        (response: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          const done = () => {
            settle();
            resolve({
              status: response.statusCode ?? 0,
              retryAfter: firstValue(response.headers['retry-after']),
              text: Buffer.concat(chunks).toString('utf8'),
            });
          };
          response.on('data', (chunk: Buffer) => {
            if (size < MAX_RESPONSE_BYTES) chunks.push(chunk);
            size += chunk.length;
          });
          answered = done;
          response.on('end', done);
          // The status arrived; a body cut short (or timed out) only loses the per-event detail.
          response.on('error', done);
          response.on('close', done);
        },
      );
      deadline = setTimeout(() => fail(new Error('request timed out')), this.requestTimeoutMillis).unref();
      shutdown.addEventListener('abort', onShutdown, { once: true });
      request.on('error', (error) => {
        if (answered) return answered();
        settle();
        reject(error);
      });
      request.end(body);
    });
  }

  /** A 2xx answer: count per-event rejections, then report earlier drops now that delivery works. */
  private accepted(batch: Batch, text: string): void {
    let rejected: unknown[] = [];
    try {
      const parsed = JSON.parse(text) as IngestResponse;
      if (Array.isArray(parsed?.rejected)) rejected = parsed.rejected;
    } catch {
      // a 2xx without the documented body: everything was taken
    }
    // At most one rejection per event of the batch, whatever the answer lists.
    const refused = rejected.slice(0, batch.count);
    // A rejected sdk_drops report is not itself counted, or a collector that does not know the type would be sent
    // one report about the last report, forever. An entry without a usable index still names a refused event,
    // except in a batch of reports only (reports go out in batches of their own: see below).
    let reportsOnly: boolean | undefined;
    const counted = refused.filter((r) => {
      const index = typeof r === 'object' && r !== null ? (r as { index?: unknown }).index : undefined;
      const line = typeof index === 'number' ? batch.line(index) : undefined;
      if (line !== undefined) return !line.includes(SDK_DROPS_MARKER);
      reportsOnly ??= batch.lines().every((l) => l.includes(SDK_DROPS_MARKER));
      return !reportsOnly;
    });
    this.sent += batch.count - refused.length;
    this.tokenRefused = false;
    if (counted.length > 0) {
      this.drops.add('rejected', counted.length);
      this.reportRejected(batch.count, JSON.stringify({ rejected: counted }));
    }
    if (this.queueDropReports()) this.schedule(0);
  }

  /** Queue the `sdk_drops` reports of the drops not reported yet; true if there were any. */
  private queueDropReports(): boolean {
    if (!this.drops.hasPending()) return false;
    const { lines, counts } = this.takeReports();
    // Ahead of the queue and outside its bound: at most one line per reason.
    const reports = this.queue.unshift(lines);
    if (reports !== undefined) this.reports.set(reports, counts);
    return true;
  }

  /**
   * A batch given up on for `reason`: its events count as dropped. A report's counts are reported again with the
   * next report instead, unless the collector refused it as such (it would refuse the next one too).
   */
  private giveUp(batch: Batch, reason: DropReason): void {
    const counts = this.reports.get(batch);
    if (counts === undefined) this.drops.add(reason, batch.count);
    else if (reason === 'retries_exhausted' || reason === 'shutdown') this.drops.restorePending(counts);
  }

  /**
   * The `sdk_drops` lines of the drops not reported yet, one per reason, taken from the pending counts; and the
   * count of each line, in the lines' order, so that a split report's halves know theirs.
   */
  private takeReports(): { lines: string[]; counts: Array<[DropReason, number]> } {
    const lines: string[] = [];
    const counts: Array<[DropReason, number]> = [];
    for (const [reason, count] of this.drops.takePending()) {
      const line = this.options.dropEvent(reason, count);
      if (line === '') continue;
      lines.push(line);
      counts.push([reason, count]);
    }
    return { lines, counts };
  }

  private reportRejected(count: number, text: string): void {
    let detail = '';
    try {
      const entry = (JSON.parse(text) as IngestResponse).rejected?.[0];
      const first = Array.isArray(entry?.issues) ? entry.issues[0] : undefined;
      if (first) detail = `: ${String(first.field)} ${String(first.code)} (${String(first.message)})`;
    } catch {
      // no per-event detail in the answer
    }
    this.options.reporter.error(
      'events_rejected',
      `the collector rejected events of a batch of ${count}${detail.replace(/[\u0000-\u001f]/g, ' ')}`,
    );
  }

  /**
   * Wait, unless the client is shut down first. False when it was. The timer keeps the process alive only while a
   * `flush()` or `close()` waits for the outcome: a script that awaits it must not end with the promise unsettled.
   */
  private sleep(millis: number): Promise<boolean> {
    const signal = this.shutdown.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => {
        clearTimeout(timer);
        this.retryTimer = undefined;
        resolve(false);
      };
      const timer = setTimeout(() => {
        this.retryTimer = undefined;
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, millis);
      if (!this.flushRequested) timer.unref();
      this.retryTimer = timer;
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/**
 * True, and reported, when an event's line is over `maxEventBytes` (checked without encoding it when its length says
 * it fits: a UTF-8 byte sequence is at most three bytes per UTF-16 unit).
 */
export function tooLarge(line: string, maxEventBytes: number, reporter: Reporter): boolean {
  if (line.length * 3 <= maxEventBytes) return false;
  const bytes = Buffer.byteLength(line);
  if (bytes <= maxEventBytes) return false;
  const type = /"type":"([a-z0-9_]{1,64})"/.exec(line)?.[1] ?? 'an';
  reporter.error(
    'events_rejected',
    `a ${type} event of ${bytes} bytes is over maxEventBytes (${maxEventBytes}); it is dropped (counted as too_large)`,
  );
  return true;
}

function firstValue(value: string | string[] | undefined): string | null {
  if (typeof value === 'string') return value;
  return Array.isArray(value) && typeof value[0] === 'string' ? value[0] : null;
}

/**
 * The codes of a TLS handshake refused for the collector's certificate (OpenSSL's verification codes, and Node.js's
 * own for a name mismatch): a configuration problem, not the network.
 */
const CERTIFICATE_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;

/** The system error code of a failed request (`ECONNREFUSED`, `DEPTH_ZERO_SELF_SIGNED_CERT`, ...), if it has one. */
function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const cause = (error as { cause?: unknown }).cause;
  const code =
    typeof cause === 'object' && cause !== null
      ? (cause as { code?: unknown }).code
      : (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = errorCode(error);
    if (code !== undefined) return `${error.name} (${code})`;
    // Errors of this module ('request timed out'), which hold nothing from outside.
    return error.message.length > 0 && error.message.length <= 64 ? `${error.name}: ${error.message}` : error.name;
  }
  return typeof error;
}
