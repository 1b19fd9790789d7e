import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConditionError, compileCondition, identifiersMatching, parseCondition } from './condition.js';
import type { MatchContext, Matcher } from './context.js';

/** Evaluate a condition with fixed truth values for its identifiers. */
function evaluate(condition: string, truth: Record<string, boolean>): boolean {
  const selections = new Map<string, Matcher>(Object.entries(truth).map(([name, value]) => [name, () => value]));
  return compileCondition(parseCondition(condition), selections)({} as MatchContext);
}

function errorOf(condition: string, identifiers: string[] = ['a', 'b']): ConditionError {
  const selections = new Map<string, Matcher>(identifiers.map((name) => [name, () => true]));
  try {
    compileCondition(parseCondition(condition), selections);
  } catch (error) {
    assert.ok(error instanceof ConditionError);
    return error;
  }
  assert.fail(`"${condition}" should be rejected`);
}

describe('condition', () => {
  it('and, or, not', () => {
    assert.equal(evaluate('a and b', { a: true, b: false }), false);
    assert.equal(evaluate('a or b', { a: false, b: true }), true);
    assert.equal(evaluate('a and not b', { a: true, b: false }), true);
    assert.equal(evaluate('not not a', { a: true }), true);
  });

  it('binds and tighter than or, and not tighter than and', () => {
    // a or (b and c)
    assert.equal(evaluate('a or b and c', { a: true, b: false, c: false }), true);
    assert.equal(evaluate('a or b and c', { a: false, b: true, c: false }), false);
    // (not a) and b
    assert.equal(evaluate('not a and b', { a: false, b: true }), true);
    assert.equal(evaluate('not a and b', { a: true, b: true }), false);
  });

  it('parentheses override precedence', () => {
    assert.equal(evaluate('(a or b) and c', { a: true, b: false, c: false }), false);
    assert.equal(evaluate('not (a or b)', { a: false, b: false }), true);
    assert.equal(evaluate('((a))', { a: true }), true);
  });

  it('accepts keywords in any case', () => {
    assert.equal(evaluate('a AND NOT b', { a: true, b: false }), true);
  });

  it('1 of / all of a pattern', () => {
    const truth = { selection_a: true, selection_b: false, filter: true };
    assert.equal(evaluate('1 of selection_*', truth), true);
    assert.equal(evaluate('all of selection_*', truth), false);
    assert.equal(evaluate('any of selection_*', truth), true);
    assert.equal(evaluate('all of selection_* or not filter', { ...truth, selection_b: true, filter: true }), true);
    assert.equal(evaluate('1 of selection_* and not 1 of filter*', truth), false);
  });

  it('1 of them / all of them skip identifiers starting with _', () => {
    assert.equal(evaluate('all of them', { a: true, b: true, _helper: false }), true);
    assert.equal(evaluate('1 of them', { a: false, b: false, _helper: true }), false);
    assert.deepEqual(identifiersMatching('them', ['a', '_b', 'c']), ['a', 'c']);
    assert.deepEqual(identifiersMatching('sel*', ['sel', 'sel1', 'xsel', '_sel']), ['sel', 'sel1']);
  });

  it('reports unknown identifiers and syntax errors with their position', () => {
    assert.equal(errorOf('a and c').at, 6);
    assert.match(errorOf('a and c').message, /unknown search identifier `c`/);
    assert.match(errorOf('(a and b').message, /missing `\)`/);
    assert.match(errorOf('a and').message, /ends too early/);
    assert.match(errorOf('a b').message, /unexpected `b`/);
    assert.match(errorOf('1 of x*').message, /matches no search identifier/);
    assert.match(errorOf('a | count() > 5').message, /correlation rule/);
    assert.match(errorOf('a & b').message, /unexpected character/);
  });
});
