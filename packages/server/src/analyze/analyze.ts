/**
 * `vigil analyze`: the full pipeline over files, offline and in event time. Lines are streamed (memory stays
 * bounded whatever the file size), parsed, validated, enriched and run through detection exactly as the live
 * server would; bad lines are counted and reported with their line numbers, never fatal. Event ids are derived
 * from the line's content and position, so two runs over the same input print the same alerts.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { EventTimeOrderer, type RuleEvaluator } from '@vigil/engine';
import { Field } from '@vigil/schema';
import type { Alert } from '../alerts/alert.js';
import { AlertManager } from '../alerts/manager.js';
import type { VigilConfig } from '../config.js';
import type { EnrichmentStage } from '../enrich/stage.js';
import { ConfigError } from '../errors.js';
import {
  type AccessLogFormat,
  createLineParser,
  headerLinePrefix,
  type JsonMapping,
  type LineResult,
} from '../ingest/access-log.js';
import { parseJsonObject } from '../ingest/access-log-json.js';
import {
  type ContainerLineCounts,
  type ContainerLogRuntime,
  createLineReader,
  emptyContainerLineCounts,
} from '../ingest/container-log.js';
import { decompressedIfGzip, isCompressionError } from '../ingest/gzip-input.js';
import { type Line, READ_LINES_DEFAULTS, readLines } from '../ingest/lines.js';
import { otlpToEvents } from '../ingest/otlp.js';
import { silentLogger } from '../log.js';
import { createMetrics } from '../metrics.js';
import { createEngine } from '../pipeline/detection.js';
import { otlpSourceName, Pipeline, POSTED_EVENTS_SOURCE } from '../pipeline/pipeline.js';
import { createStages } from '../pipeline/stages.js';

export type AnalyzeFormat = AccessLogFormat | 'otlp';

export interface BadLine {
  readonly file: string;
  readonly lineNumber: number;
  readonly reason: string;
}

export interface AnalyzeOptions {
  readonly config: VigilConfig;
  readonly format: AnalyzeFormat;
  /** Field mapping for the `json` format (`--mapping FILE`); without one, `json` picks a preset per line. */
  readonly mapping?: JsonMapping;
  /** Zone of the `haproxy` format's times (`--time-zone`): UTC, `+01:00` or an IANA name. Default UTC. */
  readonly timeZone?: string;
  /**
   * The container runtime that wrapped each line (`--container`): `cri` (Kubernetes' containerd and CRI-O) or
   * `docker` (Docker's json-file driver). Not with `otlp`.
   */
  readonly container?: ContainerLogRuntime;
  readonly stages?: readonly EnrichmentStage[];
  /** Rules on top of the configured ones (e.g. from `--rules DIR`). */
  readonly extraRules?: readonly RuleEvaluator[];
  /** Called for each bad line (the CLI prints the first ones). */
  readonly onBadLine?: (bad: BadLine) => void;
  /** Called for each input that could not be opened or read to its end; the other inputs are still analyzed. */
  readonly onUnreadableInput?: (input: UnreadableInput) => void;
  /** Lines handed to the pipeline at once. */
  readonly batchSize?: number;
}

export interface UnreadableInput {
  readonly file: string;
  /** What went wrong, without the path: `ENOENT: no such file or directory`. */
  readonly reason: string;
  /** Lines read from the input before the error (they were analyzed). */
  readonly linesRead: number;
}

export interface AnalyzeResult {
  readonly alerts: Alert[];
  readonly lines: number;
  readonly events: number;
  readonly badLines: number;
  readonly lateEvents: number;
  /** Inputs that could not be opened or read to their end. */
  readonly unreadableInputs: number;
  /** With `container`: the lines that were neither events nor bad lines (stderr), and the pieces that were joined. */
  readonly container: Readonly<ContainerLineCounts>;
}

/**
 * One input. It is opened only when its turn comes, so an unreadable file is reported when it is reached, after the
 * inputs before it were analyzed, instead of failing while nothing listens for its error.
 */
export interface AnalyzeInput {
  readonly name: string;
  open(): Readable;
}

/** A stable id for the n-th event made from a line: the same input gives the same ids. */
function lineEventId(file: string, line: Line, index: number): string {
  return createHash('sha256').update(`${file}\n${line.lineNumber}\n${index}\n${line.text}`).digest('hex').slice(0, 32);
}

export async function analyze(inputs: readonly AnalyzeInput[], options: AnalyzeOptions): Promise<AnalyzeResult> {
  const { config } = options;
  const metrics = createMetrics();
  const alerts: Alert[] = [];
  const open = new Map<string, Alert>();
  const orderer = new EventTimeOrderer({
    latenessMillis: config.detection.latenessMillis,
    maxBuffered: config.detection.maxBufferedEvents,
    maxBufferedBytes: config.detection.maxBufferedBytes,
  });
  // A replay keeps alerts in memory; its clock is event time, so `updatedAt` is deterministic too.
  const manager = new AlertManager({
    store: {
      saveAlerts: async (list) => {
        for (const a of list) if (!open.has(a.id)) open.set(a.id, a);
      },
      openAlerts: async () => [],
      recordAlertAction: async () => {},
      getAlert: async (id) => open.get(id),
      pendingAnnouncements: async () => [],
      announced: async () => {},
    },
    log: silentLogger,
    metrics,
    resolveAfterMillis: config.alerting.resolveAfterMillis,
    maxEvidence: config.alerting.maxEvidence,
    maxOpenAlerts: config.alerting.maxOpenAlerts,
    now: () => Math.max(orderer.releasedUpTo, 0),
  });
  const pipeline = new Pipeline({
    engine: await createEngine(config, options.extraRules),
    alerts: manager,
    metrics,
    orderer,
    stages: options.stages ?? createStages(config),
    parse: { maxFutureSkewMillis: Number.MAX_SAFE_INTEGER, maxStringLength: config.ingest.maxStringLength },
  });

  const format = options.format;
  const parserOptions = {
    ...(options.mapping ? { mapping: options.mapping } : {}),
    ...(options.timeZone !== undefined ? { timeZone: options.timeZone } : {}),
  };
  if (format === 'otlp' && options.container !== undefined) {
    throw new ConfigError('container', 'container log wrappers apply to access-log formats, not to otlp');
  }
  const sharedParser = format === 'otlp' ? undefined : createLineParser(format, parserOptions);
  // A W3C log's `#Fields:` line sets the columns of its own file only: each input gets a parser of its own.
  const parserPerInput = format !== 'otlp' && headerLinePrefix(format) !== undefined;
  const batchSize = options.batchSize ?? 1000;
  // One OTLP JSON line is one export request (a Collector file exporter batch): it may be as large as a request the
  // server accepts. Access-log lines keep readLines' default.
  const maxLineBytes = options.format === 'otlp' ? config.ingest.maxBodyBytes : READ_LINES_DEFAULTS.maxLineBytes;
  let unreadableInputs = 0;
  let lines = 0;
  let events = 0;
  let badLines = 0;
  const containerCounts = emptyContainerLineCounts();
  const bad = (file: string, lineNumber: number, reason: string) => {
    badLines++;
    options.onBadLine?.({ file, lineNumber, reason });
  };

  // Events get the source name the live server gives them (access-log events carry their format's; Vigil events
  // arrive on `POST /v1/events`), so rules that tell sources apart raise in a replay what they raise live.
  const liveSource = options.format === 'vigil' ? POSTED_EVENTS_SOURCE : `analyze-${options.format}`;
  for (const input of inputs) {
    const parser = parserPerInput ? createLineParser(format, parserOptions) : sharedParser;
    // A container log joins the pieces of a long line: the reader of one input holds them until its last piece.
    const reader =
      parser && createLineReader(parser, { container: options.container, maxLineBytes, counts: containerCounts });
    let items: unknown[] = [];
    let origins: Line[] = [];
    const submit = async () => {
      if (items.length === 0) return;
      const result = await pipeline.submit(items, liveSource);
      events += result.accepted;
      for (const r of result.rejected) {
        const issue = r.issues[0];
        bad(input.name, origins[r.index]!.lineNumber, issue ? `${issue.field}: ${issue.message}` : 'invalid event');
      }
      await manager.resolveQuiet(pipeline.watermark);
      items = [];
      origins = [];
    };
    const addParsed = (line: Line, parsed: LineResult) => {
      if (!parsed.ok) bad(input.name, line.lineNumber, parsed.reason);
      else if (!parsed.directive) {
        items.push({ id: lineEventId(input.name, line, 0), ...parsed.event });
        origins.push(line);
      }
    };
    let linesRead = 0;
    try {
      for await (const line of readLines(input.open(), { maxLineBytes })) {
        lines++;
        linesRead++;
        if (line.text.trim() === '') continue;
        if (reader) {
          addParsed(line, reader.read(line));
        } else {
          const request = otlpRequest(line, maxLineBytes);
          if (!request.ok) {
            bad(input.name, line.lineNumber, request.reason);
            continue;
          }
          const signal = 'resourceLogs' in request.record ? 'logs' : 'traces';
          const batch = otlpToEvents(signal, request.record);
          for (const { issues } of batch.rejected) {
            bad(input.name, line.lineNumber, `${issues[0]?.field}: ${issues[0]?.message}`);
          }
          batch.items.forEach((item, i) => {
            if (item === undefined) return; // refused by the mapping, reported above
            items.push({ id: lineEventId(input.name, line, i), [Field.sourceName]: otlpSourceName(signal), ...item });
            origins.push(line);
          });
        }
        if (items.length >= batchSize) await submit();
      }
    } catch (error) {
      // Only a system error of the input (open, read) or damaged compressed data makes it unreadable; anything else
      // is a bug to surface.
      const { code, syscall } = error as NodeJS.ErrnoException;
      const damaged = isCompressionError(error);
      if (!damaged && (typeof code !== 'string' || typeof syscall !== 'string')) throw error;
      unreadableInputs++;
      const reason = damaged
        ? `the gzip data is damaged or cut short (${(error as Error).message})`
        : systemErrorReason(error as Error);
      options.onUnreadableInput?.({ file: input.name, reason, linesRead });
    }
    // An input that ends inside a line of pieces gives what it has.
    const held = reader?.end();
    if (held) addParsed(held.line, held.result);
    await submit();
  }
  await pipeline.flush();
  await manager.resolveQuiet(pipeline.watermark);
  alerts.push(...open.values());
  alerts.sort((a, b) => a.startsAt - b.startsAt || (a.fingerprint < b.fingerprint ? -1 : 1));
  return {
    alerts,
    lines,
    events,
    badLines,
    lateEvents: orderer.lateEvents,
    unreadableInputs,
    container: containerCounts,
  };
}

/**
 * The inputs named on the command line (`-` is standard input), each opened only when analyze reaches it.
 *
 * @example
 * const result = await analyze(inputsOf(['access.log.1', 'access.log']), { config, format: 'combined' });
 */
export function inputsOf(files: readonly string[]): AnalyzeInput[] {
  // Gzip is read as such, from a file or a pipe (`vigil analyze access.log.2.gz`).
  return files.map((file) =>
    file === '-'
      ? { name: '(stdin)', open: () => decompressedIfGzip(process.stdin) }
      : { name: file, open: () => decompressedIfGzip(createReadStream(file)) },
  );
}

/** One OTLP/JSON export request from a line, or why not. Like the access-log parsers, a reason never quotes the line. */
function otlpRequest(
  line: Line,
  maxLineBytes: number,
): { readonly ok: true; readonly record: Record<string, unknown> } | { readonly ok: false; readonly reason: string } {
  if (line.truncated) {
    return {
      ok: false,
      reason:
        `not an OTLP JSON request: line of ${line.byteLength} bytes is longer than the largest request the server ` +
        `accepts (ingest.maxBodyBytes, ${maxLineBytes} bytes), so it was cut`,
    };
  }
  const parsed = parseJsonObject(line.text);
  return parsed.ok ? parsed : { ok: false, reason: `not an OTLP JSON request: ${parsed.reason}` };
}

/**
 * `ENOENT: no such file or directory` out of Node's `ENOENT: no such file or directory, open 'x.log'` (the file is
 * named by the caller already, and the system call is noise to a user).
 */
function systemErrorReason(error: Error): string {
  return error.message.replace(/, \w+(?: '.*')?$/s, '');
}
