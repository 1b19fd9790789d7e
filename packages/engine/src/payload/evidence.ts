/**
 * Evidence snippets: a short excerpt of the decoded value around what matched, neutralised so that it is safe to
 * store, log and show (control characters spelt out, length capped). Display escaping (HTML) stays the viewer's job.
 */

/** Longest evidence excerpt, in characters. */
export const MAX_EVIDENCE_CHARS = 80;
const CONTEXT_CHARS = 12;

/**
 * The neutralised excerpt of `text` around `[index, index + length)`.
 *
 * @example
 * evidenceAt("x' OR 1=1 --\r\n", 1, 8); // "x' OR 1=1 --\\r\\n"
 */
export function evidenceAt(text: string, index: number, length: number): string {
  const start = Math.max(0, index - CONTEXT_CHARS);
  const end = Math.min(text.length, index + Math.max(length, 1) + CONTEXT_CHARS, start + MAX_EVIDENCE_CHARS);
  return neutralise(text.slice(start, end));
}

/** Spell out control characters (`\n`, `\x00`...) so an excerpt is one printable line. */
export function neutralise(text: string): string {
  return text.replace(/[\x00-\x1f\x7f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}
