/**
 * NoSQL (MongoDB-style) operator injection: a parameter that a query-string parser or a JSON body turns into a query
 * operator object instead of a plain value, so `password[$ne]=x` matches every password.
 *
 * Looked for in keys (`user[$ne]`, `filter.$where`, `a[$regex]`) and in JSON-looking values (`{"$gt": ""}`,
 * `{"$where": "sleep(100)"}`), for the operators MongoDB evaluates ($ne, $gt, $regex, $where, $expr...). A `$` that
 * is not one of those operators (`$5`, `$HOME`, `US$`) does not count.
 */
import { evidenceAt } from './evidence.js';
import type { DetectorInput, PayloadFinding } from './types.js';

const OPERATORS =
  'ne|eq|gt|gte|lt|lte|in|nin|regex|where|exists|expr|function|accumulator|or|and|not|nor|elemmatch|type|mod|all|size|text|jsonschema|options|lookup|unionwith|merge|out|search';
const IN_KEY = new RegExp(`(?:^|[[.])\\$(?:${OPERATORS})(?:$|[\\].])`, 'i');
const IN_JSON = new RegExp(`["']\\$(?:${OPERATORS})["']\\s*:`, 'i');
/** Server-side JavaScript typical of `$where` abuse. */
const WHERE_JS =
  /\bthis\.[a-z_$][\w$]*\s*(?:==|!=|\.match\s*\()|;\s*return\s+(?:true|1)\b|\bsleep\s*\(\s*\d+\s*\)\s*(?:\|\||&&|;)/i;

/**
 * Detect NoSQL operator injection in a key or value.
 *
 * @example
 * detectNosqli({ forms: ['x'], key: 'password[$ne]' }); // { class: 'nosqli', ... }
 * detectNosqli({ forms: ['costs $5'] });                // undefined
 */
export function detectNosqli(input: DetectorInput): PayloadFinding | undefined {
  if (input.key !== undefined) {
    const m = IN_KEY.exec(input.key);
    if (m !== null) return { class: 'nosqli', confidence: 0.9, evidence: evidenceAt(input.key, m.index, m[0].length) };
  }
  for (const form of input.forms) {
    if (!form.includes('$') && !form.includes('return')) continue;
    const json = IN_JSON.exec(form);
    if (json !== null)
      return { class: 'nosqli', confidence: 0.9, evidence: evidenceAt(form, json.index, json[0].length) };
    const key = IN_KEY.exec(form);
    if (key !== null && /^[\w.[\]$-]+=?/.test(form.slice(0, key.index + key[0].length))) {
      return { class: 'nosqli', confidence: 0.8, evidence: evidenceAt(form, key.index, key[0].length) };
    }
    const js = WHERE_JS.exec(form);
    if (js !== null && /['"]\s*(?:;|\|\||&&)|^\s*(?:true|1)\s*(?:;|\|\|)/.test(form)) {
      return { class: 'nosqli', confidence: 0.7, evidence: evidenceAt(form, js.index, js[0].length) };
    }
  }
  return undefined;
}
