/**
 * The contract of an enrichment stage: one event in, one event out, nothing mutated. The pipeline composes stages
 * in a fixed order, so a stage may rely on what an earlier one added (route templating after address
 * normalisation, for instance) but never on being called in any other way.
 */
import type { FieldValue, SecurityEvent } from '@vigil/schema';

export interface EnrichmentStage {
  /** Short kebab-case name, used in metrics and logs (`route-template`, `user-agent`...). */
  readonly name: string;
  /**
   * Return the event with the stage's attributes added. The input is never mutated; when the stage has nothing
   * to add it returns the input itself, so unchanged events cost no allocation.
   */
  apply(event: SecurityEvent): SecurityEvent;
  /**
   * Load what the stage needs ahead of traffic. The server calls it before it listens, so no request pays for
   * it (a replay need not: its first event may).
   */
  warmUp?(): void;
}

/**
 * A copy of `event` with `added` merged over its attributes.
 *
 * @example
 * withAttributes(event, { 'http.route': '/users/{id}' });
 */
export function withAttributes(event: SecurityEvent, added: Readonly<Record<string, FieldValue>>): SecurityEvent {
  return { ...event, attributes: { ...event.attributes, ...added } };
}

/** Run `stages` in order over one event. */
export function applyStages(stages: readonly EnrichmentStage[], event: SecurityEvent): SecurityEvent {
  let current = event;
  for (const stage of stages) current = stage.apply(current);
  return current;
}
