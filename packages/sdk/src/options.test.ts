import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { DEFAULTS } from './defaults.js';
import { resolveOptions } from './options.js';
import { Reporter, VIGIL_ERROR_CODES, type VigilSdkError } from './report.js';

describe('resolveOptions: accessParams', () => {
  const resolve = (accessParams: unknown) => {
    const errors: VigilSdkError[] = [];
    const resolved = resolveOptions(
      { mode: 'stdout', accessParams } as never,
      new Reporter((e) => errors.push(e), false),
    );
    return { value: resolved.accessParams, errors: errors.map((e) => `${e.code}: ${e.message}`) };
  };

  test('off by default; true and a parameter map are taken as given', () => {
    assert.deepEqual(resolve(undefined), { value: false, errors: [] });
    assert.deepEqual(resolve(true), { value: true, errors: [] });
    assert.deepEqual(resolve({ orderId: 'order' }), { value: { orderId: 'order' }, errors: [] });
  });

  test('a bad value is reported, naming the option, and the default or the valid entries used', () => {
    const wrong = resolve('yes');
    assert.equal(wrong.value, false);
    assert.match(wrong.errors[0]!, /^config_invalid: option accessParams must be/);
    const partly = resolve({ orderId: 'order', userId: 7, empty: '' });
    assert.deepEqual(partly.value, { orderId: 'order' });
    assert.match(partly.errors[0]!, /^config_invalid: option accessParams: object types must be non-empty strings/);
  });
});

test('service: the option, else OTEL_SERVICE_NAME, else npm_package_name, else unknown_service:node', () => {
  const service = (options: { service?: string }, env: Record<string, string>) =>
    resolveOptions({ mode: 'stdout', ...options }, new Reporter(() => {}, false), env).service;
  const both = { OTEL_SERVICE_NAME: 'checkout', npm_package_name: 'checkout-pkg' };
  assert.equal(service({ service: 'orders' }, both), 'orders');
  assert.equal(service({}, both), 'checkout');
  assert.equal(service({}, { npm_package_name: 'checkout-pkg', OTEL_SERVICE_NAME: ' ' }), 'checkout-pkg');
  assert.equal(service({}, {}), 'unknown_service:node');
});

describe('docs/sdk.md lists every option with its default', () => {
  const docs = readFileSync(new URL('../../../docs/sdk.md', import.meta.url), 'utf8');
  const section = docs.slice(docs.indexOf('## Options'), docs.indexOf('\n## ', docs.indexOf('## Options') + 1));
  /** Option name (`identify(req)` → `identify`) → its default cell. */
  const rows = new Map(
    [...section.matchAll(/^\| `([A-Za-z]+)(?:\([a-z]*\))?` +\| ([^|]+)\|/gm)].map((m) => [m[1]!, m[2]!.trim()]),
  );
  // DEFAULTS entries that are not options: the string limit is the collector's, repeated for reference.
  const NOT_OPTIONS = new Set(['maxStringLength']);

  test('a row per default, and its cell shows the value', () => {
    for (const [name, value] of Object.entries(DEFAULTS)) {
      if (NOT_OPTIONS.has(name)) continue;
      const cell = rows.get(name);
      assert.ok(cell !== undefined, `docs/sdk.md has no row for option ${name}`);
      const shown = (v: unknown) => assert.ok(cell.includes(String(v)), `${name}: "${cell}" does not show ${v}`);
      if (value === undefined) continue; // read from the environment, or derived: the row says how
      if (typeof value === 'number' || typeof value === 'boolean') shown(`\`${value}\``);
      else if (typeof value === 'string') shown(`'${value}'`);
      else if (Array.isArray(value) && value.length === 0) assert.equal(cell, 'none', name);
      else if (name !== 'loginRoutes' && Array.isArray(value)) for (const item of value) shown(item);
    }
    // Options without a default of their own (serviceVersion, ca, hashKey...) have a row too.
    for (const name of Object.keys(resolveOptions({ mode: 'stdout' }, new Reporter(() => {}, false)))) {
      assert.ok(rows.has(name), `docs/sdk.md has no row for option ${name}`);
    }
  });

  test('every error code is listed', () => {
    const list = docs.slice(docs.indexOf('Error codes given to `onError`'));
    const listed = list.slice(0, list.indexOf('\n\n'));
    for (const code of VIGIL_ERROR_CODES)
      assert.ok(listed.includes(`\`${code}\``), `docs/sdk.md does not list ${code}`);
  });

  test('every documented option is one the client takes', () => {
    const resolved = resolveOptions({ mode: 'stdout' }, new Reporter(() => {}, false));
    // The hooks and the event mapping are read by the client itself, not resolved here.
    const known = new Set([
      ...Object.keys(resolved),
      ...Object.keys(DEFAULTS),
      'automaticEvents',
      'identify',
      'onError',
    ]);
    assert.deepEqual(
      [...rows.keys()].filter((name) => !known.has(name)),
      [],
    );
  });
});
