import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fires } from './test-helpers.js';
import { detectXss } from './xss.js';

describe('detectXss', () => {
  test('tags, handlers, script URLs, breakouts', () => {
    for (const value of [
      '<script>alert(1)</script>',
      '<svg/onload=alert(1)>',
      '<img src=x onerror=alert(document.domain)>',
      '"><iframe src=//evil.example>',
      '" autofocus onfocus="alert(1)',
      'javascript:alert(1)',
      '<a href="java\tscript:alert(1)">x</a>',
      'data:text/html;base64,PHNjcmlwdD4=',
      '<div style="width: expression(alert(1))">',
      '";alert(1)//',
      '{{constructor.constructor("alert(1)")()}}',
      '<details open ontoggle=confirm(1)>',
    ]) {
      assert.ok(fires(detectXss, value), value);
    }
  });

  test('obfuscation: entities, double encoding, unicode escapes, case, full width', () => {
    for (const value of [
      '&lt;script&gt;alert(1)&lt;/script&gt;',
      '%253Cscript%253Ealert(1)%253C%252Fscript%253E',
      '\\u003cimg src=x onerror=alert(1)\\u003e',
      '<ScRiPt>alert(1)</sCrIpT>',
      '&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)',
      '＜script＞alert(1)＜/script＞',
      '%u003Csvg onload=alert(1)%u003E',
    ]) {
      assert.ok(fires(detectXss, value), value);
    }
  });

  test('benign look-alikes do not fire', () => {
    for (const value of [
      'I <3 cats',
      'a < b and c > d',
      'a&b',
      'AT&T',
      '<b>bold</b> and <a href="/docs">docs</a>',
      'Scripting languages are fun',
      'jane.doe@example.com',
      'https://example.com/search?q=onload',
      'the alert was raised',
      'x = "one" + "two"',
    ]) {
      assert.equal(fires(detectXss, value), false, value);
    }
  });
});
