/**
 * The `detection` section of a rule: search identifiers (selections and keyword lists) and the condition that
 * combines them, compiled once into one predicate over events.
 */
import type { SecurityEvent } from '@vigil/schema';
import { ConditionError, compileCondition, parseCondition } from './condition.js';
import { allOf, anyOf, type FieldTable, type MatchContext, type Matcher } from './context.js';
import type { Diagnostics, YamlPath } from './errors.js';
import type { EventFilter } from './logsource.js';
import { compileEntry, compileKeywordList } from './modifiers.js';

export type EventPredicate = (event: SecurityEvent) => boolean;

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Compile a `detection` section. Returns undefined (after reporting every problem found) when it is invalid. */
export function compileDetection(
  detection: unknown,
  filter: EventFilter,
  path: YamlPath,
  diag: Diagnostics,
  table: FieldTable,
  ctx: MatchContext,
): EventPredicate | undefined {
  if (!isMap(detection)) {
    diag.report(path, 'invalid_detection', '`detection` must be a map of search identifiers and a `condition`');
    return undefined;
  }
  const errorsBefore = diag.count;
  const selections = new Map<string, Matcher>();
  for (const name of Object.keys(detection)) {
    if (name === 'condition') continue;
    if (name === 'timeframe') {
      diag.report(
        [...path, name],
        'invalid_detection',
        '`timeframe` is Sigma 1 syntax: write a correlation rule with `timespan` instead',
      );
      continue;
    }
    const matcher = compileSearchIdentifier(detection[name], [...path, name], table, diag);
    if (matcher) selections.set(name, matcher);
  }

  const conditionValue = detection.condition;
  const conditions = Array.isArray(conditionValue)
    ? conditionValue
    : conditionValue === undefined
      ? []
      : [conditionValue];
  const conditionMatchers: Matcher[] = [];
  if (conditions.length === 0) {
    diag.report(path, 'invalid_condition', '`condition` is required (e.g. `condition: selection and not filter`)');
  }
  conditions.forEach((text, i) => {
    const conditionPath = Array.isArray(conditionValue) ? [...path, 'condition', i] : [...path, 'condition'];
    if (typeof text !== 'string') {
      diag.report(conditionPath, 'invalid_condition', '`condition` must be a string (or a list of strings)');
      return;
    }
    try {
      const tree = parseCondition(text);
      // Only report unknown identifiers when all selections compiled: otherwise the real error is already there.
      if (diag.count === errorsBefore) conditionMatchers.push(compileCondition(tree, selections));
    } catch (error) {
      if (!(error instanceof ConditionError)) throw error;
      diag.report(conditionPath, 'invalid_condition', `condition: ${error.message} (at character ${error.at + 1})`);
    }
  });
  if (diag.count !== errorsBefore) return undefined;

  // Several conditions are alternatives (spec: "linked with OR").
  const condition = anyOf(conditionMatchers);
  // A rule referenced by several correlations is asked about the same event once per correlation: the answer for
  // the latest event is kept (events are not changed while the engine looks at them).
  let lastEvent: SecurityEvent | undefined;
  let lastResult = false;
  return (event) => {
    if (event === lastEvent) return lastResult;
    lastEvent = event;
    lastResult = false;
    if (filter(event)) {
      ctx.use(event);
      lastResult = condition(ctx);
    }
    return lastResult;
  };
}

function compileSearchIdentifier(
  value: unknown,
  path: YamlPath,
  table: FieldTable,
  diag: Diagnostics,
): Matcher | undefined {
  if (isMap(value)) return compileMap(value, path, table, diag);
  if (Array.isArray(value)) {
    if (value.length === 0) {
      diag.report(path, 'invalid_detection', 'an empty list matches nothing');
      return undefined;
    }
    if (value.every(isMap)) {
      // A list of maps: any one of them (each map an AND of its fields).
      const matchers: Matcher[] = [];
      value.forEach((map, i) => {
        const matcher = compileMap(map, [...path, i], table, diag);
        if (matcher) matchers.push(matcher);
      });
      return matchers.length === value.length ? anyOf(matchers) : undefined;
    }
    if (value.some(isMap)) {
      diag.report(path, 'invalid_detection', 'a list must hold either maps (field: value) or keywords, not both');
      return undefined;
    }
    return compileKeywordList(value, path, diag);
  }
  diag.report(
    path,
    'invalid_detection',
    'a search identifier must be a map (field: value) or a list (of maps, or of keywords)',
  );
  return undefined;
}

function compileMap(
  map: Record<string, unknown>,
  path: YamlPath,
  table: FieldTable,
  diag: Diagnostics,
): Matcher | undefined {
  const keys = Object.keys(map);
  if (keys.length === 0) {
    diag.report(path, 'invalid_detection', 'an empty map matches nothing');
    return undefined;
  }
  const matchers: Matcher[] = [];
  for (const key of keys) {
    const matcher = compileEntry(key, map[key], [...path, key], table, diag);
    if (matcher) matchers.push(matcher);
  }
  return matchers.length === keys.length ? allOf(matchers) : undefined;
}
