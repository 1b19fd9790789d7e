import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { EVENT_TYPES } from '@vigil/schema';
import { wrap } from './adapters/node.js';
import { idHasher, shortHash } from './fingerprint.js';
import { createVigil, type Vigil } from './index.js';
import type { VigilSdkError } from './report.js';
import { createTestVigil } from './test-kit.js';
import { Receiver, TEST_TOKEN } from './testing/receiver.js';

/** Call every helper once, with the arguments its event type requires. */
function callEveryHelper(vigil: Vigil): void {
  const pay = { id: 'pay_1', amount: 49.9, currency: 'EUR' };
  vigil.authn.loginSuccess('u1');
  vigil.authn.loginSuccessAfterFail('u1', 3);
  vigil.authn.loginFail('u1', { reason: 'bad_password', userExists: true });
  vigil.authn.loginFailMax('u1', 5);
  vigil.authn.loginLock('u1', 'maxretries');
  vigil.authn.passwordChange('u1');
  vigil.authn.passwordChangeFail('u1');
  vigil.authn.impossibleTravel('u1', 'DE', 'BR');
  vigil.authn.tokenCreated('u1', ['read', 'write']);
  vigil.authn.tokenRevoked('u1', 'tok_1');
  vigil.authn.tokenReuse('u1', 'tok_1');
  vigil.authn.tokenDelete('u1');
  vigil.authz.fail('u1', 'invoice-9');
  vigil.authz.success('u1', { type: 'invoice', id: 9 });
  vigil.authz.change('u2', 'user', 'admin', { 'user.id': 'u1' });
  vigil.authz.admin('u1', 'user_privilege_change');
  vigil.excess.rateLimitExceeded('u1', 100);
  vigil.upload.complete('u1', 'a.png', 'image/png');
  vigil.upload.stored('a.png', 'tmp/a.png', 'files/7f3a');
  vigil.upload.validation('a.png', 'virusscan', 'failed');
  vigil.upload.delete('u1', 'file_1');
  vigil.input.validationFail('email', 'u1');
  vigil.malicious.excess404('u1', { 'client.address': '203.0.113.7' });
  vigil.malicious.extraneous('isAdmin', 'u1', { 'client.address': '203.0.113.7' });
  vigil.malicious.attackTool('sqlmap', undefined, { 'client.address': '203.0.113.7' });
  vigil.malicious.cors(undefined, { 'client.address': '203.0.113.7' });
  vigil.malicious.directReference('u1', { 'client.address': '203.0.113.7' });
  vigil.privilege.permissionsChanged('u1', { type: 'file', id: '/srv/a' }, 'read', 'write');
  vigil.sensitive.create('u1', 'doc-1');
  vigil.sensitive.read('u1', 'doc-1');
  vigil.sensitive.update('u1', 'doc-1');
  vigil.sensitive.delete('u1', 'doc-1');
  vigil.sequence.fail('u1');
  vigil.session.created('u1');
  vigil.session.renewed('u1');
  vigil.session.expired('u1', 'logout');
  vigil.session.useAfterExpire('u1');
  vigil.sys.startup();
  vigil.sys.shutdown();
  vigil.sys.restart();
  vigil.sys.crash('out_of_memory');
  vigil.sys.monitorDisabled('u1', 'audit-log');
  vigil.sys.monitorEnabled('u1', 'audit-log');
  vigil.user.created(undefined, 'u9', ['customer']);
  vigil.user.updated('u1', 'u9', ['admin']);
  vigil.user.archived('u1', 'u9');
  vigil.user.deleted('u1', 'u9');
  vigil.payment.initiated('u1', pay);
  vigil.payment.succeeded('u1', pay);
  vigil.payment.failed('u1', pay, 'card_declined');
  vigil.payment.payoutRequested('u1', pay);
  vigil.account.emailChange('u1');
  vigil.account.phoneChange('u1', 'u9');
  vigil.account.mfaEnabled('u1', 'totp');
  vigil.account.mfaDisabled('u1', 'totp');
  vigil.account.mfaChallengeFail('u1', 'sms');
  vigil.account.recoveryRequested();
  vigil.data.export('u1', 1200, 'invoice');
  vigil.app.error(new RangeError('boom'));
  vigil.access('invoice', 9001);
}

/** Types the SDK records by itself rather than through a helper. */
const AUTOMATIC = new Set(['http_request', 'sdk_drops', 'decision_enforced']);

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

describe('vocabulary helpers', () => {
  let receiver: Receiver;
  let vigil: Vigil;
  before(async () => {
    receiver = await Receiver.start();
    vigil = createVigil({
      endpoint: receiver.url,
      token: TEST_TOKEN,
      service: 'vocabulary-test',
      flushOnExit: false,
      hashObjectIds: true,
    });
    callEveryHelper(vigil);
    await vigil.flush();
  });
  after(async () => {
    await vigil.close();
    await receiver.close();
  });

  test('every type of the catalogue is reachable through a helper, and every helper event validates', () => {
    assert.equal(vigil.stats().dropped.rejected, 0, 'the schema validator accepted every event');
    const received = new Set(receiver.events.map((e) => String(e.type)));
    const missing = EVENT_TYPES.map((t) => t.type).filter((t) => !AUTOMATIC.has(t) && !received.has(t));
    assert.deepEqual(missing, []);
  });

  test('arguments land in the catalogue’s fields', () => {
    const byType = new Map(receiver.events.map((e) => [String(e.type), e]));
    assert.equal(byType.get('authn_login_successafterfail')!['vigil.attempt.count'], 3);
    assert.equal(byType.get('authz_change')!['vigil.target.user.id'], 'u2');
    assert.equal(byType.get('authz_change')!['user.id'], 'u1');
    assert.equal(byType.get('authz_success')!['vigil.object.type'], 'invoice');
    // hashObjectIds: the object of every helper is hashed, as access()'s is.
    assert.match(String(byType.get('authz_success')!['vigil.object.id']), /^[0-9a-f]{16}$/);
    assert.equal(byType.get('upload_validation')!['event.outcome'], 'failure');
    assert.deepEqual(byType.get('authn_token_created')!['vigil.token.entitlements'], ['read', 'write']);
    assert.equal(byType.get('payment_failed')!['vigil.payment.amount'], 49.9);
    assert.equal(byType.get('app_error')!['error.type'], 'RangeError');
    assert.ok(!receiver.allText.includes('boom'));
    const access = byType.get('object_access')!;
    assert.equal(access['vigil.object.type'], 'invoice');
    assert.match(String(access['vigil.object.id']), /^[0-9a-f]{16}$/, 'hashObjectIds');
  });

  test('loginFail with userExists: false hashes the attempted user name', async () => {
    vigil.authn.loginFail('my-password-typed-as-name', { userExists: false });
    await vigil.flush();
    const fail = receiver.events.filter((e) => e.type === 'authn_login_fail').at(-1)!;
    assert.match(String(fail['user.id']), /^[0-9a-f]{16}$/);
    assert.equal(fail['vigil.user.exists'], false);
    assert.ok(!receiver.allText.includes('my-password-typed-as-name'));
  });

  test('hashed ids are keyed: an unkeyed SHA-256 of a guess does not match, and the key changes them', async () => {
    vigil.authn.loginFail('Summer2024!', { userExists: false });
    vigil.access('invoice', '4711');
    await vigil.flush();
    const sent = (type: string, field: string) => String(receiver.events.filter((e) => e.type === type).at(-1)![field]);
    const name = sent('authn_login_fail', 'user.id');
    const object = sent('object_access', 'vigil.object.id');
    // Guessing and hashing the guesses, as one would with a plain hash, finds nothing.
    assert.notEqual(name, shortHash('Summer2024!'));
    assert.notEqual(object, shortHash('4711'));
    // The token is the default key; the same key gives the same hashes (replicas of a service agree).
    assert.equal(name, idHasher(TEST_TOKEN)('Summer2024!'));
    assert.equal(object, idHasher(TEST_TOKEN)('4711'));
    const other = createVigil({
      endpoint: receiver.url,
      token: TEST_TOKEN,
      service: 'other-key',
      hashKey: 'another-key',
      hashObjectIds: true,
      flushOnExit: false,
    });
    other.access('invoice', '4711');
    await other.close();
    const keyed = receiver.events.find((e) => e['service.name'] === 'other-key')!;
    assert.equal(keyed['vigil.object.id'], idHasher('another-key')('4711'));
    assert.notEqual(keyed['vigil.object.id'], object);
  });

  test('an event without a required argument is dropped where it is recorded, named and counted', async () => {
    const errors: VigilSdkError[] = [];
    const strict = createVigil({
      endpoint: receiver.url,
      token: TEST_TOKEN,
      service: 'required-test',
      flushOnExit: false,
      identify: (req) => {
        const user = (req as { headers: Record<string, string | undefined> }).headers['x-user'];
        return user ? { userId: user } : undefined;
      },
      onError: (e) => errors.push(e),
    });
    // Outside a request, nothing can give the user.
    strict.authz.admin(null, 'user_privilege_change');
    // In a request, the principal gives it; without one, the event is dropped all the same.
    const server = createServer(
      wrap(strict, (req, res) => {
        strict.authz.admin(null, `in_request_${req.headers['x-user'] ? 'with' : 'without'}_user`);
        res.end();
      }),
    );
    const base = await listen(server);
    await fetch(base, { headers: { 'x-user': 'u-42' } }).then((r) => r.arrayBuffer());
    await fetch(base).then((r) => r.arrayBuffer());
    server.close();
    await strict.close();

    const admin = receiver.events.filter((e) => e['service.name'] === 'required-test' && e.type === 'authz_admin');
    assert.deepEqual(
      admin.map((e) => [e['event.action'], e['user.id']]),
      [['in_request_with_user', 'u-42']],
    );
    assert.equal(strict.stats().dropped.rejected, 2);
    const messages = errors.filter((e) => e.code === 'events_rejected').map((e) => e.message);
    assert.equal(messages.length, 2);
    assert.match(messages[0]!, /authz_admin event needs user\.id \(argument "userid"\).*outside a request/);
    assert.match(messages[1]!, /neither the call nor its request gave it/);
  });

  test('an event of an unknown type is dropped where it is recorded, named and counted, each time', async () => {
    const errors: VigilSdkError[] = [];
    const typo = createVigil({
      endpoint: receiver.url,
      token: TEST_TOKEN,
      service: 'unknown-type-test',
      flushOnExit: false,
      onError: (e) => errors.push(e),
    });
    typo.event('authn_login_fial', { 'user.id': 'ann' });
    typo.event('authn_login_fial', { 'user.id': 'bob' });
    typo.event(42 as unknown as string);
    typo.event('x_custom_ok');
    await typo.close();
    const sent = receiver.events.filter((e) => e['service.name'] === 'unknown-type-test');
    assert.deepEqual(
      sent.filter((e) => e.type !== 'sdk_drops').map((e) => e.type),
      ['x_custom_ok'],
    );
    assert.equal(typo.stats().dropped.rejected, 3);
    const report = sent.find((e) => e.type === 'sdk_drops');
    assert.deepEqual([report?.['vigil.drop.reason'], report?.['vigil.drop.count']], ['rejected', 3]);
    const messages = errors.filter((e) => e.code === 'events_rejected').map((e) => e.message);
    assert.equal(messages.length, 3);
    assert.match(messages[0]!, /unknown event type "authn_login_fial" was not sent/);
    assert.match(messages[2]!, /unknown event type "42"/);
  });

  test('helpers never throw, whatever they are given', () => {
    const anyVigil = vigil as unknown as Record<string, Record<string, (...args: unknown[]) => void>>;
    assert.doesNotThrow(() => anyVigil.payment!.failed!(undefined, undefined));
    assert.doesNotThrow(() => anyVigil.authz!.fail!(null, null));
    assert.doesNotThrow(() => vigil.event('not a type', {}));
    assert.doesNotThrow(() => vigil.event('x_custom', { nested: { deep: { value: 1 } } }));
  });
});

describe('helper arguments, as callers really pass them (the test kit checks each event as the collector would)', () => {
  const kit = (options: Parameters<typeof createTestVigil>[0] = {}) => {
    const errors: VigilSdkError[] = [];
    const vigil = createTestVigil({ ...options, onError: (e) => errors.push(e) });
    return { vigil, errors };
  };

  test('a required field given nested is as good as dotted; a value redaction drops is as missing as none', () => {
    const { vigil, errors } = kit();
    vigil.malicious.cors(null, { client: { address: '203.0.113.7' } });
    vigil.event('sys_crash', { event: { reason: 'oom' } });
    vigil.authn.loginFailMax('ann', Number.NaN);
    vigil.sys.monitorDisabled('ann', (() => 1) as unknown as string);
    assert.deepEqual(
      vigil.events().map((e) => e.type),
      ['malicious_cors', 'sys_crash'],
    );
    assert.equal(vigil.events('malicious_cors')[0]!['client.address'], '203.0.113.7');
    const rejected = errors.filter((e) => e.code === 'events_rejected').map((e) => e.message);
    assert.equal(rejected.length, 2, rejected.join('\n'));
    assert.match(rejected[0]!, /authn_login_fail_max event needs vigil\.limit\.value/);
    assert.match(rejected[1]!, /sys_monitor_disabled event needs/);
  });

  test('ids: objects and NaN are no ids; one string is a list of one; userExists other than true hashes', () => {
    const { vigil, errors } = kit();
    vigil.authn.loginSuccess({ id: 5 } as unknown as string);
    vigil.authn.loginSuccess(Object.create(null) as string);
    vigil.authn.loginSuccess(Number.NaN);
    assert.equal(vigil.events('authn_login_success').length, 0, 'no "[object Object]" user');
    assert.equal(errors.filter((e) => e.code === 'internal').length, 0);
    vigil.authn.tokenCreated('ann', 'read write' as unknown as string[]);
    assert.deepEqual(vigil.events('authn_token_created')[0]!['vigil.token.entitlements'], ['read write']);
    vigil.user.created('ann', 'bob', 'admin' as unknown as string[]);
    assert.deepEqual(vigil.events('user_created')[0]!['vigil.target.user.attributes'], ['admin']);
    vigil.authn.loginFail('hunter2', { userExists: 'false' as unknown as boolean });
    const fail = vigil.events('authn_login_fail')[0]!;
    assert.notEqual(fail['user.id'], 'hunter2');
    assert.equal(fail['vigil.user.exists'], false);
  });

  test("a caller's many extra fields never push out the helper's own, and the event stays acceptable", () => {
    const { vigil, errors } = kit();
    const many = Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`x.f${i}`, i]));
    vigil.authz.fail('ann', { type: 'invoice', id: 'inv-7' }, many);
    vigil.event('x_import_rejected', many);
    // The test kit checks each event as the collector would: a refused one would be missing, and reported.
    assert.deepEqual(errors, []);
    const [fail] = vigil.events('authz_fail');
    assert.equal(fail!['user.id'], 'ann');
    assert.equal(fail!['vigil.object.id'], 'inv-7');
    assert.equal(fail!['vigil.truncated'], true);
    const [custom] = vigil.events('x_import_rejected');
    assert.equal(custom!['x.f0'], 0);
    assert.equal(custom!['vigil.truncated'], true);
    // Extra fields add to the helper's, they never replace them.
    vigil.authn.loginSuccess('ann', { 'user.id': 'mallory', user: { id: 'eve' }, 'x.note': 'ok' });
    const [login] = vigil.events('authn_login_success');
    assert.equal(login!['user.id'], 'ann');
    assert.equal(login!['x.note'], 'ok');
  });

  test('an ObjectId (toHexString) or a BigInt is an id wherever a helper takes an object', () => {
    const { vigil, errors } = kit();
    const oid = { id: Buffer.from('654f1a2b3c4d5e6f708192a3', 'hex'), toHexString: () => '654f1a2b3c4d5e6f708192a3' };
    vigil.authz.fail('ann', oid);
    vigil.sensitive.read('ann', oid);
    vigil.access('doc', 12345678901234567890n);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      vigil.events().map((e) => [e.type, e['vigil.object.id']]),
      [
        ['authz_fail', '654f1a2b3c4d5e6f708192a3'],
        ['sensitive_read', '654f1a2b3c4d5e6f708192a3'],
        ['object_access', '12345678901234567890'],
      ],
    );
  });

  test('plain JavaScript callers: a string as loginFail details is the reason; a string as extra adds nothing', () => {
    const { vigil, errors } = kit();
    vigil.authn.loginFail('ann', 'bad_password');
    vigil.authn.passwordChange('ann', 'oops' as unknown as Record<string, unknown>);
    assert.deepEqual(errors, []);
    const [fail] = vigil.events('authn_login_fail');
    assert.equal(fail!['event.reason'], 'bad_password');
    assert.ok(!Object.keys(fail!).some((k) => /^_?\d/.test(k)), JSON.stringify(fail));
    const [change] = vigil.events('authn_password_change');
    assert.ok(!Object.keys(change!).some((k) => /^_?\d/.test(k)), JSON.stringify(change));
  });

  test('hashObjectIds hashes the object of every helper, not only access(): the events join on the same id', () => {
    const { vigil } = kit({ hashObjectIds: true });
    vigil.access('order', 17);
    vigil.sensitive.read('ann', { type: 'order', id: 17 });
    vigil.authz.fail('ann', 17);
    const ids = vigil.events().map((e) => e['vigil.object.id']);
    assert.equal(new Set(ids).size, 1, JSON.stringify(ids));
    assert.match(String(ids[0]), /^[0-9a-f]{16}$/);
  });

  test('more than 64 roles: the first 64 are recorded, and the request is not refused', async () => {
    const roles = Array.from({ length: 80 }, (_, i) => `role-${i}`);
    const { vigil, errors } = kit({ identify: () => ({ userId: 'ann', roles }) });
    const server = createServer(wrap(vigil, (_req, res) => res.end('ok')));
    const base = await listen(server);
    await fetch(base).then((r) => r.arrayBuffer());
    server.close();
    const [request] = await vigil.waitFor('http_request');
    assert.equal((request!['user.roles'] as string[]).length, 64);
    assert.equal(errors.length, 0, errors.map((e) => e.message).join('\n'));
  });

  /** `<status>:<type>` of the automatic events that answers 401, 403, 429 (limit advertised) and 500 give. */
  async function automaticTypes(options: Parameters<typeof kit>[0]) {
    const { vigil, errors } = kit(options);
    const server = createServer(
      wrap(vigil, (req, res) => {
        const response = res as ServerResponse;
        response.statusCode = Number(req.url!.slice(1));
        if (response.statusCode === 429) response.setHeader('ratelimit-limit', '100');
        response.end();
      }),
    );
    const base = await listen(server);
    for (const status of [401, 403, 429, 500]) await fetch(`${base}${status}`).then((r) => r.arrayBuffer());
    server.close();
    await vigil.waitFor('http_request', () => vigil.events('http_request').length === 4);
    const types = vigil
      .events()
      .filter((e) => e.type !== 'http_request')
      .map((e) => `${String(e['url.path']).slice(1)}:${e.type}`)
      .sort();
    return { types, errors };
  }

  test('automaticEvents: a typo is reported and its default kept; undefined keeps the default', async () => {
    const { types, errors } = await automaticTypes({
      automaticEvents: { forbidden: 'authz_failure', serverError: undefined, bogus: null } as never,
    });
    const invalid = errors.filter((e) => e.code === 'config_invalid').map((e) => e.message);
    assert.equal(invalid.length, 1);
    assert.match(invalid[0]!, /forbidden: "authz_failure" \(not an event type\), bogus \(not one of them\)/);
    assert.deepEqual(types, ['403:authz_fail', '429:excess_rate_limit_exceeded', '500:app_error']);
  });

  test('automaticEvents: a mapping given is used, null records nothing for that response', async () => {
    const { types, errors } = await automaticTypes({
      automaticEvents: { unauthorized: 'x_unauthorized', forbidden: 'x_denied', tooManyRequests: null },
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(types, ['401:x_unauthorized', '403:x_denied', '500:app_error']);
  });

  test("stdout's OWASP event keeps each argument in its position; an absent one leaves its place empty", async () => {
    const { stdout } = await (async () => {
      const { spawn } = await import('node:child_process');
      const child = spawn(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `
          import { createVigil } from ${JSON.stringify(new URL('./index.js', import.meta.url).href)};
          const vigil = createVigil({ mode: 'stdout', service: 'shop' });
          vigil.authz.fail(null, 'GET /admin', { 'client.address': '203.0.113.7' });
          vigil.data.export('ann', 10);
          vigil.malicious.attackTool('sqlmap', undefined, { 'client.address': '203.0.113.7' });
          vigil.upload.validation('a.png', 'virusscan', 'failed');
          vigil.upload.validation('b.png', 'imagemagick', 'passed');
          `,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      await once(child, 'exit');
      return { stdout: out };
    })();
    const events = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; level: string })
      .map((e) => `${e.level} ${e.event}`);
    assert.deepEqual(events, [
      'CRITICAL authz_fail:,GET%20/admin',
      'WARN data_export:ann,,10',
      'CRITICAL malicious_attack_tool:203.0.113.7,sqlmap',
      // The cheat sheet pairs the check and its result (`virusscan:FAILED`), and gives CRITICAL for a failure.
      'CRITICAL upload_validation:a.png,virusscan:failure',
      'INFO upload_validation:b.png,imagemagick:success',
    ]);
  });
});
