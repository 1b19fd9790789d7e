import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SessionStore, sessionCookie, sessionIdOf, tokenIdOf } from './sessions.js';

const HOUR = 3_600_000;

function store(maxSessions = 10) {
  const clock = { now: 1_000_000 };
  const sessions = new SessionStore({ idleMillis: HOUR, lifetimeMillis: 12 * HOUR, maxSessions, now: () => clock.now });
  return { sessions, clock };
}

describe('dashboard sessions', () => {
  test('an id is 32 random bytes in base64url, and only its digest is kept', () => {
    const { sessions } = store();
    const id = sessions.open('alice', 'abc');
    assert.match(id, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(sessions.open('alice', 'abc'), id);
    const held = JSON.stringify([...(sessions as unknown as { sessions: Map<string, unknown> }).sessions]);
    assert.ok(!held.includes(id), 'the session id itself is not stored');
    assert.deepEqual(
      { actor: sessions.use(id)?.actor, tokenId: sessions.use(id)?.tokenId },
      { actor: 'alice', tokenId: 'abc' },
    );
  });

  test('a session unused for the idle time ends; use starts the idle time again', () => {
    const { sessions, clock } = store();
    const id = sessions.open('alice', 'abc');
    clock.now += HOUR - 1;
    assert.ok(sessions.use(id));
    clock.now += HOUR - 1;
    assert.ok(sessions.use(id), 'used within the hour: still open');
    clock.now += HOUR;
    assert.equal(sessions.use(id), undefined);
    assert.equal(sessions.size, 0, 'an ended session is forgotten');
  });

  test('a session ends at its lifetime however often it is used', () => {
    const { sessions, clock } = store();
    const id = sessions.open('alice', 'abc');
    for (let i = 0; i < 23; i++) {
      clock.now += HOUR / 2;
      assert.ok(sessions.use(id), `after ${(i + 1) / 2} h`);
    }
    clock.now += HOUR / 2;
    assert.equal(sessions.use(id), undefined, 'ended at 12 h');
  });

  test('opening one more than the bound ends the oldest, ended ones first', () => {
    const { sessions, clock } = store(3);
    const first = sessions.open('a', 't');
    const second = sessions.open('b', 't');
    const third = sessions.open('c', 't');
    sessions.open('d', 't');
    assert.equal(sessions.size, 3);
    assert.equal(sessions.use(first), undefined);
    assert.ok(sessions.use(second) && sessions.use(third));

    clock.now += 2 * HOUR; // every session idle past its time
    const fresh = sessions.open('e', 't');
    assert.equal(sessions.size, 1, 'the ended sessions were dropped, not only the oldest');
    assert.ok(sessions.use(fresh));
  });

  test('signing out ends the session', () => {
    const { sessions } = store();
    const id = sessions.open('alice', 'abc');
    assert.equal(sessions.close(id), true);
    assert.equal(sessions.use(id), undefined);
    assert.equal(sessions.close(id), false);
  });

  test('the cookie is read among others, and a malformed one is no session', () => {
    const id = 'A'.repeat(43);
    const req = (cookie: string) => ({ headers: { cookie } }) as never;
    assert.equal(sessionIdOf(req(`theme=dark; vigil_session=${id}; x=1`)), id);
    assert.equal(sessionIdOf(req('vigil_session=short')), undefined);
    assert.equal(sessionIdOf(req('other_vigil_session=x')), undefined);
    assert.equal(sessionCookie(id, 43_200), `vigil_session=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200`);
  });

  test('the token hash is the one actions record', () => {
    assert.equal(tokenIdOf('secret'), '2bb80d537b1d');
  });
});
