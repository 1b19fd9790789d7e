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
import type { Alert } from '../alerts/alert.js';
import { AlertManager } from '../alerts/manager.js';
import type { VigilConfig } from '../config.js';
import type { EnrichmentStage } from '../enrich/stage.js';
import { type AccessLogFormat, createLineParser, parseLineRecord } from '../ingest/access-log.js';
import { type Line, readLines } from '../ingest/lines.js';
import { otlpToEvents } from '../ingest/otlp.js';
import { silentLogger } from '../log.js';
import { createMetrics } from '../metrics.js';
import { createEngine } from '../pipeline/detection.js';
import { Pipeline } from '../pipeline/pipeline.js';
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
  readonly stages?: readonly EnrichmentStage[];
  /** Rules on top of the configured ones (e.g. from `--rules DIR`). */
  readonly extraRules?: readonly RuleEvaluator[];
  /** Called for each bad line (the CLI prints the first ones). */
  readonly onBadLine?: (bad: BadLine) => void;
  /** Lines handed to the pipeline at once. */
  readonly batchSize?: number;
}

export interface AnalyzeResult {
  readonly alerts: Alert[];
  readonly lines: number;
  readonly events: number;
  readonly badLines: number;
  readonly lateEvents: number;
}

interface Input {
  readonly name: string;
  readonly stream: Readable;
}

/** A stable id for the n-th event made from a line: the same input gives the same ids. */
function lineEventId(file: string, line: Line, index: number): string {
  return createHash('sha256').update(`${file}\n${line.lineNumber}\n${index}\n${line.text}`).digest('hex').slice(0, 32);
}

export async function analyze(inputs: readonly Input[], options: AnalyzeOptions): Promise<AnalyzeResult> {
  const { config } = options;
  const metrics = createMetrics();
  const alerts: Alert[] = [];
  const open = new Map<string, Alert>();
  const orderer = new EventTimeOrderer({
    latenessMillis: config.detection.latenessMillis,
    maxBuffered: config.detection.maxBufferedEvents,
  });
  // A replay keeps alerts in memory; its clock is event time, so `updatedAt` is deterministic too.
  const manager = new AlertManager({
    store: {
      saveAlerts: async (list) => {
        for (const a of list) if (!open.has(a.id)) open.set(a.id, a);
      },
      openAlerts: async () => [],
      recordAlertAction: async () => {},
    },
    log: silentLogger,
    metrics,
    resolveAfterMillis: config.alerting.resolveAfterMillis,
    maxEvidence: config.alerting.maxEvidence,
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

  const parser = options.format === 'otlp' ? undefined : createLineParser(options.format);
  const batchSize = options.batchSize ?? 1000;
  let lines = 0;
  let events = 0;
  let badLines = 0;
  const bad = (file: string, lineNumber: number, reason: string) => {
    badLines++;
    options.onBadLine?.({ file, lineNumber, reason });
  };

  for (const input of inputs) {
    let items: unknown[] = [];
    let origins: Line[] = [];
    const submit = async () => {
      if (items.length === 0) return;
      const result = await pipeline.submit(items, `analyze-${options.format}`);
      events += result.accepted;
      for (const r of result.rejected) {
        const issue = r.issues[0];
        bad(input.name, origins[r.index]!.lineNumber, issue ? `${issue.field}: ${issue.message}` : 'invalid event');
      }
      await manager.resolveQuiet(pipeline.watermark);
      items = [];
      origins = [];
    };
    for await (const line of readLines(input.stream)) {
      lines++;
      if (line.text.trim() === '') continue;
      if (parser) {
        const parsed = parseLineRecord(parser, line);
        if (!parsed.ok) {
          bad(input.name, line.lineNumber, parsed.reason);
          continue;
        }
        items.push({ id: lineEventId(input.name, line, 0), ...parsed.event });
        origins.push(line);
      } else {
        let request: unknown;
        try {
          request = JSON.parse(line.text);
        } catch (error) {
          bad(input.name, line.lineNumber, `not an OTLP JSON request: ${(error as Error).message}`);
          continue;
        }
        const isLogs = typeof request === 'object' && request !== null && 'resourceLogs' in request;
        const batch = otlpToEvents(isLogs ? 'logs' : 'traces', request as Record<string, unknown>);
        batch.items.forEach((item, i) => {
          items.push({ id: lineEventId(input.name, line, i), ...item });
          origins.push(line);
        });
      }
      if (items.length >= batchSize) await submit();
    }
    await submit();
  }
  await pipeline.flush();
  await manager.resolveQuiet(pipeline.watermark);
  alerts.push(...open.values());
  alerts.sort((a, b) => a.startsAt - b.startsAt || (a.fingerprint < b.fingerprint ? -1 : 1));
  return { alerts, lines, events, badLines, lateEvents: orderer.lateEvents };
}

/** Open the inputs named on the command line (`-` is standard input). */
export function openInputs(files: readonly string[]): Input[] {
  return files.map((file) =>
    file === '-' ? { name: '(stdin)', stream: process.stdin } : { name: file, stream: createReadStream(file) },
  );
}
