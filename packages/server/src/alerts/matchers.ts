/**
 * Label matchers in the Alertmanager syntax: `name="value"`, `name!="value"`, `name=~"regex"`, `name!~"regex"`.
 * Regular expressions are anchored (they must match the whole value), as in Alertmanager. A missing label is the
 * empty string.
 */
export type MatchOperator = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  readonly name: string;
  readonly operator: MatchOperator;
  readonly value: string;
  matches(labels: Readonly<Record<string, string>>): boolean;
  /** The matcher as written, normalised: `severity=~"high|critical"`. */
  toString(): string;
}

const MATCHER =
  /^\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^\s"']*))\s*$/;

/** Parse one matcher; throws a RangeError that says what is wrong. */
export function parseMatcher(text: string): Matcher {
  const m = MATCHER.exec(text);
  if (!m)
    throw new RangeError(`"${text}" is not a matcher: write name="value", name!="value", name=~"re" or name!~"re"`);
  const name = m[1]!;
  const operator = m[2] as MatchOperator;
  const value = (m[3] ?? m[4] ?? m[5] ?? '').replace(/\\(.)/g, '$1');
  let test: (v: string) => boolean;
  if (operator === '=~' || operator === '!~') {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${value})$`);
    } catch (error) {
      throw new RangeError(`"${text}": invalid regular expression (${(error as Error).message})`);
    }
    test = operator === '=~' ? (v) => re.test(v) : (v) => !re.test(v);
  } else {
    test = operator === '=' ? (v) => v === value : (v) => v !== value;
  }
  return {
    name,
    operator,
    value,
    matches: (labels) => test(labels[name] ?? ''),
    toString: () => `${name}${operator}${JSON.stringify(value)}`,
  };
}

export function allMatch(matchers: readonly Matcher[], labels: Readonly<Record<string, string>>): boolean {
  for (const m of matchers) if (!m.matches(labels)) return false;
  return true;
}
