/**
 * The sink of `vigil ingest`: log lines become Vigil events here, on the shipper's machine, and go to a Vigil
 * server's `POST /v1/events` as gzip-compressed NDJSON with the ingest token.
 *
 * Each event carries an id derived from the line (lineEventId), so a batch sent twice (a retry after a lost answer,
 * a restart before the offset was saved) is stored once: the server skips ids it already has. The batch counts as
 * delivered only on Vigil's own answer: a 2xx or 422 (every event rejected; retrying would not change that) whose
 * JSON body accounts for every event sent (accepted + duplicates + rejected). Any other 2xx (an HTML login page, a
 * proxy's "OK") does not come from a Vigil ingest route: like a 404, that is a wrong endpoint, so it stops the
 * shipper instead of moving the offset past lines that were never stored. Rejected events and lines that do not
 * parse are bad lines, reported with their line numbers.
 *
 * Each source (followed path, standard input) has its own parser: a W3C log's `#Fields:` line sets the columns of the
 * lines after it in that log only. A line is parsed once, even when its batch is sent again, so a retried batch that
 * holds a `#Fields:` line reads its earlier lines with the columns they were written with.
 */
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { LineParser, LineResult } from './access-log.js';
import {
  type ContainerLineCounts,
  type ContainerLogRuntime,
  createLineReader,
  type HeldLine,
  type LineReader,
  wholeLineContent,
} from './container-log.js';
import { type FollowedLine, type LineBatch, type LineSink, lineEventId, SendError } from './follow.js';
import type { Line } from './lines.js';

const gzip = promisify(gzipCallback);

/** The ingest route of a Vigil server, below the endpoint. */
const EVENTS_PATH = '/v1/events';

/**
 * The largest answer read: 1 MiB, and 256 KiB per event sent. Vigil's answer is three counts and, per rejected
 * event, its issues: at most one per field (200) and a few more, each a field name of up to 128 characters (up to
 * six times longer once control characters are escaped) and a short message, so under 200 KiB. A longer answer is not Vigil's, and reading it whole would let a wrong endpoint fill the
 * shipper's memory.
 */
const MAX_ANSWER_BASE_BYTES = 1024 * 1024;
const MAX_ANSWER_BYTES_PER_EVENT = 256 * 1024;

export interface BadLineReport {
  readonly source: string;
  readonly lineNumber: number;
  readonly reason: string;
}

export interface HttpEventSenderOptions {
  /**
   * Base URL of the Vigil server, e.g. `http://127.0.0.1:7070`, or one behind a path prefix
   * (`https://gw.example/vigil`): events go to `<endpoint without trailing slashes>/v1/events`, as from the SDK.
   */
  readonly endpoint: string;
  readonly token: string;
  /** Makes the parser of one source; called once per source, since a parser may keep state between lines. */
  readonly createParser: () => LineParser;
  /**
   * The container runtime that wrapped each line (`cri`, `docker`): each source's reader joins the pieces of long
   * lines and skips stderr lines.
   */
  readonly container?: ContainerLogRuntime;
  /**
   * Lines that set how later lines read (`#` for the W3C formats: see headerLinePrefix). With it, a follower that
   * resumes a file past its start hands the sender those lines of the file first (inside their container wrapper,
   * when `container` is given).
   */
  readonly headerLinePrefix?: string;
  readonly onBadLine?: (bad: BadLineReport) => void;
  /** Per-request timeout. Default 30 s. */
  readonly timeoutMillis?: number;
}

/** What was sent and how it was answered; for a container log, also the lines that were skipped or joined. */
export interface SenderStats extends ContainerLineCounts {
  requests: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  badLines: number;
}

interface IngestAnswer {
  accepted?: number;
  duplicates?: number;
  rejected?: { index: number; issues?: { field: string; message: string }[] }[];
  error?: { message?: string };
}

/**
 * Posts the events of a batch of lines to `/v1/events`.
 *
 * @example
 * const sink = new HttpEventSender({ endpoint: 'http://127.0.0.1:7070', token, createParser: () => createLineParser('combined') });
 * await new LogFollower({ path: 'access.log', follow: false, sink }).run();
 */
export class HttpEventSender implements LineSink {
  readonly stats: SenderStats = {
    requests: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    badLines: 0,
    stderrLines: 0,
    pieces: 0,
    joinedLines: 0,
  };
  readonly headerLine: ((line: Line) => string | undefined) | undefined;
  private readonly url: string;
  private readonly readers = new Map<string, { readonly parser: LineParser; readonly reader: LineReader }>();
  /** What each line of a batch still being sent parsed to: a retry must not parse it again (see above). */
  private readonly parsed = new WeakMap<FollowedLine, LineResult>();
  /** What the reader held when its input ended, per batch marked `end`: taken once, whatever the retries. */
  private readonly held = new WeakMap<LineBatch, HeldLine | null>();

  constructor(private readonly options: HttpEventSenderOptions) {
    // Appended, not resolved (`new URL('/v1/events', base)` would drop a path prefix of the endpoint): as the SDK does.
    this.url = `${options.endpoint.replace(/\/+$/, '')}${EVENTS_PATH}`;
    const { headerLinePrefix: prefix, container } = options;
    this.headerLine =
      prefix === undefined
        ? undefined
        : (line) => {
            // Most lines hold no prefix anywhere: only those that might are unwrapped.
            if (!line.text.includes(prefix)) return undefined;
            const text = container === undefined ? line.text : wholeLineContent(container, line);
            return text?.startsWith(prefix) ? text : undefined;
          };
  }

  /** The lines before a resumed file's offset that start with headerLinePrefix, in order: read, not sent. */
  replayHeader(source: string, lines: readonly string[]): void {
    const { parser } = this.readerOf(source);
    for (const line of lines) parser(line);
  }

  heldLine(source: string): Line | undefined {
    return this.readers.get(source)?.reader.heldFrom();
  }

  async deliver(batch: LineBatch, attempt: number, signal: AbortSignal): Promise<void> {
    const items: unknown[] = [];
    const origins: Line[] = [];
    const { reader } = this.readerOf(batch.source);
    const add = (line: Line, parsed: LineResult, first: boolean) => {
      if (!parsed.ok) {
        // Reported when first parsed, not again on a retry.
        if (first) this.bad(batch.source, line.lineNumber, parsed.reason);
        return;
      }
      if (parsed.directive) return;
      items.push({ id: lineEventId(batch.source, batch.file, line), ...parsed.event });
      origins.push(line);
    };
    for (const line of batch.lines) {
      let parsed = this.parsed.get(line);
      const first = parsed === undefined;
      if (parsed === undefined) {
        parsed = reader.read(line);
        this.parsed.set(line, parsed);
      }
      add(line, parsed, first);
    }
    if (batch.end) {
      let held = this.held.get(batch);
      const first = held === undefined;
      if (held === undefined) {
        held = reader.end() ?? null;
        this.held.set(batch, held);
      }
      // The held line's last piece is a line of the file, so its id is as stable as any other line's.
      if (held !== null) add(held.line, held.result, first);
    }
    if (items.length > 0) await this.post(batch.source, items, origins, attempt, signal);
  }

  private async post(
    source: string,
    items: readonly unknown[],
    origins: readonly Line[],
    attempt: number,
    signal: AbortSignal,
  ): Promise<void> {
    const body = await gzip(items.map((item) => JSON.stringify(item)).join('\n'));
    let response: Response;
    this.stats.requests++;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        body,
        headers: {
          authorization: `Bearer ${this.options.token}`,
          'content-type': 'application/x-ndjson',
          'content-encoding': 'gzip',
        },
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.options.timeoutMillis ?? 30_000)]),
      });
    } catch (error) {
      if (signal.aborted) throw error;
      const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
      throw new SendError(
        `cannot reach ${this.url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
        true,
      );
    }
    const status = response.status;
    const maxBytes = MAX_ANSWER_BASE_BYTES + items.length * MAX_ANSWER_BYTES_PER_EVENT;
    let text: string | undefined;
    try {
      text = await readAnswer(response, maxBytes);
    } catch (error) {
      if (signal.aborted) throw error;
      // The connection broke during the answer: whether the batch was stored is unknown, so it is sent again.
      throw new SendError(`lost the answer of ${this.url}: ${(error as Error).message}`, true);
    }
    const success = (status >= 200 && status < 300) || status === 422;
    if (text === undefined && success) {
      // Not retried, like any other answer that is not Vigil's: the offset stays before the batch.
      throw new SendError(
        `${this.url} answered HTTP ${status} with a body longer than ${maxBytes} bytes, which Vigil's answer to ` +
          `${items.length} events never is, so it is not a Vigil server's ingest route; check --endpoint / VIGIL_ENDPOINT`,
        false,
      );
    }
    let answer: IngestAnswer = {};
    try {
      const parsed: unknown = JSON.parse(text ?? '');
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) answer = parsed as IngestAnswer;
    } catch {
      // Not JSON (a proxy's error page): the status decides, and a success status is checked below.
    }
    if (success) {
      const problem = notVigilAnswer(answer, items.length);
      if (problem !== undefined) {
        // Not retried: the same endpoint will answer the same way. The offset stays before the batch.
        const type = response.headers.get('content-type') ?? 'no content type';
        throw new SendError(
          `${this.url} answered HTTP ${status} (${type}) but ${problem}, so it is not a Vigil server's ingest route; ` +
            'check --endpoint / VIGIL_ENDPOINT (the base URL of the Vigil server, without /v1/events)',
          false,
        );
      }
      this.stats.accepted += answer.accepted!;
      this.stats.duplicates += answer.duplicates!;
      for (const r of answer.rejected!) {
        const line = origins[r.index];
        if (line === undefined) continue;
        this.stats.rejected++;
        const issue = r.issues?.[0];
        if (attempt === 1)
          this.bad(source, line.lineNumber, issue ? `${issue.field}: ${issue.message}` : 'rejected by the server');
      }
      return;
    }
    if (status === 413 && items.length > 1) {
      // Larger than the server's ingest.maxBodyBytes or maxEventsPerRequest: send it in halves.
      const half = Math.ceil(items.length / 2);
      await this.post(source, items.slice(0, half), origins.slice(0, half), attempt, signal);
      await this.post(source, items.slice(half), origins.slice(half), attempt, signal);
      return;
    }
    const detail = answer.error?.message ? `: ${answer.error.message}` : '';
    if (status === 401 || status === 403) {
      throw new SendError(
        `the server refused the ingest token (HTTP ${status}); set VIGIL_INGEST_TOKEN to one of its auth.ingestTokens`,
        false,
      );
    }
    if (status === 408 || status === 429 || status >= 500) {
      const retryAfter = Number(response.headers.get('retry-after'));
      throw new SendError(`HTTP ${status}${detail}`, true, Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined);
    }
    throw new SendError(`HTTP ${status}${detail}`, false);
  }

  private readerOf(source: string): { readonly parser: LineParser; readonly reader: LineReader } {
    let entry = this.readers.get(source);
    if (entry === undefined) {
      const parser = this.options.createParser();
      // The readers of every source add to the sender's counts.
      entry = { parser, reader: createLineReader(parser, { container: this.options.container, counts: this.stats }) };
      this.readers.set(source, entry);
    }
    return entry;
  }

  private bad(source: string, lineNumber: number, reason: string): void {
    this.stats.badLines++;
    this.options.onBadLine?.({ source, lineNumber, reason });
  }
}

/** The answer's body as text, or undefined (and the rest left unread) past `maxBytes`. */
async function readAnswer(response: Response, maxBytes: number): Promise<string | undefined> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      await response.body.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Why an answer with a success status is not Vigil's answer to a batch of `sent` events, or undefined when it is:
 * Vigil answers `{ accepted, duplicates, rejected: [...] }`, and every event sent is in one of the three.
 */
function notVigilAnswer(answer: IngestAnswer, sent: number): string | undefined {
  const { accepted, duplicates, rejected } = answer;
  if (!Number.isSafeInteger(accepted) || !Number.isSafeInteger(duplicates) || !Array.isArray(rejected)) {
    return 'its body is not the JSON answer of Vigil (accepted, duplicates, rejected)';
  }
  const counted = accepted! + duplicates! + rejected.length;
  if (counted < sent) return `it accounts for ${counted} of the ${sent} events sent`;
  return undefined;
}
