import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FieldValue, SecurityEvent } from '@vigil/schema';
import { compileSigma } from './compile.js';

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
let sequence = 0;

function request(attributes: Record<string, FieldValue>): SecurityEvent {
  return { id: `e${++sequence}`, time: T0, type: 'http_request', attributes };
}

/** A rule around `detection` (YAML, indented as it would be under `detection:`). */
function ruleText(detection: string): string {
  return ['title: Test rule', 'logsource:', '  category: webserver', 'detection:', indent(detection), ''].join('\n');
}

function indent(text: string): string {
  const lines = text.replace(/^\n+|\s+$/g, '').split('\n');
  const margin = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return lines.map((l) => `  ${l.slice(margin)}`).join('\n');
}

/** Compile a rule that must be valid, and return a predicate over attribute maps. */
function matcher(detection: string): (attributes: Record<string, FieldValue>) => boolean {
  const { evaluators, errors } = compileSigma([{ source: 'test.yml', text: ruleText(detection) }]);
  assert.deepEqual(errors, []);
  assert.equal(evaluators.length, 1);
  const [rule] = evaluators;
  return (attributes) => rule!.process(request(attributes)).length === 1;
}

function lintErrors(detection: string): string[] {
  return compileSigma([{ source: 'test.yml', text: ruleText(detection) }]).errors.map((e) => e.message);
}

describe('field values', () => {
  it('matches whole values case-insensitively by default', () => {
    const m = matcher(`
      sel:
        cs-method: post
      condition: sel`);
    assert.equal(m({ 'http.request.method': 'POST' }), true);
    assert.equal(m({ 'http.request.method': 'POSTX' }), false);
    assert.equal(m({}), false);
  });

  it('ANDs the fields of a map and ORs a list of values', () => {
    const m = matcher(`
      sel:
        cs-method: [PUT, DELETE]
        cs-uri-stem: /admin
      condition: sel`);
    assert.equal(m({ 'http.request.method': 'DELETE', 'url.path': '/admin' }), true);
    assert.equal(m({ 'http.request.method': 'GET', 'url.path': '/admin' }), false);
    assert.equal(m({ 'http.request.method': 'PUT', 'url.path': '/other' }), false);
  });

  it('ORs the maps of a list of maps', () => {
    const m = matcher(`
      sel:
        - cs-method: TRACE
        - cs-uri-stem|endswith: .env
      condition: sel`);
    assert.equal(m({ 'http.request.method': 'TRACE' }), true);
    assert.equal(m({ 'url.path': '/app/.env' }), true);
    assert.equal(m({ 'http.request.method': 'GET', 'url.path': '/' }), false);
  });

  it('compares numbers with strings as text (status 404 matches "404")', () => {
    const numeric = matcher(`
      sel:
        sc-status: 404
      condition: sel`);
    assert.equal(numeric({ 'http.response.status_code': 404 }), true);
    assert.equal(numeric({ 'http.response.status_code': '404' }), true);
    assert.equal(numeric({ 'http.response.status_code': 4040 }), false);
    const quoted = matcher(`
      sel:
        sc-status: '40?'
      condition: sel`);
    assert.equal(quoted({ 'http.response.status_code': 403 }), true);
    assert.equal(quoted({ 'http.response.status_code': 500 }), false);
  });

  it('matches booleans as text', () => {
    const m = matcher(`
      sel:
        vigil.truncated: true
      condition: sel`);
    assert.equal(m({ 'vigil.truncated': true }), true);
    assert.equal(m({ 'vigil.truncated': false }), false);
  });

  it('matches any element of an array field', () => {
    const m = matcher(`
      sel:
        user.roles: admin
      condition: sel`);
    assert.equal(m({ 'user.roles': ['customer', 'Admin'] }), true);
    assert.equal(m({ 'user.roles': ['customer'] }), false);
  });

  it('null means the field is absent', () => {
    const m = matcher(`
      sel:
        user.id: null
      condition: sel`);
    assert.equal(m({}), true);
    assert.equal(m({ 'user.id': '4711' }), false);
    const either = matcher(`
      sel:
        user.id: [null, anonymous]
      condition: sel`);
    assert.equal(either({}), true);
    assert.equal(either({ 'user.id': 'anonymous' }), true);
    assert.equal(either({ 'user.id': '4711' }), false);
  });

  it('an empty string matches an empty value, not an absent one', () => {
    const m = matcher(`
      sel:
        c-useragent: ''
      condition: sel`);
    assert.equal(m({ 'user_agent.original': '' }), true);
    assert.equal(m({}), false);
  });

  it('honours wildcards and their escapes', () => {
    const m = matcher(`
      sel:
        cs-uri-query: 'q=\\*literal*'
      condition: sel`);
    assert.equal(m({ 'url.query': 'q=*literal-and-more' }), true);
    assert.equal(m({ 'url.query': 'q=xliteral' }), false);
  });
});

describe('modifiers', () => {
  it('contains, startswith, endswith', () => {
    const m = matcher(`
      a:
        cs-uri-stem|startswith: /api/
      b:
        cs-uri-stem|endswith: .json
      c:
        cs-uri-stem|contains: /v2/
      condition: a and b and c`);
    assert.equal(m({ 'url.path': '/API/V2/users.JSON' }), true);
    assert.equal(m({ 'url.path': '/api/v1/users.json' }), false);
    assert.equal(m({ 'url.path': '/x/api/v2/users.json' }), false);
  });

  it('contains keeps inner wildcards', () => {
    const m = matcher(`
      sel:
        cs-uri-query|contains: 'union*select'
      condition: sel`);
    assert.equal(m({ 'url.query': 'id=1 UNION ALL SELECT 1' }), true);
    assert.equal(m({ 'url.query': 'id=select union' }), false);
  });

  it('all turns a value list into AND', () => {
    const m = matcher(`
      sel:
        c-useragent|contains|all: [python, requests]
      condition: sel`);
    assert.equal(m({ 'user_agent.original': 'python-requests/2.31' }), true);
    assert.equal(m({ 'user_agent.original': 'python-urllib/3.11' }), false);
  });

  it('all with a single value is rejected (spec)', () => {
    const errors = lintErrors(`
      sel:
        c-useragent|contains|all: python
      condition: sel`);
    assert.match(errors[0] ?? '', /`all` needs a list/);
  });

  it('cased matches case-sensitively', () => {
    const m = matcher(`
      sel:
        cs-uri-stem|cased|contains: /Admin
      condition: sel`);
    assert.equal(m({ 'url.path': '/Admin/x' }), true);
    assert.equal(m({ 'url.path': '/admin/x' }), false);
  });

  it('exists checks presence only', () => {
    const present = matcher(`
      sel:
        user.id|exists: true
      condition: sel`);
    const absent = matcher(`
      sel:
        user.id|exists: false
      condition: sel`);
    assert.equal(present({ 'user.id': '' }), true);
    assert.equal(present({}), false);
    assert.equal(absent({}), true);
    assert.equal(absent({ 'user.id': 'x' }), false);
    assert.match(
      lintErrors(`
      sel:
        user.id|exists: 'yes'
      condition: sel`)[0] ?? '',
      /true or false/,
    );
  });

  it('gt, gte, lt, lte compare numbers (and numeric strings)', () => {
    const m = matcher(`
      big:
        cs-bytes|gt: 1000
      huge:
        cs-bytes|gte: 5000
      tiny:
        sc-bytes|lt: 10
      small:
        sc-bytes|lte: 100
      condition: big and not huge and (tiny or small)`);
    assert.equal(m({ 'http.request.body.size': 1001, 'http.response.body.size': 100 }), true);
    assert.equal(m({ 'http.request.body.size': 1000, 'http.response.body.size': 5 }), false);
    assert.equal(m({ 'http.request.body.size': 5000, 'http.response.body.size': 5 }), false);
    assert.equal(m({ 'http.request.body.size': '2000', 'http.response.body.size': '9' }), true);
    assert.equal(m({ 'http.request.body.size': 'lots', 'http.response.body.size': 5 }), false);
    assert.equal(m({ 'http.request.body.size': 2000, 'http.response.body.size': 101 }), false);
    // Only decimal numbers: what Number() would also read (hex, exponents, spaces) is not a number in a log.
    for (const size of ['0x7d1', '2e3', ' 2000 ', '0b11111010001', 'Infinity']) {
      assert.equal(m({ 'http.request.body.size': size, 'http.response.body.size': 5 }), false, size);
    }
    assert.equal(m({ 'http.request.body.size': '+1000.5', 'http.response.body.size': '-3' }), true);
    assert.match(
      lintErrors(`
      sel:
        cs-bytes|gt: many
      condition: sel`)[0] ?? '',
      /needs a number/,
    );
  });

  it('re searches with a regular expression, case-sensitive unless re|i', () => {
    const sensitive = matcher(`
      sel:
        cs-uri-query|re: 'id=\\d+ (OR|AND) \\d+=\\d+'
      condition: sel`);
    assert.equal(sensitive({ 'url.query': 'x=1&id=1 OR 1=1' }), true);
    assert.equal(sensitive({ 'url.query': 'id=1 or 1=1' }), false);
    const insensitive = matcher(`
      sel:
        cs-uri-query|re|i: 'id=\\d+ (OR|AND) \\d+=\\d+'
      condition: sel`);
    assert.equal(insensitive({ 'url.query': 'id=1 or 1=1' }), true);
  });

  it('re|m and re|s change how ^, $ and . treat line breaks', () => {
    const multiline = matcher(`
      sel:
        vigil.input.name|re|m: '^evil$'
      condition: sel`);
    assert.equal(multiline({ 'vigil.input.name': 'good\nevil\nmore' }), true);
    const plain = matcher(`
      sel:
        vigil.input.name|re: '^evil$'
      condition: sel`);
    assert.equal(plain({ 'vigil.input.name': 'good\nevil\nmore' }), false);
    const dotAll = matcher(`
      sel:
        vigil.input.name|re|s: 'a.b'
      condition: sel`);
    assert.equal(dotAll({ 'vigil.input.name': 'a\nb' }), true);
    assert.equal(plain({ 'vigil.input.name': 'evil' }), true);
  });

  it('re accepts a leading PCRE inline flag group', () => {
    const m = matcher(`
      sel:
        c-useragent|re: '(?i)^sqlmap/'
      condition: sel`);
    assert.equal(m({ 'user_agent.original': 'SQLMap/1.7' }), true);
  });

  it('re refuses PCRE escapes a JavaScript regex would read as plain letters', () => {
    for (const [pattern, letter] of [
      ['\\\\A/admin', 'A'],
      ['/admin\\\\z', 'z'],
      ['^\\\\h*x', 'h'],
      ['\\\\p{L}+', 'p'],
    ]) {
      const errors = lintErrors(`
      sel:
        cs-uri-stem|re: "${pattern}"
      condition: sel`);
      assert.match(errors[0] ?? '', new RegExp(`\\\\${letter} is not JavaScript regular expression syntax`), pattern);
    }
    // An escaped backslash before a letter is a backslash and the letter, as in PCRE; JavaScript's own escapes pass.
    const m = matcher(`
      sel:
        cs-uri-stem|re: '^C:\\\\Windows\\\\\\w+\\s\\x41\\u0042$'
      condition: sel`);
    assert.equal(m({ 'url.path': 'C:\\Windows\\Temp AB' }), true);
    assert.equal(m({ 'url.path': 'C:\\Windows\\Temp XB' }), false);
  });

  it('re refuses PCRE syntax a JavaScript regex accepts but reads otherwise', () => {
    for (const [pattern, message] of [
      // JavaScript: a class of `[:digt` and a literal `]`, so "123" did not match and "t]" did.
      ['^[[:digit:]]+$', /POSIX classes/],
      ['[^[:space:]]', /POSIX classes/],
      // JavaScript: an empty class, which never matches, then `a]`.
      ['[]a]', /`]` first in a character class/],
      // JavaScript: any character, then `a]`.
      ['x[^]a]', /`]` first in a character class/],
      // JavaScript: x repeated 41 times.
      ['\\\\x{41}', /\\x\{\.\.\.\} is PCRE syntax/],
    ] as const) {
      const errors = lintErrors(`
      sel:
        cs-uri-stem|re: "${pattern}"
      condition: sel`);
      assert.match(errors[0] ?? '', message, pattern);
    }
    // The same characters where both read them alike.
    const m = matcher(`
      sel:
        cs-uri-stem|re: '^[a\\]:]+x\\[:digit:\\]\\x41$'
      condition: sel`);
    assert.equal(m({ 'url.path': 'a]:x[:digit:]A' }), true);
  });

  it('re reports invalid expressions', () => {
    assert.match(
      lintErrors(`
      sel:
        c-useragent|re: '(unclosed'
      condition: sel`)[0] ?? '',
      /invalid regular expression/,
    );
    assert.match(
      lintErrors(`
      sel:
        c-useragent|i: 'x'
      condition: sel`)[0] ?? '',
      /sub-modifier of `re`/,
    );
  });

  it('cidr matches IPv4 and IPv6 networks', () => {
    const m = matcher(`
      sel:
        c-ip|cidr:
          - 10.0.0.0/8
          - 2001:db8::/32
      condition: sel`);
    assert.equal(m({ 'client.address': '10.20.30.40' }), true);
    assert.equal(m({ 'client.address': '2001:db8::7' }), true);
    assert.equal(m({ 'client.address': '::ffff:10.0.0.1' }), true);
    assert.equal(m({ 'client.address': '192.0.2.1' }), false);
    assert.equal(m({ 'client.address': '2001:db9::7' }), false);
    assert.match(
      lintErrors(`
      sel:
        c-ip|cidr: 10.0.0.0/40
      condition: sel`)[0] ?? '',
      /not an IPv4 or IPv6 network/,
    );
  });

  it('base64 matches the encoded value, case-sensitively', () => {
    const m = matcher(`
      sel:
        cs-uri-query|base64|contains: 'whoami'
      condition: sel`);
    const encoded = Buffer.from('whoami').toString('base64'); // d2hvYW1p
    assert.equal(m({ 'url.query': `cmd=${encoded}` }), true);
    assert.equal(m({ 'url.query': `cmd=${encoded.toUpperCase()}` }), false);
  });

  it('base64offset|contains finds the value at any position of encoded text', () => {
    const m = matcher(`
      sel:
        cs-uri-query|base64offset|contains: '/bin/sh'
      condition: sel`);
    for (const prefix of ['', 'a', 'ab', 'abc', 'exec ']) {
      const encoded = Buffer.from(`${prefix}/bin/sh -i`).toString('base64');
      assert.equal(m({ 'url.query': `payload=${encoded}` }), true, prefix);
    }
    assert.equal(m({ 'url.query': `payload=${Buffer.from('/bin/bash').toString('base64')}` }), false);
  });

  it('utf16le, utf16be and wide choose the bytes base64 encodes', () => {
    const le = matcher(`
      sel:
        cs-uri-query|wide|base64offset|contains: 'cmd'
      condition: sel`);
    assert.equal(le({ 'url.query': Buffer.from('xx cmd /c', 'utf16le').toString('base64') }), true);
    const be = matcher(`
      sel:
        cs-uri-query|utf16be|base64: 'cmd'
      condition: sel`);
    assert.equal(be({ 'url.query': Buffer.from([0, 0x63, 0, 0x6d, 0, 0x64]).toString('base64') }), true);
    assert.match(
      lintErrors(`
      sel:
        cs-uri-query|utf16le: 'cmd'
      condition: sel`)[0] ?? '',
      /only chooses the bytes/,
    );
    assert.match(
      lintErrors(`
      sel:
        cs-uri-query|base64: 'cmd*'
      condition: sel`)[0] ?? '',
      /cannot encode wildcards/,
    );
  });

  it('windash makes -, /, en dash, em dash and horizontal bar interchangeable', () => {
    const m = matcher(`
      sel:
        cs-uri-query|windash|contains: ' -exec '
      condition: sel`);
    for (const dash of ['-', '/', '\u2013', '\u2014', '\u2015']) {
      assert.equal(m({ 'url.query': `cmd= ${dash}exec x` }), true, dash);
    }
    assert.equal(m({ 'url.query': 'cmd= +exec x' }), false);
  });

  it('fieldref compares two fields of the event', () => {
    const same = matcher(`
      sel:
        user.id|fieldref: vigil.target.user.id
      condition: sel`);
    assert.equal(same({ 'user.id': 'Alice', 'vigil.target.user.id': 'alice' }), true);
    assert.equal(same({ 'user.id': 'alice', 'vigil.target.user.id': 'bob' }), false);
    assert.equal(same({ 'user.id': 'alice' }), false);
    const cased = matcher(`
      sel:
        user.id|fieldref|cased: vigil.target.user.id
      condition: sel`);
    assert.equal(cased({ 'user.id': 'Alice', 'vigil.target.user.id': 'alice' }), false);
    const contains = matcher(`
      sel:
        url.path|fieldref|contains: user.id
      condition: sel`);
    assert.equal(contains({ 'url.path': '/users/4711/orders', 'user.id': '4711' }), true);
    assert.equal(contains({ 'url.path': '/users/4712/orders', 'user.id': '4711' }), false);
  });

  it('rejects expand, later-version and unknown modifiers with a clear message', () => {
    assert.match(
      lintErrors(`
      sel:
        c-ip|expand: '%Servers%'
      condition: sel`)[0] ?? '',
      /placeholder/,
    );
    assert.match(
      lintErrors(`
      sel:
        c-ip|neq: 10.0.0.1
      condition: sel`)[0] ?? '',
      /added in Sigma 2\.1\.0.*implements Sigma 2\.0\.0/,
    );
    assert.match(
      lintErrors(`
      sel:
        c-ip|contain: 10.0.0.1
      condition: sel`)[0] ?? '',
      /unknown modifier `contain`/,
    );
    assert.match(
      lintErrors(`
      sel:
        c-ip|contains|startswith: 10
      condition: sel`)[0] ?? '',
      /cannot be combined/,
    );
    assert.match(
      lintErrors(`
      sel:
        c-ip|re|contains: 10
      condition: sel`)[0] ?? '',
      /cannot be combined/,
    );
  });
});

describe('keyword selections', () => {
  it('search every value of the event, case-insensitively, as substrings', () => {
    const m = matcher(`
      keywords:
        - 'eval('
        - base64_decode
      condition: keywords`);
    assert.equal(m({ 'url.query': 'x=EVAL(phpinfo())' }), true);
    assert.equal(m({ 'user_agent.original': 'x', 'vigil.input.name': 'Base64_Decode' }), true);
    assert.equal(m({ 'url.query': 'x=evaluate' }), false);
  });

  it('AND their values with |all', () => {
    const m = matcher(`
      keywords:
        '|all':
          - select
          - information_schema
      condition: keywords`);
    assert.equal(m({ 'url.query': 'q=SELECT table_name FROM information_schema.tables' }), true);
    assert.equal(m({ 'url.query': 'q=select', 'url.path': '/information_schema' }), true);
    assert.equal(m({ 'url.query': 'q=select 1' }), false);
  });

  it('support wildcards and numbers', () => {
    const m = matcher(`
      keywords:
        - 'wp-*.php'
        - 31337
      condition: keywords`);
    assert.equal(m({ 'url.path': '/blog/wp-login.php' }), true);
    assert.equal(m({ 'server.port': 31337 }), true);
    assert.equal(m({ 'url.path': '/blog/login.php' }), false);
  });

  it('take regular expressions with |re', () => {
    const m = matcher(`
      keywords:
        '|re': '\\$\\{jndi:(ldap|rmi)'
      condition: keywords`);
    assert.equal(m({ 'user_agent.original': `\${jndi:ldap://x/a}` }), true);
    assert.equal(m({ 'user_agent.original': `\${JNDI:ldap://x/a}` }), false);
  });

  it('reject a list mixing maps and keywords', () => {
    assert.match(
      lintErrors(`
      sel:
        - evil
        - cs-method: GET
      condition: sel`)[0] ?? '',
      /either maps .* or keywords/,
    );
  });
});
