/**
 * Field entries (`field|mod1|mod2: value(s)`) and keyword entries, compiled into matchers.
 *
 * Modifiers follow the Sigma Modifiers Appendix v2.0.0. They apply in the order written (rules spec v2.0.0,
 * "Value Modifiers"): `field|base64offset|contains` encodes first, then wraps the encoded text in wildcards.
 */
import { cidrContains, parseCidr } from './cidr.js';
import { allOf, anyOf, anyText, type FieldTable, type FieldText, type MatchContext, type Matcher } from './context.js';
import { base64, base64Offsets, encodeText, type TextEncodingName } from './encoding.js';
import type { Diagnostics, YamlPath } from './errors.js';
import {
  compileAlternatives,
  isLiteral,
  literalPattern,
  literalText,
  type Pattern,
  parseSigmaString,
  type StringTest,
  windashPattern,
  wrapPattern,
} from './pattern.js';
import { SIGMA_SPEC_VERSION } from './spec.js';

const POSITION_MODIFIERS = new Set(['contains', 'startswith', 'endswith']);
const UTF16_MODIFIERS: Readonly<Record<string, TextEncodingName>> = {
  utf16le: 'utf16le',
  wide: 'utf16le',
  utf16be: 'utf16be',
  utf16: 'utf16',
};
/** Modifiers that change what the value *is*: at most one per entry. */
const TYPE_MODIFIERS = new Set(['re', 'cidr', 'gt', 'gte', 'lt', 'lte', 'exists', 'fieldref', 'expand']);
/** Sub-modifiers of `re`, with the long names some tools write. */
const REGEX_FLAGS: Readonly<Record<string, string>> = {
  i: 'i',
  ignorecase: 'i',
  m: 'm',
  multiline: 'm',
  s: 's',
  dotall: 's',
};
const OTHER_MODIFIERS = new Set(['all', 'cased', 'base64', 'base64offset', 'windash']);
/** Modifiers a later version of the specification added. */
const LATER_MODIFIERS: Readonly<Record<string, string>> = {
  neq: '2.1.0',
  minute: '2.1.0',
  hour: '2.1.0',
  day: '2.1.0',
  week: '2.1.0',
  month: '2.1.0',
  year: '2.1.0',
};

/** A scalar value as YAML gives it; null means "the field is absent". */
type SigmaScalar = string | number | boolean | null;

export interface FieldKey {
  /** The field name; undefined for a keyword entry (`'|all'`). */
  readonly field: string | undefined;
  readonly modifiers: readonly string[];
}

export function parseFieldKey(key: string): FieldKey {
  const [field = '', ...modifiers] = key.split('|');
  return { field: field === '' ? undefined : field, modifiers };
}

/**
 * Compile one map entry of a selection. `key` is `field|modifiers`; an empty field name makes it a keyword entry.
 * Returns undefined (after reporting) when the entry is invalid.
 */
export function compileEntry(
  key: string,
  value: unknown,
  path: YamlPath,
  table: FieldTable,
  diag: Diagnostics,
): Matcher | undefined {
  const { field, modifiers } = parseFieldKey(key);
  const errorsBefore = diag.count;
  const report = (message: string, code: 'invalid_modifier' | 'unsupported_modifier' | 'invalid_value') =>
    diag.report(path, code, `${key}: ${message}`);

  if (!checkModifiers(modifiers, field === undefined, report)) return undefined;
  const values = Array.isArray(value) ? (value as unknown[]) : [value];
  if (values.length === 0) {
    report('an empty list matches nothing; give at least one value', 'invalid_value');
    return undefined;
  }
  for (const v of values) {
    if (v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      report(
        'values must be strings, numbers, booleans or null (a nested map or list is not allowed)',
        'invalid_value',
      );
      return undefined;
    }
  }
  const scalars = values as SigmaScalar[];
  const all = modifiers.includes('all');
  if (all && scalars.length < 2) {
    report('`all` needs a list of at least two values (spec: single values may not use it)', 'invalid_modifier');
    return undefined;
  }

  const typeModifier = modifiers.find((m) => TYPE_MODIFIERS.has(m));
  let matcher: Matcher | undefined;
  if (field === undefined) {
    matcher = compileKeywordValues(scalars, modifiers, all, report);
  } else if (typeModifier === 'exists') {
    matcher = compileExists(field, scalars, table, report);
  } else {
    const slot = table.slotOf(field);
    const present = scalars.filter((v): v is Exclude<SigmaScalar, null> => v !== null);
    const matchers: Matcher[] = [];
    if (present.length > 0) {
      const valueMatchers = compileValues(slot, present, modifiers, typeModifier, table, report);
      if (valueMatchers) matchers.push(...valueMatchers);
    }
    if (present.length !== scalars.length) matchers.push((ctx) => ctx.raw(slot) === undefined);
    matcher = all ? allOf(matchers) : anyOf(matchers);
  }
  return diag.count === errorsBefore ? matcher : undefined;
}

/** Keyword selections written as a list: `- 'evil'`, searched across the whole event. */
export function compileKeywordList(values: readonly unknown[], path: YamlPath, diag: Diagnostics): Matcher | undefined {
  for (const v of values) {
    if (typeof v !== 'string' && typeof v !== 'number') {
      diag.report(path, 'invalid_detection', 'a keyword list holds strings (or numbers) only');
      return undefined;
    }
  }
  return compileKeywordValues(values as SigmaScalar[], [], false, (message, code) => diag.report(path, code, message));
}

type Report = (message: string, code: 'invalid_modifier' | 'unsupported_modifier' | 'invalid_value') => void;

function checkModifiers(modifiers: readonly string[], keyword: boolean, report: Report): boolean {
  let ok = true;
  for (const m of modifiers) {
    if (m === 'expand') {
      report(
        'the `expand` modifier needs placeholder values (%name%), which Vigil does not support: write the values out',
        'unsupported_modifier',
      );
      ok = false;
    } else if (Object.hasOwn(LATER_MODIFIERS, m)) {
      report(
        `\`${m}\` was added in Sigma ${LATER_MODIFIERS[m]}; Vigil implements Sigma ${SIGMA_SPEC_VERSION}`,
        'unsupported_modifier',
      );
      ok = false;
    } else if (
      !POSITION_MODIFIERS.has(m) &&
      !Object.hasOwn(UTF16_MODIFIERS, m) &&
      !TYPE_MODIFIERS.has(m) &&
      !Object.hasOwn(REGEX_FLAGS, m) &&
      !OTHER_MODIFIERS.has(m)
    ) {
      report(`unknown modifier \`${m}\``, 'invalid_modifier');
      ok = false;
    }
  }
  if (!ok) return false;
  const types = modifiers.filter((m) => TYPE_MODIFIERS.has(m));
  const positions = modifiers.filter((m) => POSITION_MODIFIERS.has(m));
  const encoders = modifiers.filter(
    (m) => m === 'base64' || m === 'base64offset' || m === 'windash' || Object.hasOwn(UTF16_MODIFIERS, m),
  );
  const flags = modifiers.filter((m) => Object.hasOwn(REGEX_FLAGS, m));
  const type = types[0];
  if (types.length > 1) {
    report(`\`${types.join('` and `')}\` cannot be combined`, 'invalid_modifier');
    return false;
  }
  if (positions.length > 1) {
    report(`\`${positions.join('` and `')}\` cannot be combined`, 'invalid_modifier');
    return false;
  }
  if (flags.length > 0 && type !== 're') {
    report(`\`${flags[0]}\` is a sub-modifier of \`re\` (write \`|re|${flags[0]}\`)`, 'invalid_modifier');
    return false;
  }
  if (type !== undefined && type !== 'fieldref' && positions.length > 0) {
    report(`\`${positions[0]}\` cannot be combined with \`${type}\``, 'invalid_modifier');
    return false;
  }
  if (type !== undefined && encoders.length > 0) {
    report(`\`${encoders[0]}\` cannot be combined with \`${type}\``, 'invalid_modifier');
    return false;
  }
  if (keyword && type !== undefined && type !== 're') {
    report(`\`${type}\` needs a field name (keyword searches take strings only)`, 'invalid_modifier');
    return false;
  }
  const lastUtf16 = modifiers.findLastIndex((m) => Object.hasOwn(UTF16_MODIFIERS, m));
  const lastBase64 = modifiers.findLastIndex((m) => m === 'base64' || m === 'base64offset');
  if (lastUtf16 !== -1 && lastBase64 < lastUtf16) {
    report(
      `\`${modifiers[lastUtf16]}\` only chooses the bytes that \`base64\` / \`base64offset\` encode: put one after it`,
      'unsupported_modifier',
    );
    return false;
  }
  return true;
}

function compileExists(field: string, values: readonly SigmaScalar[], table: FieldTable, report: Report) {
  const [expected] = values;
  if (values.length !== 1 || typeof expected !== 'boolean') {
    report('`exists` takes one value, true or false', 'invalid_value');
    return undefined;
  }
  const slot = table.slotOf(field);
  return expected
    ? (ctx: MatchContext) => ctx.raw(slot) !== undefined
    : (ctx: MatchContext) => ctx.raw(slot) === undefined;
}

/**
 * Compile the non-null values of a field entry. Returns one matcher per value, or (for plain string matching
 * without `all`) a single matcher that tests all values after one field lookup.
 */
function compileValues(
  slot: number,
  values: readonly (string | number | boolean)[],
  modifiers: readonly string[],
  typeModifier: string | undefined,
  table: FieldTable,
  report: Report,
): Matcher[] | undefined {
  const all = modifiers.includes('all');
  switch (typeModifier) {
    case 're': {
      const regexes = compileRegexes(values, modifiers, report);
      if (!regexes) return undefined;
      return splitOrJoin(regexes, all, (test) => (ctx) => anyText(ctx.text(slot), test));
    }
    case 'cidr': {
      const tests: StringTest[] = [];
      for (const v of values) {
        const network = typeof v === 'string' ? parseCidr(v) : undefined;
        if (!network) {
          report(`\`${String(v)}\` is not an IPv4 or IPv6 network (e.g. 10.0.0.0/8, 2001:db8::/32)`, 'invalid_value');
          return undefined;
        }
        tests.push((address) => cidrContains(network, address));
      }
      return splitOrJoin(tests, all, (test) => (ctx) => anyText(ctx.text(slot), test));
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const matchers: Matcher[] = [];
      for (const v of values) {
        const bound = toNumber(v);
        if (bound === undefined) {
          report(`\`${typeModifier}\` needs a number, got \`${String(v)}\``, 'invalid_value');
          return undefined;
        }
        const compare = comparator(typeModifier, bound);
        matchers.push((ctx) => anyNumber(ctx.raw(slot), compare));
      }
      return matchers;
    }
    case 'fieldref': {
      const matchers: Matcher[] = [];
      const cased = modifiers.includes('cased');
      const position = modifiers.find((m) => POSITION_MODIFIERS.has(m));
      for (const v of values) {
        if (typeof v !== 'string' || v === '') {
          report('`fieldref` takes the name of another field', 'invalid_value');
          return undefined;
        }
        matchers.push(compileFieldRef(slot, table.slotOf(v), cased, position));
      }
      return matchers;
    }
    default: {
      const compiled = compileStringValues(values, modifiers, false, report);
      if (!compiled) return undefined;
      const { tests, lowerCase } = compiled;
      return splitOrJoin(
        tests,
        all,
        lowerCase
          ? (test) => (ctx) => anyText(ctx.lower(slot), test)
          : (test) => (ctx) => anyText(ctx.text(slot), test),
      );
    }
  }
}

/** Without `all`, the tests of all values run after one field lookup; with `all`, each value is its own matcher. */
function splitOrJoin(tests: StringTest[], all: boolean, toMatcher: (test: StringTest) => Matcher): Matcher[] {
  return all ? tests.map(toMatcher) : [toMatcher(anyTest(tests))];
}

function anyTest(tests: readonly StringTest[]): StringTest {
  if (tests.length === 1) return tests[0]!;
  return (value) => {
    for (const test of tests) if (test(value)) return true;
    return false;
  };
}

interface CompiledStrings {
  /** One test per value (each may cover several encoded variants). */
  readonly tests: StringTest[];
  /** Whether the tests expect lower-cased input. */
  readonly lowerCase: boolean;
}

/**
 * The string path: wildcards and escaping, then the modifiers in order. Keyword entries are substring searches by
 * default (an implicit `contains`), since a keyword is looked for inside each value of the event.
 */
function compileStringValues(
  values: readonly (string | number | boolean)[],
  modifiers: readonly string[],
  keyword: boolean,
  report: Report,
): CompiledStrings | undefined {
  const encodes = modifiers.includes('base64') || modifiers.includes('base64offset');
  // Encoded text is bytes written as base64: its letter case carries meaning, so it is always compared cased.
  const lowerCase = !modifiers.includes('cased') && !encodes;
  const hasPosition = modifiers.some((m) => POSITION_MODIFIERS.has(m));
  const perValue: Pattern[][] = [];
  for (const value of values) {
    let variants: Pattern[] = [typeof value === 'string' ? parseSigmaString(value) : literalPattern(String(value))];
    let encoding: TextEncodingName = 'utf8';
    for (const m of modifiers) {
      if (Object.hasOwn(UTF16_MODIFIERS, m)) {
        encoding = UTF16_MODIFIERS[m]!;
      } else if (m === 'base64' || m === 'base64offset') {
        if (!variants.every(isLiteral)) {
          report(`\`${m}\` cannot encode wildcards; escape \`*\` and \`?\` as \\* and \\?`, 'invalid_value');
          return undefined;
        }
        const bytes = variants.map((p) => encodeText(literalText(p), encoding));
        variants =
          m === 'base64'
            ? bytes.map((b) => literalPattern(base64(b)))
            : bytes.flatMap((b) => base64Offsets(b).map(literalPattern));
        encoding = 'utf8';
      } else if (m === 'windash') {
        variants = variants.map(windashPattern);
      } else if (m === 'contains') {
        variants = variants.map((p) => wrapPattern(p, true, true));
      } else if (m === 'startswith') {
        variants = variants.map((p) => wrapPattern(p, false, true));
      } else if (m === 'endswith') {
        variants = variants.map((p) => wrapPattern(p, true, false));
      }
    }
    if (keyword && !hasPosition) variants = variants.map((p) => wrapPattern(p, true, true));
    perValue.push(variants);
  }
  // Without `all`, every variant of every value is an alternative: one combined test scans the value once.
  if (!modifiers.includes('all')) return { tests: [compileAlternatives(perValue.flat(), lowerCase)], lowerCase };
  return { tests: perValue.map((variants) => compileAlternatives(variants, lowerCase)), lowerCase };
}

function compileKeywordValues(
  values: readonly SigmaScalar[],
  modifiers: readonly string[],
  all: boolean,
  report: Report,
): Matcher | undefined {
  if (values.some((v) => v === null || typeof v === 'boolean')) {
    report('keyword values must be strings', 'invalid_value');
    return undefined;
  }
  const strings = values as (string | number)[];
  if (modifiers.includes('re')) {
    const regexes = compileRegexes(strings, modifiers, report);
    if (!regexes) return undefined;
    const matchers = regexes.map(
      (test): Matcher =>
        (ctx) =>
          anyText(ctx.keywordText(), test),
    );
    return all ? allOf(matchers) : anyOf(matchers);
  }
  const compiled = compileStringValues(strings, modifiers, true, report);
  if (!compiled) return undefined;
  const { tests, lowerCase } = compiled;
  const toMatcher = (test: StringTest): Matcher =>
    lowerCase ? (ctx) => anyText(ctx.keywordLower(), test) : (ctx) => anyText(ctx.keywordText(), test);
  return all ? allOf(tests.map(toMatcher)) : toMatcher(anyTest(tests));
}

/** PCRE's leading inline flags, `(?i)` and friends, which JavaScript only accepts as constructor flags. */
const INLINE_FLAGS = /^\(\?([ims]+)\)/;

function compileRegexes(
  values: readonly (string | number | boolean)[],
  modifiers: readonly string[],
  report: Report,
): StringTest[] | undefined {
  const baseFlags = new Set(modifiers.filter((m) => Object.hasOwn(REGEX_FLAGS, m)).map((m) => REGEX_FLAGS[m]!));
  const tests: StringTest[] = [];
  for (const value of values) {
    if (typeof value !== 'string') {
      report('`re` takes a string', 'invalid_value');
      return undefined;
    }
    const flags = new Set(baseFlags);
    let source = value;
    const inline = INLINE_FLAGS.exec(source);
    if (inline) {
      for (const f of inline[1]!) flags.add(f);
      source = source.slice(inline[0].length);
    }
    const foreign = foreignEscape(source);
    if (foreign !== undefined) {
      report(
        `\\${foreign} is not JavaScript regular expression syntax (a JavaScript regex reads it as the letter ${foreign}); ` +
          'write ^ or $ for \\A and \\z, [ \\t] for \\h',
        'invalid_value',
      );
      return undefined;
    }
    const misread = misreadSyntax(source);
    if (misread !== undefined) {
      report(misread, 'invalid_value');
      return undefined;
    }
    let regex: RegExp;
    try {
      regex = new RegExp(source, [...flags].sort().join(''));
    } catch (cause) {
      report(`invalid regular expression: ${(cause as Error).message}`, 'invalid_value');
      return undefined;
    }
    // Sigma regexes search (unanchored), like PCRE's match-anywhere default.
    tests.push((text) => regex.test(text));
  }
  return tests;
}

/** Letters a backslash gives a meaning to in a JavaScript regex (without the `u` flag). */
const JS_ESCAPE_LETTERS = new Set('dDwWsSbBfnrtvcxuk');

/**
 * The first letter escaped with a meaning JavaScript does not give it: `\A`, `\z`, `\h`, `\p{L}` are PCRE (the flavour
 * Sigma names) and silently match the plain letter in JavaScript.
 */
function foreignEscape(source: string): string | undefined {
  for (let i = 0; i < source.length - 1; i++) {
    if (source[i] !== '\\') continue;
    const next = source[i + 1]!;
    if (/[a-z]/i.test(next) && !JS_ESCAPE_LETTERS.has(next)) return next;
    i++; // the escaped character, whatever it is
  }
  return undefined;
}

/**
 * PCRE syntax that JavaScript accepts but reads otherwise, so the rule would silently match something else (escapes
 * are foreignEscape's): a POSIX class, which JavaScript reads as a class of its letters followed by a literal `]`;
 * a `]` first in a class, which PCRE takes as a literal and JavaScript as the end of an empty class (`[]a]`, `[^]a]`);
 * and `\x{41}`, which JavaScript reads as the letter x repeated 41 times. Returns what to tell the author.
 */
function misreadSyntax(source: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      if (source[i + 1] === 'x' && source[i + 2] === '{') {
        return '\\x{...} is PCRE syntax that JavaScript reads as the letter x repeated; write \\xHH (two hex digits)';
      }
      i++; // the escaped character, whatever it is
    } else if (inClass) {
      if (c === ']') inClass = false;
      else if (c === '[' && startsPosixClass(source, i)) {
        return (
          'POSIX classes such as [:digit:] are not JavaScript regular expression syntax (JavaScript reads them as ' +
          'a set of their letters); write \\d, [a-z] and the like'
        );
      }
    } else if (c === '[') {
      inClass = true;
      if (source[i + 1] === '^') i++;
      if (source[i + 1] === ']') {
        return '`]` first in a character class is a literal in PCRE but ends an empty class in JavaScript; escape it as \\]';
      }
    }
  }
  return undefined;
}

/** `[:name:]`, `[=x=]` or `[.x.]` inside a character class. */
const POSIX_CLASS = /\[([:=.])[^\]]*\1\]/y;

function startsPosixClass(source: string, at: number): boolean {
  POSIX_CLASS.lastIndex = at;
  return POSIX_CLASS.test(source);
}

/**
 * A number, or a string written as a decimal number (`404`, `-1.5`). JavaScript's `Number()` would also take
 * `0x10`, `1e3`, `0b1`, `Infinity` and surrounding spaces, which neither a log's numeric field nor a rule means.
 */
function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && DECIMAL.test(value)) return Number(value);
  return undefined;
}

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

function comparator(modifier: string, bound: number): (n: number) => boolean {
  switch (modifier) {
    case 'gt':
      return (n) => n > bound;
    case 'gte':
      return (n) => n >= bound;
    case 'lt':
      return (n) => n < bound;
    default:
      return (n) => n <= bound;
  }
}

/** Numeric modifiers compare numbers, and strings that are numbers (`"404"`); anything else never matches. */
function anyNumber(value: unknown, compare: (n: number) => boolean): boolean {
  if (Array.isArray(value)) {
    for (const v of value) {
      const n = toNumber(v);
      if (n !== undefined && compare(n)) return true;
    }
    return false;
  }
  const n = toNumber(value);
  return n !== undefined && compare(n);
}

/** `fieldref`: compare a field with another field of the same event, case-insensitively unless `cased`. */
function compileFieldRef(slot: number, refSlot: number, cased: boolean, position: string | undefined): Matcher {
  const read = (ctx: MatchContext, s: number): FieldText | undefined => (cased ? ctx.text(s) : ctx.lower(s));
  const relation: (value: string, reference: string) => boolean =
    position === 'contains'
      ? (v, r) => v.includes(r)
      : position === 'startswith'
        ? (v, r) => v.startsWith(r)
        : position === 'endswith'
          ? (v, r) => v.endsWith(r)
          : (v, r) => v === r;
  return (ctx) => {
    const reference = read(ctx, refSlot);
    if (reference === undefined) return false;
    const value = read(ctx, slot);
    return anyText(reference, (r) => anyText(value, (v) => relation(v, r)));
  };
}
