import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { createVigil } from './client.js';
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

describe('resolveOptions: timers and the token', () => {
  const resolve = (options: Record<string, unknown>, env: Record<string, string> = {}) => {
    const errors: VigilSdkError[] = [];
    const resolved = resolveOptions(
      { endpoint: 'http://127.0.0.1:7070', token: 'abc', ...options } as never,
      new Reporter((e) => errors.push(e), false),
      env,
    );
    return { resolved, errors: errors.map((e) => `${e.code}: ${e.message}`) };
  };

  test('a delay longer than a timer can wait is reported and cut to the longest one (else it would fire at once)', () => {
    const { resolved, errors } = resolve({ closeTimeoutMillis: 2 ** 31, maxBackoffMillis: Number.POSITIVE_INFINITY });
    assert.equal(resolved.closeTimeoutMillis, 2 ** 31 - 1);
    assert.equal(resolved.maxBackoffMillis, 2 ** 31 - 1);
    assert.match(
      errors[0]!,
      /^config_invalid: option (closeTimeoutMillis|maxBackoffMillis) is longer than a Node\.js timer/,
    );
    assert.deepEqual(resolve({ closeTimeoutMillis: 2 ** 31 - 1 }).errors, []);
  });

  test('a token an HTTP header cannot carry disables the client, saying why and never showing it', () => {
    for (const token of ['abc\u200bdef', 'abc def', 'tökén']) {
      const { resolved, errors } = resolve({ token });
      assert.equal(resolved.mode, 'disabled', JSON.stringify(token));
      assert.match(errors[0]!, /^config_invalid: Vigil is disabled: the token holds characters/);
      assert.ok(!errors[0]!.includes(token));
    }
    // Surrounding white space (a newline from an env file) is not part of it.
    assert.equal(resolve({ token: undefined }, { VIGIL_INGEST_TOKEN: 'abc\n' }).resolved.token, 'abc');
    assert.equal(resolve({ token: undefined }, { VIGIL_INGEST_TOKEN: 'abc\n' }).resolved.mode, 'http');
  });
});

describe('resolveOptions: every invalid option is reported', () => {
  test('with onError, each invalid option is told once, naming it, however many there are', () => {
    const errors: VigilSdkError[] = [];
    const vigil = createVigil({
      mode: 'stdout',
      flushOnExit: false,
      maxQueueSize: 0,
      maxBatchSize: -1,
      closeTimeoutMillis: Number.POSITIVE_INFINITY,
      trustedProxies: ['10.0.0.0/', 'lan'],
      skipPaths: ['healthz'],
      onError: (e) => errors.push(e),
    });
    assert.equal(vigil.enabled, true);
    assert.deepEqual(
      errors.map((e) => e.code),
      ['config_invalid', 'config_invalid', 'config_invalid', 'config_invalid', 'config_invalid'],
    );
    const named = (option: string) => errors.filter((e) => e.message.includes(option)).length;
    for (const option of ['maxQueueSize', 'maxBatchSize', 'closeTimeoutMillis', 'trustedProxies', 'skipPaths'])
      assert.equal(named(option), 1, option);
  });

  test('without onError, each invalid option gets a process warning of its own', async () => {
    const warnings: Error[] = [];
    const listen = (warning: Error) => {
      if (warning.name === 'VigilWarning') warnings.push(warning);
    };
    process.on('warning', listen);
    try {
      const reporter = new Reporter(undefined, false);
      resolveOptions({ mode: 'stdout', maxQueueSize: 0, inspect: 'all' as never, gzip: 'yes' as never }, reporter);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listen);
    }
    assert.deepEqual(warnings.map((w) => w.message.split(' ')[1]).sort(), ['gzip', 'inspect', 'maxQueueSize']);
  });
});
