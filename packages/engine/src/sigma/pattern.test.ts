import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import {
  ANY,
  compileAlternatives,
  compilePattern,
  DASH,
  ONE,
  parseSigmaString,
  windashPattern,
  wrapPattern,
} from './pattern.js';

describe('Sigma string escaping (rules spec v2.0.0, "Escaping")', () => {
  it('reads * and ? as wildcards', () => {
    assert.deepEqual(parseSigmaString('a*b?c'), ['a', ANY, 'b', ONE, 'c']);
  });

  it('reads \\* and \\? as plain characters', () => {
    assert.deepEqual(parseSigmaString('a\\*b\\?'), ['a*b?']);
  });

  it('keeps a backslash not followed by a wildcard as it is', () => {
    assert.deepEqual(parseSigmaString('C:\\Windows\\System32'), ['C:\\Windows\\System32']);
  });

  it('reads \\\\* as a backslash followed by a wildcard', () => {
    assert.deepEqual(parseSigmaString('dir\\\\*'), ['dir\\', ANY]);
  });

  it('reads \\\\\\* as a backslash and a plain star', () => {
    assert.deepEqual(parseSigmaString('dir\\\\\\*'), ['dir\\*']);
  });

  it('reads four backslashes as two', () => {
    assert.deepEqual(parseSigmaString('a\\\\\\\\b'), ['a\\\\b']);
  });

  it('merges repeated stars', () => {
    assert.deepEqual(parseSigmaString('a**b'), ['a', ANY, 'b']);
    assert.deepEqual(wrapPattern(parseSigmaString('*a*'), true, true), [ANY, 'a', ANY]);
  });

  it('windash turns dashes and slashes into a class', () => {
    assert.deepEqual(windashPattern(['-x /y']), [DASH, 'x ', DASH, 'y']);
  });
});

describe('compilePattern', () => {
  const test = (raw: string, value: string, lowerCase = true) =>
    compilePattern(parseSigmaString(raw), lowerCase)(lowerCase ? value.toLowerCase() : value);

  it('matches whole values by default', () => {
    assert.equal(test('admin', 'ADMIN'), true);
    assert.equal(test('admin', 'administrator'), false);
  });

  it('uses the fast paths and the regex path alike', () => {
    assert.equal(test('*.php', '/x/SHELL.PHP'), true);
    assert.equal(test('/wp-*', '/wp-login.php'), true);
    assert.equal(test('*etc/passwd*', '/../../etc/passwd%00'), true);
    assert.equal(test('/a*b*c', '/a-b-c'), true);
    assert.equal(test('/a*b*c', '/a-c'), false);
    assert.equal(test('v?.?', 'v1.2'), true);
    assert.equal(test('v?.?', 'v10.2'), false);
  });

  it('lets ? match one character, not one UTF-16 unit', () => {
    assert.equal(test('a?b', 'a😀b'), true);
  });

  it('lets * span line breaks', () => {
    assert.equal(test('a*b', 'a\nb'), true);
  });

  it('treats regex metacharacters in the text literally', () => {
    assert.equal(test('*(a|b)*', 'x(a|b)y'), true);
    assert.equal(test('*(a|b)*', 'xay'), false);
    assert.equal(test('a.c*', 'abcd'), false);
  });

  it('is case-sensitive when asked', () => {
    assert.equal(test('Admin', 'admin', false), false);
    assert.equal(test('Admin', 'Admin', false), true);
  });

  it('matches the empty pattern only against the empty string', () => {
    assert.equal(test('', ''), true);
    assert.equal(test('', 'x'), false);
  });
});

describe('compileAlternatives', () => {
  it('keeps each alternative anchored as written', () => {
    const test = compileAlternatives(['/admin*', '*.php', '*passwd*', 'exact', 'v?'].map(parseSigmaString), true);
    for (const yes of ['/admin/x', '/x/shell.php', 'etc/passwd/x', 'exact', 'v2']) assert.equal(test(yes), true, yes);
    for (const no of ['x/admin', '/x.php.bak', 'inexact', 'exactly', 'v22']) assert.equal(test(no), false, no);
  });

  it('lower-cases the alternatives once when matching case-insensitively', () => {
    const test = compileAlternatives(['*SQLMap*', '*Nikto*', '*Nuclei*'].map(parseSigmaString), true);
    assert.equal(test('python sqlmap/1.7'), true);
    assert.equal(test('curl/8'), false);
  });

  it('uses a set for several exact values', () => {
    const test = compileAlternatives(['GET', 'HEAD'].map(parseSigmaString), true);
    assert.equal(test('head'), true);
    assert.equal(test('post'), false);
  });
});

describe('wildcards inside a pattern', () => {
  /** What a pattern means, by plain backtracking over code points (slow, obviously right): the reference. */
  function reference(pattern: readonly (string | number)[], value: string): boolean {
    const chars = Array.from(value);
    const seen = new Map<string, boolean>();
    const from = (i: number, j: number): boolean => {
      const key = `${i},${j}`;
      const known = seen.get(key);
      if (known !== undefined) return known;
      const piece = pattern[i];
      let result: boolean;
      if (piece === undefined) result = j === chars.length;
      else if (piece === ANY) result = from(i + 1, j) || (j < chars.length && from(i, j + 1));
      else if (piece === ONE) result = j < chars.length && from(i + 1, j + 1);
      else if (piece === DASH)
        result = j < chars.length && '-/\u2013\u2014\u2015'.includes(chars[j]!) && from(i + 1, j + 1);
      else {
        const text = Array.from(piece as string);
        result = text.every((c, n) => chars[j + n] === c) && from(i + 1, j + text.length);
      }
      seen.set(key, result);
      return result;
    };
    return from(0, 0);
  }

  it('agree with the reference on every pattern and value of a generated set, alone and as alternatives', () => {
    let seed = 7;
    const pick = <T>(list: readonly T[]) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return list[seed % list.length]!;
    };
    const patternChars = ['a', 'b', '*', '*', '?', '-', '1', '😀', '\\*'];
    const valueChars = ['a', 'b', '-', '/', '\n', '😀', '1', '*'];
    const make = (chars: readonly string[], max: number) =>
      Array.from({ length: pick([...Array(max).keys()]) + 1 }, () => pick(chars)).join('');
    for (let n = 0; n < 3000; n++) {
      const raw = make(patternChars, 7);
      const pattern = pick([true, false]) ? windashPattern(parseSigmaString(raw)) : parseSigmaString(raw);
      const value = make(valueChars, 10);
      assert.equal(compilePattern(pattern, false)(value), reference(pattern, value), `${raw} against ${value}`);
      const others = [make(patternChars, 5), make(patternChars, 5)].map(parseSigmaString);
      const any = [pattern, ...others].some((p) => reference(p, value));
      assert.equal(compileAlternatives([pattern, ...others], false)(value), any, `${raw} or others against ${value}`);
    }
  });

  // Before, `*union*select*from*` became /union.*select.*from/, which backtracks over every way of splitting a value
  // that has no match: 1.5 s for 8 KB, 19 s for this one. Synchronous code cannot be timed out in place, so it runs in
  // a child process with a deadline of ten seconds, a thousand times what it takes now.
  it('take time linear in the value: 16 KB that almost match are answered at once', () => {
    const script = `
      const { compilePattern, compileAlternatives, parseSigmaString } = await import(${JSON.stringify(import.meta.resolve('./pattern.js'))});
      const value = 'unionselect'.repeat(1500);
      const answers = [];
      for (const raw of ['*union*select*from*', 'union*select*from', '*a*b*c*d*e']) {
        answers.push(compilePattern(parseSigmaString(raw), false)(value));
        answers.push(compileAlternatives(['x*y', 'p*q', raw].map(parseSigmaString), false)(value));
      }
      answers.push(compilePattern(parseSigmaString('*union*select*from*'), false)(value + 'from'));
      console.log(JSON.stringify(answers));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      timeout: 10_000,
      encoding: 'utf8',
    });
    assert.equal(run.signal, null, 'the matching did not finish within 10 s');
    assert.deepEqual(JSON.parse(run.stdout), [false, false, false, false, false, false, true]);
  });
});
