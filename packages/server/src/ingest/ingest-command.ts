/**
 * `vigil ingest`: a log shipper. Reads access logs (files, standard input, or files followed as they grow and
 * rotate), turns each line into a Vigil event on this machine and sends the events in batches to a Vigil server.
 * See docs/access-logs.md ("Shipping logs") for the guarantees.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULTS } from '../defaults.js';
import { ConfigError } from '../errors.js';
import {
  ACCESS_LOG_FORMATS,
  createLineParser,
  headerLinePrefix,
  isAccessLogFormat,
  TIME_ZONE_HELP,
} from './access-log.js';
import { CONTAINER_LOG_RUNTIMES, containerLineCountsText, isContainerLogRuntime } from './container-log.js';
import { deliverWithRetry, type FollowedLine, LogFollower, SendError } from './follow.js';
import { type BadLineReport, HttpEventSender } from './follow-sender.js';
import { FollowStateStore } from './follow-state.js';
import { decompressedIfGzip, isCompressionError } from './gzip-input.js';
import { readLines } from './lines.js';
import { loadMappingFile } from './mapping-file.js';
import { parseTimeZone } from './time-zone.js';

const INGEST_USAGE = `vigil ingest FILE... | - --format FORMAT [--mapping FILE] [--time-zone ZONE] [--container cri|docker]
                      [--follow] [--endpoint URL] [--state-dir DIR]

Reads access logs, turns each line into a Vigil event here, and sends the events in batches (gzip NDJSON) to a
Vigil server's POST /v1/events with the token in VIGIL_INGEST_TOKEN. Lines that do not parse are reported on
stderr with their line numbers and never stop the shipper. Event ids are derived from each line, so a line sent
twice is stored once.

  --format FORMAT    ${ACCESS_LOG_FORMATS.join(', ')} (default combined)
  --mapping FILE     with --format json: the field mapping of your JSON log (YAML or JSON; see docs/access-logs.md)
  --time-zone ZONE   with --format haproxy: the time zone of the HAProxy host, whose log times have no offset
                     (UTC, an offset such as +01:00, or an IANA name such as Europe/Paris; default UTC)
  --container RT     the files are container log files, each line wrapped by its runtime: cri (Kubernetes:
                     containerd, CRI-O, /var/log/containers/*.log) or docker (Docker's json-file driver); the
                     pieces of long lines are joined, stderr lines (the server's error log) are skipped;
                     both are counted in the summary
  --follow           keep reading as the files grow, follow rotation (rename or copytruncate), and remember the
                     offset of each file across restarts; stop with Ctrl-C or SIGTERM
  --endpoint URL     the Vigil server (default VIGIL_ENDPOINT, else http://127.0.0.1:7070)
  --state-dir DIR    where offsets are remembered (default <VIGIL_DATA_DIR or ./.vigil>/ingest-state; used with
                     --follow, or whenever this option is given)
  --batch-size N     lines per request (default 500)
  --show-bad N       how many bad lines to print (default 20; all are counted)
`;

export interface IngestCommandOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Stops the command like SIGINT would (tests). */
  readonly signal?: AbortSignal;
  readonly stderr?: { write(text: string): unknown };
  /** Poll interval of followers (tests). */
  readonly pollIntervalMillis?: number;
}

/**
 * Run `vigil ingest` with the arguments after the command name. Resolves to the exit code: 0 when every line was
 * sent (or the shipper was stopped by a signal), 1 when the server refused the batches for good, 2 on bad usage.
 * Configuration errors (no token, a bad endpoint) are thrown as ConfigError, naming what to fix.
 *
 * @example
 * process.exitCode = await ingestCommand(['/var/log/nginx/access.log', '--format', 'combined', '--follow']);
 */
export async function ingestCommand(args: string[], options: IngestCommandOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  const stderr = options.stderr ?? process.stderr;
  let parsed: ReturnType<typeof parseIngestArgs>;
  try {
    parsed = parseIngestArgs(args);
  } catch (error) {
    stderr.write(`vigil ingest: ${(error as Error).message}\n\n${INGEST_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(INGEST_USAGE);
    return 0;
  }
  const usage = (message: string) => {
    stderr.write(`vigil ingest: ${message}\n\n${INGEST_USAGE}`);
    return 2;
  };
  if (positionals.length === 0) return usage('name at least one file (or - for standard input)');
  const format = values.format;
  if (!isAccessLogFormat(format)) return usage(`unknown --format "${format}"; one of ${ACCESS_LOG_FORMATS.join(', ')}`);
  if (values.mapping !== undefined && format !== 'json') return usage('--mapping applies to --format json only');
  const timeZone = values['time-zone'];
  const timeZoneProblem = timeZoneUsage(format, timeZone);
  if (timeZoneProblem !== undefined) return usage(timeZoneProblem);
  const container = values.container;
  const containerProblem = containerUsage(format, container);
  if (containerProblem !== undefined) return usage(containerProblem);
  if (values.follow && positionals.includes('-'))
    return usage('--follow applies to files; standard input is read until it ends');
  const showBad = positiveInteger(values['show-bad'], 0);
  const batchSize = positiveInteger(values['batch-size'], 1);
  if (showBad === undefined || batchSize === undefined) return usage('--show-bad and --batch-size take whole numbers');

  const token = env.VIGIL_INGEST_TOKEN;
  if (!token)
    throw new ConfigError('VIGIL_INGEST_TOKEN', 'is required: the ingest token of the Vigil server to send to');
  const endpoint = values.endpoint ?? (env.VIGIL_ENDPOINT || `http://127.0.0.1:${DEFAULTS.port}`);
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ConfigError(values.endpoint ? '--endpoint' : 'VIGIL_ENDPOINT', `is not a valid URL: ${endpoint}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(values.endpoint ? '--endpoint' : 'VIGIL_ENDPOINT', 'must be an http or https URL');
  }

  const mapping = values.mapping === undefined ? undefined : loadMappingFile(values.mapping);
  let shown = 0;
  const onBadLine = (bad: BadLineReport) => {
    if (shown++ < showBad) stderr.write(`${bad.source}:${bad.lineNumber}: ${bad.reason}\n`);
  };
  const sender = new HttpEventSender({
    endpoint,
    token,
    createParser: () =>
      createLineParser(format, {
        ...(mapping ? { mapping } : {}),
        ...(timeZone !== undefined ? { timeZone } : {}),
      }),
    ...(container !== undefined && isContainerLogRuntime(container) ? { container } : {}),
    headerLinePrefix: headerLinePrefix(format),
    onBadLine,
  });
  const stateDir =
    values['state-dir'] ?? (values.follow ? join(env.VIGIL_DATA_DIR || DEFAULTS.dataDir, 'ingest-state') : undefined);
  const states = stateDir === undefined ? undefined : new FollowStateStore(stateDir);

  const controller = new AbortController();
  const stop = () => controller.abort();
  options.signal?.addEventListener('abort', stop, { once: true });
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const notice = (message: string) => stderr.write(`vigil ingest: ${message}\n`);
  // One-shot runs give up after a few minutes of failures; a follower waits for the server as long as it takes.
  const retry = values.follow ? {} : { maxAttempts: 12 };
  let lines = 0;
  try {
    await Promise.all(
      positionals.map(async (path) => {
        if (path === '-') {
          lines += await shipStream(sender, batchSize, controller.signal, retry, notice);
          return;
        }
        const follower = new LogFollower({
          path,
          sink: sender,
          follow: values.follow === true,
          ...(states ? { states } : {}),
          maxBatchLines: batchSize,
          retry,
          onNotice: notice,
          ...(options.pollIntervalMillis ? { pollIntervalMillis: options.pollIntervalMillis } : {}),
        });
        const stats = await follower.run(controller.signal);
        lines += stats.lines;
      }),
    );
  } catch (error) {
    controller.abort();
    if (error instanceof SendError) {
      stderr.write(`vigil ingest: giving up: ${error.message}\n`);
      return 1;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'ECOMPRESSED' || code === 'EDAMAGED') {
      stderr.write(`vigil ingest: ${(error as Error).message}\n`);
      return 1;
    }
    throw error;
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    options.signal?.removeEventListener('abort', stop);
  }
  const s = sender.stats;
  const hidden = s.badLines > showBad ? ` (first ${showBad} shown)` : '';
  stderr.write(
    `ingested ${lines} lines: ${s.accepted} events stored, ${s.duplicates} already stored, ` +
      `${s.badLines} bad lines${hidden}${containerLineCountsText(s)}${controller.signal.aborted ? ' (stopped)' : ''}\n`,
  );
  return 0;
}

function parseIngestArgs(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      format: { type: 'string', default: 'combined' },
      mapping: { type: 'string' },
      'time-zone': { type: 'string' },
      container: { type: 'string' },
      follow: { type: 'boolean' },
      endpoint: { type: 'string' },
      'state-dir': { type: 'string' },
      'batch-size': { type: 'string', default: '500' },
      'show-bad': { type: 'string', default: '20' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** A whole number of at most 9 digits, at least `min`; undefined for anything else. */
export function positiveInteger(text: string | undefined, min: number): number | undefined {
  if (text === undefined || !/^\d{1,9}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min ? n : undefined;
}

/**
 * What is wrong with `--time-zone` for `format`, for a usage message; undefined when nothing is. The option applies
 * to `haproxy` only: the other formats' times carry their offset or are UTC by definition.
 */
export function timeZoneUsage(format: string, timeZone: string | undefined): string | undefined {
  if (timeZone === undefined) return undefined;
  if (format !== 'haproxy') return '--time-zone applies to --format haproxy only';
  return parseTimeZone(timeZone) === undefined ? `--time-zone "${timeZone.slice(0, 64)}" ${TIME_ZONE_HELP}` : undefined;
}

/**
 * What is wrong with `--container` for `format`, for a usage message; undefined when nothing is. OTLP files are
 * written by a Collector, never through a container runtime's log.
 */
export function containerUsage(format: string, container: string | undefined): string | undefined {
  if (container === undefined) return undefined;
  if (!isContainerLogRuntime(container)) {
    return `unknown --container "${container.slice(0, 64)}"; one of ${CONTAINER_LOG_RUNTIMES.join(', ')}`;
  }
  return format === 'otlp' ? '--container applies to access-log formats, not to otlp' : undefined;
}

/** After a stop signal, how long the lines already read from standard input may take to be acknowledged. */
const STDIN_FINAL_SEND_MILLIS = 10_000;

/**
 * Standard input: read to its end in batches; no offsets to remember (a pipe cannot be re-read). A stop signal ends
 * the read at once, even while the pipe stays open and quiet, and the lines already read are still sent (for up to
 * STDIN_FINAL_SEND_MILLIS): unlike a file's, they cannot be read again by a later run.
 */
async function shipStream(
  sender: HttpEventSender,
  batchSize: number,
  signal: AbortSignal,
  retry: { maxAttempts?: number },
  notice: (message: string) => void,
): Promise<number> {
  const source = '(stdin)';
  const input = process.stdin;
  let batch: FollowedLine[] = [];
  let count = 0;
  const send = async (until: AbortSignal): Promise<boolean> => {
    if (batch.length === 0) return true;
    const delivered = await deliverWithRetry(sender, { source, lines: batch }, until, {
      ...retry,
      onRetry: (error, attempt, delay) => {
        if ((attempt & (attempt - 1)) === 0)
          notice(`sending failed (${error.message}); attempt ${attempt + 1} in ${delay} ms`);
      },
    });
    // Kept until acknowledged, so a batch interrupted by the signal is sent again below.
    if (delivered) batch = [];
    return delivered;
  };
  // readLines waits for the next chunk; only ending the stream wakes it when the pipe stays open and silent.
  const stopReading = () => input.destroy();
  signal.addEventListener('abort', stopReading, { once: true });
  let damaged: Error | undefined;
  try {
    // `zcat access.log.2.gz | vigil ingest -` and `vigil ingest - < access.log.2.gz` alike: a stream has no offsets
    // to remember, so gzip is read as it comes (a file is refused instead; see LogFollower).
    for await (const line of readLines(decompressedIfGzip(input))) {
      count++;
      if (line.text.trim() === '') continue;
      batch.push({ ...line, endOffset: line.byteOffset + line.byteLength + 1 });
      if (batch.length >= batchSize && !(await send(signal))) break;
      if (signal.aborted) break;
    }
  } catch (error) {
    // Destroying the stream ends the read with a premature-close error: that is the stop, not a failure. Damaged
    // gzip ends the input; the lines read before it are still sent.
    if (isCompressionError(error)) damaged = error as Error;
    else if (!signal.aborted) throw error;
  } finally {
    signal.removeEventListener('abort', stopReading);
  }
  const finalSignal = signal.aborted ? AbortSignal.timeout(STDIN_FINAL_SEND_MILLIS) : signal;
  const delivered = await send(finalSignal);
  if (!delivered)
    notice(`stopped before the server acknowledged the last ${batch.length} lines read; they were not sent`);
  else if (sender.heldLine(source) !== undefined) {
    // The input ended inside a container log's partial line: what was read of it is sent.
    await deliverWithRetry(sender, { source, lines: [], end: true }, finalSignal, retry);
  }
  if (damaged) {
    const error: NodeJS.ErrnoException = new Error(
      `${source}: the gzip data is damaged or cut short (${damaged.message}); the ${count} lines before it were read`,
    );
    error.code = 'EDAMAGED';
    throw error;
  }
  return count;
}
