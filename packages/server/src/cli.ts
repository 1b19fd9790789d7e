/**
 * The `vigil` command line. Each command is a function taking its arguments and returning an exit code; errors
 * that a user can fix print one clear line, not a stack trace.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { RuleEvaluator } from '@vigil/engine';
import { alertToJson } from './alerts/alert.js';
import { type AnalyzeFormat, analyze, inputsOf } from './analyze/analyze.js';
import { DATABASE_FILE, startVigil } from './app.js';
import { loadConfig, loadOfflineConfig } from './config.js';
import { ConfigError } from './errors.js';
import { ACCESS_LOG_FORMATS } from './ingest/access-log.js';
import { containerLineCountsText, isContainerLogRuntime } from './ingest/container-log.js';
import { containerUsage, ingestCommand, positiveInteger, timeZoneUsage } from './ingest/ingest-command.js';
import { loadMappingFile } from './ingest/mapping-file.js';
import { rulesCommand } from './rules/cli.js';
import { loadRules } from './rules/load.js';
import { SqliteStore } from './store/sqlite.js';
import type { VerifyReport } from './store/store.js';

const USAGE = `vigil — API security logging and monitoring

Usage:
  vigil start                 run ingest, detection, alerting and the API in one process
  vigil analyze FILE... --format FMT [--mapping FILE] [--time-zone ZONE] [--container cri|docker]
                              [--rules DIR] [--json]
                              replay log files through the whole pipeline in event time and print the alerts
  vigil ingest FILE...|- --format FMT [--mapping FILE] [--time-zone ZONE] [--container cri|docker]
                              [--follow] [--endpoint URL] [--state-dir DIR]
                              ship access logs to a Vigil server (with --follow: through rotation and restarts)
  vigil rules lint [DIR...]   validate Sigma rules (default: the built-in pack); errors as file:line
  vigil rules test [DIR...]   run the rule test files (events in, expected alerts)
  vigil rules backtest RULE   run one rule over the stored events and print what it would have raised
  vigil verify                check the event store's hash chain for gaps and tampering
  vigil --help                this text

Configuration: vigil.config.yaml in the working directory (or VIGIL_CONFIG), overridden by
VIGIL_HOST, VIGIL_PORT, VIGIL_DATA_DIR, VIGIL_INGEST_TOKEN, VIGIL_API_TOKEN. See docs/configuration.md.
`;

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, Command> = {
  start: startCommand,
  analyze: analyzeCommand,
  ingest: (args) => ingestCommand(args),
  rules: (args) => rulesCommand(args),
  verify: verifyCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`vigil: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`vigil: ${error.message}\n`);
      return 78; // EX_CONFIG
    }
    throw error;
  }
}

async function startCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write('vigil start — runs the whole system in one process (see docs/configuration.md)\n');
    return 0;
  }
  const config = loadConfig();
  // SIGHUP (`systemctl reload`) reloads the rules. Its handler is in place from before the start to the end of the
  // process: without one, Node.js ends the process on SIGHUP, which during start-up or a graceful stop is a crash (no
  // final flush, no state saved). One that arrives before the server is up reloads once it is.
  let server: Awaited<ReturnType<typeof startVigil>> | undefined;
  let reloadWhenUp = false;
  let stopping = false;
  const reload = () => {
    if (stopping) return;
    if (server) void server.reloadRules();
    else reloadWhenUp = true;
  };
  process.on('SIGHUP', reload);
  try {
    server = await startVigil(config);
  } catch (error) {
    process.off('SIGHUP', reload);
    const { code, syscall, path } = error as NodeJS.ErrnoException;
    const { host, port } = config.server;
    // Named where the value came from: the environment overrides the file.
    const portKey = process.env.VIGIL_PORT ? 'VIGIL_PORT' : 'server.port';
    const hostKey = process.env.VIGIL_HOST ? 'VIGIL_HOST' : 'server.host';
    const dataDirKey = process.env.VIGIL_DATA_DIR ? 'VIGIL_DATA_DIR' : 'dataDir';
    if (code === 'EADDRINUSE') throw new ConfigError(portKey, `port ${port} is already in use`);
    if (code === 'EACCES' && syscall === 'listen')
      throw new ConfigError(portKey, `no permission to listen on port ${port}`);
    if (code === 'EADDRNOTAVAIL') throw new ConfigError(hostKey, `${host} is not an address of this machine`);
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || (code === 'EINVAL' && syscall === 'listen'))
      throw new ConfigError(hostKey, `cannot listen on ${host}: it does not resolve to an address here`);
    // The data directory, or something under it, cannot be made or written.
    if ((code === 'EACCES' || code === 'ENOTDIR' || code === 'EROFS') && path?.startsWith(config.dataDir))
      throw new ConfigError(
        dataDirKey,
        `${config.dataDir}: ${code === 'EROFS' ? 'read-only' : code === 'EACCES' ? 'no permission' : 'a part of the path is a file'} (${path})`,
      );
    throw error;
  }
  if (server.credentials.generatedFile) {
    // Printed once, on the start that generated them; the tokens themselves are never printed or logged.
    const kinds = server.credentials.generatedKinds ?? ['ingest', 'api'];
    const what =
      kinds.length === 2 ? 'an ingest token and an API token' : `an ${kinds[0] === 'api' ? 'API' : 'ingest'} token`;
    process.stdout.write(
      `No tokens were configured, so Vigil generated ${what}.\n` +
        `Read them from ${server.credentials.generatedFile} (readable by this user only).\n`,
    );
  }
  // The stop's handlers are in place before the server says it is up: a supervisor that sends SIGTERM once it reads
  // that line would otherwise find none (the reload below starts with synchronous work) and kill the process.
  const stopRequested = new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  const everywhere = config.server.host === '0.0.0.0' || config.server.host === '::';
  process.stdout.write(
    `Vigil is listening on ${everywhere ? `every interface, port ${new URL(server.url).port} (here: ${server.url})` : server.url}\n`,
  );
  if (server.dashboard) {
    process.stdout.write(`The dashboard is at ${server.url}/ : sign in with an API token.\n`);
  }
  if (reloadWhenUp) void server.reloadRules();
  await stopRequested;
  stopping = true;
  // The SIGHUP handler stays until the process is gone (it holds nothing alive): after the stop, the process still
  // ends its threads and handles, and a SIGHUP then would kill it, with exit status "killed by SIGHUP".
  await server.close();
  return 0;
}

async function verifyCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write('vigil verify [--json] — checks the hash chain of the event store in the data directory\n');
    return 0;
  }
  // Only the data directory is needed, but the file is still checked; receivers' secrets need not be set.
  const config = loadOfflineConfig();
  const file = join(config.dataDir, DATABASE_FILE);
  // Opening a store creates it: a missing one (deleted, or a mistyped data directory) would be reported as an intact
  // chain of 0 events, and an empty store left behind.
  if (!existsSync(file)) {
    const error = `no event store at ${file}: nothing to verify (is VIGIL_DATA_DIR right?)`;
    if (values.json) process.stdout.write(`${JSON.stringify({ ok: false, checked: 0, problems: [], error })}\n`);
    else process.stderr.write(`vigil verify: ${error}\n`);
    return 1;
  }
  const store = new SqliteStore({ file });
  try {
    const report = await store.verify();
    if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else if (report.ok) process.stdout.write(`ok: ${report.checked} events, hash chain intact\n`);
    else {
      process.stdout.write(`TAMPERED: ${report.problems.length} problem(s) in ${report.checked} events\n`);
      for (const p of report.problems) process.stdout.write(`  at seq ${p.seq}: ${p.problem}\n`);
    }
    if (report.retention && !values.json) process.stdout.write(`${retentionLine(report.retention)}\n`);
    return report.ok ? 0 : 1;
  } finally {
    await store.close();
  }
}

/** What `verify` says about the rows retention deleted: information, not a problem. */
function retentionLine(cut: NonNullable<VerifyReport['retention']>): string {
  return (
    `retention: events 1..${cut.deletedThroughSeq} (stamped before ${cut.cutoff}) were deleted by retention ` +
    `(latest run ${cut.deletedAt}); the chain is checked from seq ${cut.deletedThroughSeq + 1}`
  );
}

const ANALYZE_FORMATS: readonly string[] = [...ACCESS_LOG_FORMATS, 'otlp'];
const ANALYZE_USAGE = `vigil analyze FILE... --format FORMAT [--mapping FILE] [--time-zone ZONE] [--container cri|docker]
                     [--rules DIR] [--json] [--show-bad N]

Replays files (or - for standard input) through the full pipeline, in event time, and prints the alerts the live
server would have raised from the same events. Bad lines are reported on stderr with their line numbers and never
stop the run. A file that cannot be read is reported and skipped; the others are analyzed, and the exit code is 1.

  --format FORMAT   ${ANALYZE_FORMATS.join(', ')} (default combined)
  --mapping FILE    with --format json: the field mapping of your JSON log (YAML or JSON; see docs/access-logs.md)
  --time-zone ZONE  with --format haproxy: the time zone of the HAProxy host, whose log times have no offset
                    (UTC, an offset such as +01:00, or an IANA name such as Europe/Paris; default UTC)
  --container RT    the access log is a container log file, each line wrapped by its runtime: cri (Kubernetes:
                    containerd, CRI-O, /var/log/containers/*.log) or docker (Docker's json-file driver); the
                    pieces of long lines are joined, stderr lines (the server's error log) are skipped;
                    both are counted in the summary
  --rules DIR       extra Sigma rules to load (repeatable)
  --json            print alerts as NDJSON (one alert JSON per line)
  --show-bad N      how many bad lines to print (default 20; all are counted)
`;

function parseAnalyzeArgs(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      format: { type: 'string', default: 'combined' },
      mapping: { type: 'string' },
      'time-zone': { type: 'string' },
      container: { type: 'string' },
      rules: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      'show-bad': { type: 'string', default: '20' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

async function analyzeCommand(args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseAnalyzeArgs>;
  try {
    parsed = parseAnalyzeArgs(args);
  } catch (error) {
    // An unknown option or one without its value is bad usage, like in `vigil ingest`.
    process.stderr.write(`vigil analyze: ${(error as Error).message}\n\n${ANALYZE_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(ANALYZE_USAGE);
    return 0;
  }
  if (positionals.length === 0) {
    process.stderr.write(`vigil analyze: name at least one file (or - for stdin)\n\n${ANALYZE_USAGE}`);
    return 2;
  }
  const format = values.format!;
  if (!ANALYZE_FORMATS.includes(format)) {
    process.stderr.write(`vigil analyze: unknown --format "${format}"; one of ${ANALYZE_FORMATS.join(', ')}\n`);
    return 2;
  }
  if (values.mapping !== undefined && format !== 'json') {
    process.stderr.write(`vigil analyze: --mapping applies to --format json only\n\n${ANALYZE_USAGE}`);
    return 2;
  }
  const timeZone = values['time-zone'];
  const timeZoneProblem = timeZoneUsage(format, timeZone);
  if (timeZoneProblem !== undefined) {
    process.stderr.write(`vigil analyze: ${timeZoneProblem}\n\n${ANALYZE_USAGE}`);
    return 2;
  }
  const container = values.container;
  const containerProblem = containerUsage(format, container);
  if (containerProblem !== undefined) {
    process.stderr.write(`vigil analyze: ${containerProblem}\n\n${ANALYZE_USAGE}`);
    return 2;
  }
  const showBad = positiveInteger(values['show-bad'], 0);
  if (showBad === undefined) {
    process.stderr.write(
      `vigil analyze: --show-bad takes a whole number, got "${values['show-bad']}"\n\n${ANALYZE_USAGE}`,
    );
    return 2;
  }
  // A replay sends no notification: the receivers' secrets need not be set.
  const config = loadOfflineConfig(process.env);
  const mapping = values.mapping === undefined ? undefined : loadMappingFile(values.mapping);
  let badShown = 0;
  const result = await analyze(inputsOf(positionals), {
    config,
    format: format as AnalyzeFormat,
    ...(mapping ? { mapping } : {}),
    ...(timeZone !== undefined ? { timeZone } : {}),
    ...(container !== undefined && isContainerLogRuntime(container) ? { container } : {}),
    extraRules: await rulesFrom(values.rules ?? []),
    onBadLine: (bad) => {
      if (badShown++ < showBad) process.stderr.write(`${bad.file}:${bad.lineNumber}: ${bad.reason}\n`);
    },
    onUnreadableInput: (input) => {
      const after = input.linesRead > 0 ? ` after line ${input.linesRead}` : '';
      process.stderr.write(`vigil analyze: ${input.file}: cannot be read${after} (${input.reason})\n`);
    },
  });
  for (const alert of result.alerts) {
    const json = alertToJson(alert);
    if (values.json) process.stdout.write(`${JSON.stringify(json)}\n`);
    else {
      process.stdout.write(
        `${json.severity.padEnd(8)} ${json.startsAt}  ${json.rule.id}  ${json.summary}  [${json.eventCount} events]\n`,
      );
    }
  }
  const hidden = result.badLines > showBad ? ` (first ${showBad} shown)` : '';
  const unreadable = result.unreadableInputs > 0 ? `, ${result.unreadableInputs} unreadable files` : '';
  process.stderr.write(
    `analyzed ${result.lines} lines: ${result.events} events, ${result.badLines} bad lines${hidden}` +
      `${containerLineCountsText(result.container)}, ` +
      `${result.alerts.length} alerts${unreadable}\n`,
  );
  return result.unreadableInputs > 0 ? 1 : 0;
}

/** Compile the Sigma rules in the given directories; a rule error stops the command with file and line. */
async function rulesFrom(dirs: readonly string[]): Promise<RuleEvaluator[]> {
  const missing = dirs.find((dir) => !existsSync(dir));
  if (missing !== undefined) throw new ConfigError('--rules', `not found: ${missing}`);
  if (dirs.length === 0) return [];
  const { evaluators, errors } = await loadRules(dirs);
  if (errors.length > 0) {
    for (const e of errors) process.stderr.write(`${e.source}:${e.line ?? 0}: ${e.message}\n`);
    throw new ConfigError('--rules', `${errors.length} rule error(s); see above (vigil rules lint)`);
  }
  return evaluators;
}
