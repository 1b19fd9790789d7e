/**
 * The `condition` of a detection (rules spec v2.0.0, "Condition"): a small recursive-descent parser and a compiler
 * to matchers. Grammar, least to most binding:
 *
 *   or-expr   := and-expr ( "or" and-expr )*
 *   and-expr  := not-expr ( "and" not-expr )*
 *   not-expr  := "not" not-expr | primary
 *   primary   := quantifier "of" ( "them" | pattern ) | "(" or-expr ")" | identifier
 *   quantifier:= "1" | "any" | "all"
 *
 * Keywords are case-insensitive. `them` covers every search identifier not starting with `_`; a pattern may use `*`
 * wildcards. The pipe aggregations of Sigma 1 (`| count() > 5`) are gone from v2: correlation rules replace them.
 */
import { allOf, anyOf, type Matcher } from './context.js';
import { escapeRegExp } from './pattern.js';

export type ConditionNode =
  | { readonly kind: 'ref'; readonly name: string; readonly at: number }
  | { readonly kind: 'and' | 'or'; readonly operands: readonly ConditionNode[] }
  | { readonly kind: 'not'; readonly operand: ConditionNode }
  | { readonly kind: 'of'; readonly quantifier: 'one' | 'all'; readonly pattern: string; readonly at: number };

export class ConditionError extends Error {
  constructor(
    message: string,
    /** 0-based character position in the condition text. */
    readonly at: number,
  ) {
    super(message);
    this.name = 'ConditionError';
  }
}

interface Token {
  readonly kind: 'word' | '(' | ')' | 'pipe' | 'end';
  readonly text: string;
  readonly at: number;
}

const WORD = /[A-Za-z0-9_*.\-$]/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '(' || c === ')') {
      tokens.push({ kind: c, text: c, at: i });
      i++;
    } else if (c === '|') {
      // Everything after a pipe is a Sigma 1 aggregation; the parser rejects it at the pipe.
      tokens.push({ kind: 'pipe', text: c, at: i });
      break;
    } else if (WORD.test(c)) {
      const start = i;
      while (i < text.length && WORD.test(text[i]!)) i++;
      tokens.push({ kind: 'word', text: text.slice(start, i), at: start });
    } else {
      throw new ConditionError(`unexpected character \`${c}\``, i);
    }
  }
  tokens.push({ kind: 'end', text: '', at: text.length });
  return tokens;
}

const RESERVED = new Set(['and', 'or', 'not', 'of', 'them']);

/** Parse a condition string into a tree. Throws ConditionError with the position of the problem. */
export function parseCondition(text: string): ConditionNode {
  const tokens = tokenize(text);
  let position = 0;
  const peek = () => tokens[position]!;
  const next = () => tokens[position++]!;
  const isWord = (token: Token, word: string) => token.kind === 'word' && token.text.toLowerCase() === word;

  const parseOr = (): ConditionNode => {
    const operands = [parseAnd()];
    while (isWord(peek(), 'or')) {
      next();
      operands.push(parseAnd());
    }
    return operands.length === 1 ? operands[0]! : { kind: 'or', operands };
  };
  const parseAnd = (): ConditionNode => {
    const operands = [parseNot()];
    while (isWord(peek(), 'and')) {
      next();
      operands.push(parseNot());
    }
    return operands.length === 1 ? operands[0]! : { kind: 'and', operands };
  };
  const parseNot = (): ConditionNode => {
    if (isWord(peek(), 'not')) {
      next();
      return { kind: 'not', operand: parseNot() };
    }
    return parsePrimary();
  };
  const parsePrimary = (): ConditionNode => {
    const token = next();
    if (token.kind === '(') {
      const inner = parseOr();
      const close = next();
      if (close.kind !== ')') throw new ConditionError('missing `)`', close.at);
      return inner;
    }
    if (token.kind === 'pipe') {
      throw new ConditionError(
        'aggregations with `|` (count, near...) are Sigma 1 syntax: write a correlation rule instead',
        token.at,
      );
    }
    if (token.kind !== 'word') {
      throw new ConditionError(
        token.kind === 'end' ? 'the condition ends too early' : `unexpected \`${token.text}\``,
        token.at,
      );
    }
    const word = token.text.toLowerCase();
    if ((word === '1' || word === 'any' || word === 'all') && isWord(peek(), 'of')) {
      next();
      const target = next();
      if (target.kind !== 'word')
        throw new ConditionError('`of` needs `them` or a search-identifier pattern', target.at);
      const pattern = target.text.toLowerCase() === 'them' ? 'them' : target.text;
      return { kind: 'of', quantifier: word === 'all' ? 'all' : 'one', pattern, at: target.at };
    }
    if (RESERVED.has(word) || /^\d+$/.test(word)) {
      throw new ConditionError(`unexpected \`${token.text}\``, token.at);
    }
    return { kind: 'ref', name: token.text, at: token.at };
  };

  const tree = parseOr();
  const rest = peek();
  if (rest.kind === 'pipe') {
    throw new ConditionError(
      'aggregations with `|` (count, near...) are Sigma 1 syntax: write a correlation rule instead',
      rest.at,
    );
  }
  if (rest.kind !== 'end') throw new ConditionError(`unexpected \`${rest.text}\``, rest.at);
  return tree;
}

/** Search identifiers a `x of pattern` covers. `them` skips identifiers starting with `_` (spec convention). */
export function identifiersMatching(pattern: string, identifiers: readonly string[]): string[] {
  if (pattern === 'them') return identifiers.filter((name) => !name.startsWith('_'));
  const regex = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
  return identifiers.filter((name) => regex.test(name));
}

/** Compile a condition tree against the compiled search identifiers. Throws ConditionError for unknown names. */
export function compileCondition(node: ConditionNode, selections: ReadonlyMap<string, Matcher>): Matcher {
  switch (node.kind) {
    case 'ref': {
      const matcher = selections.get(node.name);
      if (!matcher) throw new ConditionError(`unknown search identifier \`${node.name}\``, node.at);
      return matcher;
    }
    case 'and':
      return allOf(node.operands.map((operand) => compileCondition(operand, selections)));
    case 'or':
      return anyOf(node.operands.map((operand) => compileCondition(operand, selections)));
    case 'not': {
      const operand = compileCondition(node.operand, selections);
      return (ctx) => !operand(ctx);
    }
    case 'of': {
      const names = identifiersMatching(node.pattern, [...selections.keys()]);
      if (names.length === 0) {
        throw new ConditionError(`\`${node.pattern}\` matches no search identifier`, node.at);
      }
      const matchers = names.map((name) => selections.get(name)!);
      return node.quantifier === 'all' ? allOf(matchers) : anyOf(matchers);
    }
  }
}
