/**
 * Sigma correlation rules (Sigma Correlation Rules Specification v2.0.0): `event_count`, `value_count`, `temporal`
 * and `temporal_ordered`, evaluated in event time with a sliding window per group.
 *
 * Window: for a group whose latest event is at time T, the window holds the events with time >= T - timespan.
 * Memory is bounded per rule: at most `maxGroupKeys` groups (the least recently updated is evicted, and counted,
 * when a new one would exceed it); per group, counts keep no more entries than the condition needs to be decided.
 * Groups whose window has drained are dropped as the event time moves on. Nothing reads the clock.
 */

import { createHash } from 'node:crypto';
import type { SecurityEvent } from '@vigil/schema';
import { fromJsonNumber, toJsonNumber } from '../hash.js';
import { SNAPSHOT_EVIDENCE_IDS } from '../types.js';
import type { Diagnostics, YamlPath } from './errors.js';
import { type FieldAccessor, fieldAccessor, fieldValueToString, vigilFieldName } from './field-mapping.js';
import { EvidenceRing } from './ring.js';
import { SIGMA_SPEC_VERSION } from './spec.js';

export const CORRELATION_TYPES = ['event_count', 'value_count', 'temporal', 'temporal_ordered'] as const;
export type CorrelationType = (typeof CORRELATION_TYPES)[number];

/** Metric correlation types of later specification versions. */
const LATER_CORRELATION_TYPES: Readonly<Record<string, string>> = {
  value_sum: '2.1.0',
  value_avg: '2.1.0',
  value_percentile: '2.1.0',
  value_median: '2.1.0',
};

/** The keys of a `correlation` section (correlation spec v2.0.0, with `generate` as pySigma also reads it there). */
const CORRELATION_KEYS: readonly string[] = [
  'type',
  'rules',
  'group-by',
  'timespan',
  'aliases',
  'condition',
  'generate',
];
/** Keys written for another one, as other formats or Sigma 1 spell it. */
const MISSPELLED_KEYS: Readonly<Record<string, string>> = {
  group_by: 'group-by',
  groupby: 'group-by',
  'group by': 'group-by',
  timeframe: 'timespan',
  time_span: 'timespan',
  alias: 'aliases',
  rule: 'rules',
  field: 'condition.field',
};

const CONDITION_OPERATORS = ['gt', 'gte', 'lt', 'lte', 'eq'] as const;
type ConditionOperator = (typeof CONDITION_OPERATORS)[number];

export type CountCondition = Readonly<Partial<Record<ConditionOperator, number>>>;

export interface CorrelationSpec {
  readonly type: CorrelationType;
  /** References to other rules, by `id` or `name`, in the order given (the order matters for temporal_ordered). */
  readonly rules: readonly string[];
  readonly groupBy: readonly string[];
  readonly timespanMillis: number;
  /** alias → (rule name or id → field in that rule's events). */
  readonly aliases: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly condition: CountCondition;
  /** value_count: the field whose distinct values are counted. */
  readonly valueField?: string;
  /** Whether the referenced rules also produce detections of their own (spec default: no). */
  readonly generate: boolean;
}

const TIMESPAN = /^(\d+)([smhd])$/;
const UNIT_MILLIS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parse `90m`-style timespans (spec: a number and one lower-case unit letter, s/m/h/d). */
export function parseTimespan(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const match = TIMESPAN.exec(text);
  if (!match) return undefined;
  const millis = Number(match[1]) * UNIT_MILLIS[match[2]!]!;
  return millis > 0 && Number.isSafeInteger(millis) ? millis : undefined;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Validate a `correlation` section (and the rule-level `generate`). Reports every problem; undefined if any. */
export function parseCorrelation(
  section: unknown,
  generate: unknown,
  path: YamlPath,
  diag: Diagnostics,
): CorrelationSpec | undefined {
  if (!isMap(section)) {
    diag.report(path, 'invalid_correlation', '`correlation` must be a map with type, rules, group-by, timespan...');
    return undefined;
  }
  const errorsBefore = diag.count;
  const at = (key: string) => [...path, key];
  for (const key of Object.keys(section)) {
    if (CORRELATION_KEYS.includes(key)) continue;
    const meant = MISSPELLED_KEYS[key.toLowerCase()];
    diag.report(
      at(key),
      'invalid_correlation',
      `unknown key \`${key}\` in \`correlation\`${meant ? ` (did you mean \`${meant}\`?)` : ''}; ` +
        `it would be ignored, changing what the rule counts (known: ${CORRELATION_KEYS.join(', ')})`,
    );
  }
  const type = section.type;
  if (typeof type === 'string' && Object.hasOwn(LATER_CORRELATION_TYPES, type)) {
    diag.report(
      at('type'),
      'unsupported_correlation',
      `\`${type}\` was added in Sigma ${LATER_CORRELATION_TYPES[type]}; Vigil implements Sigma ${SIGMA_SPEC_VERSION} (${CORRELATION_TYPES.join(', ')})`,
    );
  } else if (!CORRELATION_TYPES.includes(type as CorrelationType)) {
    diag.report(at('type'), 'invalid_correlation', `\`type\` must be one of ${CORRELATION_TYPES.join(', ')}`);
  }

  const rules = section.rules;
  const ruleList = typeof rules === 'string' ? [rules] : rules;
  if (!Array.isArray(ruleList) || ruleList.length === 0 || !ruleList.every((r) => typeof r === 'string' && r !== '')) {
    diag.report(at('rules'), 'invalid_correlation', '`rules` must list the `id`s or `name`s of the correlated rules');
  }

  const groupByValue = section['group-by'];
  const groupBy = groupByValue === undefined ? [] : typeof groupByValue === 'string' ? [groupByValue] : groupByValue;
  if (!Array.isArray(groupBy) || !groupBy.every((g) => typeof g === 'string' && g !== '')) {
    diag.report(at('group-by'), 'invalid_correlation', '`group-by` must be a list of field names');
  }

  const timespanMillis = parseTimespan(section.timespan);
  if (timespanMillis === undefined) {
    diag.report(
      at('timespan'),
      'invalid_correlation',
      '`timespan` must be a number and a unit: s, m, h or d (e.g. `90m`)',
    );
  }

  const aliases: Record<string, Record<string, string>> = {};
  if (section.aliases !== undefined) {
    if (!isMap(section.aliases)) {
      diag.report(at('aliases'), 'invalid_correlation', '`aliases` maps an alias to {rule name: field}');
    } else {
      for (const [alias, mapping] of Object.entries(section.aliases)) {
        if (!isMap(mapping) || !Object.values(mapping).every((f) => typeof f === 'string')) {
          diag.report(
            [...path, 'aliases', alias],
            'invalid_correlation',
            `alias \`${alias}\` must map rule names to field names`,
          );
          continue;
        }
        aliases[alias] = mapping as Record<string, string>;
      }
    }
  }

  const condition: Partial<Record<ConditionOperator, number>> = {};
  let valueField: string | undefined;
  const conditionValue = section.condition;
  const temporal = type === 'temporal' || type === 'temporal_ordered';
  if (conditionValue === undefined) {
    if (!temporal)
      diag.report(path, 'invalid_correlation', `\`condition\` is required for ${String(type)} (e.g. gte: 10)`);
  } else if (!isMap(conditionValue)) {
    diag.report(at('condition'), 'invalid_correlation', '`condition` must be a map such as {gte: 10}');
  } else {
    for (const [key, value] of Object.entries(conditionValue)) {
      if (key === 'field') {
        if (typeof value !== 'string' || value === '') {
          diag.report([...path, 'condition', key], 'invalid_correlation', '`field` must be a field name');
        } else {
          valueField = value;
        }
      } else if (CONDITION_OPERATORS.includes(key as ConditionOperator)) {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
          diag.report([...path, 'condition', key], 'invalid_correlation', `\`${key}\` must be a whole number >= 0`);
        } else {
          condition[key as ConditionOperator] = value;
        }
      } else {
        diag.report(
          [...path, 'condition', key],
          'invalid_correlation',
          `unknown condition \`${key}\` (use gt, gte, lt, lte, eq${type === 'value_count' ? ', field' : ''})`,
        );
      }
    }
    if (Object.keys(condition).length === 0) {
      diag.report(at('condition'), 'invalid_correlation', '`condition` needs one of gt, gte, lt, lte, eq');
    }
    const ruleCount = Array.isArray(ruleList) ? ruleList.length : 1;
    for (const op of UPPER_BOUNDS) {
      const bound = condition[op];
      if (bound === undefined || (temporal && boundHoldsForAnyCount(op, bound, ruleCount))) continue;
      diag.report(
        [...path, 'condition', op],
        'unsupported_correlation',
        `\`${op}\` is not supported: the count is decided when an event arrives, and a later event in the same ` +
          'window could still take it past the bound (Vigil does not decide at the end of a window, and does not ' +
          'detect events that never came); use gt or gte',
      );
    }
  }
  if (type === 'value_count' && valueField === undefined && isMap(conditionValue)) {
    diag.report(at('condition'), 'invalid_correlation', 'value_count needs `field` in its condition');
  }
  if (type !== 'value_count' && valueField !== undefined) {
    diag.report([...path, 'condition', 'field'], 'invalid_correlation', '`field` only applies to value_count');
  }
  // The spec's schema puts `generate` beside `correlation`; pySigma reads it inside. Either place is honoured.
  const inner = section.generate;
  if (generate !== undefined && typeof generate !== 'boolean') {
    diag.report(['generate'], 'invalid_correlation', '`generate` must be true or false');
  }
  if (inner !== undefined && typeof inner !== 'boolean') {
    diag.report(at('generate'), 'invalid_correlation', '`generate` must be true or false');
  }
  if (typeof generate === 'boolean' && typeof inner === 'boolean' && generate !== inner) {
    diag.report(at('generate'), 'invalid_correlation', '`generate` is given twice, with different values: keep one');
  }
  if (diag.count !== errorsBefore) return undefined;

  const ruleNames = ruleList as string[];
  const finalCondition: CountCondition =
    conditionValue === undefined ? { gte: ruleNames.length } : (condition as CountCondition);
  return {
    type: type as CorrelationType,
    rules: ruleNames,
    groupBy: groupBy as string[],
    timespanMillis: timespanMillis!,
    aliases,
    condition: finalCondition,
    ...(valueField === undefined ? {} : { valueField }),
    generate: generate === true || inner === true,
  };
}

/**
 * Bounds that a larger count breaks. A correlation is decided when a matching event arrives, so such a bound would
 * be reported met while the window is still open (the first event of a group meets `lt: 5` whatever follows), which
 * the spec does not mean: it counts over the whole timespan.
 */
const UPPER_BOUNDS = ['lt', 'lte', 'eq'] as const;

/**
 * temporal / temporal_ordered count the rules seen, at most `ruleCount`: an upper bound at or above it can never be
 * broken by a later event (`eq: 3` of three rules means all of them).
 */
function boundHoldsForAnyCount(op: (typeof UPPER_BOUNDS)[number], bound: number, ruleCount: number): boolean {
  if (op === 'lt') return bound > ruleCount;
  if (op === 'lte') return bound >= ruleCount;
  return bound === ruleCount;
}

export function conditionHolds(condition: CountCondition, value: number): boolean {
  if (condition.gt !== undefined && !(value > condition.gt)) return false;
  if (condition.gte !== undefined && !(value >= condition.gte)) return false;
  if (condition.lt !== undefined && !(value < condition.lt)) return false;
  if (condition.lte !== undefined && !(value <= condition.lte)) return false;
  if (condition.eq !== undefined && value !== condition.eq) return false;
  return true;
}

/**
 * How many items a count must be able to reach for the condition to be decided: one more than the largest bound.
 * Counting stops there, so a `gte: 10` rule keeps at most 10 entries per group however busy the group is.
 */
export function countCapacity(condition: CountCondition): number {
  let max = 0;
  for (const op of CONDITION_OPERATORS) {
    const bound = condition[op];
    if (bound !== undefined) max = Math.max(max, bound);
  }
  return max + 1;
}

/** Did a referenced rule match this event? For a referenced correlation: did its condition hold for it? */
export type Signal = (event: SecurityEvent) => boolean;

export interface CorrelationInput {
  /** How the correlation refers to the rule (its `name` or `id`), and the rule's other handle, for aliases. */
  readonly handles: readonly string[];
  readonly signal: Signal;
}

export interface CorrelationLimits {
  readonly maxGroupKeys: number;
  readonly maxEvidenceIds: number;
}

/** Counters a correlation rule exposes: every eviction is counted, so memory pressure is never silent. */
export interface CorrelationCounters {
  /** Groups dropped because the rule tracked `maxGroupKeys` groups and a new one arrived. */
  evictedGroups: number;
  /** Groups dropped because their window drained (normal housekeeping). */
  expiredGroups: number;
}

export interface CoreSnapshot {
  /**
   * 2: evidence times are the first time then differences, and only the newest ids are kept (SNAPSHOT_EVIDENCE_IDS;
   * a rate rule counting 600 events per group would otherwise write 600 ids per group). Absent: absolute times.
   */
  readonly encoding?: 2;
  readonly sequence: number;
  readonly watermark: number | null;
  readonly groups: readonly {
    readonly key: string;
    readonly lastTime: number | null;
    readonly suppressedUntil: number | null;
    readonly lastSequence: number;
    readonly metSequence: number;
    readonly measure: number;
    readonly evidence: [number[], string[]];
    readonly values?: [string, number][];
    readonly steps?: (number | null)[];
  }[];
  readonly children: readonly CoreSnapshot[];
}

/**
 * State of one group (one combination of group-by values). The group is its own evidence ring, and holds no
 * per-rule data (label names, capacities): at a million tracked keys every field counts.
 */
export class GroupState extends EvidenceRing {
  /** Latest event time seen for the group. */
  lastTime = Number.NEGATIVE_INFINITY;
  /** The group's last time when it was (re)queued at the back of its rule's map (see CorrelationCore.expire). */
  queuedTime = Number.NEGATIVE_INFINITY;
  /** The evaluator does not report this group again before this event time (its window must drain first). */
  suppressedUntil: number | undefined = undefined;
  /** Sequence number of the last event that touched the group (an event counts once per group). */
  lastSequence = -1;
  /** Sequence number of the last event for which the condition was reported met. */
  metSequence = -1;
  /** What the condition compares: events, distinct values, or rules seen (in order). */
  measure = 0;
  /**
   * value_count: distinct value → latest time seen, in order of latest sighting. temporal: latest time each rule
   * matched; temporal_ordered: start of the latest in-order chain to each step. Nothing for event_count.
   */
  private readonly extra: Map<string, number> | number[] | undefined;

  constructor(
    /** The group key: the group-by values joined (the same string the rule's map is keyed by). */
    readonly key: string,
    type: CorrelationType,
    ruleCount: number,
  ) {
    super();
    this.extra =
      type === 'value_count'
        ? new Map()
        : type === 'temporal' || type === 'temporal_ordered'
          ? new Array<number>(ruleCount).fill(Number.NEGATIVE_INFINITY)
          : undefined;
  }

  get values(): Map<string, number> | undefined {
    return this.extra instanceof Map ? this.extra : undefined;
  }

  get steps(): number[] | undefined {
    return Array.isArray(this.extra) ? this.extra : undefined;
  }
}

/** Values up to this length are kept as they are to tell them apart; longer ones by a digest. */
const MAX_KEPT_VALUE_CHARS = 64;

/**
 * What a value_count keeps of a value to count it: the value itself when short, else a 128-bit digest (a
 * cryptographic one: a sender must not be able to make two values count as one). Kept whole, 24 paths of 8 KB held
 * 200 kB per group of the object-enumeration rule, and an attacker chooses both the values and the groups.
 */
function distinctKey(value: string): string {
  if (value.length <= MAX_KEPT_VALUE_CHARS) return value;
  return `\u0000${createHash('sha256').update(value).digest('base64').slice(0, 22)}`;
}

/**
 * Reads the group key of an event for one list of group-by fields. Rules grouping by the same fields share one
 * reader (see GroupKeys), so a key made of several fields is joined once per event, and the string's hash, which
 * the map lookup computes, is computed once as well.
 */
export class GroupKeyReader {
  private lastEvent: SecurityEvent | undefined = undefined;
  private lastKey: string | undefined = '';

  constructor(private readonly accessors: readonly FieldAccessor[]) {}

  /**
   * The group key, or undefined when the event lacks one of the fields: it has no value to share with other events
   * (correlation spec: the group-by fields "must all have the same value"), so it belongs to no group. Lumping such
   * events together would count, say, failed sign-ins without an account as failures of one account.
   */
  read(event: SecurityEvent): string | undefined {
    const accessors = this.accessors;
    if (accessors.length === 1) return fieldValueToString(accessors[0]!(event));
    if (event === this.lastEvent) return this.lastKey;
    let key: string | undefined = '';
    for (let i = 0; i < accessors.length; i++) {
      const value = fieldValueToString(accessors[i]!(event));
      if (value === undefined) {
        key = undefined;
        break;
      }
      key = i === 0 ? value : `${key}${KEY_SEPARATOR}${value}`;
    }
    this.lastEvent = event;
    this.lastKey = key;
    return key;
  }
}

/** The key readers of one compiled rule set, one per distinct list of group-by fields. */
export class GroupKeys {
  private readonly readers = new Map<string, GroupKeyReader>();

  reader(fields: readonly string[]): GroupKeyReader {
    const id = fields.join(KEY_SEPARATOR);
    let reader = this.readers.get(id);
    if (!reader) {
      reader = new GroupKeyReader(fields.map((field) => fieldAccessor(field)));
      this.readers.set(id, reader);
    }
    return reader;
  }
}

interface InputPlan {
  readonly signal: Signal;
  readonly groupKey: GroupKeyReader;
  readonly valueAccessor: FieldAccessor | undefined;
}

/** Evidence times as the first time and then the difference to the one before: a window's worth fits in few digits. */
function deltaEncode([times, ids]: [number[], string[]]): [number[], string[]] {
  const out = new Array<number>(times.length);
  for (let i = 0; i < times.length; i++) out[i] = i === 0 ? times[0]! : times[i]! - times[i - 1]!;
  return [out, ids];
}

function deltaDecode([deltas, ids]: readonly [number[], string[]]): [number[], string[]] {
  const times = new Array<number>(deltas.length);
  for (let i = 0; i < deltas.length; i++) times[i] = i === 0 ? deltas[0]! : times[i - 1]! + deltas[i]!;
  return [times, ids];
}

/** How many drained groups are looked at per event; keeps housekeeping O(1) per event. */
const EXPIRY_CHECKS_PER_EVENT = 2;
/** How many groups at the front of the queue a full rule compares to pick the one to evict. */
const EVICTION_CANDIDATES = 8;
const KEY_SEPARATOR = '\u001f';
/**
 * What a group key held for a missing group-by field when such events still formed a group of their own. Validated
 * events never contain it (the schema neutralises control characters), so a restored group keyed with it is one
 * of those and is dropped.
 */
const ABSENT = '\u0000';

/**
 * The state machine of one correlation rule. `step` must see every event (in event-time order), matched or not:
 * referenced correlations nested inside keep their own state from the same stream.
 */
export class CorrelationCore {
  private readonly groups = new Map<string, GroupState>();
  private readonly plans: readonly InputPlan[];
  /** Label names of the group-by fields, in key order. */
  private readonly labelNames: readonly string[];
  private readonly matched: boolean[];
  private readonly countCap: number;
  private readonly evidenceCapacity: number;
  private sequence = 0;
  private watermark = Number.NEGATIVE_INFINITY;
  /** A lower bound of the queued time of the group at the front of `groups` (see expire). */
  private frontQueuedTime = Number.NEGATIVE_INFINITY;
  /** The iterator that walks `groups` from the front, and the group it points at (see peekFront). */
  private cursor: Iterator<GroupState> | undefined = undefined;
  private front: GroupState | undefined = undefined;

  constructor(
    readonly spec: CorrelationSpec,
    inputs: readonly CorrelationInput[],
    private readonly limits: CorrelationLimits,
    private readonly counters: CorrelationCounters,
    private readonly children: readonly CorrelationCore[] = [],
    keys: GroupKeys = new GroupKeys(),
  ) {
    const resolve = (field: string, input: CorrelationInput): string => {
      const alias = spec.aliases[field];
      if (!alias) return field;
      for (const handle of input.handles) if (Object.hasOwn(alias, handle)) return alias[handle]!;
      return field;
    };
    this.plans = inputs.map((input) => ({
      signal: input.signal,
      groupKey: keys.reader(spec.groupBy.map((field) => resolve(field, input))),
      valueAccessor: spec.valueField === undefined ? undefined : fieldAccessor(resolve(spec.valueField, input)),
    }));
    this.labelNames = spec.groupBy.map((field) => (spec.aliases[field] ? field : vigilFieldName(field)));
    this.matched = new Array<boolean>(inputs.length).fill(false);
    this.countCap = countCapacity(spec.condition);
    this.evidenceCapacity =
      spec.type === 'event_count' ? Math.max(this.countCap, limits.maxEvidenceIds) : limits.maxEvidenceIds;
  }

  /** Number of groups held, including those of nested correlations. */
  size(): number {
    let total = this.groups.size;
    for (const child of this.children) total += child.size();
    return total;
  }

  /**
   * Feed one event. Calls `onMet` for each group whose condition holds after this event; returns whether any did.
   */
  step(event: SecurityEvent, onMet?: (group: GroupState, event: SecurityEvent) => void): boolean {
    const sequence = ++this.sequence;
    if (event.time > this.watermark) this.watermark = event.time;
    let any = false;
    // Every signal runs on every event: a nested correlation must see the whole stream.
    for (let k = 0; k < this.plans.length; k++) {
      const hit = this.plans[k]!.signal(event);
      this.matched[k] = hit;
      any ||= hit;
    }
    if (!any) {
      this.expire();
      return false;
    }
    let met = false;
    // Highest step first, so that for temporal_ordered one event never completes two consecutive steps.
    for (let k = this.plans.length - 1; k >= 0; k--) {
      if (!this.matched[k]) continue;
      const group = this.update(k, event, sequence);
      if (group && group.metSequence !== sequence && conditionHolds(this.spec.condition, group.measure)) {
        group.metSequence = sequence;
        met = true;
        onMet?.(group, event);
      }
    }
    this.expire();
    return met;
  }

  private update(k: number, event: SecurityEvent, sequence: number): GroupState | undefined {
    const plan = this.plans[k]!;
    let value: string | undefined;
    if (plan.valueAccessor) {
      value = fieldValueToString(plan.valueAccessor(event));
      // Like COUNT(DISTINCT field): an event without the field adds no value and is not evidence.
      if (value === undefined) return undefined;
    }
    const key = plan.groupKey.read(event);
    if (key === undefined) return undefined;
    const group = this.groupFor(key, event);
    const time = event.time;
    // An event that arrives after its group's window has moved past it (later than the orderer waits: a sender's
    // retry) is outside every window the group still counts: counted, it would make a window wider than the timespan.
    if (time < group.lastTime - this.spec.timespanMillis) return undefined;
    const first = group.lastSequence !== sequence;
    group.lastSequence = sequence;
    if (time > group.lastTime) group.lastTime = time;
    const cutoff = group.lastTime - this.spec.timespanMillis;
    if (first) group.push(time, event.id, this.evidenceCapacity);
    group.dropBefore(cutoff);
    switch (this.spec.type) {
      case 'event_count':
        group.measure = group.size;
        break;
      case 'value_count': {
        const values = group.values!;
        const distinct = distinctKey(value!);
        // A value seen later already keeps its later time (a late event must not make it look older).
        const seenAt = Math.max(time, values.get(distinct) ?? time);
        values.delete(distinct);
        values.set(distinct, seenAt);
        for (const [v, seen] of values) {
          if (seen >= cutoff && values.size <= this.countCap) break;
          values.delete(v);
        }
        group.measure = values.size;
        break;
      }
      case 'temporal': {
        const steps = group.steps!;
        if (time > steps[k]!) steps[k] = time;
        let seen = 0;
        for (const t of steps) if (t >= cutoff) seen++;
        group.measure = seen;
        break;
      }
      case 'temporal_ordered': {
        const steps = group.steps!;
        if (k === 0) {
          if (time > steps[0]!) steps[0] = time;
        } else if (steps[k - 1]! >= time - this.spec.timespanMillis && steps[k - 1]! > steps[k]!) {
          steps[k] = steps[k - 1]!;
        }
        let done = 0;
        for (let j = steps.length; j > 0; j--) {
          if (steps[j - 1]! >= cutoff) {
            done = j;
            break;
          }
        }
        group.measure = done;
        break;
      }
    }
    return group;
  }

  private groupFor(key: string, event: SecurityEvent): GroupState {
    let group = this.groups.get(key);
    if (group) return group;
    if (this.groups.size >= this.limits.maxGroupKeys) this.evictOne();
    group = new GroupState(key, this.spec.type, this.plans.length);
    group.queuedTime = event.time;
    this.groups.set(key, group);
    return group;
  }

  /** The group-by values of a group under their label names (built when a detection is reported). */
  labelsOf(group: GroupState): Record<string, string> {
    const labels: Record<string, string> = {};
    const names = this.labelNames;
    const values = names.length === 1 ? [group.key] : group.key.split(KEY_SEPARATOR);
    for (let i = 0; i < names.length; i++) {
      const value = values[i];
      if (value !== undefined) labels[names[i]!] = value;
    }
    return labels;
  }

  /** The state of this rule and of the correlations nested in it, as plain JSON data. */
  snapshot(): CoreSnapshot {
    return {
      encoding: 2,
      sequence: this.sequence,
      watermark: toJsonNumber(this.watermark),
      groups: [...this.groups].map(([key, g]) => ({
        key,
        lastTime: toJsonNumber(g.lastTime),
        suppressedUntil: g.suppressedUntil === undefined ? null : toJsonNumber(g.suppressedUntil),
        lastSequence: g.lastSequence,
        metSequence: g.metSequence,
        measure: g.measure,
        evidence: deltaEncode(g.entries(Math.min(this.limits.maxEvidenceIds, SNAPSHOT_EVIDENCE_IDS))),
        ...(g.values ? { values: [...g.values] } : {}),
        ...(g.steps ? { steps: g.steps.map(toJsonNumber) } : {}),
      })),
      children: this.children.map((c) => c.snapshot()),
    };
  }

  restore(state: CoreSnapshot): void {
    this.sequence = state.sequence;
    this.watermark = fromJsonNumber(state.watermark);
    this.frontQueuedTime = Number.NEGATIVE_INFINITY;
    this.cursor = undefined;
    this.front = undefined;
    this.groups.clear();
    for (const s of state.groups) {
      if (s.key.includes(ABSENT)) continue;
      const g = new GroupState(s.key, this.spec.type, this.plans.length);
      g.lastTime = fromJsonNumber(s.lastTime);
      g.queuedTime = g.lastTime;
      g.suppressedUntil = s.suppressedUntil === null ? undefined : fromJsonNumber(s.suppressedUntil);
      g.lastSequence = s.lastSequence;
      g.metSequence = s.metSequence;
      g.measure = s.measure;
      const [times, ids] = state.encoding === 2 ? deltaDecode(s.evidence) : s.evidence;
      g.load(times, ids, this.evidenceCapacity);
      if (g.values && s.values) for (const [v, t] of s.values) g.values.set(v, t);
      if (g.steps && s.steps) {
        for (let i = 0; i < s.steps.length; i++) g.steps[i] = fromJsonNumber(s.steps[i]);
      }
      this.groups.set(s.key, g);
    }
    for (let i = 0; i < state.children.length; i++) this.children[i]?.restore(state.children[i]!);
  }

  /**
   * Drop a few groups whose window drained. The map is kept in queue order without moving a group on every event
   * (a delete and re-insert per event was the engine's largest cost): a group is queued at the back when created,
   * and only when it reaches the front and its queued time falls behind the horizon is it looked at again —
   * dropped if it drained, re-queued at the back with its current last time if it is still active. Queued times
   * never decrease from front to back when events come in time order, so while the horizon is below the front's
   * queued time there is nothing to do (checked without touching the map), and each group is re-queued at most
   * once per window. Events out of order only delay the housekeeping.
   */
  private expire(): void {
    const horizon = this.watermark - this.spec.timespanMillis;
    if (horizon <= this.frontQueuedTime) return;
    for (let checks = 0; checks < EXPIRY_CHECKS_PER_EVENT; checks++) {
      const front = this.peekFront();
      if (front === undefined) break;
      if (horizon <= front.queuedTime) {
        this.frontQueuedTime = front.queuedTime;
        return;
      }
      this.popFront();
      if (front.lastTime < horizon) {
        this.counters.expiredGroups++;
      } else {
        front.queuedTime = front.lastTime;
        this.groups.set(front.key, front);
      }
    }
    this.frontQueuedTime = Number.NEGATIVE_INFINITY;
  }

  /**
   * Make room for one new group: after housekeeping, drop the least recently active of the first few groups in
   * queue order (they were queued longest ago), so a busy group is not evicted just because it is old. The
   * others go to the back of the queue.
   */
  private evictOne(): void {
    this.expire();
    if (this.groups.size < this.limits.maxGroupKeys) return;
    const candidates: GroupState[] = [];
    for (let i = 0; i < EVICTION_CANDIDATES; i++) {
      const front = this.peekFront();
      if (front === undefined) break;
      this.popFront();
      candidates.push(front);
    }
    let victim = candidates[0]!;
    for (const c of candidates) if (c.lastTime < victim.lastTime) victim = c;
    for (const c of candidates) {
      if (c === victim) continue;
      c.queuedTime = c.lastTime;
      this.groups.set(c.key, c);
    }
    this.counters.evictedGroups++;
  }

  /**
   * The group at the front of the queue. A Map iterator skips the slots of deleted entries from the start of the
   * table, and a queue deletes at the front all the time, so one iterator is kept and advanced instead of starting
   * a new one per look (which walked over every deleted slot again).
   */
  private peekFront(): GroupState | undefined {
    if (this.front !== undefined) return this.front;
    this.cursor ??= this.groups.values();
    const next = this.cursor.next();
    if (next.done) {
      this.cursor = undefined;
      return undefined;
    }
    this.front = next.value;
    return this.front;
  }

  /** Remove the group `peekFront` returned from the map. */
  private popFront(): void {
    this.groups.delete(this.front!.key);
    this.front = undefined;
  }
}
