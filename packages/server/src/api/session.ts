/**
 * The dashboard's sign-in: `POST /api/v1/session` exchanges an API token for a session cookie, `GET` tells whether
 * the cookie is a live session, `DELETE` signs out (docs/dashboard.md).
 */
import { neutralise } from '@vigil/schema';
import { VigilError } from '../errors.js';
import { requireSameSite, type TokenChecker } from '../http/auth.js';
import { readActionBody, sendJson } from '../http/body.js';
import type { RouteDefinition } from '../http/router.js';
import { clearedSessionCookie, type SessionStore, sessionCookie, sessionIdOf, tokenIdOf } from '../http/sessions.js';

function signInBody(body: Buffer): { token: string; actor: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new VigilError('invalid_body', 'the body must be JSON: {"token": "<API token>", "actor": "your name"}');
  }
  const { token, actor } = (parsed ?? {}) as { token?: unknown; actor?: unknown };
  if (typeof token !== 'string' || token.trim() === '') {
    throw new VigilError(
      'invalid_body',
      '"token" is required: an API token (VIGIL_API_TOKEN, .vigil/credentials.json)',
    );
  }
  if (typeof actor !== 'string' || actor.trim() === '' || actor.length > 128) {
    throw new VigilError('invalid_body', '"actor" is required: your name, recorded on what you do (1-128 characters)');
  }
  return { token: token.trim(), actor: neutralise(actor.trim()) };
}

export function sessionRoutes(sessions: SessionStore, tokens: TokenChecker): RouteDefinition[] {
  const maxAgeSeconds = Math.floor(sessions.options.lifetimeMillis / 1000);
  return [
    {
      method: 'POST',
      path: '/api/v1/session',
      handler: async (req, res) => {
        requireSameSite(req);
        const { token, actor } = signInBody(await readActionBody(req));
        const kind = tokens.kindOf(token);
        if (kind === undefined) throw new VigilError('unauthorized', 'unknown token: paste an API token');
        if (kind !== 'api') {
          throw new VigilError(
            'forbidden',
            'this is an ingest token: it can only send events. Sign in with an API token (VIGIL_API_TOKEN)',
          );
        }
        const id = sessions.open(actor, tokenIdOf(token));
        sendJson(res, 201, { signedIn: true, actor }, { 'set-cookie': sessionCookie(id, maxAgeSeconds) });
      },
    },
    {
      method: 'GET',
      path: '/api/v1/session',
      handler: async (req, res) => {
        const id = sessionIdOf(req);
        const session = id === undefined ? undefined : sessions.use(id);
        sendJson(res, 200, session ? { signedIn: true, actor: session.actor } : { signedIn: false });
      },
    },
    {
      method: 'DELETE',
      path: '/api/v1/session',
      handler: async (req, res) => {
        requireSameSite(req);
        const id = sessionIdOf(req);
        if (id !== undefined) sessions.close(id);
        sendJson(res, 200, { signedIn: false }, { 'set-cookie': clearedSessionCookie() });
      },
    },
  ];
}
