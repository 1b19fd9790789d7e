/**
 * Severity and summary of a Sigma detection: `level` mapped to Vigil severities, and the one-sentence summary from
 * the custom `vigil.summary` template (`{field}` placeholders filled from the group labels, `{count}` from the
 * correlation's measure) or, without one, the title and the group values.
 */
import type { Severity } from '../types.js';
import { vigilFieldName } from './field-mapping.js';

/** Sigma `level` → Vigil severity. */
export const LEVEL_TO_SEVERITY: Readonly<Record<string, Severity>> = {
  informational: 'info',
  low: 'low',
  medium: 'medium',
  high: 'high',
  critical: 'critical',
};

type TemplatePart = { readonly text: string } | { readonly field: string };

export interface SummaryInput {
  readonly labels: Readonly<Record<string, string>>;
  readonly count: number;
  /** Values for placeholders not among the labels (a plain rule reads them from its one event). */
  readonly lookup?: (field: string) => string | undefined;
}

export type SummaryRenderer = (input: SummaryInput) => string;

const PLACEHOLDER = /\{([A-Za-z0-9_.-]+)\}/g;
const UNKNOWN_VALUE = '(unknown)';

/** Placeholder names used in a template, for validation. */
export function templateFields(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

/**
 * Compile a summary. `fallback` renders the title and the group values when there is no template.
 *
 * @example
 * const render = compileSummary('{count} failed logins for {user.id}', 'Brute force', (n) => `${n} events`);
 * render({ labels: { 'user.id': '4711' }, count: 12 }); // '12 failed logins for 4711'
 */
export function compileSummary(
  template: string | undefined,
  title: string,
  describeCount?: (count: number) => string,
): SummaryRenderer {
  if (template === undefined) {
    return ({ labels, count }) => {
      const groups = Object.entries(labels)
        .map(([name, value]) => `${name}=${value}`)
        .join(', ');
      const details = [describeCount?.(count), groups].filter((s) => s).join(' for ');
      return details ? `${title}: ${details}` : title;
    };
  }
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (match.index > last) parts.push({ text: template.slice(last, match.index) });
    parts.push({ field: match[1]! });
    last = match.index + match[0].length;
  }
  if (last < template.length) parts.push({ text: template.slice(last) });
  return ({ labels, count, lookup }) => {
    let out = '';
    for (const part of parts) {
      if ('text' in part) {
        out += part.text;
      } else if (part.field === 'count') {
        out += String(count);
      } else {
        out += labels[part.field] ?? labels[vigilFieldName(part.field)] ?? lookup?.(part.field) ?? UNKNOWN_VALUE;
      }
    }
    return out;
  };
}

/** `600000` → `10m`: timespans in summaries, as a rule author writes them. */
export function formatDuration(millis: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const) {
    if (millis % size === 0) return `${millis / size}${unit}`;
  }
  return `${millis / 1000}s`;
}
