import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  decodeBase64Text,
  decodeForms,
  decodeHtmlEntities,
  decodeJsEscapes,
  MAX_VALUE_CHARS,
  percentDecode,
} from './decode.js';

describe('percentDecode', () => {
  test('bytes as UTF-8, overlong forms, %u, plus as space only when asked', () => {
    assert.equal(percentDecode('%2e%2E%2f'), '../');
    assert.equal(percentDecode('%c3%a9t%C3%A9'), 'été');
    assert.equal(percentDecode('%c0%ae%c0%ae%c0%af'), '../');
    assert.equal(percentDecode('%e0%80%ae'), '.');
    assert.equal(percentDecode('%u003cscript%u003E'), '<script>');
    assert.equal(percentDecode('a+b'), 'a+b');
    assert.equal(percentDecode('a+b', true), 'a b');
    assert.equal(percentDecode('100%'), '100%');
    assert.equal(percentDecode('%zz%4'), '%zz%4');
  });
});

describe('decodeHtmlEntities', () => {
  test('numeric with and without semicolon, named from the table, unknown names kept', () => {
    assert.equal(decodeHtmlEntities('&lt;svg&gt;'), '<svg>');
    assert.equal(decodeHtmlEntities('&#106;&#x61;v&#X61'), 'java');
    assert.equal(decodeHtmlEntities('java&Tab;script&colon;'), 'java\tscript:');
    assert.equal(decodeHtmlEntities('a&b AT&T &copy;'), 'a&b AT&T &copy;');
  });
});

describe('decodeJsEscapes', () => {
  test('\\u, \\u{} and \\x', () => {
    assert.equal(decodeJsEscapes('\\u003c\\u{73}\\x76g'), '<svg');
    assert.equal(decodeJsEscapes('C:\\temp'), 'C:\\temp');
  });
});

describe('decodeBase64Text', () => {
  test('whole-value base64 of printable text only', () => {
    assert.equal(decodeBase64Text(btoa("' or 1=1 --")), "' or 1=1 --");
    assert.equal(decodeBase64Text('dXNlcjpwYXNzd29yZA'), 'user:password');
    assert.equal(decodeBase64Text('3f2504e04f8911d39a0c0305e82c3301'), undefined);
    assert.equal(decodeBase64Text('abcdefghijklmnopqrst'), undefined);
    assert.equal(decodeBase64Text('not base64 at all!'), undefined);
    assert.equal(decodeBase64Text(btoa('justoneword12345')), undefined);
  });
});

describe('decodeForms', () => {
  test('raw first, then the fully decoded form, without duplicates', () => {
    assert.deepEqual(decodeForms('%253Cscript%253E'), ['%253Cscript%253E', '<script>']);
    assert.deepEqual(decodeForms('plain'), ['plain']);
    assert.deepEqual(decodeForms('%26lt%3Bimg%26gt%3B'), ['%26lt%3Bimg%26gt%3B', '<img>']);
    assert.deepEqual(decodeForms('＜script＞'), ['＜script＞', '<script>']);
    assert.deepEqual(decodeForms('a%00b'), ['a%00b', 'ab']);
  });

  test('a value that is not a string has no forms', () => {
    for (const value of [['a b'], { a: 1 }, 42, null]) {
      assert.deepEqual(decodeForms(value as unknown as string), [], JSON.stringify(value));
    }
  });

  test('depth and length are bounded', () => {
    const deep = '%25252525253C';
    assert.ok(decodeForms(deep).at(-1)?.includes('%'));
    const long = 'a'.repeat(MAX_VALUE_CHARS + 100);
    assert.equal(decodeForms(long)[0]?.length, MAX_VALUE_CHARS);
  });
});
