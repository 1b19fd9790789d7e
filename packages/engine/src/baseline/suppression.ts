/**
 * False-positive suppression: an analyst marks an alert as a false positive, which silences that detector for
 * that entity until an event time, recorded with who and why. A suppressed detection is counted, not returned,
 * and the window it came from is learned as normal: the baseline adapts to what the analyst called benign.
 */
import type { Detection } from '../types.js';
import { DETECTOR_NAMES, type DetectorName, ruleIdOf } from './options.js';

export interface Suppression {
  /** Labels that must all match the detection's group labels, e.g. `{ 'user.id': '4711' }`. */
  readonly entity: Readonly<Record<string, string>>;
  /** Rule id (`vigil-baseline-object-enumeration`), or `*` for every behaviour detector. */
  readonly ruleId: string;
  /** Event time (epoch ms) until which it holds. */
  readonly untilEventTime: number;
  readonly by: string;
  readonly reason: string;
  /** Event time at which it was recorded (the newest event time seen then). */
  readonly createdAtEventTime: number;
}

/** Accepts a detector name (`object-enumeration`), its rule id, or `*`. */
export function normaliseRuleId(detector: string): string {
  if (detector === '*') return '*';
  if ((DETECTOR_NAMES as readonly string[]).includes(detector)) return ruleIdOf(detector as DetectorName);
  if (DETECTOR_NAMES.some((n) => ruleIdOf(n) === detector)) return detector;
  throw new RangeError(`unknown behaviour detector "${detector}": use one of ${DETECTOR_NAMES.join(', ')} or *`);
}

export class SuppressionList {
  /** Detections not returned because of a suppression. */
  suppressed = 0;
  private items: Suppression[] = [];

  constructor(private readonly maxItems: number) {}

  add(s: Suppression): void {
    if (Object.keys(s.entity).length === 0) throw new RangeError('a suppression needs at least one entity label');
    this.items = this.items.filter(
      (x) => !(x.ruleId === s.ruleId && JSON.stringify(sorted(x.entity)) === JSON.stringify(sorted(s.entity))),
    );
    this.items.push(s);
    // Bounded: the one expiring first goes.
    if (this.items.length > this.maxItems) {
      this.items.sort((a, b) => a.untilEventTime - b.untilEventTime);
      this.items.shift();
    }
  }

  remove(entity: Readonly<Record<string, string>>, ruleId: string): boolean {
    const before = this.items.length;
    const key = JSON.stringify(sorted(entity));
    this.items = this.items.filter((x) => !(x.ruleId === ruleId && JSON.stringify(sorted(x.entity)) === key));
    return this.items.length < before;
  }

  matches(d: Detection, eventTime: number): Suppression | undefined {
    for (const s of this.items) {
      if (s.untilEventTime <= eventTime) continue;
      if (s.ruleId !== '*' && s.ruleId !== d.ruleId) continue;
      if (Object.entries(s.entity).every(([k, v]) => d.groupLabels[k] === v)) return s;
    }
    return undefined;
  }

  /** Drop what has expired by `eventTime`. */
  prune(eventTime: number): void {
    if (this.items.some((s) => s.untilEventTime <= eventTime)) {
      this.items = this.items.filter((s) => s.untilEventTime > eventTime);
    }
  }

  list(): readonly Suppression[] {
    return this.items;
  }

  toJSON(): { items: Suppression[]; suppressed: number } {
    return { items: [...this.items], suppressed: this.suppressed };
  }

  /** Held to the bound like `add`: the ones expiring last are kept. */
  restore(s: { items: Suppression[]; suppressed: number }): void {
    const items = s.items.map((x) => ({ ...x, entity: { ...x.entity } }));
    if (items.length > this.maxItems) items.sort((a, b) => a.untilEventTime - b.untilEventTime);
    this.items = items.slice(-this.maxItems);
    this.suppressed = s.suppressed;
  }
}

function sorted(entity: Readonly<Record<string, string>>): [string, string][] {
  return Object.entries(entity).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
