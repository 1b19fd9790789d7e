/**
 * The contracts of the detection engine. The engine is pure: events in (in event time), detections out,
 * no I/O. Every rule kind (threshold rules, Sigma rules and correlations, baselines) is a RuleEvaluator.
 */
import type { SecurityEvent } from '@vigil/schema';

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';

export const SEVERITIES: readonly Severity[] = ['info', 'low', 'medium', 'high', 'critical'];

/**
 * Evidence ids a state snapshot keeps per group or window (the newest). Counts and times are kept whole; the ids
 * were most of a snapshot's size (a rate rule holds hundreds per group), and writing a snapshot stops the server.
 * A detection made after a restart lists these and the ids seen since.
 */
export const SNAPSHOT_EVIDENCE_IDS = 20;

/** One firing of a rule for one group (e.g. one client address): what the engine hands to alerting. */
export interface Detection {
  readonly ruleId: string;
  readonly ruleTitle: string;
  readonly severity: Severity;
  /** The values the rule groups by, under their field names (`client.address`, `user.id`...). */
  readonly groupLabels: Readonly<Record<string, string>>;
  /** Ids of the events that prove it, oldest first (capped by the rule). */
  readonly eventIds: readonly string[];
  /** Event time of the first and the latest evidence, epoch ms. */
  readonly firstTime: number;
  readonly lastTime: number;
  readonly eventCount: number;
  /** One human sentence. */
  readonly summary: string;
  readonly tags: readonly string[];
}

/** A compiled rule. `process` is called for every event in event-time order and must be deterministic. */
export interface RuleEvaluator {
  readonly id: string;
  readonly title: string;
  process(event: SecurityEvent): readonly Detection[];
  /**
   * The event types the rule can react to; undefined for every type. The engine does not call `process` for
   * events of other types, so a rule that declares types must be unaffected by them (housekeeping may wait).
   */
  readonly eventTypes?: ReadonlySet<string>;
  /** Number of keys this rule currently holds state for (for memory accounting). */
  stateSize(): number;
  /** Keys dropped so far because of the rule's memory bound. */
  evictionCount?(): number;
  /**
   * Identity of the rule's definition: equal versions behave the same. A reload keeps the state of rules whose id
   * and version are unchanged; a snapshot is restored only into a rule of the same version.
   */
  readonly version?: string;
  /** The rule's state as plain JSON data, for a snapshot. */
  snapshot?(): unknown;
  /** Load state taken by `snapshot` from a rule of the same version. */
  restore?(state: unknown): void;
}
