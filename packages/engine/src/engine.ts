/**
 * The engine: a set of compiled rules fed one event at a time, in event time. Pure and deterministic: the same
 * events in the same order give the same detections, live or in replay.
 */
import type { SecurityEvent } from '@vigil/schema';
import type { Detection, RuleEvaluator } from './types.js';

export interface EngineSnapshot {
  readonly format: 1;
  readonly rules: Readonly<Record<string, { readonly version: string; readonly state: unknown }>>;
}

const NONE: readonly Detection[] = Object.freeze([]);

/** Event types whose rule list is remembered; custom types beyond this are filtered per event instead. */
const MAX_CACHED_TYPES = 512;

export class Engine {
  private evaluators: RuleEvaluator[];
  /** Per event type, the rules (in rule order) that can react to it. */
  private byType = new Map<string, RuleEvaluator[]>();

  constructor(evaluators: readonly RuleEvaluator[]) {
    this.evaluators = [...evaluators];
  }

  get rules(): readonly RuleEvaluator[] {
    return this.evaluators;
  }

  process(event: SecurityEvent): readonly Detection[] {
    // Most events produce nothing: no array is made for them.
    let out: Detection[] | undefined;
    for (const rule of this.rulesFor(event.type)) {
      const found = rule.process(event);
      if (found.length === 0) continue;
      out ??= [];
      for (const d of found) out.push(d);
    }
    return out ?? NONE;
  }

  private rulesFor(type: string): readonly RuleEvaluator[] {
    const cached = this.byType.get(type);
    if (cached) return cached;
    const rules = this.evaluators.filter((rule) => rule.eventTypes === undefined || rule.eventTypes.has(type));
    if (this.byType.size < MAX_CACHED_TYPES) this.byType.set(type, rules);
    return rules;
  }

  /**
   * Hot reload: replace the rule set. A rule whose id and version are unchanged keeps its current instance, and so
   * its state (open windows, counts); new and changed rules start empty; removed rules are dropped.
   */
  replaceRules(evaluators: readonly RuleEvaluator[]): { kept: string[]; added: string[]; removed: string[] } {
    const current = new Map(this.evaluators.map((r) => [r.id, r]));
    const kept: string[] = [];
    const added: string[] = [];
    const next = evaluators.map((rule) => {
      const old = current.get(rule.id);
      if (old && old.version !== undefined && old.version === rule.version) {
        kept.push(rule.id);
        return old;
      }
      added.push(rule.id);
      return rule;
    });
    const ids = new Set(evaluators.map((r) => r.id));
    const removed = this.evaluators.filter((r) => !ids.has(r.id)).map((r) => r.id);
    this.evaluators = next;
    this.byType = new Map();
    return { kept, added, removed };
  }

  /** The state of every rule that has some, keyed by rule id, with the version it belongs to. */
  snapshot(): EngineSnapshot {
    const rules: Record<string, { version: string; state: unknown }> = {};
    for (const r of this.evaluators) {
      if (r.snapshot && r.version !== undefined) rules[r.id] = { version: r.version, state: r.snapshot() };
    }
    return { format: 1, rules };
  }

  /**
   * Restore what a snapshot holds for rules of the same id and version; others start empty. A rule whose saved
   * state cannot be read (another release's format) is reported in `failed` and the others are restored all the
   * same: one rule's state must not cost every other rule theirs.
   */
  restore(snapshot: EngineSnapshot): {
    restored: string[];
    skipped: string[];
    failed: { id: string; error: string }[];
  } {
    const restored: string[] = [];
    const skipped: string[] = [];
    const failed: { id: string; error: string }[] = [];
    if (snapshot.format !== 1) return { restored, skipped: Object.keys(snapshot.rules ?? {}), failed };
    for (const r of this.evaluators) {
      const saved = snapshot.rules[r.id];
      if (!saved) continue;
      if (r.restore && saved.version === r.version) {
        try {
          r.restore(saved.state);
          restored.push(r.id);
        } catch (error) {
          failed.push({ id: r.id, error: (error as Error).message });
        }
      } else skipped.push(r.id);
    }
    return { restored, skipped, failed };
  }
}
