import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveOptions } from './options.js';
import { Reporter, type VigilSdkError } from './report.js';

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
