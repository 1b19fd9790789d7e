import assert from 'node:assert/strict';
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
