/**
 * Prototype pollution: a key or path that reaches `Object.prototype` through `__proto__` or
 * `constructor.prototype`, so that a deep merge or a query-string parser adds properties to every object of the
 * server (`__proto__[isAdmin]=true`, `{"constructor": {"prototype": {...}}}`).
 *
 * Looked for in keys and paths in dot, bracket and JSON spelling. In free text, `__proto__` alone is rare enough to
 * count only as a key of a JSON object; `constructor` alone is an ordinary word and never counts.
 */
import { evidenceAt } from './evidence.js';
import type { DetectorInput, PayloadFinding } from './types.js';

const PROTO_KEY = /(?:^|[[.\]/'"])__proto__(?:$|[\].[/'"])/i;
const CONSTRUCTOR_PROTOTYPE = /\bconstructor['"]?\s*(?:\]\s*\[|\.|\]?\.|\[|\/)\s*['"]?prototype\b/i;
const JSON_PROTO = /["']__proto__["']\s*:|["']constructor["']\s*:\s*\{\s*["']prototype["']\s*:/i;

/**
 * Detect prototype pollution in a key or value.
 *
 * @example
 * detectProtoPollution({ forms: ['1'], key: '__proto__[admin]' }); // { class: 'proto_pollution', ... }
 * detectProtoPollution({ forms: ['object constructor'] });        // undefined
 */
export function detectProtoPollution(input: DetectorInput): PayloadFinding | undefined {
  const texts = input.key === undefined ? input.forms : [input.key, ...input.forms];
  for (const text of texts) {
    if (!text.includes('proto')) continue;
    const isKey = text === input.key;
    const m =
      JSON_PROTO.exec(text) ??
      CONSTRUCTOR_PROTOTYPE.exec(text) ??
      (isKey || input.location === 'path' || /^[\w.[\]/'"-]*$/.test(text) ? PROTO_KEY.exec(text) : null);
    if (m !== null)
      return { class: 'proto_pollution', confidence: 0.9, evidence: evidenceAt(text, m.index, m[0].length) };
  }
  return undefined;
}
