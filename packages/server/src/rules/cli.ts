/**
 * `vigil rules lint|test|backtest`: validate rule files, run their tests, and replay stored events through one
 * rule. Each subcommand returns an exit code: 0 when all is well, 1 when a rule or a test has a problem, 2 for a
 * usage error.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  BRUTE_FORCE_RULE_ID,
  builtinRulesDir,
  compileSigma,
  type Detection,
  parseRuleTests,
  type RuleTestFile,
  type RuleTestResult,
  runRuleTests,
  type SigmaEvaluator,
  type SigmaSource,
} from '@vigil/engine';
import { parseTime, type SecurityEvent } from '@vigil/schema';
import { DATABASE_FILE } from '../app.js';
import { loadOfflineConfig } from '../config.js';
import { SqliteStore } from '../store/sqlite.js';
import { loadRuleSources } from './load.js';

const USAGE = `vigil rules — Sigma rule tooling

Usage:
  vigil rules lint [DIR...]        compile every rule file; print problems as file:line: code: message
  vigil rules test [DIR...]        run the rule tests in DIR/tests/*.test.yaml
  vigil rules backtest RULE_ID [--from T] [--to T] [--data-dir D] [--rules DIR]... [--limit N] [--json]
                                   run one rule over the stored events and print what it would have raised

DIR defaults to the built-in rule pack. T is RFC 3339, epoch milliseconds, or an age such as 24h or 7d.
See docs/rules.md.
`;

/** Most events a backtest reads, unless --limit says otherwise. */
export const BACKTEST_DEFAULT_LIMIT = 1_000_000;
const BACKTEST_PAGE_SIZE = 5000;

export interface RulesCommandIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Wall clock, for ages such as `--from 24h`. */
  readonly now: () => number;
}

const processIo: RulesCommandIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  now: Date.now,
};

/**
 * Entry point of `vigil rules ...`: `args` are the words after `rules`.
 *
 * @example
 * process.exitCode = await rulesCommand(['lint', './my-rules']);
 */
export async function rulesCommand(args: string[], io: RulesCommandIo = processIo): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'lint':
      return lintCommand(rest, io);
    case 'test':
      return testCommand(rest, io);
    case 'backtest':
      return backtestCommand(rest, io);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.out(USAGE);
      return sub === undefined ? 2 : 0;
    default:
      io.err(`vigil rules: unknown subcommand "${sub}"\n\n${USAGE}`);
      return 2;
  }
}

/** A path as the user reads it best: relative to the working directory when it is inside it. */
function display(path: string): string {
  const shown = relative(process.cwd(), path);
  return shown === '' || shown.startsWith('..') ? path : shown;
}

function dirsOrBuiltin(positionals: readonly string[]): string[] {
  return positionals.length > 0 ? [...positionals] : [builtinRulesDir()];
}

function missingDirs(dirs: readonly string[], io: RulesCommandIo): boolean {
  const missing = dirs.filter((d) => !existsSync(d));
  for (const d of missing) io.err(`vigil rules: ${d}: no such file or directory\n`);
  return missing.length > 0;
}

async function lintCommand(args: string[], io: RulesCommandIo): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    io.out('vigil rules lint [DIR...] — compile every rule file under DIR (default: the built-in pack)\n');
    return 0;
  }
  const dirs = dirsOrBuiltin(positionals);
  if (missingDirs(dirs, io)) return 2;
  const sources = await loadRuleSources(dirs);
  if (sources.length === 0) {
    io.err(`vigil rules lint: no rule files (*.yml, *.yaml) under ${dirs.join(', ')}\n`);
    return 1;
  }
  const { evaluators, errors } = compileSigma(sources);
  // Test files are part of a rule pack: a broken one is a lint error too.
  const testProblems = [];
  for (const file of await findTestFiles(dirs)) {
    testProblems.push(...parseRuleTests(await readFile(file, 'utf8'), file).errors);
  }
  const problems = [
    ...errors.map((e) => ({ source: e.source, line: e.line, text: `${e.code}: ${e.message}` })),
    ...testProblems.map((p) => ({ source: p.source, line: p.line, text: `test: ${p.message}` })),
  ].sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : a.line - b.line));
  for (const p of problems) io.out(`${display(p.source)}:${p.line}: ${p.text}\n`);
  const summary = `${sources.length} files, ${evaluators.length} rules compiled, ${problems.length} problems`;
  (problems.length > 0 ? io.err : io.out)(`${summary}\n`);
  return problems.length > 0 ? 1 : 0;
}

/** `*.test.yaml` / `*.test.yml` files in every `tests/` folder under `dirs`, sorted. */
export async function findTestFiles(dirs: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string, inTests: boolean): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw error;
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const full = join(dir, entry.name);
      if (entry.isDirectory() && !entry.name.startsWith('.')) await walk(full, inTests || entry.name === 'tests');
      else if (inTests && entry.isFile() && /\.test\.ya?ml$/i.test(entry.name)) found.push(full);
    }
  };
  for (const dir of dirs) await walk(dir, false);
  return found;
}

/**
 * The rule file a test file tests: its `rules:` entry (relative to the test file), else the file with the same
 * stem one level above the `tests/` folder (`.yml` or `.yaml`).
 */
export function ruleFileFor(testFile: string, declared: string | undefined): string | undefined {
  if (declared !== undefined) return resolve(dirname(testFile), declared);
  const stem = basename(testFile).replace(/\.test\.ya?ml$/i, '');
  const parent = dirname(dirname(testFile));
  for (const extension of ['.yml', '.yaml']) {
    const candidate = resolve(parent, stem + extension);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

export interface RuleTestRun {
  readonly results: RuleTestResult[];
  /** Problems that stop tests from running: unreadable test files, rule compile errors, missing rule files. */
  readonly problems: { source: string; line: number; message: string }[];
}

/**
 * Run every rule test under `dirs` against the rules under `dirs`. Each case compiles the rules afresh, so no
 * state leaks between cases; only detections of the rule file under test count.
 */
export async function runRuleTestDirs(dirs: readonly string[]): Promise<RuleTestRun> {
  const sources: SigmaSource[] = (await loadRuleSources(dirs)).map((s) => ({ ...s, source: resolve(s.source) }));
  const problems: RuleTestRun['problems'] = compileSigma(sources).errors.map((e) => ({
    source: e.source,
    line: e.line,
    message: `${e.code}: ${e.message}`,
  }));
  const results: RuleTestResult[] = [];
  for (const testFile of await findTestFiles(dirs)) {
    const { file, errors } = parseRuleTests(await readFile(testFile, 'utf8'), testFile);
    problems.push(...errors);
    if (!file) continue;
    const ruleFile = ruleFileFor(testFile, file.rules);
    if (!ruleFile || !sources.some((s) => s.source === ruleFile)) {
      problems.push({
        source: testFile,
        line: 1,
        message: `no rule file for this test: add \`rules: ../<file>.yml\` or name it after its rule file`,
      });
      continue;
    }
    results.push(...runTestFile(file, sources, ruleFile));
  }
  return { results, problems };
}

function runTestFile(file: RuleTestFile, sources: readonly SigmaSource[], ruleFile: string): RuleTestResult[] {
  return runRuleTests(file, () => compileSigma(sources).evaluators, {
    inScope: (evaluator) => (evaluator as SigmaEvaluator).source === ruleFile,
  });
}

async function testCommand(args: string[], io: RulesCommandIo): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    io.out('vigil rules test [DIR...] — run DIR/tests/*.test.yaml against the rules in DIR (default: built-in)\n');
    return 0;
  }
  const dirs = dirsOrBuiltin(positionals);
  if (missingDirs(dirs, io)) return 2;
  const { results, problems } = await runRuleTestDirs(dirs);
  for (const p of problems) io.err(`${display(p.source)}:${p.line}: ${p.message}\n`);
  for (const r of results) {
    io.out(`${r.passed ? 'pass' : 'FAIL'}  ${display(r.source)}:${r.line}  ${r.name}\n`);
    for (const failure of r.failures) io.out(`        ${failure}\n`);
  }
  const failed = results.filter((r) => !r.passed).length;
  io.out(
    `${results.length - failed} passed, ${failed} failed${problems.length ? `, ${problems.length} problems` : ''}\n`,
  );
  if (results.length === 0 && problems.length === 0) {
    io.err(`vigil rules test: no test files (tests/*.test.yaml) under ${dirs.join(', ')}\n`);
    return 1;
  }
  return failed > 0 || problems.length > 0 ? 1 : 0;
}

const AGE = /^(\d+)(s|m|h|d)$/;
const AGE_MILLIS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--from` / `--to`: RFC 3339, epoch milliseconds, or an age before now (`24h`, `7d`). */
export function parseTimeArgument(text: string, now: number): number | undefined {
  const age = AGE.exec(text);
  if (age) return now - Number(age[1]) * AGE_MILLIS[age[2]!]!;
  return parseTime(/^\d+$/.test(text) ? Number(text) : text);
}

async function backtestCommand(args: string[], io: RulesCommandIo): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      'data-dir': { type: 'string' },
      rules: { type: 'string', multiple: true },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.out(
      'vigil rules backtest RULE_ID [--from T] [--to T] [--data-dir D] [--rules DIR]... [--limit N] [--json]\n' +
        '  replays the stored events (oldest first) through one rule and prints its detections\n',
    );
    return 0;
  }
  const [ruleId, ...extra] = positionals;
  if (!ruleId || extra.length > 0) {
    io.err('vigil rules backtest: give exactly one RULE_ID (the id, name or title of the rule)\n');
    return 2;
  }
  const now = io.now();
  const range: { from?: number; to?: number } = {};
  for (const key of ['from', 'to'] as const) {
    const text = values[key];
    if (text === undefined) continue;
    const time = parseTimeArgument(text, now);
    if (time === undefined) {
      io.err(`vigil rules backtest: --${key} must be RFC 3339, epoch milliseconds or an age (24h), got "${text}"\n`);
      return 2;
    }
    range[key] = time;
  }
  const limit = values.limit === undefined ? BACKTEST_DEFAULT_LIMIT : Number(values.limit);
  if (!Number.isSafeInteger(limit) || limit < 1) {
    io.err('vigil rules backtest: --limit must be a whole number >= 1\n');
    return 2;
  }
  const dirs = values.rules && values.rules.length > 0 ? values.rules : [builtinRulesDir()];
  if (missingDirs(dirs, io)) return 2;
  const sources = await loadRuleSources(dirs);
  const { evaluators, errors } = compileSigma(sources);
  for (const e of errors) io.err(`${e.source}:${e.line}: ${e.code}: ${e.message}\n`);
  const rule = evaluators.find((e) => e.id === ruleId) ?? evaluators.find((e) => e.title === ruleId);
  if (!rule) {
    io.err(
      ruleId === BRUTE_FORCE_RULE_ID
        ? `vigil rules backtest: "${ruleId}" is the built-in brute-force rule, written in code and set by ` +
            'detection.bruteForce (docs/rules.md), not a Sigma rule; backtest the Sigma rules beside it, or replay ' +
            'events with vigil analyze\n'
        : `vigil rules backtest: no rule "${ruleId}" that raises detections of its own in ${dirs.join(', ')} ` +
            '(a rule used only inside a correlation is backtested through that correlation)\n',
    );
    return 2;
  }

  // A backtest sends nothing: the receivers' secrets need not be set.
  const dataDir = values['data-dir'] ?? loadOfflineConfig().dataDir;
  const file = join(dataDir, DATABASE_FILE);
  if (!existsSync(file)) {
    io.err(`vigil rules backtest: no event store at ${file} (set --data-dir)\n`);
    return 2;
  }
  const store = new SqliteStore({ file });
  let events: SecurityEvent[];
  let truncated: boolean;
  try {
    ({ events, truncated } = await readEvents(store, range, limit));
  } finally {
    await store.close();
  }
  if (truncated) {
    io.err(`vigil rules backtest: more than ${limit} events in range; only the newest ${limit} were replayed\n`);
  }
  const detections: Detection[] = [];
  for (const event of events) detections.push(...rule.process(event));
  for (const d of detections) {
    if (values.json) {
      io.out(`${JSON.stringify(d)}\n`);
      continue;
    }
    const labels = Object.entries(d.groupLabels)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    io.out(`${new Date(d.firstTime).toISOString()}  ${d.severity.padEnd(8)}  ${labels}  ${d.summary}\n`);
  }
  io.err(`${rule.title}: ${detections.length} detections over ${events.length} events\n`);
  return 0;
}

/**
 * Read the events in range from the store, oldest first. The store pages newest first; the pages are collected
 * and reversed, stopping at `limit` events (then the newest `limit` are kept).
 */
async function readEvents(
  store: SqliteStore,
  range: { from?: number; to?: number },
  limit: number,
): Promise<{ events: SecurityEvent[]; truncated: boolean }> {
  const newestFirst: SecurityEvent[] = [];
  let cursor: string | undefined;
  let truncated = false;
  for (;;) {
    const page = await store.queryEvents({
      ...range,
      limit: Math.min(BACKTEST_PAGE_SIZE, limit - newestFirst.length + 1),
      ...(cursor ? { cursor } : {}),
    });
    newestFirst.push(...page.items);
    if (newestFirst.length > limit) {
      newestFirst.length = limit;
      truncated = true;
      break;
    }
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  const events = newestFirst.reverse();
  // Stored order is (time, seq) descending, so reversed it is event-time order, ties in arrival order.
  return { events, truncated };
}
