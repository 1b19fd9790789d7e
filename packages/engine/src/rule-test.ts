/**
 * Rule tests: YAML files that say "these events must raise these detections, and nothing else". The format is
 * documented in docs/rules.md; this module parses a test file and runs it against compiled rules. It is pure:
 * texts and evaluators in, results out. Reading files is the caller's job (`vigil rules test`).
 *
 * A test file (`rules/tests/<rule-file-stem>.test.yaml`):
 *
 *   rules: ../authn-brute-force.yml     # optional: the rule file under test (default: same stem, one level up)
 *   base: 2026-03-14T09:00:00Z          # optional: what relative times (`+30s`) count from
 *   cases:
 *     - name: ten failures on one account
 *       events:
 *         - { time: +0s, type: authn_login_fail, user.id: alice }
 *         - repeat: 9                     # expands to 9 events, `every` apart; `{i}` in strings is 1..9
 *           every: 20s
 *           event: { time: +10s, type: authn_login_fail, user.id: alice, client.address: "203.0.113.{i}" }
 *       expect:
 *         - { rule: Brute force on one account, labels: { user.id: alice }, eventCount: 10 }
 *     - name: nine failures stay quiet
 *       events: [...]
 *       expect: none
 */
import { parseEvent, type SecurityEvent } from '@vigil/schema';
import { isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { Detection, RuleEvaluator } from './types.js';

/** A detection a case expects. Every detection of the rules under test must match one of these. */
export interface RuleTestExpectation {
  /** The rule's `id` or `title`. */
  readonly rule: string;
  /** Group labels that must be present with these values (others may be present too). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Exact number of evidence events of the detection. */
  readonly eventCount?: number;
}

export interface RuleTestCase {
  readonly name: string;
  /** 1-based line of the case in its file. */
  readonly line: number;
  /** Wire events with their times resolved to epoch ms, in the order written (the runner sorts them by time). */
  readonly events: readonly Record<string, unknown>[];
  /** Empty: the case expects no detection at all from the rules under test. */
  readonly expect: readonly RuleTestExpectation[];
}

export interface RuleTestFile {
  /** The test file, as given to parseRuleTests. */
  readonly source: string;
  /** The `rules:` entry as written (a path relative to the test file), if any. */
  readonly rules?: string;
  readonly cases: readonly RuleTestCase[];
}

export interface RuleTestProblem {
  readonly source: string;
  readonly line: number;
  readonly message: string;
}

export interface RuleTestParseResult {
  /** Undefined when the file could not be read as a test file at all. */
  readonly file?: RuleTestFile;
  readonly errors: RuleTestProblem[];
}

export interface RuleTestResult {
  readonly source: string;
  readonly name: string;
  readonly line: number;
  readonly passed: boolean;
  /** Why it failed: one line each. Empty when it passed. */
  readonly failures: readonly string[];
  /** Every detection the rules under test produced. */
  readonly detections: readonly Detection[];
}

export interface RuleTestRunOptions {
  /** Which evaluators are under test; detections of the others are ignored. Default: all. */
  readonly inScope?: (evaluator: RuleEvaluator) => boolean;
}

/** Relative times count from this instant unless the file or the case gives a `base`. */
export const DEFAULT_TEST_BASE_TIME = '2026-01-01T00:00:00Z';

const RELATIVE_TIME = /^\+(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MILLIS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** Keeps a typo (`repeat: 1e9`) from exhausting memory. */
const MAX_EVENTS_PER_CASE = 100_000;
/** A repeated event with a mistake is reported a few times, not once per repetition. */
const MAX_REPORTED_INVALID_EVENTS = 3;
const CASE_KEYS = new Set(['name', 'base', 'events', 'expect']);
const EXPECT_KEYS = new Set(['rule', 'labels', 'eventCount']);

function plainMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `+90s`, `+2m`, `+500ms` → milliseconds; undefined when it is not a relative time. */
export function parseRelativeTime(text: string): number | undefined {
  const match = RELATIVE_TIME.exec(text);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * UNIT_MILLIS[match[2]!]!);
}

function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value !== 'string') return undefined;
  return parseRelativeTime(value.startsWith('+') ? value : `+${value}`);
}

function parseAbsolute(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (value instanceof Date) return value.getTime();
  if (typeof value !== 'string') return undefined;
  const millis = Date.parse(value);
  return Number.isNaN(millis) ? undefined : millis;
}

/**
 * `{i}` in every string (and string-array element) of an event, replaced by the repetition number; a value that is
 * exactly `{i}` becomes the number itself, for integer fields such as `client.as.number`.
 */
function substitute(value: unknown, index: number): unknown {
  if (value === '{i}') return index;
  if (typeof value === 'string') return value.replaceAll('{i}', String(index));
  if (Array.isArray(value)) return value.map((v) => substitute(v, index));
  if (plainMap(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substitute(v, index);
    return out;
  }
  return value;
}

/**
 * Parse one rule-test file. Problems are reported with their line; a case with a problem is left out, the others
 * are kept.
 *
 * @example
 * const { file, errors } = parseRuleTests(text, 'rules/tests/authn-brute-force.test.yaml');
 */
export function parseRuleTests(text: string, source: string): RuleTestParseResult {
  const errors: RuleTestProblem[] = [];
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, merge: false });
  const lineOfOffset = (offset: number | undefined) => (offset === undefined ? 1 : lineCounter.linePos(offset).line);
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      errors.push({ source, line: error.linePos?.[0]?.line ?? 1, message: `YAML: ${error.message.split('\n')[0]}` });
    }
    return { errors };
  }
  const data: unknown = doc.toJS({ maxAliasCount: 50 });
  const report = (line: number, message: string) => errors.push({ source, line, message });
  if (!plainMap(data) || !Array.isArray(data.cases)) {
    report(1, 'a rule-test file is a map with `cases:` (a list of {name, events, expect})');
    return { errors };
  }
  const root = doc.contents;
  const casesNode = isMap(root) ? root.get('cases', true) : undefined;
  const caseLine = (i: number): number => {
    const node = isSeq(casesNode) ? (casesNode.items[i] as Node | undefined) : undefined;
    return lineOfOffset(node?.range?.[0]);
  };
  for (const key of Object.keys(data)) {
    if (!['rules', 'base', 'cases'].includes(key)) report(1, `unknown key \`${key}\` (use rules, base, cases)`);
  }
  let fileBase = parseAbsolute(DEFAULT_TEST_BASE_TIME)!;
  if (data.base !== undefined) {
    const base = parseAbsolute(data.base);
    if (base === undefined) report(1, '`base` must be an RFC 3339 time or epoch milliseconds');
    else fileBase = base;
  }
  if (data.rules !== undefined && typeof data.rules !== 'string') report(1, '`rules` must be a path');

  const cases: RuleTestCase[] = [];
  data.cases.forEach((raw: unknown, i: number) => {
    const line = caseLine(i);
    const parsed = parseCase(raw, fileBase, (message) => report(line, message));
    if (parsed) cases.push({ ...parsed, line });
  });
  const file: RuleTestFile = {
    source,
    ...(typeof data.rules === 'string' ? { rules: data.rules } : {}),
    cases,
  };
  return { file, errors };
}

function parseCase(
  raw: unknown,
  fileBase: number,
  report: (message: string) => void,
): Omit<RuleTestCase, 'line'> | undefined {
  if (!plainMap(raw)) {
    report('a case is a map with name, events and expect');
    return undefined;
  }
  let ok = true;
  const fail = (message: string) => {
    ok = false;
    report(message);
  };
  for (const key of Object.keys(raw)) if (!CASE_KEYS.has(key)) fail(`unknown key \`${key}\` in a case`);
  const name = typeof raw.name === 'string' && raw.name !== '' ? raw.name : undefined;
  if (!name) fail('a case needs a `name`');
  let base = fileBase;
  if (raw.base !== undefined) {
    const parsed = parseAbsolute(raw.base);
    if (parsed === undefined) fail('`base` must be an RFC 3339 time or epoch milliseconds');
    else base = parsed;
  }
  const resolveTime = (value: unknown, offsetMillis: number): number | undefined => {
    if (value === undefined) return base + offsetMillis;
    if (typeof value === 'string' && value.startsWith('+')) {
      const relative = parseRelativeTime(value);
      return relative === undefined ? undefined : base + relative + offsetMillis;
    }
    const absolute = parseAbsolute(value);
    return absolute === undefined ? undefined : absolute + offsetMillis;
  };

  const events: Record<string, unknown>[] = [];
  if (!Array.isArray(raw.events) || raw.events.length === 0) {
    fail('`events` must be a non-empty list of events');
  } else {
    raw.events.forEach((item: unknown, i: number) => {
      if (!plainMap(item)) {
        fail(`events[${i}] must be a map: an event, or {repeat, every, event}`);
        return;
      }
      if (item.repeat !== undefined) {
        const times = item.repeat;
        const every = parseDuration(item.every ?? 0);
        if (typeof times !== 'number' || !Number.isInteger(times) || times < 1) {
          fail(`events[${i}].repeat must be a whole number >= 1`);
          return;
        }
        if (every === undefined) {
          fail(`events[${i}].every must be a duration such as 10s`);
          return;
        }
        if (!plainMap(item.event)) {
          fail(`events[${i}].event must be the event to repeat`);
          return;
        }
        if (events.length + times > MAX_EVENTS_PER_CASE) {
          fail(`a case holds at most ${MAX_EVENTS_PER_CASE} events`);
          return;
        }
        for (let n = 0; n < times; n++) {
          const event = substitute(item.event, n + 1) as Record<string, unknown>;
          const time = resolveTime(item.event.time, n * every);
          if (time === undefined) {
            fail(`events[${i}].event.time must be +<n><unit>, RFC 3339 or epoch milliseconds`);
            return;
          }
          events.push({ ...event, time });
        }
        return;
      }
      const time = resolveTime(item.time, 0);
      if (time === undefined) {
        fail(`events[${i}].time must be +<n><unit> (ms, s, m, h, d), RFC 3339 or epoch milliseconds`);
        return;
      }
      events.push({ ...item, time });
    });
  }

  const expect: RuleTestExpectation[] = [];
  const rawExpect = raw.expect;
  if (rawExpect === 'none' || (plainMap(rawExpect) && rawExpect.none === true)) {
    // nothing expected
  } else if (!Array.isArray(rawExpect)) {
    fail('`expect` must be a list of {rule, labels?, eventCount?}, or `none`');
  } else {
    rawExpect.forEach((entry: unknown, i: number) => {
      if (!plainMap(entry) || typeof entry.rule !== 'string' || entry.rule === '') {
        fail(`expect[${i}] needs \`rule\`: the id or title of the rule`);
        return;
      }
      for (const key of Object.keys(entry)) if (!EXPECT_KEYS.has(key)) fail(`unknown key \`${key}\` in expect[${i}]`);
      let labels: Record<string, string> | undefined;
      if (entry.labels !== undefined) {
        if (!plainMap(entry.labels)) {
          fail(`expect[${i}].labels must map field names to values`);
          return;
        }
        labels = {};
        for (const [k, v] of Object.entries(entry.labels)) labels[k] = String(v);
      }
      if (
        entry.eventCount !== undefined &&
        (typeof entry.eventCount !== 'number' || !Number.isInteger(entry.eventCount))
      ) {
        fail(`expect[${i}].eventCount must be a whole number`);
        return;
      }
      expect.push({
        rule: entry.rule,
        ...(labels ? { labels } : {}),
        ...(typeof entry.eventCount === 'number' ? { eventCount: entry.eventCount } : {}),
      });
    });
  }
  if (!ok || !name) return undefined;
  return { name, events, expect };
}

function describeDetection(d: Detection): string {
  const labels = Object.entries(d.groupLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `"${d.ruleTitle}" {${labels}} (${d.eventCount} events)`;
}

function describeExpectation(e: RuleTestExpectation): string {
  const labels = e.labels
    ? ` {${Object.entries(e.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}}`
    : '';
  return `"${e.rule}"${labels}${e.eventCount === undefined ? '' : ` (${e.eventCount} events)`}`;
}

function matches(expectation: RuleTestExpectation, detection: Detection): boolean {
  if (expectation.rule !== detection.ruleId && expectation.rule !== detection.ruleTitle) return false;
  if (expectation.eventCount !== undefined && expectation.eventCount !== detection.eventCount) return false;
  for (const [field, value] of Object.entries(expectation.labels ?? {})) {
    if (detection.groupLabels[field] !== value) return false;
  }
  return true;
}

/**
 * Run every case of a test file. Each case gets fresh evaluators from `createEvaluators` (no state carries over
 * between cases); its events are parsed as wire events and fed in time order (stable for equal times).
 *
 * A case passes when every expectation is met by at least one detection and every detection of the rules in
 * scope is covered by an expectation: a rule that fires where it should not fails the test.
 *
 * @example
 * const results = runRuleTests(file, () => compileSigma(sources).evaluators);
 * const failed = results.filter((r) => !r.passed);
 */
export function runRuleTests(
  file: RuleTestFile,
  createEvaluators: () => readonly RuleEvaluator[],
  options: RuleTestRunOptions = {},
): RuleTestResult[] {
  return file.cases.map((testCase, caseIndex) => runCase(file.source, testCase, caseIndex, createEvaluators, options));
}

function runCase(
  source: string,
  testCase: RuleTestCase,
  caseIndex: number,
  createEvaluators: () => readonly RuleEvaluator[],
  options: RuleTestRunOptions,
): RuleTestResult {
  const failures: string[] = [];
  const parsed: SecurityEvent[] = [];
  let invalid = 0;
  testCase.events.forEach((wire, i) => {
    const result = parseEvent(wire, {
      // Test events may lie anywhere in time: the future-skew check is for live ingest, not for tests.
      now: Number.MAX_SAFE_INTEGER / 2,
      newId: () => `case${caseIndex + 1}-event${i + 1}`,
    });
    if (result.ok) {
      parsed.push(result.event);
    } else if (++invalid <= MAX_REPORTED_INVALID_EVENTS) {
      failures.push(`event ${i + 1} is invalid: ${result.issues.map((x) => `${x.field}: ${x.message}`).join('; ')}`);
    }
  });
  if (invalid > MAX_REPORTED_INVALID_EVENTS) {
    failures.push(`... and ${invalid - MAX_REPORTED_INVALID_EVENTS} more invalid events`);
  }
  if (failures.length > 0)
    return { source, name: testCase.name, line: testCase.line, passed: false, failures, detections: [] };

  const ordered = parsed.map((event, index) => ({ event, index }));
  ordered.sort((a, b) => a.event.time - b.event.time || a.index - b.index);
  const evaluators = createEvaluators();
  const scoped = new Set(evaluators.filter((e) => options.inScope?.(e) ?? true).map((e) => e.id));
  const detections: Detection[] = [];
  for (const { event } of ordered) {
    for (const evaluator of evaluators) {
      for (const detection of evaluator.process(event)) {
        if (scoped.has(detection.ruleId)) detections.push(detection);
      }
    }
  }
  for (const expectation of testCase.expect) {
    if (!detections.some((d) => matches(expectation, d))) {
      const seen = detections.length === 0 ? 'no detection' : detections.map(describeDetection).join('; ');
      failures.push(`expected ${describeExpectation(expectation)}, got ${seen}`);
    }
  }
  for (const detection of detections) {
    if (!testCase.expect.some((e) => matches(e, detection))) {
      failures.push(`unexpected detection ${describeDetection(detection)}`);
    }
  }
  return { source, name: testCase.name, line: testCase.line, passed: failures.length === 0, failures, detections };
}
