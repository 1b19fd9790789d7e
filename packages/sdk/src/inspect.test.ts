import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { collectInspection, type InspectLimits } from './inspect.js';
import { createRedactor, REDACTED, type Redactor } from './redact.js';

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

  test('a key holding a secret is not sent as a field name: a query parameter without `=` is all key', () => {
    const card = '4111111111111111';
    const token = `ghp_${'QZ'.repeat(18)}`;
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl';
    const out = collectInspection(
      {
        query: `${card}&${jwt}&Bearer+QZQZQZQZQZ&pass:word=hunter2&q=1`,
        headers: {},
        params: undefined,
        body: { [token]: 'x', note: { [`paid 4111 1111 1111 1111`]: 'y' } },
      },
      { ...limits, maxRequestChars: 1000, maxFields: 16 },
      redactor,
    );
    const sent = JSON.stringify(out);
    for (const secret of [card, token.slice(4, 12), 'eyJzdWIi', 'QZQZ', 'hunter2', '1111']) {
      assert.ok(!sent.includes(secret), `${secret} in ${sent}`);
    }
    // Each redacted key was judged as it is sent: `pass:word` is a pair, and its value is still hidden.
    assert.deepEqual(out, {
      'vigil.inspect.query._REDACTED_': '',
      'vigil.inspect.query.Bearer__REDACTED_': '',
      'vigil.inspect.query.pass__REDACTED_': REDACTED,
      'vigil.inspect.query.q': '1',
      'vigil.inspect.body._REDACTED_': 'x',
      'vigil.inspect.body.note.paid__REDACTED_': 'y',
      // The card and the JWT are both sent as `_REDACTED_`: the second is left out, and said to be.
      [TRUNCATED]: true,
    });
  });

  test('a second key sent under a field name already sent is left out, and the inspection is marked', () => {
    const payload = "' OR 1=1--";
    for (const request of [
      { query: `q:x=benign&q_x=${encodeURIComponent(payload)}`, body: undefined },
      { query: undefined, body: { q_x: 'benign', 'q:x': payload } },
      { query: undefined, body: { [`${'a'.repeat(60)}1`]: 'benign', [`${'a'.repeat(60)}2`]: payload } },
    ]) {
      const out = collectInspection({ ...request, headers: {}, params: undefined }, limits, redactor);
      assert.equal(out[TRUNCATED], true, JSON.stringify(out));
      assert.equal(Object.keys(out).length, 2, JSON.stringify(out));
    }
    const distinct = collectInspection(
      { query: 'q_x=1&q_y=2', headers: {}, params: undefined, body: { q_x: 3 } },
      limits,
      redactor,
    );
    assert.equal(distinct[TRUNCATED], undefined, 'the same key in another place is another field');
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

  /** The redactor, with the keys it was asked to judge and the length of each value it was given to redact. */
  const spy = (base: Redactor = redactor) => {
    const judged: string[] = [];
    const redacted: number[] = [];
    const r: Redactor = {
      ...base,
      isSensitiveKey: (key) => {
        judged.push(key);
        return base.isSensitiveKey(key);
      },
      string: (value) => {
        redacted.push(value.length);
        return base.string(value);
      },
      prefix: (value, maxChars) => {
        redacted.push(value.length);
        return base.prefix(value, maxChars);
      },
    };
    return { r, judged, redacted };
  };

  test('query parameters are read as URLSearchParams reads them: the same values, decoded the same way', () => {
    const queries = [
      'a=1&b=2&a=3',
      'q=%3Cscript%3E+alert(1)&empty=&flag&&=x&x==y',
      'name=caf%C3%A9&bad=%zz%&half=%E2%82&raw=\u00e9t\u00e9&plus=a+b%2Bc',
      'emoji=%F0%9F%98%80&lone=\ud800x&sp=%20%20&lone2=%ED%A0%80&over=%C0%AF&mix=\u00c3%A9&pct=%25&plus=%2B+',
      'user%5Bname%5D=ann&tag=x&tag=y&tag=z&a+b%20c=1',
    ];
    // And queries made of what decoding turns on: escapes of UTF-8 lead and continuation bytes, malformed ones, `+`,
    // a raw non-ASCII character, separators (a fixed sequence of pseudo-random picks).
    const alphabet = ['%', 'C3', 'A9', 'E2', '82', 'AC', 'F0', '9F', 'zz', '+', '=', '&', '\u00e9', 'a', '%25'];
    let seed = 7;
    for (let n = 0; n < 300; n++) {
      let query = '';
      for (let i = 0; i < 12; i++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        query += alphabet[seed % alphabet.length];
      }
      queries.push(query);
    }
    const wide = { ...limits, maxValueChars: 64, maxRequestChars: 10_000, maxFields: 32 };
    for (const query of queries) {
      const expected: Record<string, unknown> = {};
      const lists = new Map<string, string[]>();
      for (const [key, value] of new URLSearchParams(query)) lists.set(key, [...(lists.get(key) ?? []), value]);
      for (const [key, list] of lists) {
        const name = `vigil.inspect.query.${key.replace(/[^A-Za-z0-9_-]/g, '_') || '_'}`;
        if (name in expected) {
          expected[TRUNCATED] = true;
          continue;
        }
        const values = list.map((v) => redactor.string(v).slice(0, wide.maxValueChars));
        expected[name] = values.length === 1 ? values[0] : values;
      }
      const out = collectInspection({ query, headers: {}, params: undefined, body: undefined }, wide, redactor);
      assert.deepEqual(out, expected, query);
    }
  });

  test('a long query is read only as far as the limits go, and a long value only as far as its cut', () => {
    const { r, redacted } = spy();
    const perField = 16; // values a query key keeps
    const padding = Array.from({ length: limits.maxFields * perField }, () => 'a=1').join('&');
    const out = collectInspection(
      { query: `${padding}&a=late&q=${'x'.repeat(12_000)}`, headers: {}, params: undefined, body: undefined },
      { ...limits, maxFields: 2, maxRequestChars: 10_000 },
      r,
    );
    assert.equal(out[TRUNCATED], true);
    // Not read: a value of `a` past the parameters the limits allow, and `q` after it.
    assert.ok(!JSON.stringify(out).includes('late'));
    assert.equal(out['vigil.inspect.query.q'], undefined);
    const short = spy();
    collectInspection(
      { query: `q=${'%41'.repeat(12_000)}`, headers: {}, params: undefined, body: undefined },
      limits,
      short.r,
    );
    assert.ok(
      // The value, and its key as it becomes a field name.
      short.redacted.length === 2 && short.redacted.every((chars) => chars < 1000),
      `decoded only as far as the cut reads: ${short.redacted}`,
    );
    assert.ok(redacted.length > 0);
  });

  test('a body is walked only as far as the limits go: keys that give no field count too', () => {
    const read: string[] = [];
    const nulls = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, null]));
    const body = new Proxy(nulls, {
      get: (target, key, receiver) => {
        if (typeof key === 'string') read.push(key);
        return Reflect.get(target, key, receiver);
      },
    });
    const out = collectInspection({ query: undefined, headers: {}, params: undefined, body }, limits, redactor);
    assert.equal(out[TRUNCATED], true);
    assert.ok(read.length <= limits.maxFields * 8, `${read.length} keys read`);

    // Long keys that come out as one field name: the first is judged, the others are not, as they give nothing.
    const { r, judged } = spy();
    const long = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`${'k'.repeat(400)}${i}`, 'v']));
    const longOut = collectInspection(
      { query: undefined, headers: {}, params: undefined, body: long },
      { ...limits, maxFields: 32 },
      r,
    );
    assert.deepEqual(longOut, { [`vigil.inspect.body.${'k'.repeat(48)}`]: 'v', [TRUNCATED]: true });
    assert.deepEqual(new Set(judged.filter((key) => key.length > 400)), new Set([`${'k'.repeat(400)}0`]));
  });

  test('an array is judged by the items inspected: objects past them do not make it a list of objects', () => {
    const list = [...Array.from({ length: 20 }, (_, i) => `v${i}`), { sku: 'late' }];
    const out = collectInspection(
      { query: undefined, headers: {}, params: undefined, body: { list } },
      { ...limits, maxRequestChars: 1000 },
      redactor,
    );
    assert.deepEqual(out, {
      'vigil.inspect.body.list': Array.from({ length: 16 }, (_, i) => `v${i}`),
      [TRUNCATED]: true,
    });
  });

  test('a secret across the cut of a long value is hidden, in the query and in the body', () => {
    const jwt = `eyJhbGciOiJIUzI1NiJ9.${'eyJzdWIiOiIxIn0'.repeat(100)}.${'c2lnbmF0dXJl'.repeat(10)}`;
    const note = `${'w '.repeat(100)}${jwt} tail ${'w '.repeat(3000)}`;
    const out = collectInspection(
      { query: `q=${encodeURIComponent(note)}`, headers: {}, params: undefined, body: { note } },
      { ...limits, maxValueChars: 256, maxRequestChars: 10_000 },
      redactor,
    );
    for (const name of ['vigil.inspect.query.q', 'vigil.inspect.body.note']) {
      const value = out[name] as string;
      assert.ok(value.startsWith(`${'w '.repeat(100)}${REDACTED}`), value);
      assert.ok(!value.includes('eyJzdWIi') && !value.includes('eyJhbGci'), value);
    }
  });
});
