/**
 * RuleEvaluators for compiled Sigma rules: a detection rule reports each matching event; a correlation reports a
 * group once when its condition is met, and not again for that group until its window has drained.
 */
import type { SecurityEvent } from '@vigil/schema';
import type { Detection, RuleEvaluator, Severity } from '../types.js';
import type { CoreSnapshot, CorrelationCore, CorrelationCounters, GroupState } from './correlation.js';
import type { EventPredicate } from './detection.js';
import { type FieldAccessor, fieldValueToString } from './field-mapping.js';
import type { SummaryRenderer } from './summary.js';

export interface SigmaRuleMeta {
  readonly id: string;
  readonly title: string;
  readonly severity: Severity;
  readonly tags: readonly string[];
  /** The file the rule came from. */
  readonly source: string;
  readonly summary: SummaryRenderer;
  /** Hash of the rule's definition (and, for a correlation, of the rules it references). */
  readonly version: string;
}

/** A compiled Sigma rule, with the counters that make its memory use visible. */
export interface SigmaEvaluator extends RuleEvaluator {
  readonly kind: 'detection' | 'correlation';
  readonly source: string;
  /** Evictions and expiries of group state (always zero for detection rules, which keep none). */
  counters(): Readonly<CorrelationCounters>;
}

const NO_DETECTIONS: readonly Detection[] = Object.freeze([]);
const NO_COUNTERS: Readonly<CorrelationCounters> = Object.freeze({ evictedGroups: 0, expiredGroups: 0 });
const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

export interface GroupField {
  /** Label name (the Vigil field name). */
  readonly label: string;
  readonly read: FieldAccessor;
}

/** What every compiled Sigma rule exposes from its metadata. */
abstract class SigmaRuleBase {
  readonly id: string;
  readonly title: string;
  readonly source: string;
  readonly version: string;

  constructor(
    protected readonly meta: SigmaRuleMeta,
    readonly eventTypes: ReadonlySet<string> | undefined,
  ) {
    this.id = meta.id;
    this.title = meta.title;
    this.source = meta.source;
    this.version = meta.version;
  }
}

export class SigmaDetectionEvaluator extends SigmaRuleBase implements SigmaEvaluator {
  readonly kind = 'detection';

  constructor(
    meta: SigmaRuleMeta,
    private readonly matches: EventPredicate,
    /** Custom `vigil.group-by`: fields copied from the event into the group labels. */
    private readonly groupFields: readonly GroupField[],
    private readonly lookup: (event: SecurityEvent, field: string) => string | undefined,
    eventTypes?: ReadonlySet<string>,
  ) {
    super(meta, eventTypes);
  }

  process(event: SecurityEvent): readonly Detection[] {
    if (!this.matches(event)) return NO_DETECTIONS;
    let labels = NO_LABELS;
    if (this.groupFields.length > 0) {
      const collected: Record<string, string> = {};
      for (const { label, read } of this.groupFields) {
        const value = fieldValueToString(read(event));
        if (value !== undefined) collected[label] = value;
      }
      labels = collected;
    }
    const { meta } = this;
    return [
      {
        ruleId: meta.id,
        ruleTitle: meta.title,
        severity: meta.severity,
        groupLabels: labels,
        eventIds: [event.id],
        firstTime: event.time,
        lastTime: event.time,
        eventCount: 1,
        summary: meta.summary({ labels, count: 1, lookup: (field) => this.lookup(event, field) }),
        tags: meta.tags,
      },
    ];
  }

  stateSize(): number {
    return 0;
  }

  counters(): Readonly<CorrelationCounters> {
    return NO_COUNTERS;
  }
}

export class SigmaCorrelationEvaluator extends SigmaRuleBase implements SigmaEvaluator {
  readonly kind = 'correlation';
  private found: Detection[] = [];
  private readonly onMet = (group: GroupState, event: SecurityEvent) => this.report(group, event);

  constructor(
    meta: SigmaRuleMeta,
    private readonly core: CorrelationCore,
    private readonly counterValues: CorrelationCounters,
    private readonly maxEvidenceIds: number,
    eventTypes?: ReadonlySet<string>,
  ) {
    super(meta, eventTypes);
  }

  process(event: SecurityEvent): readonly Detection[] {
    this.core.step(event, this.onMet);
    if (this.found.length === 0) return NO_DETECTIONS;
    const found = this.found;
    this.found = [];
    return found;
  }

  private report(group: GroupState, event: SecurityEvent): void {
    if (group.suppressedUntil !== undefined && event.time <= group.suppressedUntil) return;
    // Quiet for this group until every event behind this detection has left the window.
    group.suppressedUntil = event.time + this.core.spec.timespanMillis;
    const { meta } = this;
    const labels = this.core.labelsOf(group);
    this.found.push({
      ruleId: meta.id,
      ruleTitle: meta.title,
      severity: meta.severity,
      groupLabels: labels,
      eventIds: group.newestIds(this.maxEvidenceIds),
      firstTime: group.oldestTime() ?? event.time,
      lastTime: Math.max(group.lastTime, event.time),
      eventCount: group.size,
      summary: meta.summary({ labels, count: group.measure }),
      tags: meta.tags,
    });
  }

  stateSize(): number {
    return this.core.size();
  }

  counters(): Readonly<CorrelationCounters> {
    return { ...this.counterValues };
  }

  evictionCount(): number {
    return this.counterValues.evictedGroups;
  }

  snapshot(): unknown {
    return { counters: { ...this.counterValues }, core: this.core.snapshot() };
  }

  restore(state: unknown): void {
    const s = state as { counters: CorrelationCounters; core: CoreSnapshot };
    this.counterValues.evictedGroups = s.counters.evictedGroups;
    this.counterValues.expiredGroups = s.counters.expiredGroups;
    this.core.restore(s.core);
  }
}
