/**
 * What a string may be on the wire: the parser's limits, and the neutralising of characters that could forge a log
 * line. Both the parser (event.ts) and the redactor (redact.ts) use them, and the parser uses the redactor.
 */
export const PARSE_DEFAULTS = {
  maxFutureSkewMillis: 5 * 60_000,
  maxStringLength: 8192,
  maxFields: 200,
} as const;

/** The longest field name accepted: a longer one is refused (`invalid_name`). */
export const MAX_FIELD_NAME_LENGTH = 128;

// C0 controls, DEL, C1 controls, the Unicode line/paragraph separators, and the bidirectional marks, embeddings,
// overrides and isolates (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069): anything a log viewer could take
// as a line break, a terminal as a command, or a display could use to show a value reordered (an attacker's user
// name that reads as another). They are replaced by a visible escape so nothing is lost.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/** Replace control characters with visible `\uXXXX` escapes, so a value can never forge a log line. */
export function neutralise(value: string): string {
  return value.replace(CONTROL_CHARS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** True when `value` holds a character `neutralise` escapes (CONTROL_CHARS, tested without a regular expression). */
export function hasControlChars(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x061c || c === 0x200e || c === 0x200f) return true;
    if ((c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) return true;
  }
  return false;
}
