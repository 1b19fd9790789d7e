import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  hasControlChars,
  neutralise,
  PARSE_DEFAULTS,
  type ParseOptions,
  type ParseResult,
  parseEvent,
  parseTime,
  type SecurityEvent,
  toCanonical,
  type ValidationIssue,
} from './event.js';
import { Field } from './fields.js';

const NOW = Date.parse('2026-03-14T10:00:00.000Z');
const options: ParseOptions = { now: NOW, newId: () => 'evt-1' };

function parse(input: unknown, extra: ParseOptions = {}): ParseResult {
  return parseEvent(input, { ...options, ...extra });
}

function accepted(input: unknown, extra: ParseOptions = {}): SecurityEvent {
  const r = parse(input, extra);
  assert.ok(r.ok, `rejected: ${JSON.stringify(r.ok ? '' : r.issues)}`);
  return r.event;
}

function rejected(input: unknown, extra: ParseOptions = {}): ValidationIssue[] {
  const r = parse(input, extra);
  assert.equal(r.ok, false, 'accepted an invalid event');
  return r.ok ? [] : r.issues;
}

/** The (field, code) pairs of the issues, for exact comparison. */
const pairs = (issues: ValidationIssue[]) => issues.map((i) => [i.field, i.code]);

const base = { time: '2026-03-14T09:00:00Z', type: 'authn_login_fail' };

describe('parseEvent: flat and nested input', () => {
  it('gives identical events for flat, nested and mixed input', () => {
    const flat = accepted({
      ...base,
      'client.address': '203.0.113.7',
      'client.port': 51522,
      'user.id': '4711',
      'http.request.method': 'POST',
      'http.response.status_code': 401,
      'user.roles': ['customer'],
    });
    const nested = accepted({
      ...base,
      client: { address: '203.0.113.7', port: 51522 },
      user: { id: '4711', roles: ['customer'] },
      http: { request: { method: 'POST' }, response: { status_code: 401 } },
    });
    const mixed = accepted({
      ...base,
      'client.address': '203.0.113.7',
      client: { port: 51522 },
      user: { id: '4711', roles: ['customer'] },
      'http.request': { method: 'POST' },
      http: { 'response.status_code': 401 },
    });
    // Key order may differ with the input's; the events must not.
    const sorted = (e: SecurityEvent) => ({
      ...e,
      attributes: Object.fromEntries(Object.entries(e.attributes).sort()),
    });
    assert.deepEqual(sorted(nested), sorted(flat));
    assert.deepEqual(sorted(mixed), sorted(flat));
    assert.equal(flat.attributes[Field.clientAddress], '203.0.113.7');
  });

  it('treats null as absent', () => {
    const e = accepted({ ...base, 'user.id': null, client: { address: null } });
    assert.deepEqual(e.attributes, {});
  });

  it('rejects what is not an object', () => {
    for (const input of [null, 'x', 42, [base]]) {
      assert.deepEqual(pairs(rejected(input)), [['(event)', 'not_an_object']]);
    }
  });
});

describe('parseEvent: time', () => {
  it('accepts RFC 3339 with any offset and epoch milliseconds', () => {
    assert.equal(
      accepted({ ...base, time: '2026-03-14T09:26:53.589+01:00' }).time,
      Date.parse('2026-03-14T08:26:53.589Z'),
    );
    assert.equal(accepted({ ...base, time: '2026-03-14 08:26:53Z' }).time, Date.parse('2026-03-14T08:26:53Z'));
    assert.equal(accepted({ ...base, time: 1773476813589 }).time, 1773476813589);
  });

  it('reports a missing time', () => {
    assert.deepEqual(pairs(rejected({ type: 'authn_login_fail' })), [['time', 'missing']]);
  });

  it('reports a time string that is not RFC 3339', () => {
    for (const time of ['yesterday', '2026-03-14', '2026-03-14T09:00:00', '14/03/2026 09:00', '1773476813589']) {
      assert.deepEqual(pairs(rejected({ ...base, time })), [['time', 'invalid_value']], time);
    }
  });

  it('reports impossible calendar dates instead of rolling them over', () => {
    for (const time of [
      '2026-02-30T00:00:00Z',
      '2026-04-31T12:00:00Z',
      '2026-03-14T24:00:00Z',
      '2025-02-29T00:00:00Z',
    ]) {
      assert.deepEqual(pairs(rejected({ ...base, time })), [['time', 'invalid_value']], time);
    }
    assert.equal(parseTime('2024-02-29T00:00:00Z'), Date.parse('2024-02-29T00:00:00Z'));
  });

  it('reports a time of the wrong JSON type', () => {
    assert.deepEqual(pairs(rejected({ ...base, time: true })), [['time', 'wrong_type']]);
    assert.deepEqual(pairs(rejected({ ...base, time: ['2026-03-14T09:00:00Z'] })), [['time', 'wrong_type']]);
  });

  it('quotes a wrong string in its message redacted, neutralised and cut: a token in the wrong field stays hidden', () => {
    const message = (time: string) => rejected({ ...base, time })[0]!.message;
    assert.match(message('yesterday'), /got a string \("yesterday"\)$/);
    assert.match(message('x'.repeat(40)), new RegExp(`\\("${'x'.repeat(20)}\\.\\.\\."\\)$`));
    for (const secret of [
      'Bearer s3cr3tT0k3nV4lu3',
      '4111 1111 1111 1111',
      'password=hunter2xyz',
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln',
    ]) {
      const text = message(secret);
      assert.match(text, /\[REDACTED\]/, text);
      assert.doesNotMatch(text, /s3cr3t|1111 1111|hunter2|eyJhbGci/, text);
    }
    const forged = message('9\n2026-03-14 ERROR');
    assert.doesNotMatch(forged, /\n/);
    assert.match(forged, /\\u000a/);
    assert.match(
      rejected({ ...base, 'http.response.status_code': 'token=abcdef123456' })[0]!.message,
      /token=\[REDACTED\]/,
    );
  });

  it('reports seconds sent where milliseconds are expected', () => {
    const issues = rejected({ ...base, time: Math.floor(NOW / 1000) });
    assert.deepEqual(pairs(issues), [['time', 'invalid_value']]);
    assert.match(issues[0]!.message, /2000-01-01/);
  });

  it('reports a time beyond the future skew bound, and accepts one within it', () => {
    const skew = PARSE_DEFAULTS.maxFutureSkewMillis;
    assert.deepEqual(pairs(rejected({ ...base, time: NOW + skew + 1 })), [['time', 'invalid_value']]);
    accepted({ ...base, time: NOW + skew });
    accepted({ ...base, time: NOW + 60_000 }, { maxFutureSkewMillis: 60_000 });
    assert.deepEqual(pairs(rejected({ ...base, time: NOW + 60_001 }, { maxFutureSkewMillis: 60_000 })), [
      ['time', 'invalid_value'],
    ]);
  });
});

describe('parseEvent: type', () => {
  it('reports a missing type', () => {
    assert.deepEqual(pairs(rejected({ time: base.time })), [['type', 'missing']]);
  });

  it('reports a type that is not a string', () => {
    assert.deepEqual(pairs(rejected({ time: base.time, type: 7 })), [['type', 'wrong_type']]);
  });

  it('reports an unknown type, with a hint', () => {
    const issues = rejected({ time: base.time, type: 'login_failed' });
    assert.deepEqual(pairs(issues), [['type', 'unknown_type']]);
    assert.match(issues[0]!.message, /x_/);
  });

  it('accepts custom x_ types, and no other prefix', () => {
    assert.equal(accepted({ time: base.time, type: 'x_coupon_redeemed' }).type, 'x_coupon_redeemed');
    assert.deepEqual(pairs(rejected({ time: base.time, type: 'x_Coupon' })), [['type', 'unknown_type']]);
    assert.deepEqual(pairs(rejected({ time: base.time, type: 'y_coupon' })), [['type', 'unknown_type']]);
  });
});

describe('parseEvent: id', () => {
  it('keeps the sender id, assigns one otherwise', () => {
    assert.equal(accepted({ ...base, id: 'pay-evt-7' }).id, 'pay-evt-7');
    assert.equal(accepted(base).id, 'evt-1');
    const random = parseEvent(base, { now: NOW });
    assert.ok(random.ok);
    assert.match(random.event.id, /^[0-9a-f-]{36}$/);
  });

  it('rejects a malformed id', () => {
    for (const id of ['', 'has space', 'a'.repeat(129), 12]) {
      assert.deepEqual(pairs(rejected({ ...base, id })), [['id', 'invalid_value']], String(id));
    }
  });
});

describe('parseEvent: field values', () => {
  it('reports an integer field holding something else', () => {
    for (const value of ['443', 443.5, true, [443]]) {
      const issues = rejected({ ...base, 'server.port': value });
      assert.deepEqual(pairs(issues), [[Field.serverPort, 'wrong_type']], JSON.stringify(value));
      assert.match(issues[0]!.message, /integer/);
    }
  });

  it('reports wrong types for string, number and boolean fields', () => {
    assert.deepEqual(pairs(rejected({ ...base, 'user.id': 4711 })), [[Field.userId, 'wrong_type']]);
    assert.deepEqual(pairs(rejected({ ...base, 'vigil.payment.amount': '49.90' })), [
      [Field.paymentAmount, 'wrong_type'],
    ]);
    assert.deepEqual(pairs(rejected({ ...base, 'vigil.truncated': 'yes' })), [[Field.truncated, 'wrong_type']]);
  });

  it('takes a string[] field as an array, or a single string', () => {
    assert.deepEqual(accepted({ ...base, 'user.roles': ['admin', 'billing'] }).attributes[Field.userRoles], [
      'admin',
      'billing',
    ]);
    assert.deepEqual(accepted({ ...base, 'user.roles': 'admin' }).attributes[Field.userRoles], ['admin']);
  });

  it('rejects a string[] field with non-strings or too many elements', () => {
    assert.deepEqual(pairs(rejected({ ...base, 'user.roles': ['admin', 1] })), [[Field.userRoles, 'wrong_type']]);
    const many = Array.from({ length: 65 }, (_, i) => `r${i}`);
    assert.deepEqual(pairs(rejected({ ...base, 'user.roles': many })), [[Field.userRoles, 'wrong_type']]);
    accepted({ ...base, 'user.roles': many.slice(0, 64) });
  });

  it('keeps unknown fields that are scalars or string arrays, and rejects the rest', () => {
    const e = accepted({ ...base, 'app.tier': 'gold', 'app.score': 1.5, 'app.beta': false, 'app.tags': ['a'] });
    assert.deepEqual(e.attributes, { 'app.tier': 'gold', 'app.score': 1.5, 'app.beta': false, 'app.tags': ['a'] });
    assert.deepEqual(pairs(rejected({ ...base, 'app.list': [1, 2] })), [['app.list', 'wrong_type']]);
  });

  it('reports every problem at once', () => {
    const issues = rejected({ time: 1773476813, type: 'authn_login_success', 'server.port': '443' });
    assert.deepEqual(pairs(issues), [
      ['time', 'invalid_value'],
      [Field.serverPort, 'wrong_type'],
      [Field.userId, 'missing'],
    ]);
  });
});

describe('parseEvent: limits', () => {
  it('reports too many fields', () => {
    const fields = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`app.f${i}`, i]));
    assert.deepEqual(pairs(rejected({ ...base, ...fields })), [['(event)', 'too_many_fields']]);
    const limit = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`app.f${i}`, i]));
    accepted({ ...base, ...limit });
    assert.deepEqual(pairs(rejected({ ...base, a: 1, b: 2, c: 3 }, { maxFields: 2 })), [
      ['(event)', 'too_many_fields'],
    ]);
  });

  it('reports invalid field names, neutralised', () => {
    for (const name of ['bad name', 'user..id', '.user', 'user.', 'café', '1abc', 'a'.repeat(129)]) {
      assert.deepEqual(pairs(rejected({ ...base, [name]: 'x' })), [[name.slice(0, 128), 'invalid_name']], name);
    }
    const issues = rejected({ ...base, 'evil\nname': 'x' });
    assert.deepEqual(pairs(issues), [['evil\\u000aname', 'invalid_name']]);
  });

  it('neutralises control characters in values, arrays included', () => {
    const e = accepted({
      ...base,
      'user.id': 'joe\r\nauthn_login_success:admin',
      'user_agent.original': 'x\u001b[31mred\u2028y\u0085z\u007f',
      'user.roles': ['a\tb'],
    });
    assert.equal(e.attributes[Field.userId], 'joe\\u000d\\u000aauthn_login_success:admin');
    assert.equal(e.attributes[Field.userAgentOriginal], 'x\\u001b[31mred\\u2028y\\u0085z\\u007f');
    assert.deepEqual(e.attributes[Field.userRoles], ['a\\u0009b']);
    assert.equal(e.attributes['vigil.truncated'], undefined);
    assert.equal(neutralise('plain text, ünïcode ✓'), 'plain text, ünïcode ✓');
  });

  it('hasControlChars finds exactly the characters neutralise escapes (the set is written twice, for speed)', () => {
    for (let c = 0; c <= 0xffff; c++) {
      const ch = String.fromCharCode(c);
      assert.equal(hasControlChars(`a${ch}b`), neutralise(ch) !== ch, `U+${c.toString(16).padStart(4, '0')}`);
    }
  });

  it('neutralises bidirectional overrides, marks and isolates, which could show a value reordered', () => {
    // "admin" written backwards behind a right-to-left override displays as "nimda"-looking text reversed.
    const e = accepted({ ...base, 'user.id': 'mallory\u202enimda', 'user.name': '\u2066a\u2069\u200f\u061c' });
    assert.equal(e.attributes[Field.userId], 'mallory\\u202enimda');
    assert.equal(e.attributes[Field.userName], '\\u2066a\\u2069\\u200f\\u061c');
    // Right-to-left text itself is left alone.
    assert.equal(neutralise('שלום عليكم'), 'שלום عليكم');
  });

  it('truncates long strings and marks the event', () => {
    const long = 'a'.repeat(PARSE_DEFAULTS.maxStringLength + 10);
    const e = accepted({ ...base, 'user_agent.original': long });
    assert.equal(e.attributes[Field.userAgentOriginal], 'a'.repeat(PARSE_DEFAULTS.maxStringLength));
    assert.equal(e.attributes[Field.truncated], true);

    const exact = accepted({ ...base, 'user_agent.original': 'a'.repeat(PARSE_DEFAULTS.maxStringLength) });
    assert.equal(exact.attributes[Field.truncated], undefined);
  });

  it('marks the event when an element of a string array was cut', () => {
    const e = accepted({ ...base, 'user.roles': ['ok', 'abcdefgh'] }, { maxStringLength: 4 });
    assert.deepEqual(e.attributes[Field.userRoles], ['ok', 'abcd']);
    assert.equal(e.attributes[Field.truncated], true);
  });
});

describe('toCanonical', () => {
  it('is flat, with time in UTC milliseconds and the id always present', () => {
    const e = accepted({ ...base, time: '2026-03-14T09:26:53+01:00', client: { address: '203.0.113.7' } });
    assert.deepEqual(toCanonical(e), {
      id: 'evt-1',
      time: '2026-03-14T08:26:53.000Z',
      type: 'authn_login_fail',
      'client.address': '203.0.113.7',
    });
  });

  it('round-trips: the canonical form parses back to the same event', () => {
    const e = accepted({ ...base, 'user.roles': ['a'], 'client.port': 1, 'vigil.payment.amount': 1.25 });
    assert.deepEqual(accepted(toCanonical(e)), e);
  });

  it('lets no attribute override id, time or type', () => {
    const attributes = { id: 'forged', time: 'forged', type: 'forged', 'event.reason': 'oom' };
    const c = toCanonical({ id: 'a', time: NOW, type: 'sys_crash', attributes });
    assert.deepEqual([c.id, c.time, c.type], ['a', '2026-03-14T10:00:00.000Z', 'sys_crash']);
  });
});
