/**
 * The detection rules of a running server: the built-in threshold rule, the built-in Sigma pack and the
 * configured rule directories, compiled into one engine; reloaded on SIGHUP or when a rule file changes, keeping
 * the state of unchanged rules; and the engine's state saved to `<dataDir>/engine-state.json` so a restart does
 * not forget open windows.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
  private watchers: FSWatcher[] = [];
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

  watch(): void {
    for (const dir of this.config.detection.rules.dirs) {
      try {
        const watcher = watch(dir, { recursive: true }, () => this.schedule());
        watcher.on('error', (error) => this.log.warn('rule directory watch failed', { dir, error: error.message }));
        this.watchers.push(watcher);
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
      });
    }, 300);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    await this.running;
  }
}
