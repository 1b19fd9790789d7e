/**
 * The pipeline every source feeds: validate (schema) → enrich → redact → store → detect → alert.
 * Sources (HTTP ingest, OTLP, access logs, `vigil analyze`) hand it wire objects; it answers which were
 * accepted and why the others were rejected. Nothing is acknowledged before the store says it is durable.
 */
import type { Detection, Engine } from '@vigil/engine';
import { type ParseOptions, parseEvent, type SecurityEvent, type ValidationIssue } from '@vigil/schema';
import type { AlertManager } from '../alerts/manager.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/store.js';

/** One enrichment or redaction stage: returns a new event, never mutates its input. */
export interface EventStage {
  readonly name: string;
  apply(event: SecurityEvent): SecurityEvent;
}

export interface Rejection {
  readonly index: number;
  readonly issues: readonly ValidationIssue[];
}

export interface SubmitResult {
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: Rejection[];
}

export interface PipelineOptions {
  readonly store?: Store;
  readonly engine: Engine;
  readonly alerts: AlertManager;
  readonly metrics: Metrics;
  readonly stages?: readonly EventStage[];
  readonly parse?: ParseOptions;
}

export class Pipeline {
  /** Newest event time seen: the event-time clock that resolves quiet alerts in replay. */
  maxEventTime = 0;
  private readonly stages: readonly EventStage[];

  constructor(private readonly options: PipelineOptions) {
    this.stages = options.stages ?? [];
  }

  /** Validate wire objects; valid ones go on through the pipeline. `preRejected` are already known bad. */
  async submit(wire: readonly unknown[], source: string, preRejected: Rejection[] = []): Promise<SubmitResult> {
    const { metrics } = this.options;
    const valid: SecurityEvent[] = [];
    const rejected: Rejection[] = [...preRejected];
    const parse = { ...this.options.parse, now: Date.now() };
    for (let index = 0; index < wire.length; index++) {
      const item = wire[index];
      if (item === undefined) continue; // a slot already rejected by the source (e.g. a bad NDJSON line)
      const result = parseEvent(item, parse);
      if (result.ok) valid.push(this.transform(result.event, source));
      else rejected.push({ index, issues: result.issues });
    }
    for (const r of rejected) metrics.eventsRejected.inc({ source, reason: r.issues[0]?.code ?? 'invalid' });
    rejected.sort((a, b) => a.index - b.index);
    const { stored, duplicates } = await this.accept(valid, source);
    return { accepted: stored, duplicates, rejected };
  }

  /** Take events that are already valid (e.g. built by a parser): store, then detect. */
  async accept(events: readonly SecurityEvent[], source: string): Promise<{ stored: number; duplicates: number }> {
    if (events.length === 0) return { stored: 0, duplicates: 0 };
    const { store, metrics, engine, alerts } = this.options;
    const result = store
      ? await store.appendEvents(events)
      : { stored: events.length, duplicates: 0, duplicateIndexes: [] };
    metrics.eventsAccepted.inc({ source }, result.stored);
    if (result.duplicates > 0) metrics.eventsDuplicate.inc({ source }, result.duplicates);
    // Detection runs only on what was stored now: a duplicate (a sender's retry) must not count twice.
    const skip = new Set(result.duplicateIndexes);
    const detections: Detection[] = [];
    for (let i = 0; i < events.length; i++) {
      if (skip.has(i)) continue;
      const event = events[i]!;
      if (event.time > this.maxEventTime) this.maxEventTime = event.time;
      for (const d of engine.process(event)) detections.push(d);
    }
    if (detections.length > 0) await alerts.handle(detections);
    return { stored: result.stored, duplicates: result.duplicates };
  }

  private transform(event: SecurityEvent, source: string): SecurityEvent {
    let e = event;
    if (e.attributes['vigil.source.name'] === undefined) {
      e = { ...e, attributes: { ...e.attributes, 'vigil.source.name': source } };
    }
    for (const stage of this.stages) e = stage.apply(e);
    return e;
  }
}
