import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { collectInspection, type InspectLimits } from './inspect.js';
import { createRedactor } from './redact.js';

const TRUNCATED = 'vigil.inspection.truncated';

const limits: InspectLimits = {
  headers: ['referer', 'authorization'],
  maxValueChars: 16,
  maxRequestChars: 64,
  maxFields: 8,
};

describe('collectInspection', () => {
  const redactor = createRedactor({ keys: ['customer.email'] });

  test('path, query, headers and body leaves under vigil.inspect.<location>', () => {
    const out = collectInspection(
      {
        query: 'q=%3Cscript%3E&tag=a&tag=b',
        headers: { referer: 'https://x.example/', authorization: 'Bearer abc' },
        params: { id: '42' },
        body: { user: { name: 'ann' }, items: [{ sku: 'A-1' }] },
      },
      { ...limits, maxValueChars: 64, maxRequestChars: 1000 },
      redactor,
    );
    assert.deepEqual(out, {
      'vigil.inspect.path.id': '42',
      'vigil.inspect.query.q': '<script>',
      'vigil.inspect.query.tag': ['a', 'b'],
      'vigil.inspect.header.referer': 'https://x.example/',
      'vigil.inspect.header.authorization': '[REDACTED]',
      'vigil.inspect.body.user.name': 'ann',
      'vigil.inspect.body.items.0.sku': 'A-1',
    });
  });

  test('a URL in an inspected header has its query redacted like the request query (OAuth code in a Referer)', () => {
    const out = collectInspection(
      {
        query: '',
        params: undefined,
        body: undefined,
        headers: { referer: 'https://app.example/callback?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz#top' },
      },
      { ...limits, maxValueChars: 200, maxRequestChars: 1000 },
      redactor,
    );
    assert.equal(out['vigil.inspect.header.referer'], 'https://app.example/callback?code=[REDACTED]&state=xyz#top');
  });

  test('what redaction would redact is never inspected: key names, bracketed keys, configured paths, subtrees', () => {
    const out = collectInspection(
      {
        query: 'user%5Bpassword%5D=x&access_token=y&code=4%2F0AY0e',
        headers: {},
        params: undefined,
        body: { customer: { email: 'a@b.example' }, credentials: { user: 'u', pass: 'p' }, code: 'E42' },
      },
      { ...limits, maxRequestChars: 1000 },
      redactor,
    );
    assert.equal(out['vigil.inspect.query.user_password_'], '[REDACTED]');
    assert.equal(out['vigil.inspect.query.access_token'], '[REDACTED]');
    assert.equal(out['vigil.inspect.query.code'], '[REDACTED]', 'an OAuth code, a credential in a URL');
    assert.equal(out['vigil.inspect.body.code'], 'E42', 'a body field named code is no credential');
    assert.equal(out['vigil.inspect.body.customer.email'], '[REDACTED]');
    assert.equal(out['vigil.inspect.body.credentials'], '[REDACTED]');
    assert.ok(!JSON.stringify(out).includes('a@b.example'));
  });

  test('bounded: per value, per request, in number, in depth', () => {
    const long = 'x'.repeat(100);
    const out = collectInspection(
      { query: `a=${long}&b=${long}&c=${long}&d=${long}&e=${long}`, headers: {}, params: undefined, body: undefined },
      limits,
      redactor,
    );
    assert.equal(out['vigil.inspect.query.a'], 'x'.repeat(16));
    const { [TRUNCATED]: truncated, ...inspected } = out;
    assert.equal(truncated, true, 'a bound left something out, and the event says so');
    const total = Object.values(inspected).reduce<number>((n, v) => n + String(v).length, 0);
    assert.ok(total <= limits.maxRequestChars);
    assert.equal(Object.keys(inspected).length, 4);

    let deep: Record<string, unknown> = { leaf: 'bottom' };
    for (let i = 0; i < 20; i++) deep = { level: deep };
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    assert.deepEqual(collectInspection({ query: '', headers: {}, params: undefined, body: deep }, limits, redactor), {
      [TRUNCATED]: true,
    });
    const manyOut = collectInspection({ query: '', headers: {}, params: undefined, body: many }, limits, redactor);
    assert.equal(manyOut[TRUNCATED], true);
    assert.equal(Object.keys(manyOut).length, limits.maxFields + 1);
    // Within every bound, nothing says truncated.
    const small = collectInspection(
      { query: 'a=1', headers: {}, params: undefined, body: { b: 'c' } },
      limits,
      redactor,
    );
    assert.equal(small[TRUNCATED], undefined);
  });

  test('unsafe key characters become _, long keys are cut, over-long field names are left out', () => {
    const out = collectInspection(
      { query: `we%20ird.key=1&${'k'.repeat(200)}=2`, headers: {}, params: undefined, body: undefined },
      { ...limits, maxRequestChars: 1000 },
      redactor,
    );
    assert.deepEqual(Object.keys(out), ['vigil.inspect.query.we_ird_key', `vigil.inspect.query.${'k'.repeat(48)}`]);
    const deep = { [`${'a'.repeat(40)}`]: { [`${'b'.repeat(40)}`]: { [`${'c'.repeat(40)}`]: 'v' } } };
    assert.deepEqual(collectInspection({ query: '', headers: {}, params: undefined, body: deep }, limits, redactor), {
      [TRUNCATED]: true,
    });
  });

  /** The inspection of a JSON body alone, with room for whole operator objects. */
  const inspectBody = (body: unknown) =>
    collectInspection(
      { query: undefined, headers: {}, params: undefined, body },
      { ...limits, maxValueChars: 200, maxRequestChars: 2000, maxFields: 16 },
      redactor,
    );

  test('operator and prototype objects are sent whole, their keys intact; under a secret, every string hidden', () => {
    const body = JSON.parse(
      '{"username": {"$ne": "x"}, "email": {"$regex": ".*"}, "password": {"$ne": "hunter2-secret"},' +
        ' "user": {"__proto__": {"isAdmin": true}}, "settings": {"constructor": {"prototype": {"role": "admin"}}},' +
        ' "profile": {"name": "ann"}}',
    );
    const out = inspectBody(body);
    assert.deepEqual(out, {
      'vigil.inspect.body.username': '{"$ne":"x"}',
      'vigil.inspect.body.email': '{"$regex":".*"}',
      'vigil.inspect.body.password': '{"$ne":"[REDACTED]"}',
      'vigil.inspect.body.user': '{"__proto__":{"isAdmin":true}}',
      'vigil.inspect.body.settings': '{"constructor":{"prototype":{"role":"admin"}}}',
      'vigil.inspect.body.profile.name': 'ann',
    });
    assert.doesNotMatch(JSON.stringify(out), /hunter2/);
  });

  test('inside an operator object, keys are judged as anywhere: a secret or a configured path is hidden whole', () => {
    const body = JSON.parse(
      '{"customer": {"email": "ann@example.com", "$where": "1"},' +
        ' "user": {"$ne": 1, "password": ["hunter2"], "token": {"value": "tok-secret-1"},' +
        ' "profile": {"credentials": {"user": "a"}, "name": "ann"}, "$eq": 4111111111111111},' +
        ' "customers": [{"$exists": true, "customer": {"email": "bob@example.com"}}]}',
    );
    const out = inspectBody(body);
    assert.deepEqual(out, {
      'vigil.inspect.body.customer': '{"email":"[REDACTED]","$where":"1"}',
      'vigil.inspect.body.user':
        '{"$ne":1,"password":"[REDACTED]","token":"[REDACTED]","profile":{"credentials":"[REDACTED]","name":"ann"},' +
        '"$eq":"[REDACTED]"}',
      'vigil.inspect.body.customers.0': '{"$exists":true,"customer":{"email":"[REDACTED]"}}',
    });
    assert.doesNotMatch(JSON.stringify(out), /hunter2|tok-secret|example\.com|4111/);
  });

  test('under a secret, an operator shows with its operands hidden, numbers too; null and booleans as they are', () => {
    const body = JSON.parse(
      '{"username": "admin", "password": {"$ne": null}, "pin": {"$eq": 1234},' +
        ' "otp": {"$exists": true, "$in": ["123456", 654321]}}',
    );
    const out = inspectBody(body);
    assert.deepEqual(out, {
      'vigil.inspect.body.username': 'admin',
      'vigil.inspect.body.password': '{"$ne":null}',
      'vigil.inspect.body.pin': '{"$eq":"[REDACTED]"}',
      'vigil.inspect.body.otp': '{"$exists":true,"$in":["[REDACTED]","[REDACTED]"]}',
    });
  });

  test('a configured dotted path matches inside arrays: the index is skipped', () => {
    const r = createRedactor({ keys: ['customers.email'] });
    const out = collectInspection(
      {
        query: undefined,
        headers: {},
        params: undefined,
        body: { customers: [{ email: 'ann@example.com', name: 'ann' }, { email: 'bob@example.com' }] },
      },
      { ...limits, maxValueChars: 64, maxRequestChars: 1000 },
      r,
    );
    assert.deepEqual(out, {
      'vigil.inspect.body.customers.0.email': '[REDACTED]',
      'vigil.inspect.body.customers.0.name': 'ann',
      'vigil.inspect.body.customers.1.email': '[REDACTED]',
    });
  });

  test('a body that is an array of values is inspected item by item', () => {
    const out = collectInspection(
      { query: '', params: undefined, headers: {}, body: ["' OR 1=1 --", '<script>', 3] },
      { ...limits, maxValueChars: 64, maxRequestChars: 1000 },
      redactor,
    );
    assert.deepEqual(out, {
      'vigil.inspect.body.0': "' OR 1=1 --",
      'vigil.inspect.body.1': '<script>',
      'vigil.inspect.body.2': 3,
    });
  });

  test('raw bodies (strings, buffers) are not inspected', () => {
    for (const body of ['password=x', Buffer.from('abc')]) {
      assert.deepEqual(collectInspection({ query: '', headers: {}, params: undefined, body }, limits, redactor), {});
    }
  });

  test('values are redacted before they are cut: a card or token across the cut is not sent in part', () => {
    const padding = 'x'.repeat(228);
    const note = `${padding} paid with 4111 1111 1111 1111 thanks`; // the card spans the 256th character
    const out = collectInspection(
      { query: `q=${encodeURIComponent(note)}`, headers: {}, params: undefined, body: { note, list: [note] } },
      { ...limits, maxValueChars: 256, maxRequestChars: 10_000 },
      redactor,
    );
    for (const name of ['vigil.inspect.query.q', 'vigil.inspect.body.note']) {
      assert.equal(out[name], `${padding} paid with [REDACTED] thanks`, name);
    }
    assert.deepEqual(out['vigil.inspect.body.list'], [`${padding} paid with [REDACTED] thanks`]);
    const long = collectInspection(
      { query: '', headers: {}, params: undefined, body: { note: `${'y'.repeat(250)} 4111 1111 1111 1111` } },
      { ...limits, maxValueChars: 256, maxRequestChars: 10_000 },
      redactor,
    );
    assert.doesNotMatch(JSON.stringify(long), /4111/);
  });

  test('a configured dotted path hides its whole subtree; sub-keys and items of a secret are secret', () => {
    const r = createRedactor({ keys: ['customer.address'] });
    const out = collectInspection(
      {
        query: 'otp%5B0%5D=4&otp%5B1%5D=2&password%5Bnew%5D=hunter2&page=2',
        headers: {},
        params: undefined,
        body: { customer: { address: { street: '1 Secret Lane', zip: '99999' }, plan: 'pro' } },
      },
      { ...limits, maxRequestChars: 1000 },
      r,
    );
    assert.equal(out['vigil.inspect.body.customer.address'], '[REDACTED]');
    assert.equal(out['vigil.inspect.body.customer.plan'], 'pro');
    assert.equal(out['vigil.inspect.query.otp_0_'], '[REDACTED]');
    assert.equal(out['vigil.inspect.query.otp_1_'], '[REDACTED]');
    assert.equal(out['vigil.inspect.query.password_new_'], '[REDACTED]');
    assert.equal(out['vigil.inspect.query.page'], '2');
    assert.doesNotMatch(JSON.stringify(out), /Secret Lane|99999|hunter2/);
  });
});
