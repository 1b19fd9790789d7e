/**
 * The detection rules of a running server: the built-in threshold rule, the built-in Sigma pack and the
 * configured rule directories, compiled into one engine; reloaded on SIGHUP or when a rule file changes, keeping
 * the state of unchanged rules; and the engine's state saved to `<dataDir>/engine-state.json` so a restart does
 * not forget open windows.
 */
import { type Dirent, type FSWatcher, readdirSync, realpathSync, statSync, watch } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  bruteForceRule,
  builtinRulesDir,
  createBehaviourDetector,
  Engine,
  type EngineSnapshot,
  type RuleEvaluator,
  type SigmaError,
} from '@vigil/engine';
import { type CanonicalEvent, parseEvent, type SecurityEvent } from '@vigil/schema';
import type { VigilConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import { loadRules } from '../rules/load.js';
import type { Store } from '../store/store.js';

export const ENGINE_STATE_FILE = 'engine-state.json';

/** The directories whose Sigma rules are loaded for this configuration. */
export function ruleDirs(config: VigilConfig): string[] {
  return [...(config.detection.rules.builtin ? [builtinRulesDir()] : []), ...config.detection.rules.dirs];
}

/** Compile every rule of the configuration (plus `extra`). Throws a ConfigError listing rule errors. */
export async function compileRules(
  config: VigilConfig,
  extra: readonly RuleEvaluator[] = [],
): Promise<RuleEvaluator[]> {
  const { evaluators, errors } = await loadRules(ruleDirs(config), {
    maxGroupKeys: config.detection.maxKeysPerRule,
    maxEvidenceIds: config.alerting.maxEvidence,
  });
  if (errors.length > 0) throw new ConfigError('detection.rules', describeErrors(errors));
  const { baselines } = config.detection;
  return [
    bruteForceRule({ ...config.detection.bruteForce, maxKeys: config.detection.maxKeysPerRule }),
    ...evaluators,
    ...(baselines.enabled
      ? [
          createBehaviourDetector({
            learningMillis: baselines.learningMillis,
            peerGroupFields: baselines.peerGroupFields,
            ...(baselines.timeZone !== undefined ? { timeZone: baselines.timeZone } : {}),
            maxEvidence: config.alerting.maxEvidence,
          }),
        ]
      : []),
    ...extra,
  ];
}

function describeErrors(errors: readonly SigmaError[]): string {
  const shown = errors.slice(0, 5).map((e) => `${e.source}:${e.line ?? 0}: ${e.message}`);
  const more = errors.length > 5 ? ` (and ${errors.length - 5} more; run vigil rules lint)` : '';
  return `${errors.length} rule error(s): ${shown.join('; ')}${more}`;
}

export async function createEngine(config: VigilConfig, extra: readonly RuleEvaluator[] = []): Promise<Engine> {
  return new Engine(await compileRules(config, extra));
}

/**
 * What a restart needs: the engine's state, the events stored but still held for ordering, and the store's
 * sequence number at that moment. Every stored event is then either in the engine's state, among the held ones,
 * or stored after `lastSequence` — which the restart replays. The held events are all stored, so only their ids
 * are saved (at 10,000 events per second half a second of them is thousands of events, most of a snapshot).
 */
export interface SavedState {
  readonly savedAt: string;
  readonly lastSequence: number;
  readonly pendingIds?: readonly string[];
  /** Written by earlier versions: the held events themselves. */
  readonly pending?: readonly CanonicalEvent[];
  readonly engine: EngineSnapshot;
}

/**
 * Capture the detection state. Synchronous on purpose: between the engine's snapshot, the held events and the
 * sequence number no event may be stored or detected.
 */
export function captureEngineState(
  engine: Engine,
  pending: readonly SecurityEvent[],
  lastSequence: number,
): SavedState {
  return {
    savedAt: new Date().toISOString(),
    lastSequence,
    pendingIds: pending.map((e) => e.id),
    engine: engine.snapshot(),
  };
}

/** Write a captured detection state atomically (temporary file, then rename). */
export async function saveEngineState(dataDir: string, state: SavedState): Promise<void> {
  const file = join(dataDir, ENGINE_STATE_FILE);
  await writeFile(`${file}.tmp`, JSON.stringify(state), { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

/** Restore saved state into the engine; returns what must be replayed to catch up, if any state was there. */
export async function loadEngineState(
  dataDir: string,
  engine: Engine,
  log: Logger,
  store: Pick<Store, 'getEvent'>,
): Promise<{ lastSequence?: number; pending: SecurityEvent[]; restored: number }> {
  let text: string;
  try {
    text = await readFile(join(dataDir, ENGINE_STATE_FILE), 'utf8');
  } catch {
    return { pending: [], restored: 0 };
  }
  try {
    const state = JSON.parse(text) as SavedState;
    const { restored, skipped, failed } = engine.restore(state.engine);
    if (skipped.length > 0) log.info('rules changed since the last run start with empty state', { rules: skipped });
    for (const f of failed) log.warn('saved state of a rule could not be read; that rule starts empty', f);
    const pending: SecurityEvent[] = [];
    for (const e of state.pending ?? []) {
      const parsed = parseEvent(e, { maxFutureSkewMillis: Number.MAX_SAFE_INTEGER });
      if (parsed.ok) pending.push(parsed.event);
    }
    let missing = 0;
    for (const id of state.pendingIds ?? []) {
      const event = await store.getEvent(id);
      if (event) pending.push(event);
      else missing++;
    }
    if (missing > 0) log.warn('events held for ordering at the last snapshot are not in the store', { missing });
    return { lastSequence: state.lastSequence, pending, restored: restored.length };
  } catch (error) {
    log.warn('detection state could not be read; starting empty', { error: (error as Error).message });
    return { pending: [], restored: 0 };
  }
}

/** Reload rules on demand and when rule files change; a broken rule set is logged and the old one kept. */
export class RuleReloader {
  private readonly watchers = new Map<string, FSWatcher>();
  private watching = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly config: VigilConfig,
    private readonly engine: Engine,
    private readonly log: Logger,
  ) {}

  async reload(): Promise<{ kept: string[]; added: string[]; removed: string[] } | undefined> {
    try {
      const result = this.engine.replaceRules(await compileRules(this.config));
      this.log.info('rules reloaded', {
        kept: result.kept.length,
        added: result.added,
        removed: result.removed,
      });
      return result;
    } catch (error) {
      this.log.error('rule reload failed; the previous rules stay active', { error: (error as Error).message });
      return undefined;
    }
  }

  /**
   * Watch every rule directory, and the directory of every single rule file, each on its own. Node's recursive watch
   * follows files: after one save that replaces the file (an editor's write-and-rename, `sed -i`, a config tool)
   * it saw no later save, and said nothing. A directory's own watch sees every name it holds come and go. The set of
   * directories is walked again after each reload, so new subdirectories are watched too.
   */
  watch(): void {
    this.watching = true;
    this.rewatch();
  }

  private rewatch(): void {
    if (!this.watching) return;
    const wanted = new Map<string, string | undefined>(); // directory → the one file name that matters, if any
    for (const path of this.config.detection.rules.dirs) {
      let directory: boolean;
      try {
        directory = statSync(path).isDirectory();
      } catch (error) {
        this.log.warn('cannot watch rule path', { path, error: (error as Error).message });
        continue;
      }
      if (directory) for (const dir of directoriesUnder(path)) wanted.set(dir, undefined);
      else if (!wanted.has(dirname(path)) || wanted.get(dirname(path)) !== undefined) {
        wanted.set(dirname(path), basename(path));
      }
    }
    for (const [dir, watcher] of this.watchers) {
      if (wanted.has(dir)) continue;
      watcher.close();
      this.watchers.delete(dir);
    }
    for (const [dir, only] of wanted) {
      if (this.watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, (_event, name) => {
          if (only === undefined || name === null || name === only) this.schedule();
        });
        watcher.on('error', (error) => this.log.warn('rule directory watch failed', { dir, error: error.message }));
        this.watchers.set(dir, watcher);
      } catch (error) {
        this.log.warn('cannot watch rule directory', { dir, error: (error as Error).message });
      }
    }
  }

  /** Coalesce bursts of file events (an editor writes several times) into one reload. */
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = (this.running ?? Promise.resolve()).then(async () => {
        await this.reload();
        this.rewatch();
      });
    }, 300);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.watching = false;
    if (this.timer) clearTimeout(this.timer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    await this.running;
  }
}

/** `root` and the directories below it (symbolic links followed, each real directory once; hidden ones left out). */
function directoriesUnder(root: string, seen = new Set<string>()): string[] {
  let real: string;
  try {
    real = realpathSync(root);
  } catch {
    return [];
  }
  if (seen.has(real)) return [];
  seen.add(real);
  const out = [root];
  let entries: Dirent[];
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const full = join(root, entry.name);
    const isDirectory =
      entry.isDirectory() || (entry.isSymbolicLink() && statSync(full, { throwIfNoEntry: false })?.isDirectory());
    if (isDirectory) out.push(...directoriesUnder(full, seen));
  }
  return out;
}
