/**
 * Evaluation state for one event, shared by all the rules compiled together: each field any rule reads is fetched,
 * stringified and lower-cased at most once per event, however many rules and selections test it. The arrays are
 * allocated once and reused for every event; a generation counter marks which entries belong to the current event.
 * Events are immutable, so the cache is keyed by the event object itself.
 */
import type { FieldValue, SecurityEvent } from '@vigil/schema';
import { type FieldAccessor, fieldAccessor } from './field-mapping.js';

/** A field's value as text: one string, or the elements of a string array. */
export type FieldText = string | readonly string[];

/** Assigns each field a rule reads a slot number, at compile time. */
export class FieldTable {
  private readonly slots = new Map<string, number>();
  readonly accessors: FieldAccessor[] = [];

  slotOf(sigmaField: string): number {
    let slot = this.slots.get(sigmaField);
    if (slot === undefined) {
      slot = this.accessors.length;
      this.accessors.push(fieldAccessor(sigmaField));
      this.slots.set(sigmaField, slot);
    }
    return slot;
  }
}

export class MatchContext {
  event!: SecurityEvent;
  private generation = 0;
  private readonly rawAt: number[];
  private readonly raws: (FieldValue | undefined)[];
  private readonly textAt: number[];
  private readonly texts: (FieldText | undefined)[];
  private readonly lowerAt: number[];
  private readonly lowers: (FieldText | undefined)[];
  private keywordAt = 0;
  private keywordTexts: string[] = [];
  private keywordLowerAt = 0;
  private keywordLowers: string[] = [];

  private readonly accessors: readonly FieldAccessor[];

  /** The table may still gain fields after this (rules compiled later); the arrays follow on the next event. */
  constructor(table: FieldTable) {
    this.accessors = table.accessors;
    this.rawAt = [];
    this.raws = [];
    this.textAt = [];
    this.texts = [];
    this.lowerAt = [];
    this.lowers = [];
  }

  /** Evaluate `event` from now on; a different event makes everything cached for the previous one stale. */
  use(event: SecurityEvent): void {
    if (this.event === event) return;
    this.event = event;
    this.generation++;
    while (this.rawAt.length < this.accessors.length) {
      this.rawAt.push(0);
      this.raws.push(undefined);
      this.textAt.push(0);
      this.texts.push(undefined);
      this.lowerAt.push(0);
      this.lowers.push(undefined);
    }
  }

  raw(slot: number): FieldValue | undefined {
    if (this.rawAt[slot] !== this.generation) {
      this.rawAt[slot] = this.generation;
      this.raws[slot] = this.accessors[slot]!(this.event);
    }
    return this.raws[slot];
  }

  text(slot: number): FieldText | undefined {
    if (this.textAt[slot] !== this.generation) {
      this.textAt[slot] = this.generation;
      this.texts[slot] = toText(this.raw(slot));
    }
    return this.texts[slot];
  }

  lower(slot: number): FieldText | undefined {
    if (this.lowerAt[slot] !== this.generation) {
      this.lowerAt[slot] = this.generation;
      const text = this.text(slot);
      this.lowers[slot] =
        text === undefined ? undefined : typeof text === 'string' ? text.toLowerCase() : text.map(lowerCase);
    }
    return this.lowers[slot];
  }

  /** Every attribute value of the event as text, for keyword selections (which search the whole event). */
  keywordText(): readonly string[] {
    if (this.keywordAt !== this.generation) {
      this.keywordAt = this.generation;
      const out: string[] = [];
      const attributes = this.event.attributes;
      for (const name in attributes) {
        const value = attributes[name];
        if (value === undefined) continue;
        if (Array.isArray(value)) out.push(...value);
        else out.push(String(value));
      }
      this.keywordTexts = out;
    }
    return this.keywordTexts;
  }

  keywordLower(): readonly string[] {
    if (this.keywordLowerAt !== this.generation) {
      this.keywordLowerAt = this.generation;
      this.keywordLowers = this.keywordText().map(lowerCase);
    }
    return this.keywordLowers;
  }
}

function lowerCase(s: string): string {
  return s.toLowerCase();
}

function toText(value: FieldValue | undefined): FieldText | undefined {
  if (value === undefined || typeof value === 'string') return value;
  if (Array.isArray(value)) return value;
  return String(value);
}

/** Whether any element of `text` passes `test` (a plain string is one element). */
export function anyText(text: FieldText | undefined, test: (value: string) => boolean): boolean {
  if (text === undefined) return false;
  if (typeof text === 'string') return test(text);
  for (const value of text) if (test(value)) return true;
  return false;
}

/** A compiled test of one event (a field entry, a selection, a condition). */
export type Matcher = (ctx: MatchContext) => boolean;

export const alwaysTrue: Matcher = () => true;
export const alwaysFalse: Matcher = () => false;

/** AND of matchers, short-circuiting in the given order. Unrolled for the common small sizes. */
export function allOf(matchers: readonly Matcher[]): Matcher {
  if (matchers.length === 0) return alwaysTrue;
  if (matchers.length === 1) return matchers[0]!;
  if (matchers.length === 2) {
    const [a, b] = matchers as [Matcher, Matcher];
    return (ctx) => a(ctx) && b(ctx);
  }
  return (ctx) => {
    for (const m of matchers) if (!m(ctx)) return false;
    return true;
  };
}

/** OR of matchers, short-circuiting in the given order. */
export function anyOf(matchers: readonly Matcher[]): Matcher {
  if (matchers.length === 0) return alwaysFalse;
  if (matchers.length === 1) return matchers[0]!;
  if (matchers.length === 2) {
    const [a, b] = matchers as [Matcher, Matcher];
    return (ctx) => a(ctx) || b(ctx);
  }
  return (ctx) => {
    for (const m of matchers) if (m(ctx)) return true;
    return false;
  };
}
