import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEvent } from './event.js';
import { FIELDS, FIELDS_BY_NAME, Field, type FieldType, type FieldValue } from './fields.js';
import {
  CUSTOM_TYPE_PREFIX,
  EVENT_TYPES,
  EVENT_TYPES_BY_NAME,
  type EventTypeDefinition,
  isKnownEventType,
  OWASP_EVENT_TYPES,
  VIGIL_EXTENSION_TYPES,
  VOCABULARY_VERSION,
} from './vocabulary.js';

// Every type of the cheat sheet pinned in VOCABULARY_VERSION, in its order. Changing the pin means re-reading the
// cheat sheet and updating this list on purpose.
const PINNED_OWASP_TYPES = [
  'authn_login_success',
  'authn_login_successafterfail',
  'authn_login_fail',
  'authn_login_fail_max',
  'authn_login_lock',
  'authn_password_change',
  'authn_password_change_fail',
  'authn_impossible_travel',
  'authn_token_created',
  'authn_token_revoked',
  'authn_token_reuse',
  'authn_token_delete',
  'authz_fail',
  'authz_change',
  'authz_admin',
  'excess_rate_limit_exceeded',
  'upload_complete',
  'upload_stored',
  'upload_validation',
  'upload_delete',
  'input_validation_fail',
  'malicious_excess_404',
  'malicious_extraneous',
  'malicious_attack_tool',
  'malicious_cors',
  'malicious_direct_reference',
  'privilege_permissions_changed',
  'sensitive_create',
  'sensitive_read',
  'sensitive_update',
  'sensitive_delete',
  'sequence_fail',
  'session_created',
  'session_renewed',
  'session_expired',
  'session_use_after_expire',
  'sys_startup',
  'sys_shutdown',
  'sys_restart',
  'sys_crash',
  'sys_monitor_disabled',
  'sys_monitor_enabled',
  'user_created',
  'user_updated',
  'user_archived',
  'user_deleted',
];

const REQUIRED_EXTENSIONS = [
  'http_request',
  'authz_success',
  'payment_initiated',
  'payment_succeeded',
  'payment_failed',
  'payout_requested',
  'account_email_change',
  'account_phone_change',
  'account_mfa_enabled',
  'account_mfa_disabled',
  'account_mfa_challenge_fail',
  'account_recovery_requested',
  'data_export',
  'app_error',
  'object_access',
  'sdk_drops',
];

const NOW = Date.parse('2026-03-14T10:00:00Z');
const TIME = '2026-03-14T09:59:00.000Z';

/** A valid value for a field of the given type, taken from the field's own example when it has that type. */
function sampleValue(field: string): FieldValue {
  const definition = FIELDS_BY_NAME.get(field);
  assert.ok(definition, `field ${field} is not in FIELDS`);
  return definition.example;
}

/** The cheat sheet-style argument names of a pattern: everything after the first colon, split on , | and :. */
function patternArgumentNames(pattern: string): string[] {
  const colon = pattern.indexOf(':');
  return colon < 0 ? [] : pattern.slice(colon + 1).split(/[,|:]/);
}

function requiredFieldsOf(t: EventTypeDefinition): Record<string, FieldValue> {
  const fields: Record<string, FieldValue> = {};
  for (const a of t.args) if (a.required) fields[a.field] = sampleValue(a.field);
  return fields;
}

describe('event type catalogue', () => {
  it('holds exactly the pinned OWASP types, in the cheat sheet order', () => {
    assert.deepEqual(
      OWASP_EVENT_TYPES.map((t) => t.type),
      PINNED_OWASP_TYPES,
    );
  });

  it('pins the cheat sheet by commit', () => {
    assert.match(VOCABULARY_VERSION, /Logging Vocabulary Cheat Sheet @ [0-9a-f]{40}\b/);
  });

  it('has every extension the product needs, in the vigil namespace', () => {
    const names = VIGIL_EXTENSION_TYPES.map((t) => t.type);
    for (const name of REQUIRED_EXTENSIONS) assert.ok(names.includes(name), `missing extension ${name}`);
  });

  it('is the OWASP types followed by the extensions', () => {
    assert.deepEqual(EVENT_TYPES, [...OWASP_EVENT_TYPES, ...VIGIL_EXTENSION_TYPES]);
    assert.equal(EVENT_TYPES_BY_NAME.size, EVENT_TYPES.length);
    for (const t of OWASP_EVENT_TYPES) assert.equal(t.namespace, 'owasp', t.type);
    for (const t of VIGIL_EXTENSION_TYPES) assert.equal(t.namespace, 'vigil', t.type);
  });

  it('has unique type names', () => {
    const seen = new Set<string>();
    for (const t of EVENT_TYPES) {
      assert.ok(!seen.has(t.type), `duplicate type ${t.type}`);
      seen.add(t.type);
    }
  });

  it('never gives an extension an OWASP name, nor the custom prefix', () => {
    const owasp = new Set(OWASP_EVENT_TYPES.map((t) => t.type));
    for (const t of VIGIL_EXTENSION_TYPES) {
      assert.ok(!owasp.has(t.type), `extension ${t.type} reuses an OWASP name`);
      assert.ok(!t.type.startsWith(CUSTOM_TYPE_PREFIX), `extension ${t.type} uses the custom prefix`);
    }
  });

  it('names every type in snake_case', () => {
    for (const t of EVENT_TYPES) assert.match(t.type, /^[a-z][a-z0-9]*(_[a-z0-9]+)+$/, t.type);
  });

  it('gives OWASP types the category of their name prefix', () => {
    for (const t of OWASP_EVENT_TYPES) assert.equal(t.category, t.type.split('_')[0], t.type);
  });

  it('writes each pattern as type:arguments, naming exactly the arguments listed', () => {
    for (const t of EVENT_TYPES) {
      assert.ok(t.pattern === t.type || t.pattern.startsWith(`${t.type}:`), `${t.type}: pattern ${t.pattern}`);
      assert.deepEqual(
        patternArgumentNames(t.pattern),
        t.args.map((a) => a.name),
        `${t.type}: pattern and args disagree`,
      );
      assert.doesNotMatch(t.pattern, /[\s[\]()]/, `${t.type}: pattern is not normalised`);
    }
  });

  it('maps every argument to a known field, once', () => {
    for (const t of EVENT_TYPES) {
      const fields = t.args.map((a) => a.field);
      assert.equal(new Set(fields).size, fields.length, `${t.type} maps two arguments to one field`);
      for (const f of fields) assert.ok(FIELDS_BY_NAME.has(f), `${t.type}: unknown field ${f}`);
    }
  });

  it('requires the documented fields of the extensions', () => {
    const required = (type: string) =>
      EVENT_TYPES_BY_NAME.get(type)!
        .args.filter((a) => a.required)
        .map((a) => a.field);
    assert.deepEqual(required('http_request'), [Field.httpRequestMethod]);
    assert.deepEqual(required('app_error'), [Field.errorType, Field.errorFingerprint]);
    assert.deepEqual(required('object_access'), [Field.objectType, Field.objectId]);
    assert.deepEqual(required('sdk_drops'), [Field.dropReason, Field.dropCount]);
  });

  it('keeps the acting user optional for events an anonymous caller can cause', () => {
    for (const type of [
      'authn_login_fail',
      'malicious_excess_404',
      'malicious_extraneous',
      'malicious_attack_tool',
      'malicious_cors',
      'malicious_direct_reference',
      'excess_rate_limit_exceeded',
    ]) {
      const userArg = EVENT_TYPES_BY_NAME.get(type)!.args.find((a) => a.field === Field.userId);
      assert.equal(userArg?.required, false, type);
    }
  });

  it('gives every type a level, a one-sentence meaning and, when present, a real note', () => {
    for (const t of EVENT_TYPES) {
      assert.ok(['INFO', 'WARN', 'CRITICAL'].includes(t.level), t.type);
      assert.match(t.description, /^[A-Z].*\.$/, `${t.type}: description`);
      assert.ok(t.description.length <= 140, `${t.type}: description is more than a sentence`);
      if (t.note !== undefined) assert.ok(t.note.length > 20, `${t.type}: empty note`);
    }
  });

  it('notes the cheat sheet contradictions it normalised', () => {
    for (const type of [
      'excess_rate_limit_exceeded', // missing colon
      'upload_validation', // alternatives in the pattern, two levels
      'malicious_excess_404', // heading and example spell the type differently
      'malicious_direct_reference', // example uses another name and level
      'privilege_permissions_changed', // example logged under another type
      'session_renewed', // level differs between Level section and example
      'authn_token_delete', // appid vs userid
    ]) {
      assert.ok(EVENT_TYPES_BY_NAME.get(type)?.note, `${type} has no note`);
    }
  });
});

describe('required arguments', () => {
  for (const t of EVENT_TYPES) {
    it(`${t.type}: accepted with its required fields, rejected without each of them`, () => {
      const complete = { time: TIME, type: t.type, ...requiredFieldsOf(t) };
      const ok = parseEvent(complete, { now: NOW });
      assert.ok(ok.ok, `${t.type}: ${JSON.stringify(ok.ok ? '' : ok.issues)}`);

      for (const a of t.args.filter((x) => x.required)) {
        const without: Record<string, unknown> = { ...complete };
        delete without[a.field];
        const r = parseEvent(without, { now: NOW });
        assert.equal(r.ok, false, `${t.type} accepted without ${a.field}`);
        if (!r.ok)
          assert.deepEqual(
            r.issues.map((i) => [i.field, i.code]),
            [[a.field, 'missing']],
          );
      }
    });
  }
});

describe('fields', () => {
  it('lists every Field constant exactly once', () => {
    const names = FIELDS.map((f) => f.name);
    assert.equal(new Set(names).size, names.length, 'duplicate field');
    assert.deepEqual(new Set(names), new Set(Object.values(Field)));
  });

  it('uses the vigil. namespace exactly for vigil-origin fields', () => {
    for (const f of FIELDS) assert.equal(f.name.startsWith('vigil.'), f.origin === 'vigil', f.name);
  });

  it('gives each field an example of its own type', () => {
    const is: Record<FieldType, (v: FieldValue) => boolean> = {
      string: (v) => typeof v === 'string',
      integer: (v) => Number.isSafeInteger(v),
      number: (v) => typeof v === 'number' && Number.isFinite(v),
      boolean: (v) => typeof v === 'boolean',
      'string[]': (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'),
    };
    for (const f of FIELDS) assert.ok(is[f.type](f.example), `${f.name}: example ${JSON.stringify(f.example)}`);
  });

  it('accepts an event carrying every field with its example value', () => {
    const event: Record<string, unknown> = { time: TIME, type: 'http_request' };
    for (const f of FIELDS) event[f.name] = f.example;
    const r = parseEvent(event, { now: NOW });
    assert.ok(r.ok, JSON.stringify(r.ok ? '' : r.issues));
  });
});

describe('isKnownEventType', () => {
  it('knows every catalogued type and well-formed custom types only', () => {
    for (const t of EVENT_TYPES) assert.ok(isKnownEventType(t.type), t.type);
    assert.ok(isKnownEventType('x_coupon_redeemed'));
    assert.ok(!isKnownEventType('x_'));
    assert.ok(!isKnownEventType('x_Coupon'));
    assert.ok(!isKnownEventType(`x_${'a'.repeat(61)}`));
    assert.ok(!isKnownEventType('authn_login_failure'));
    assert.ok(!isKnownEventType('AUTHN_login_success'));
  });
});
