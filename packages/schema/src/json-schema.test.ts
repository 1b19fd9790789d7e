import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Ajv2020 from 'ajv/dist/2020.js';
import { parseEvent } from './event.js';
import { FIELDS_BY_NAME, Field, type FieldValue } from './fields.js';
import { eventJsonSchema } from './json-schema.js';
import { EVENT_TYPES } from './vocabulary.js';

const NOW = Date.parse('2026-03-14T10:00:00Z');
const TIME = '2026-03-14T09:00:00Z';

/**
 * RFC 3339 `date-time` (section 5.6), as a format-asserting validator would check it, calendar included. Written
 * here rather than taken from parseEvent, so the test compares two independent readings of the standard.
 */
function isRfc3339DateTime(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, ...number[]];
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month! - 1];
  if (daysInMonth === undefined || day! < 1 || day! > daysInMonth) return false;
  if (hour! > 23 || minute! > 59 || second! > 60) return false;
  return m[9] === undefined || (Number(m[9]) <= 23 && Number(m[10]) <= 59);
}

function compileSchema() {
  // ajv ships as CommonJS; under NodeNext the class is the module's `default`. strictRequired is an ajv-only
  // check that wants `required` names declared in the same subschema; the if/then clauses name top-level ones.
  const ajv = new Ajv2020.default({ strict: true, strictRequired: false, allErrors: true, allowUnionTypes: true });
  ajv.addFormat('date-time', isRfc3339DateTime);
  return ajv.compile(eventJsonSchema());
}

function example(field: string): FieldValue {
  return FIELDS_BY_NAME.get(field)!.example;
}

interface Sample {
  readonly name: string;
  readonly event: Record<string, unknown>;
}

const login = { time: TIME, type: 'authn_login_fail' };

const valid: Sample[] = [
  { name: 'minimal', event: login },
  { name: 'epoch milliseconds', event: { ...login, time: 1773478800000 } },
  { name: 'offset and fraction', event: { ...login, time: '2026-03-14T10:00:00.123456+01:00' } },
  { name: 'space instead of T', event: { ...login, time: '2026-03-14 09:00:00Z' } },
  { name: 'leap day', event: { ...login, time: '2024-02-29T09:00:00Z' } },
  { name: 'custom type', event: { time: TIME, type: 'x_coupon_redeemed', 'app.coupon': 'SPRING' } },
  { name: 'with id', event: { ...login, id: 'evt:2026-03-14.0001' } },
  { name: 'string[] as array', event: { ...login, 'user.roles': ['admin', 'billing'] } },
  { name: 'string[] as one string', event: { ...login, 'user.roles': 'admin' } },
  { name: 'unknown scalar fields', event: { ...login, 'app.tier': 'gold', 'app.score': 2.5, 'app.beta': true } },
  { name: 'unknown string array', event: { ...login, 'app.tags': ['a', 'b'] } },
  {
    name: 'full http_request',
    event: {
      time: TIME,
      type: 'http_request',
      'http.request.method': 'GET',
      'url.path': '/v1/invoices/9001',
      'http.route': '/v1/invoices/:id',
      'http.response.status_code': 200,
      'http.server.request.duration': 0.018,
      'client.address': '198.51.100.23',
      'client.port': 51522,
      'user.id': '4711',
    },
  },
];

const invalid: Sample[] = [
  { name: 'missing time', event: { type: 'authn_login_fail' } },
  { name: 'missing type', event: { time: TIME } },
  { name: 'unknown type', event: { time: TIME, type: 'login_failed' } },
  { name: 'type not a string', event: { time: TIME, type: 3 } },
  { name: 'custom type with capitals', event: { time: TIME, type: 'x_Coupon' } },
  { name: 'time in seconds', event: { ...login, time: 1773478800 } },
  { name: 'time not a date', event: { ...login, time: 'yesterday' } },
  { name: 'time without offset', event: { ...login, time: '2026-03-14T09:00:00' } },
  { name: 'time date only', event: { ...login, time: '2026-03-14' } },
  { name: 'impossible date', event: { ...login, time: '2026-02-30T09:00:00Z' } },
  { name: 'hour 24', event: { ...login, time: '2026-03-14T24:00:00Z' } },
  { name: 'time boolean', event: { ...login, time: true } },
  { name: 'bad id', event: { ...login, id: 'has space' } },
  { name: 'integer field as string', event: { ...login, 'server.port': '443' } },
  { name: 'integer field as fraction', event: { ...login, 'http.response.status_code': 401.5 } },
  { name: 'number field as string', event: { ...login, 'vigil.payment.amount': '49.90' } },
  { name: 'boolean field as string', event: { ...login, 'vigil.truncated': 'yes' } },
  { name: 'string field as number', event: { ...login, 'user.id': 4711 } },
  { name: 'string[] with a number', event: { ...login, 'user.roles': ['admin', 1] } },
  { name: 'string[] too long', event: { ...login, 'user.roles': Array.from({ length: 65 }, (_, i) => `r${i}`) } },
  { name: 'unknown field, array of numbers', event: { ...login, 'app.list': [1, 2] } },
  { name: 'http_request without a method', event: { time: TIME, type: 'http_request', 'url.path': '/x' } },
];

// Every catalogued type with exactly its required fields (valid), and without each of them (invalid).
for (const t of EVENT_TYPES) {
  const required = t.args.filter((a) => a.required);
  const complete: Record<string, unknown> = { time: TIME, type: t.type };
  for (const a of required) complete[a.field] = example(a.field);
  valid.push({ name: `${t.type} with its required fields`, event: complete });
  for (const a of required) {
    const without = { ...complete };
    delete without[a.field];
    invalid.push({ name: `${t.type} without ${a.field}`, event: without });
  }
}

// Deliberately absent: cases the JSON Schema cannot express, where only parseEvent rejects (or accepts):
// - a time too far in the future (the bound depends on the receiver's clock);
// - more than maxFields fields (a schema could say maxProperties, but fields set to null do not count);
// - invalid field names (the schema lets any name through additionalProperties);
// - null values (parseEvent treats them as absent, the schema rejects null for a known field);
// - fractional epoch milliseconds (parseEvent drops the fraction, the schema wants an integer);
// - leap seconds and more than 9 fractional digits (valid RFC 3339, refused by parseEvent's stricter reading);
// - nested input (parseEvent flattens it first; the schema describes the flat form only).

describe('eventJsonSchema with ajv', () => {
  const validate = compileSchema();

  it('compiles as draft 2020-12 in strict mode', () => {
    assert.equal(eventJsonSchema().$schema, 'https://json-schema.org/draft/2020-12/schema');
  });

  it('lists every type and every field', () => {
    const schema = eventJsonSchema() as { properties: Record<string, { anyOf?: { enum?: string[] }[] }> };
    assert.deepEqual(
      schema.properties.type?.anyOf?.[0]?.enum,
      EVENT_TYPES.map((t) => t.type),
    );
    for (const name of FIELDS_BY_NAME.keys()) assert.ok(name in schema.properties, name);
    assert.ok(Field.dropCount in schema.properties);
  });

  for (const sample of valid) {
    it(`valid for both: ${sample.name}`, () => {
      assert.ok(validate(sample.event), `ajv: ${JSON.stringify(validate.errors)}`);
      const r = parseEvent(sample.event, { now: NOW });
      assert.ok(r.ok, `parseEvent: ${JSON.stringify(r.ok ? '' : r.issues)}`);
    });
  }

  for (const sample of invalid) {
    it(`invalid for both: ${sample.name}`, () => {
      assert.equal(validate(sample.event), false, 'ajv accepted it');
      assert.equal(parseEvent(sample.event, { now: NOW }).ok, false, 'parseEvent accepted it');
    });
  }
});
