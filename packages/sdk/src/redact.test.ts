import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRedactor, luhnValid, REDACTED, redact } from './redact.js';

const r = createRedactor({ keys: ['customer.email', 'nickname'] });

describe('redaction', () => {
  test('sensitive keys are matched on their last segment, case and separators normalised', () => {
    for (const key of [
      'password',
      'Password',
      'user.password',
      'user[password]',
      'X-Api-Key',
      'api_key',
      'apiKey',
      'Authorization',
      'set-cookie',
      'access_token',
      'refreshToken',
      'client_secret',
      'resetPasswordToken',
      'cvv',
      'SSN',
      'otp',
      'pin',
      'connect.sid',
      'nickname',
    ]) {
      assert.equal(r.isSensitiveKey(key), true, key);
    }
    for (const key of ['user.id', 'shipping', 'company', 'http.route', 'spin_count', 'items[0].sku']) {
      assert.equal(r.isSensitiveKey(key), false, key);
    }
    // A key of the app's data is sensitive by any of its segments: a secret's sub-keys and items are secret too.
    for (const key of ['password[new]', 'otp[0]', 'pin[3]', 'password.new', 'session.id', 'card[number]']) {
      assert.equal(r.isSensitiveKey(key), true, key);
    }
    // A field name of an event by its last dotted segment (and that segment's bracket parts).
    for (const path of ['vigil.token.id', 'vigil.session.hash', 'session.id', 'vigil.api_key.id']) {
      assert.equal(r.isSensitivePath(path), false, path);
    }
    for (const path of ['body.password', 'body.password[new]', 'form.otp[0]', 'http.request.header.x-api-key']) {
      assert.equal(r.isSensitivePath(path), true, path);
    }
  });

  test('objects: sensitive keys replaced at any depth, Errors reduced to their class, cycles cut', () => {
    const input: Record<string, unknown> = {
      user: 'ann',
      password: 'hunter2',
      nested: { headers: { authorization: 'Bearer abc.def.ghi', accept: 'json' }, list: [{ token: 't0k3n' }] },
      error: new TypeError('failed for hunter2'),
    };
    input.self = input;
    const out = r.value(input) as Record<string, unknown>;
    const text = JSON.stringify(out);
    assert.equal(out.password, REDACTED);
    assert.equal(out.user, 'ann');
    assert.equal(out.error, 'TypeError');
    assert.ok(!text.includes('hunter2'));
    assert.ok(!text.includes('t0k3n'));
    assert.ok(!text.includes('abc.def'));
    assert.ok(text.includes('json'));
    assert.deepEqual(redact({ apikey: 'k', ok: 1 }), { apikey: REDACTED, ok: 1 });
  });

  test('event fields: flattened to dotted names, configured paths redacted', () => {
    const out = r.fields({ customer: { email: 'a@b.example', plan: 'pro', card: '4111 1111 1111 1111' }, n: 3 });
    assert.deepEqual(out, {
      'customer.email': REDACTED,
      'customer.plan': 'pro',
      'customer.card': REDACTED,
      n: 3,
    });
  });

  test('query strings', () => {
    assert.equal(r.query('a=1&token=x'), `a=1&token=${REDACTED}`);
    assert.equal(
      r.query('page=2&access_token=abc&API-KEY=zz&q=shoes'),
      `page=2&access_token=${REDACTED}&API-KEY=${REDACTED}&q=shoes`,
    );
    assert.equal(r.query('pass%77ord=x'), `pass%77ord=${REDACTED}`, 'keys are judged decoded');
    assert.equal(r.query('q=%zz'), 'q=%zz', 'a malformed escape does not throw');
  });

  test('free text: card numbers by pattern and Luhn', () => {
    assert.equal(luhnValid('4111111111111111'), true);
    assert.equal(luhnValid('4111111111111112'), false);
    assert.equal(r.text('paid with 4111 1111 1111 1111 today'), `paid with ${REDACTED} today`);
    assert.equal(r.text('card 5500-0000-0000-0004'), `card ${REDACTED}`);
    assert.equal(r.text('order 4111111111111112'), 'order 4111111111111112', 'Luhn-invalid: not a card');
    assert.equal(r.text('id 1234567890123'), 'id 1234567890123', 'no issuer starts with 1');
    assert.equal(r.text('/cards/4012888888881881/charge'), `/cards/${REDACTED}/charge`);
    assert.equal(r.text('4222222222222'), REDACTED, 'the shortest card, 13 digits');
    assert.equal(r.text('4111 1111 1111 1111'), REDACTED, 'grouped, the whole string');
    assert.equal(r.text('/orders/4711?at=2026-11-26'), '/orders/4711?at=2026-11-26', 'short numbers are left alone');
    assert.equal(r.text('4111  1111  1111  1111'), '4111  1111  1111  1111', 'two spaces apart: not one number');
  });

  test('free text: bearer tokens, JWTs and key=value secrets', () => {
    const jwt =
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
    const header = r.text(`Authorization: Bearer ${jwt}`);
    assert.ok(header.startsWith(`Authorization: ${REDACTED}`) && !header.includes('eyJ'), header);
    assert.equal(r.text(`auth header was bearer abcdefghijkl`), `auth header was bearer ${REDACTED}`);
    assert.equal(r.text(`token in body ${jwt} end`), `token in body ${REDACTED} end`);
    assert.equal(r.text('connect to db password=s3cret host=x'), `connect to db password=${REDACTED} host=x`);
    assert.equal(r.text('{"user":"ann","password":"s3cret"}'), `{"user":"ann","password":"${REDACTED}"}`);
    assert.equal(r.text('api.example.com/v1/x'), 'api.example.com/v1/x', 'dotted names are not JWTs');
  });

  test('strings are neutralised against log injection and cut to the limit', () => {
    const short = createRedactor({ maxStringLength: 10 });
    assert.deepEqual(short.fields({ ua: 'curl\n2026 fake line', long: 'x'.repeat(50) }), {
      ua: 'curl\\u000a',
      long: 'x'.repeat(10),
    });
    // A right-to-left override in a user name would make a display show it reordered.
    assert.deepEqual(createRedactor().fields({ 'user.name': 'eve\u202etoor' }), { 'user.name': 'eve\\u202etoor' });
  });

  test('a secret key with sub-keys or indexes in a query: otp[0], password[new]', () => {
    assert.equal(
      r.query('otp[0]=4&otp[1]=2&password[new]=hunter2&page=2'),
      `otp[0]=${REDACTED}&otp[1]=${REDACTED}&password[new]=${REDACTED}&page=2`,
    );
    assert.equal(r.query('items[0][sku]=A-1'), 'items[0][sku]=A-1');
    assert.equal(r.text('form password[new]=hunter2 sent'), `form password[new]=${REDACTED} sent`);
  });

  test('card numbers sent as numbers are redacted; other numbers are kept', () => {
    const out = r.fields({ number: 4111111111111111, big: 4111111111111111n, order: 4111111111111112, qty: 3 });
    assert.deepEqual(out, { number: REDACTED, big: REDACTED, order: 4111111111111112, qty: 3 });
    assert.deepEqual(r.fields({ payment: { card_no: 5500000000000004 } }), { 'payment.card_no': REDACTED });
  });

  test('keys of the app data: sub-keys of a secret, unusable characters, __proto__', () => {
    const out = r.fields(
      JSON.parse('{"__proto__":["injected","x"],"password.new":"a","first name":"ann","note\u2028x":"b","1st":"c"}'),
    );
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepEqual(out, { 'password.new': REDACTED, first_name: 'ann', note_x: 'b', _1st: 'c' });
    // The model's own fields are judged by their last segment: a session hash is not a session.
    assert.deepEqual(r.fields({ 'session.id': 'abc', 'vigil.api_key.id': 'k1' }), {
      'session.id': 'abc',
      'vigil.api_key.id': 'k1',
    });
    assert.equal((r.value(JSON.parse('{"__proto__":{"polluted":1},"a":1}')) as object).constructor, Object);
  });

  test('a cut through a card number in very long text does not leave part of it behind', () => {
    const small = createRedactor({ maxStringLength: 40 }); // the patterns run on the first 160 characters
    const value = `Bearer ${'a'.repeat(140)} 4111 1111 1111 1111`; // the cut at 160 falls inside the card
    const out = small.string(value);
    assert.doesNotMatch(out, /4111|1111/, out);
    assert.equal(small.string('x'.repeat(500)), 'x'.repeat(40), 'other text is cut where it is cut');
  });

  test("a URL's password in free text; API-key headers of gateways; passcodes", () => {
    assert.equal(r.text('postgres://app:Sup3rS3cret@db:5432/prod'), `postgres://app:${REDACTED}@db:5432/prod`);
    assert.equal(r.text('via https://alice:pw@partner.example/cb'), `via https://alice:${REDACTED}@partner.example/cb`);
    assert.equal(r.text('https://user@host/x and mailto:a@b.example'), 'https://user@host/x and mailto:a@b.example');
    assert.equal(r.text(r.text('redis://:pw@cache:6379')), `redis://:${REDACTED}@cache:6379`, 'a second pass');
    for (const key of ['Ocp-Apim-Subscription-Key', 'X-Functions-Key', 'passcode', 'access_key']) {
      assert.equal(r.isSensitiveKey(key), true, key);
    }
  });
});
