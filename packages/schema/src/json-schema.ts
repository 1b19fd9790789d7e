/**
 * JSON Schema (draft 2020-12) of an event in its flat wire form, generated from the same FIELDS and EVENT_TYPES
 * the validator uses, so the two cannot drift apart. Nested input is flattened before validation; publish this
 * schema for tools that produce flat events.
 */
import { FIELDS, type FieldType } from './fields.js';
import { CUSTOM_TYPE_PREFIX, EVENT_TYPES } from './vocabulary.js';

const typeSchema: Record<FieldType, object> = {
  string: { type: 'string' },
  integer: { type: 'integer' },
  number: { type: 'number' },
  boolean: { type: 'boolean' },
  'string[]': { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, maxItems: 64 }] },
};

export function eventJsonSchema(): Record<string, unknown> {
  const properties: Record<string, unknown> = {
    id: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' },
    time: {
      description: 'Event time: RFC 3339 string or epoch milliseconds.',
      anyOf: [
        { type: 'string', format: 'date-time' },
        { type: 'integer', minimum: 946684800000 },
      ],
    },
    type: {
      description: 'OWASP vocabulary name, Vigil extension, or a custom type starting with x_.',
      anyOf: [
        { enum: EVENT_TYPES.map((t) => t.type) },
        { type: 'string', pattern: `^${CUSTOM_TYPE_PREFIX}[a-z0-9_]{1,60}$` },
      ],
    },
  };
  for (const field of FIELDS) properties[field.name] = { ...typeSchema[field.type], description: field.description };
  const allOf = EVENT_TYPES.filter((t) => t.args.some((a) => a.required)).map((t) => ({
    if: { properties: { type: { const: t.type } }, required: ['type'] },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword
    then: { required: t.args.filter((a) => a.required).map((a) => a.field) },
  }));
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://vigil.dev/schema/event.json',
    title: 'Vigil security event (flat form)',
    type: 'object',
    required: ['time', 'type'],
    properties,
    additionalProperties: {
      anyOf: [{ type: ['string', 'number', 'boolean'] }, { type: 'array', items: { type: 'string' }, maxItems: 64 }],
    },
    allOf,
  };
}
