/**
 * The pipeline every source feeds: validate (schema) → enrich → redact → store → detect → alert.
 * Sources (HTTP ingest, OTLP, access logs, `vigil analyze`) hand it wire objects; it answers which were
 * accepted and why the others were rejected. Nothing is acknowledged before the store says it is durable.
 */
import type { Detection, Engine, EventTimeOrderer } from '@vigil/engine';
import { type ParseOptions, parseEvent, type SecurityEvent, type ValidationIssue } from '@vigil/schema';
import type { AlertManager } from '../alerts/manager.js';
import type { EnrichmentStage } from '../enrich/stage.js';
import { VigilError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/store.js';

/**
 * The `vigil.source.name` of events posted to `POST /v1/events` (the SDK's, and other senders' of Vigil events), and
 * of OTLP records: the names the pipeline gives events that bring none. `vigil analyze` gives a replay the same, so
 * rules that tell sources apart (the pack's sign-in burst rule leaves out `http`) raise what they raise live.
 */
export const POSTED_EVENTS_SOURCE = 'http';
export function otlpSourceName(signal: 'logs' | 'traces'): string {
  return `otlp-${signal}`;
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
  readonly stages?: readonly EnrichmentStage[];
  readonly parse?: ParseOptions;
  /** Puts events in event-time order before detection. */
  readonly orderer: EventTimeOrderer;
  /**
   * Live: the wall clock, which moves the watermark when events are sparse. A replay (`vigil analyze`) has none,
   * so its watermark moves with event time alone.
   */
  readonly clock?: () => number;
  /** Where a failure of the store is logged (the client is told only that nothing was stored). */
  readonly log?: Logger;
}

export class Pipeline {
  /** The store's sequence number of the latest event this pipeline stored (or was started at). */
  lastStoredSequence = 0;
  private readonly stages: readonly EnrichmentStage[];

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
      // One event that breaks the parser or a stage (whatever its shape) is rejected alone; the others go on.
      let result: ReturnType<typeof parseEvent>;
      try {
        result = parseEvent(item, parse);
        if (result.ok) valid.push(this.transform(result.event, source));
      } catch {
        result = {
          ok: false,
          issues: [
            { field: '(event)', code: 'invalid_value', message: 'this event could not be read (nested too deeply?)' },
          ],
        };
      }
      if (!result.ok) rejected.push({ index, issues: result.issues });
    }
    for (const r of rejected) metrics.eventsRejected.inc({ source, reason: r.issues[0]?.code ?? 'invalid' });
    rejected.sort((a, b) => a.index - b.index);
    const { stored, duplicates } = await this.accept(valid, source);
    return { accepted: stored, duplicates, rejected };
  }

  /** Take events that are already valid (e.g. built by a parser): store, then detect. */
  async accept(events: readonly SecurityEvent[], source: string): Promise<{ stored: number; duplicates: number }> {
    if (events.length === 0) return { stored: 0, duplicates: 0 };
    const { store, metrics } = this.options;
    let result: Awaited<ReturnType<Store['appendEvents']>>;
    try {
      result = store
        ? await store.appendEvents(events)
        : { stored: events.length, duplicates: 0, duplicateIndexes: [], lastSequence: 0 };
    } catch (error) {
      this.options.log?.error('storing events failed', { source, events: events.length, error: String(error) });
      throw new VigilError('storage_unavailable', 'the events could not be stored (nothing was acknowledged); retry');
    }
    // Recorded in the same synchronous stretch as the push into the orderer below: a state snapshot never sees one
    // without the other.
    this.lastStoredSequence = result.lastSequence;
    metrics.eventsAccepted.inc({ source }, result.stored);
    if (result.duplicates > 0) metrics.eventsDuplicate.inc({ source }, result.duplicates);
    // Detection runs only on what was stored now: a duplicate (a sender's retry) must not count twice.
    const skip = new Set(result.duplicateIndexes);
    const fresh = skip.size === 0 ? events : events.filter((_, i) => !skip.has(i));
    await this.detect(this.options.orderer.push(fresh, this.options.clock?.()));
    return { stored: result.stored, duplicates: result.duplicates };
  }

  /** Event time up to which detection has run: the clock that resolves quiet alerts. */
  get watermark(): number {
    return this.options.orderer.releasedUpTo;
  }

  /** Run detection over events that are already stored (catching up after a restart); nothing is stored again. */
  async replay(events: readonly SecurityEvent[]): Promise<void> {
    await this.detect(this.options.orderer.push(events, this.options.clock?.()));
  }

  /** Events stored but still held for ordering (part of the detection state). */
  pending(): SecurityEvent[] {
    return this.options.orderer.pending();
  }

  /** Live: release the events the wall clock has made ready. */
  async tick(): Promise<void> {
    await this.detect(this.options.orderer.release(this.options.clock?.()));
  }

  /** Run detection on everything still held (end of a replay, shutdown). */
  async flush(): Promise<void> {
    await this.detect(this.options.orderer.flush());
  }

  private async detect(events: readonly SecurityEvent[]): Promise<void> {
    if (events.length === 0) return;
    const detections: Detection[] = [];
    for (const event of events) {
      if (answeredByEnforcement(event)) continue;
      for (const d of this.options.engine.process(event)) detections.push(d);
    }
    if (detections.length > 0) await this.options.alerts.handle(detections);
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

/**
 * A request an SDK's enforcement answered itself (its 403 or 429, naming the decision): stored and searchable, but
 * kept out of detection and baselines. Counted there, Vigil's own refusals would raise alerts (a blocked user "refused
 * six times on administrative functions") and push the offender up the ladder on its own evidence.
 */
function answeredByEnforcement(event: SecurityEvent): boolean {
  return event.type === 'http_request' && event.attributes['vigil.decision.id'] !== undefined;
}
