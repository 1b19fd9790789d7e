/**
 * Threshold rules: "at least N events of a type for one group within a window", in event time.
 *
 * A rule may name several alternative groupings (e.g. per `user.id` *or* per `client.address`). When one event
 * completes the threshold for more than one of them at once (five failures for one user from one address), a
 * single detection carries all their labels, so one attack gives one alert, not two.
 */
import type { SecurityEvent } from '@vigil/schema';
import { canonicalJson, stableHash } from './hash.js';
import type { Detection, RuleEvaluator, Severity } from './types.js';

export interface ThresholdRuleSpec {
  readonly id: string;
  readonly title: string;
  readonly severity: Severity;
  /** Event types counted. */
  readonly eventTypes: readonly string[];
  /** Alternative groupings; each is a list of field names that together form the group key. */
  readonly groupBy: readonly (readonly string[])[];
  readonly threshold: number;
  readonly windowMillis: number;
  /** `{field}` placeholders are filled from the group labels, `{count}` and `{window}` from the firing. */
  readonly summary: string;
  readonly tags?: readonly string[];
  /** Bound on group keys held; beyond it the least recently seen key is evicted (and counted). */
  readonly maxKeys?: number;
  /** Evidence ids reported per detection. */
  readonly maxEvidence?: number;
}

interface Hit {
  readonly time: number;
  readonly id: string;
}

interface GroupState {
  readonly labels: Record<string, string>;
  /** Hits inside the window, sorted by event time. */
  hits: Hit[];
  /** While firing: the labels of the incident this group belongs to (shared by groups that fired together). */
  incident?: Record<string, string>;
  /** Event time of the latest hit that belonged to the incident. */
  lastIncidentTime: number;
  /** Event time of the incident's first hit (absent in state saved by earlier versions: then nothing is too old). */
  firstIncidentTime?: number;
}

export class ThresholdRule implements RuleEvaluator {
  readonly id: string;
  readonly title: string;
  readonly version: string;
  /** Keys evicted because of the maxKeys bound. */
  evictions = 0;
  private readonly groups = new Map<string, GroupState>();
  private readonly types: ReadonlySet<string>;
  private readonly maxKeys: number;
  private readonly maxEvidence: number;

  constructor(readonly spec: ThresholdRuleSpec) {
    if (spec.threshold < 1) throw new RangeError(`${spec.id}: threshold must be at least 1`);
    if (spec.groupBy.length === 0) throw new RangeError(`${spec.id}: groupBy needs at least one grouping`);
    this.id = spec.id;
    this.title = spec.title;
    this.version = stableHash(canonicalJson(spec));
    this.types = new Set(spec.eventTypes);
    this.maxKeys = spec.maxKeys ?? 100_000;
    this.maxEvidence = spec.maxEvidence ?? 100;
  }

  stateSize(): number {
    return this.groups.size;
  }

  evictionCount(): number {
    return this.evictions;
  }

  snapshot(): unknown {
    return {
      evictions: this.evictions,
      groups: [...this.groups].map(([key, g]) => [
        key,
        g.labels,
        g.hits.map((h) => [h.time, h.id]),
        g.incident ?? null,
        g.lastIncidentTime,
        g.firstIncidentTime ?? null,
      ]),
    };
  }

  restore(state: unknown): void {
    const s = state as {
      evictions: number;
      groups: [
        string,
        Record<string, string>,
        [number, string][],
        Record<string, string> | null,
        number,
        (number | null)?,
      ][];
    };
    this.groups.clear();
    this.evictions = s.evictions;
    for (const [key, labels, hits, incident, lastIncidentTime, firstIncidentTime] of s.groups) {
      this.groups.set(key, {
        labels,
        hits: hits.map(([time, id]) => ({ time, id })),
        ...(incident ? { incident } : {}),
        lastIncidentTime,
        ...(typeof firstIncidentTime === 'number' ? { firstIncidentTime } : {}),
      });
    }
  }

  process(event: SecurityEvent): readonly Detection[] {
    if (!this.types.has(event.type)) return [];
    const opened: GroupState[] = [];
    const continuing = new Map<string, GroupState>();
    for (const fields of this.spec.groupBy) {
      const labels = this.labelsOf(event, fields);
      if (!labels) continue;
      const key = fields.map((f) => `${f}=${labels[f]}`).join('\u0000');
      const group = this.touch(key, labels);
      this.add(group, { time: event.time, id: event.id });
      if (group.incident && event.time - group.lastIncidentTime > this.spec.windowMillis) {
        group.incident = undefined; // the window drained since the last evidence: that incident is over
      }
      // A late event from before the incident's window (an old log line, a batch sent days later) is no part of it:
      // it would stretch the alert back to its time, and a replay, in time order, would not give it.
      if (group.incident && (group.firstIncidentTime ?? event.time) - event.time > this.spec.windowMillis) continue;
      if (group.incident) {
        group.lastIncidentTime = Math.max(group.lastIncidentTime, event.time);
        if (group.firstIncidentTime !== undefined)
          group.firstIncidentTime = Math.min(group.firstIncidentTime, event.time);
        continuing.set(JSON.stringify(group.incident), group);
      } else if (this.countAround(group, event.time) >= this.spec.threshold) {
        opened.push(group);
      }
    }
    const detections: Detection[] = [];
    if (opened.length > 0) {
      const incident: Record<string, string> = {};
      for (const g of opened) Object.assign(incident, g.labels);
      const hits = this.union(opened);
      for (const g of opened) {
        g.incident = incident;
        g.lastIncidentTime = event.time;
        g.firstIncidentTime = hits[0]!.time;
      }
      detections.push(this.detection(incident, hits));
      continuing.delete(JSON.stringify(incident));
    }
    for (const group of continuing.values()) {
      detections.push(this.detection(group.incident!, [{ time: event.time, id: event.id }]));
    }
    this.expire(event.time);
    return detections;
  }

  /**
   * Drop the groups whose window has drained: every address or user that ever failed once would otherwise be held
   * (and written into every state snapshot) until `maxKeys` evicted it. The map runs from least recently touched,
   * so the scan stops at the first group still in its window.
   */
  private expire(now: number): void {
    const horizon = now - this.spec.windowMillis;
    for (const [key, group] of this.groups) {
      const newest = group.hits[group.hits.length - 1]?.time ?? Number.NEGATIVE_INFINITY;
      if (newest >= horizon) break;
      this.groups.delete(key);
    }
  }

  private labelsOf(event: SecurityEvent, fields: readonly string[]): Record<string, string> | undefined {
    const labels: Record<string, string> = {};
    for (const f of fields) {
      const v = event.attributes[f];
      if (v === undefined || v === '' || Array.isArray(v)) return undefined;
      labels[f] = String(v);
    }
    return labels;
  }

  private touch(key: string, labels: Record<string, string>): GroupState {
    let group = this.groups.get(key);
    if (group) {
      // Map keeps insertion order: re-inserting makes this the most recently seen key.
      this.groups.delete(key);
    } else {
      group = { labels, hits: [], lastIncidentTime: 0 };
      if (this.groups.size >= this.maxKeys) {
        const oldest = this.groups.keys().next().value as string;
        this.groups.delete(oldest);
        this.evictions++;
      }
    }
    this.groups.set(key, group);
    return group;
  }

  /** Insert in event-time order (late events land in place) and drop hits that left every window. */
  private add(group: GroupState, hit: Hit): void {
    const hits = group.hits;
    let i = hits.length;
    while (i > 0 && hits[i - 1]!.time > hit.time) i--;
    hits.splice(i, 0, hit);
    const newest = hits[hits.length - 1]!.time;
    let drop = 0;
    while (drop < hits.length && hits[drop]!.time < newest - this.spec.windowMillis) drop++;
    if (drop > 0) hits.splice(0, drop);
    // Never hold more hits than the threshold needs, plus the evidence cap.
    const cap = Math.max(this.spec.threshold, this.maxEvidence) * 2;
    if (hits.length > cap) hits.splice(0, hits.length - cap);
  }

  /** Largest number of hits in any window of `windowMillis` that contains `time`. */
  private countAround(group: GroupState, time: number): number {
    const hits = group.hits;
    let best = 0;
    let start = 0;
    for (let end = 0; end < hits.length; end++) {
      while (hits[end]!.time - hits[start]!.time > this.spec.windowMillis) start++;
      if (hits[start]!.time <= time && time <= hits[end]!.time) best = Math.max(best, end - start + 1);
    }
    return best;
  }

  private union(groups: GroupState[]): Hit[] {
    const seen = new Map<string, Hit>();
    for (const g of groups) for (const h of g.hits) seen.set(h.id, h);
    return [...seen.values()].sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : 1));
  }

  private detection(labels: Record<string, string>, hits: Hit[]): Detection {
    const evidence = hits.slice(0, this.maxEvidence);
    return {
      ruleId: this.spec.id,
      ruleTitle: this.spec.title,
      severity: this.spec.severity,
      groupLabels: labels,
      eventIds: evidence.map((h) => h.id),
      firstTime: hits[0]!.time,
      lastTime: hits[hits.length - 1]!.time,
      eventCount: hits.length,
      summary: fillTemplate(this.spec.summary, labels, hits.length, this.spec.windowMillis),
      tags: this.spec.tags ?? [],
    };
  }
}

export function fillTemplate(template: string, labels: Record<string, string>, count: number, windowMillis: number) {
  return template.replace(/\{([A-Za-z0-9_.-]+)\}/g, (whole, name: string) => {
    if (name === 'count') return String(count);
    if (name === 'window') return formatDuration(windowMillis);
    if (name === 'group') return describeGroup(labels);
    return labels[name] ?? whole;
  });
}

export function formatDuration(millis: number): string {
  if (millis % 3_600_000 === 0) return `${millis / 3_600_000} h`;
  if (millis % 60_000 === 0) return `${millis / 60_000} min`;
  return `${millis / 1000} s`;
}

/** Words for a group key in a summary: "for user 4711 from 203.0.113.7". */
export function describeGroup(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([field, value]) => {
      if (field === 'user.id') return `for user ${value}`;
      if (field === 'client.address') return `from ${value}`;
      if (field === 'http.route') return `on ${value}`;
      return `with ${field} ${value}`;
    })
    .join(' ');
}
