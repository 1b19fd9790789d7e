// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the values under test are script payloads, not templates
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

  test('legacy carriers, namespaced tags, bare handlers, hidden encodings, scripts without calls', () => {
    for (const value of [
      '<p datasrc="#rec" datafld="body" dataformatas="html"></p>',
      '<?import namespace="v" implementation="#default#VML">',
      '<?xml:namespace prefix="v" ns="urn:x">',
      '&{location="//evil.example"};',
      '<v:vmlframe src="evil.example/x.vml"/>',
      '<svg:svg onload=x>',
      '< x: script>',
      'onmouseover=prompt(9);',
      'Mozilla/5.0 (x; onload=fetch(1))',
      '"onpointerenter=',
      '<p style="behaviour: url(x.htc)">',
      'a:url(javascript:void(0))',
      'scriptprompt(document.domain)/script',
      '<p style="\\62 ackground:\\75 rl(\\6a avascript:alert(1))">',
      '<a href="data:application/octet-stream;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">x</a>',
      '(![]+[])[+!![]]',
      '0scriptprompt(1)/script',
      'x=document.getElementById("a").innerHTML="<b>"',
      '[].map.call`${eval}x`',
      '<img src="mocha:alert(1)">',
      '" type=text name=x onfocus=alert(1) autofocus x="',
    ]) {
      assert.ok(fires(detectXss, value), value);
    }
  });

  test('script URLs: no prose after the colon, tabs and line breaks anywhere', () => {
    for (const value of [
      'javascript:alert(1)',
      'java\tscript:alert(1)',
      'javascript :alert(1)',
      'javascript:\nalert(1)',
      'javascript: alert(1)',
      '<a href="javascript: void(0)">x</a>',
      'vbscript:msgbox(1)',
    ]) {
      assert.ok(fires(detectXss, value), value);
    }
    for (const value of ['JavaScript: The Good Parts', 'Vbscript: a primer', 'Learning javascript: the basics']) {
      assert.equal(fires(detectXss, value, { location: 'body' }), false, value);
    }
    assert.equal(fires(detectXss, 'JavaScript%3A+The+Definitive+Guide', { location: 'query' }), false);
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
      'online=true',
      'status: onion=1; oncall=bob',
      'Coffee mocha: 4 dollars',
      'the database field is data-fld',
      'See the data: binding url for docs',
      'C:\\Users\\ada\\notes',
      'the script/alerting guide',
      'f.call(this, x)',
      'a transcript alert is on /script page',
      'read the document.getElementById docs',
      'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
    ]) {
      assert.equal(fires(detectXss, value), false, value);
    }
  });
});
