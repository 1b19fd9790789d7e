/**
 * The engine: a set of compiled rules fed one event at a time, in event time. Pure and deterministic: the same
 * events in the same order give the same detections, live or in replay.
 */
import type { SecurityEvent } from '@vigil/schema';
import type { Detection, RuleEvaluator } from './types.js';

export class Engine {
  private evaluators: RuleEvaluator[];

  constructor(evaluators: readonly RuleEvaluator[]) {
    this.evaluators = [...evaluators];
  }

  get rules(): readonly RuleEvaluator[] {
    return this.evaluators;
  }

  process(event: SecurityEvent): Detection[] {
    const out: Detection[] = [];
    for (const rule of this.evaluators) {
      const found = rule.process(event);
      for (const d of found) out.push(d);
    }
    return out;
  }

  /** Replace the rule set; evaluators whose id is unchanged and passed again keep their state. */
  replaceRules(evaluators: readonly RuleEvaluator[]): void {
    this.evaluators = [...evaluators];
  }

  stateSizes(): Record<string, number> {
    const sizes: Record<string, number> = {};
    for (const r of this.evaluators) sizes[r.id] = r.stateSize();
    return sizes;
  }
}
