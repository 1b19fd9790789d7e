import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SecurityEvent } from '@vigil/schema';
import { compileLogsource } from './logsource.js';

const eventOf = (type: string): SecurityEvent => ({ id: type, time: 0, type, attributes: {} });
const request = eventOf('http_request');
const loginFail = eventOf('authn_login_fail');
const loginSuccess = eventOf('authn_login_success');

function filterOf(logsource: unknown) {
  const result = compileLogsource(logsource);
  assert.ok(result.ok, result.ok ? '' : result.message);
  return result.filter;
}

describe('logsource', () => {
  it('names the event types it covers, or none for every type', () => {
    const typesOf = (logsource: unknown) => {
      const result = compileLogsource(logsource);
      assert.ok(result.ok);
      return result.types === undefined ? undefined : [...result.types].sort();
    };
    assert.deepEqual(typesOf({ category: 'webserver' }), ['http_request']);
    assert.deepEqual(typesOf({ product: 'vigil', service: 'authz_fail' }), ['authz_fail']);
    assert.equal(typesOf({ product: 'vigil' }), undefined);
    assert.ok(typesOf({ product: 'vigil', category: 'authn' })!.includes('authn_login_fail'));
    assert.deepEqual(typesOf({ product: 'vigil', category: 'authn', service: 'authn_login_fail' }), [
      'authn_login_fail',
    ]);
  });

  it('webserver, with or without a product, covers request events', () => {
    for (const logsource of [{ category: 'webserver' }, { category: 'webserver', product: 'nginx' }]) {
      const filter = filterOf(logsource);
      assert.equal(filter(request), true);
      assert.equal(filter(loginFail), false);
    }
  });

  it('product vigil with a category covers that vocabulary category', () => {
    const filter = filterOf({ product: 'vigil', category: 'authn' });
    assert.equal(filter(loginFail), true);
    assert.equal(filter(loginSuccess), true);
    assert.equal(filter(request), false);
  });

  it('product vigil with a service covers one event type', () => {
    const filter = filterOf({ product: 'vigil', service: 'authn_login_fail' });
    assert.equal(filter(loginFail), true);
    assert.equal(filter(loginSuccess), false);
  });

  it('product vigil alone covers every event', () => {
    const filter = filterOf({ product: 'vigil' });
    assert.equal(filter(request), true);
    assert.equal(filter(loginFail), true);
  });

  it('rejects log sources Vigil never sees, and unknown vocabulary names', () => {
    for (const logsource of [
      { category: 'process_creation', product: 'windows' },
      { product: 'vigil', category: 'nosuch' },
      { product: 'vigil', service: 'nosuch' },
      undefined,
      'webserver',
    ]) {
      assert.equal(compileLogsource(logsource).ok, false, JSON.stringify(logsource));
    }
  });

  it('rejects a service outside its category: such a rule could never match', () => {
    const result = compileLogsource({ product: 'vigil', category: 'authn', service: 'http_request' });
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : result.message, /`service: http_request` is not an event of `category: authn`/);
    assert.equal(compileLogsource({ product: 'vigil', category: 'authn', service: 'authn_login_fail' }).ok, true);
  });
});
