/**
 * Sigma string values: wildcards, escaping, and their compilation into fast string tests.
 *
 * Spec (rules v2.0.0, "String Wildcard" and "Escaping"): `*` is any run of characters, `?` exactly one; a
 * backslash escapes `*`, `?` and itself. A backslash before any other character is a plain backslash, so
 * `C:\Windows` needs no doubling while `\\*` is a backslash followed by a wildcard.
 */

/** A wildcard or character class inside a pattern; everything else is literal text. */
export const ANY = 0; // `*`
export const ONE = 1; // `?`
/** Any of the characters the `windash` modifier makes interchangeable. */
export const DASH = 2;

export type Piece = string | typeof ANY | typeof ONE | typeof DASH;

/** A Sigma value after escaping and modifiers: literal text and wildcards, adjacent text merged. */
export type Pattern = readonly Piece[];

/** The characters `windash` treats as one: hyphen, slash, en dash, em dash, horizontal bar. */
export const WINDASH_CHARS = '-/\u2013\u2014\u2015';

/** Parse a Sigma string into a pattern, honouring wildcards and the escaping rules. */
export function parseSigmaString(raw: string): Pattern {
  const out = new PatternBuilder();
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\') {
      const next = raw[i + 1];
      if (next === '*' || next === '?' || next === '\\') {
        out.text(next);
        i++;
      } else {
        out.text('\\');
      }
    } else if (c === '*') out.wildcard(ANY);
    else if (c === '?') out.wildcard(ONE);
    else out.text(c);
  }
  return out.done();
}

/** A pattern that matches exactly `text` (numbers, booleans, encoded values: no wildcard meaning). */
export function literalPattern(text: string): Pattern {
  return text === '' ? [] : [text];
}

export function isLiteral(pattern: Pattern): boolean {
  return pattern.every((piece) => typeof piece === 'string');
}

export function literalText(pattern: Pattern): string {
  return pattern.join('');
}

/** `contains`, `startswith`, `endswith`: put `*` around the pattern (no doubling when one is already there). */
export function wrapPattern(pattern: Pattern, before: boolean, after: boolean): Pattern {
  const out = new PatternBuilder();
  if (before) out.wildcard(ANY);
  for (const piece of pattern) {
    if (typeof piece === 'string') out.text(piece);
    else out.wildcard(piece);
  }
  if (after) out.wildcard(ANY);
  return out.done();
}

/** `windash`: every dash-like character or slash in the text matches any of them. */
export function windashPattern(pattern: Pattern): Pattern {
  const out = new PatternBuilder();
  for (const piece of pattern) {
    if (typeof piece !== 'string') {
      out.wildcard(piece);
      continue;
    }
    for (const c of piece) {
      if (WINDASH_CHARS.includes(c)) out.wildcard(DASH);
      else out.text(c);
    }
  }
  return out.done();
}

class PatternBuilder {
  private readonly pieces: Piece[] = [];
  private pending = '';

  text(s: string): void {
    this.pending += s;
  }

  wildcard(piece: typeof ANY | typeof ONE | typeof DASH): void {
    if (this.pending) {
      this.pieces.push(this.pending);
      this.pending = '';
    }
    // `**` means the same as `*`; keeping one makes the fast paths below apply more often.
    if (piece === ANY && this.pieces[this.pieces.length - 1] === ANY) return;
    this.pieces.push(piece);
  }

  done(): Pattern {
    if (this.pending) this.pieces.push(this.pending);
    this.pending = '';
    return this.pieces;
  }
}

/** A compiled test of one string. */
export type StringTest = (value: string) => boolean;

const REGEX_SPECIAL = /[\\^$.*+?()[\]{}|/]/g;

export function escapeRegExp(text: string): string {
  return text.replace(REGEX_SPECIAL, '\\$&');
}

/**
 * Compile a pattern into the cheapest test that implements it: equality, startsWith, endsWith, includes, or an
 * anchored regular expression for anything else. With `lowerCase`, the pattern's text is lower-cased here, once,
 * and the test expects lower-cased input (the caller lower-cases each event value once per event).
 */
export function compilePattern(pattern: Pattern, lowerCase: boolean): StringTest {
  const pieces = lowerCase ? pattern.map((p) => (typeof p === 'string' ? p.toLowerCase() : p)) : pattern;
  const [first, second, third] = pieces;
  if (pieces.length === 0) return (value) => value === '';
  if (pieces.length === 1) {
    if (typeof first === 'string') return (value) => value === first;
    if (first === ANY) return () => true;
  }
  if (pieces.length === 2) {
    if (first === ANY && typeof second === 'string') return (value) => value.endsWith(second);
    if (typeof first === 'string' && second === ANY) return (value) => value.startsWith(first);
  }
  if (pieces.length === 3 && first === ANY && typeof second === 'string' && third === ANY) {
    return (value) => value.includes(second);
  }
  const regex = new RegExp(regexSource(pieces).source, REGEX_FLAGS);
  return (value) => regex.test(value);
}

// `s`: wildcards span line breaks; `u`: `?` is one character, not one UTF-16 code unit.
const REGEX_FLAGS = 'su';

/** One piece that is not `*`, as regex source. */
function atomSource(piece: Piece): string {
  if (typeof piece === 'string') return escapeRegExp(piece);
  if (piece === ONE) return '.';
  return `[${escapeRegExp(WINDASH_CHARS)}]`;
}

/**
 * A regex for a pattern, whose run time grows linearly with the value (for a given pattern).
 *
 * Without a `*` inside (only at its ends), the pattern is one run of fixed-length pieces: `*abc*` becomes `abc`,
 * `abc*` becomes `^abc`. With one inside, `.*` between parts would backtrack over every way of splitting the value:
 * `a*b*c` against 8 KB without a match took seconds. Instead each part is found at its first place after the previous
 * one, which is always a right choice for `*` (a later place leaves less room and gains nothing), and kept there:
 * `(?=(.*?part))\1` finds it and a backreference takes it, which the engine cannot backtrack into. Only the last part
 * of a pattern that does not end in `*` is placed at the end instead. `groupOffset` numbers the capture groups of a
 * pattern joined with others into one regex.
 */
function regexSource(pieces: Pattern, groupOffset = 0): { source: string; groups: number } {
  let start = 0;
  let end = pieces.length;
  const openStart = pieces[0] === ANY;
  const openEnd = end > 0 && pieces[end - 1] === ANY;
  if (openStart) start++;
  if (openEnd && end > start) end--;
  const inner = pieces.slice(start, end);
  if (!inner.includes(ANY)) {
    const source = inner.map(atomSource).join('');
    return { source: `${openStart ? '' : '^'}${source}${openEnd ? '' : '$'}`, groups: 0 };
  }
  // The parts between the inner `*`s.
  const parts: string[] = [''];
  for (const piece of inner) {
    if (piece === ANY) parts.push('');
    else parts[parts.length - 1] += atomSource(piece);
  }
  let source = '^';
  let groups = 0;
  const firstPlace = (part: string) => {
    groups++;
    return `(?=(.*?${part}))(?:\\${groupOffset + groups})`;
  };
  parts.forEach((part, i) => {
    if (i === 0) source += openStart ? firstPlace(part) : part;
    else if (i < parts.length - 1 || openEnd) source += firstPlace(part);
    else source += `.*${part}$`;
  });
  return { source, groups };
}

/**
 * Compile several patterns that are alternatives (a value list without `all`). Equality against literals becomes
 * one Set lookup; three or more other patterns become one regular expression, which scans the value once instead
 * of once per pattern (a list of `contains` values is the common case in public rules).
 */
export function compileAlternatives(patterns: readonly Pattern[], lowerCase: boolean): StringTest {
  const lowered = lowerCase
    ? patterns.map((p) => p.map((piece) => (typeof piece === 'string' ? piece.toLowerCase() : piece)))
    : patterns;
  if (lowered.length > 1 && lowered.every(isLiteral)) {
    const set = new Set(lowered.map(literalText));
    return (value) => set.has(value);
  }
  if (lowered.length < 3) {
    const tests = lowered.map((p) => compilePattern(p, false));
    return tests.length === 1 ? tests[0]! : (value) => tests.some((test) => test(value));
  }
  let groups = 0;
  const sources = lowered.map((p) => {
    const compiled = regexSource(p, groups);
    groups += compiled.groups;
    return `(?:${compiled.source})`;
  });
  const regex = new RegExp(sources.join('|'), REGEX_FLAGS);
  return (value) => regex.test(value);
}
