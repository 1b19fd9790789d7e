/**
 * compileSigma: Sigma YAML texts in, RuleEvaluators and lint errors out. The one entry point the rest of Vigil
 * uses (rule loading at start-up, `vigil analyze --rules`, `vigil rules lint`).
 */

import type { SecurityEvent } from '@vigil/schema';
import { canonicalJson, stableHash } from '../hash.js';
import type { Severity } from '../types.js';
import { FieldTable, MatchContext } from './context.js';
import {
  CorrelationCore,
  type CorrelationCounters,
  type CorrelationInput,
  type CorrelationSpec,
  GroupKeys,
  parseCorrelation,
  type Signal,
} from './correlation.js';
import { compileDetection, type EventPredicate } from './detection.js';
import { Diagnostics, type SigmaError } from './errors.js';
import {
  type GroupField,
  SigmaCorrelationEvaluator,
  SigmaDetectionEvaluator,
  type SigmaEvaluator,
  type SigmaRuleMeta,
} from './evaluators.js';
import { fieldAccessor, fieldValueToString, vigilFieldName } from './field-mapping.js';
import { compileLogsource } from './logsource.js';
import { parseSigmaYaml, type SigmaDocument } from './parse.js';
import { compileSummary, formatDuration, LEVEL_TO_SEVERITY, templateFields } from './summary.js';

export interface SigmaSource {
  /** The YAML text: one or more documents separated by `---`. */
  readonly text: string;
  /** Where it came from (a file path), used in errors and as the fallback rule id. */
  readonly source: string;
}

export interface SigmaCompileOptions {
  /** Per correlation rule: most groups tracked at once; the least recently active is evicted beyond it. */
  readonly maxGroupKeys?: number;
  /** Most evidence event ids a detection carries (the newest, oldest first). */
  readonly maxEvidenceIds?: number;
  /** Severity of rules without a `level`. */
  readonly defaultSeverity?: Severity;
}

/** Defaults of SigmaCompileOptions, in one place. */
export const SIGMA_DEFAULTS = {
  maxGroupKeys: 100_000,
  maxEvidenceIds: 100,
  defaultSeverity: 'medium',
} as const satisfies Required<SigmaCompileOptions>;

export interface SigmaCompileResult {
  /** In document order: detection rules first seen, correlations where they appear. */
  readonly evaluators: SigmaEvaluator[];
  /** Every problem found; an invalid rule is left out of `evaluators`, the others still compile. */
  readonly errors: SigmaError[];
}

interface RuleCommon {
  readonly doc: SigmaDocument;
  readonly diag: Diagnostics;
  readonly meta: Omit<SigmaRuleMeta, 'summary' | 'version'>;
  readonly summaryTemplate: string | undefined;
  /** `id` and `name`, whichever the rule has: how correlations refer to it. */
  readonly handles: readonly string[];
  /** The rule's own `id` attribute, if it has one. */
  readonly declaredId: string | undefined;
  /** Referenced by a correlation, so it emits nothing of its own unless one of those says `generate: true`. */
  referenced: boolean;
  generateRequested: boolean;
}

interface DetectionEntry extends RuleCommon {
  readonly kind: 'detection';
  readonly predicate: EventPredicate;
  readonly groupFields: readonly GroupField[];
  /** The event types the rule's log source covers; undefined for every type. */
  readonly eventTypes: ReadonlySet<string> | undefined;
}

interface CorrelationEntry extends RuleCommon {
  readonly kind: 'correlation';
  readonly spec: CorrelationSpec;
  references: RuleEntry[];
  valid: boolean;
}

type RuleEntry = DetectionEntry | CorrelationEntry;

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Compile Sigma rules (detection rules and correlation rules, any number per text).
 *
 * @example
 * const { evaluators, errors } = compileSigma([{ source: 'rules/traversal.yml', text }]);
 * for (const error of errors) console.error(`${error.source}:${error.line}: ${error.message}`);
 * const detections = evaluators.flatMap((rule) => rule.process(event));
 */
export function compileSigma(documents: readonly SigmaSource[], options: SigmaCompileOptions = {}): SigmaCompileResult {
  const limits = {
    maxGroupKeys: positive(options.maxGroupKeys, SIGMA_DEFAULTS.maxGroupKeys, 'maxGroupKeys'),
    maxEvidenceIds: positive(options.maxEvidenceIds, SIGMA_DEFAULTS.maxEvidenceIds, 'maxEvidenceIds'),
  };
  const defaultSeverity = options.defaultSeverity ?? SIGMA_DEFAULTS.defaultSeverity;
  const errors: SigmaError[] = [];
  const entries: RuleEntry[] = [];
  const diagnostics: Diagnostics[] = [];
  // One field table and one per-event cache for all rules: rules reading the same field share its lookup.
  const fields = new FieldTable();
  const ctx = new MatchContext(fields);
  const keys = new GroupKeys();

  for (const { text, source } of documents) {
    for (const doc of parseSigmaYaml(text, source, errors)) {
      const diag = new Diagnostics(source, doc.lineOf);
      diagnostics.push(diag);
      const entry = compileDocument(doc, diag, defaultSeverity, fields, ctx);
      if (entry) entries.push(entry);
    }
  }

  const byHandle = indexByHandle(entries);
  for (const entry of entries) if (entry.kind === 'correlation') resolveReferences(entry, byHandle);
  markCycles(entries);

  const evaluators: SigmaEvaluator[] = [];
  for (const entry of entries) {
    if (entry.referenced && !entry.generateRequested) continue;
    const version = versionOf(entry);
    if (entry.kind === 'detection') {
      evaluators.push(
        new SigmaDetectionEvaluator(
          { ...entry.meta, version, summary: compileSummary(entry.summaryTemplate, entry.meta.title) },
          entry.predicate,
          entry.groupFields,
          readForSummary,
          entry.eventTypes,
        ),
      );
    } else if (entry.valid) {
      const counters: CorrelationCounters = { evictedGroups: 0, expiredGroups: 0 };
      const core = buildCore(entry, limits, counters, keys);
      const summary = compileSummary(entry.summaryTemplate, entry.meta.title, describeMeasure(entry.spec));
      evaluators.push(
        new SigmaCorrelationEvaluator(
          { ...entry.meta, version, summary },
          core,
          counters,
          limits.maxEvidenceIds,
          eventTypesOf(entry),
        ),
      );
    }
  }
  for (const diag of diagnostics) errors.push(...diag.errors);
  return { evaluators, errors };
}

/**
 * The event types a rule can react to: its log source's for a detection rule, the union of its rules' for a
 * correlation (a correlation only changes state on events one of its rules matches). Undefined means every type.
 */
function eventTypesOf(entry: RuleEntry): ReadonlySet<string> | undefined {
  if (entry.kind === 'detection') return entry.eventTypes;
  const union = new Set<string>();
  for (const reference of entry.references) {
    const types = eventTypesOf(reference);
    if (types === undefined) return undefined;
    for (const type of types) union.add(type);
  }
  return union;
}

/** A rule's version: its own definition, and for a correlation the versions of the rules it references. */
function versionOf(entry: RuleEntry, seen = new Set<RuleEntry>()): string {
  if (seen.has(entry)) return 'cycle';
  seen.add(entry);
  const own = canonicalJson(entry.doc.data);
  const refs = entry.kind === 'correlation' ? entry.references.map((r) => versionOf(r, seen)).join(',') : '';
  return stableHash(`${own}|${refs}`);
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`compileSigma: ${name} must be a whole number >= 1`);
  return value;
}

function readForSummary(event: SecurityEvent, field: string): string | undefined {
  return fieldValueToString(fieldAccessor(field)(event));
}

function compileDocument(
  doc: SigmaDocument,
  diag: Diagnostics,
  defaultSeverity: Severity,
  fields: FieldTable,
  ctx: MatchContext,
): RuleEntry | undefined {
  const data = doc.data;
  if (!isMap(data)) {
    diag.report([], 'invalid_rule', 'a Sigma rule is a YAML map (title, logsource, detection...)');
    return undefined;
  }
  const errorsBefore = diag.count;
  const title = data.title;
  if (typeof title !== 'string' || title.trim() === '') diag.report(['title'], 'invalid_rule', '`title` is required');
  for (const key of ['id', 'name'] as const) {
    if (data[key] !== undefined && (typeof data[key] !== 'string' || data[key] === '')) {
      diag.report([key], 'invalid_rule', `\`${key}\` must be a non-empty string`);
    }
  }
  let severity: Severity = defaultSeverity;
  if (data.level !== undefined) {
    const mapped = typeof data.level === 'string' ? LEVEL_TO_SEVERITY[data.level] : undefined;
    if (!mapped || !Object.hasOwn(LEVEL_TO_SEVERITY, data.level as string)) {
      diag.report(['level'], 'invalid_rule', '`level` must be informational, low, medium, high or critical');
    } else {
      severity = mapped;
    }
  }
  let tags: string[] = [];
  if (data.tags !== undefined) {
    if (!Array.isArray(data.tags) || !data.tags.every((t) => typeof t === 'string')) {
      diag.report(['tags'], 'invalid_rule', '`tags` must be a list of strings');
    } else {
      tags = data.tags;
    }
  }
  const extension = readVigilExtension(data, diag);

  const id = typeof data.id === 'string' ? data.id : undefined;
  const name = typeof data.name === 'string' ? data.name : undefined;
  const handles = [id, name].filter((h): h is string => h !== undefined && h !== '');
  const meta = {
    id: id ?? name ?? `${doc.source}#${doc.index + 1}`,
    title: typeof title === 'string' ? title : '',
    severity,
    tags: Object.freeze([...tags]),
    source: doc.source,
  };
  const common = {
    doc,
    diag,
    meta,
    summaryTemplate: extension.summary,
    handles,
    declaredId: id,
    referenced: false,
    generateRequested: false,
  };

  if (data.correlation !== undefined) {
    if (data.detection !== undefined) {
      diag.report(['detection'], 'invalid_rule', 'a document is either a detection rule or a correlation, not both');
    }
    const spec = parseCorrelation(data.correlation, data.generate, ['correlation'], diag);
    if (extension.groupBy.length > 0) {
      diag.report(['vigil'], 'invalid_rule', 'correlations group by `correlation.group-by`, not `vigil.group-by`');
    }
    if (spec && extension.summary !== undefined) {
      const known = new Set(['count', ...spec.groupBy, ...spec.groupBy.map(vigilFieldName)]);
      for (const field of templateFields(extension.summary)) {
        if (!known.has(field)) {
          diag.report(
            extension.summaryPath,
            'invalid_rule',
            `summary placeholder {${field}} is neither {count} nor a group-by field`,
          );
        }
      }
    }
    if (!spec || diag.count !== errorsBefore) return undefined;
    return { ...common, kind: 'correlation', spec, references: [], valid: true };
  }
  if (data.detection === undefined) {
    if (data.filter !== undefined) {
      diag.report(
        ['filter'],
        'invalid_rule',
        'Sigma filters (meta filters) are not supported yet: fold the filter into the rule',
      );
    } else {
      diag.report([], 'invalid_rule', 'a rule needs `detection` (a detection rule) or `correlation`');
    }
    return undefined;
  }
  const logsource = compileLogsource(data.logsource);
  if (!logsource.ok) diag.report(['logsource'], 'unsupported_logsource', logsource.message);
  const predicate = compileDetection(
    data.detection,
    logsource.ok ? logsource.filter : () => false,
    ['detection'],
    diag,
    fields,
    ctx,
  );
  if (!predicate || diag.count !== errorsBefore) return undefined;
  const groupFields = extension.groupBy.map((field) => ({ label: vigilFieldName(field), read: fieldAccessor(field) }));
  return {
    ...common,
    kind: 'detection',
    predicate,
    groupFields,
    eventTypes: logsource.ok ? logsource.types : undefined,
  };
}

interface VigilExtension {
  readonly summary: string | undefined;
  readonly summaryPath: readonly string[];
  readonly groupBy: readonly string[];
}

/**
 * Vigil's custom rule attributes (the spec allows arbitrary custom fields): `vigil.summary` and `vigil.group-by`,
 * written either as dotted top-level keys or under a `vigil:` map.
 */
function readVigilExtension(data: Record<string, unknown>, diag: Diagnostics): VigilExtension {
  const nested = isMap(data.vigil) ? data.vigil : {};
  if (data.vigil !== undefined && !isMap(data.vigil)) diag.report(['vigil'], 'invalid_rule', '`vigil` must be a map');
  const summaryPath = data['vigil.summary'] !== undefined ? ['vigil.summary'] : ['vigil', 'summary'];
  const summary = data['vigil.summary'] ?? nested.summary;
  const groupByPath = data['vigil.group-by'] !== undefined ? ['vigil.group-by'] : ['vigil', 'group-by'];
  const groupByValue = data['vigil.group-by'] ?? nested['group-by'];
  let groupBy: string[] = [];
  if (summary !== undefined && typeof summary !== 'string') {
    diag.report(summaryPath, 'invalid_rule', '`vigil.summary` must be a string');
  }
  if (groupByValue !== undefined) {
    const list = typeof groupByValue === 'string' ? [groupByValue] : groupByValue;
    if (!Array.isArray(list) || !list.every((f) => typeof f === 'string' && f !== '')) {
      diag.report(groupByPath, 'invalid_rule', '`vigil.group-by` must be a list of field names');
    } else {
      groupBy = list;
    }
  }
  return { summary: typeof summary === 'string' ? summary : undefined, summaryPath, groupBy };
}

function indexByHandle(entries: readonly RuleEntry[]): Map<string, RuleEntry> {
  const byHandle = new Map<string, RuleEntry>();
  for (const entry of entries) {
    for (const handle of entry.handles) {
      const existing = byHandle.get(handle);
      if (existing && existing !== entry) {
        entry.diag.report(
          [entry.declaredId === handle ? 'id' : 'name'],
          'duplicate_rule',
          `\`${handle}\` is already used by "${existing.meta.title}" (${existing.doc.source}); ids and names must be unique`,
        );
        continue;
      }
      byHandle.set(handle, entry);
    }
  }
  return byHandle;
}

function resolveReferences(entry: CorrelationEntry, byHandle: ReadonlyMap<string, RuleEntry>): void {
  entry.spec.rules.forEach((handle, i) => {
    const target = byHandle.get(handle);
    if (!target) {
      entry.diag.report(
        ['correlation', 'rules', i],
        'unknown_reference',
        `no valid rule has the id or name \`${handle}\` (it must be in the same set of files and compile without errors)`,
      );
      entry.valid = false;
      return;
    }
    if (target === entry) {
      entry.diag.report(['correlation', 'rules', i], 'invalid_correlation', 'a correlation cannot reference itself');
      entry.valid = false;
      return;
    }
    if (entry.references.includes(target)) {
      // One event would count as two rules: `temporal` would be met by a single event.
      entry.diag.report(
        ['correlation', 'rules', i],
        'invalid_correlation',
        `\`${handle}\` names a rule already listed (the spec's rules are unique); list each rule once`,
      );
      entry.valid = false;
      return;
    }
    target.referenced = true;
    if (entry.spec.generate) target.generateRequested = true;
    entry.references.push(target);
  });
  const used = new Set([...entry.spec.groupBy, entry.spec.valueField]);
  for (const [alias, mapping] of Object.entries(entry.spec.aliases)) {
    for (const handle of Object.keys(mapping)) {
      if (!entry.spec.rules.includes(handle) && !entry.references.some((r) => r.handles.includes(handle))) {
        entry.diag.report(
          ['correlation', 'aliases', alias, handle],
          'unknown_reference',
          `alias \`${alias}\` names \`${handle}\`, which is not one of this correlation's rules`,
        );
        entry.valid = false;
      }
    }
    // Events of a rule the alias gives no field for would have no value for it, and so join no group.
    if (!used.has(alias) || entry.references.length !== entry.spec.rules.length) continue;
    entry.spec.rules.forEach((handle, i) => {
      const reference = entry.references[i]!;
      if (reference.handles.some((h) => Object.hasOwn(mapping, h))) return;
      entry.diag.report(
        ['correlation', 'aliases', alias],
        'invalid_correlation',
        `alias \`${alias}\` gives no field for \`${handle}\`: name the field that rule's events hold (\`${handle}: field.name\`)`,
      );
      entry.valid = false;
    });
  }
}

/** A correlation chain that loops back on itself can never be evaluated: report and drop every rule in the loop. */
function markCycles(entries: readonly RuleEntry[]): void {
  const state = new Map<RuleEntry, 'visiting' | 'done'>();
  const visit = (entry: RuleEntry, trail: CorrelationEntry[]): boolean => {
    if (entry.kind !== 'correlation') return true;
    const seen = state.get(entry);
    if (seen === 'done') return entry.valid;
    if (seen === 'visiting') {
      const loop = trail.slice(trail.indexOf(entry));
      for (const member of loop) {
        if (!member.valid) continue;
        member.valid = false;
        member.diag.report(
          ['correlation', 'rules'],
          'invalid_correlation',
          `correlation loop: ${[...loop, entry].map((m) => m.meta.id).join(' → ')}`,
        );
      }
      return false;
    }
    state.set(entry, 'visiting');
    trail.push(entry);
    for (const reference of entry.references) if (!visit(reference, trail)) entry.valid = false;
    trail.pop();
    state.set(entry, 'done');
    return entry.valid;
  };
  for (const entry of entries) visit(entry, []);
}

/**
 * Build the state machine of a correlation. A referenced correlation gets its own nested instance, fed the same
 * events, so each chain keeps independent, deterministic state.
 */
function buildCore(
  entry: CorrelationEntry,
  limits: { maxGroupKeys: number; maxEvidenceIds: number },
  counters: CorrelationCounters,
  keys: GroupKeys,
): CorrelationCore {
  const children: CorrelationCore[] = [];
  const inputs: CorrelationInput[] = entry.references.map((reference) => {
    let signal: Signal;
    if (reference.kind === 'detection') {
      signal = reference.predicate;
    } else {
      const child = buildCore(reference, limits, counters, keys);
      children.push(child);
      signal = (event) => child.step(event);
    }
    return { handles: reference.handles, signal };
  });
  return new CorrelationCore(entry.spec, inputs, limits, counters, children, keys);
}

function describeMeasure(spec: CorrelationSpec): (count: number) => string {
  const within = `within ${formatDuration(spec.timespanMillis)}`;
  switch (spec.type) {
    case 'event_count':
      return (count) => `${count} events ${within}`;
    case 'value_count':
      return (count) => `${count} distinct ${vigilFieldName(spec.valueField ?? '')} values ${within}`;
    case 'temporal':
      return (count) => `${count} of ${spec.rules.length} rules matched ${within}`;
    case 'temporal_ordered':
      return (count) => `${count} of ${spec.rules.length} rules matched in order ${within}`;
  }
}
