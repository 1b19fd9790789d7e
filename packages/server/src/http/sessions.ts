/**
 * Dashboard sessions: an API token exchanged for a cookie (docs/dashboard.md). Kept in memory only, so a restart signs
 * everyone out. A session holds what an action records (the actor and the short hash of the token that opened it),
 * never the token; the store is keyed by a SHA-256 of the session id, so the ids themselves are not kept either.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The cookie that carries a session id. */
export const SESSION_COOKIE = 'vigil_session';

/**
 * The header a cookie-authenticated request that changes state must carry. A cross-site form cannot set a custom
 * header, and a cross-site script that tries is stopped by CORS (the server allows no other origin).
 */
export const REQUEST_HEADER = 'x-vigil-request';

export interface Session {
  /** Who acts through this session: recorded as the `actor` of its actions. */
  readonly actor: string;
  /** The short hash of the API token that opened it (as `actorOf` records for bearer requests). */
  readonly tokenId: string;
  readonly createdAt: number;
  lastUsedAt: number;
}

export interface SessionOptions {
  /** A session unused for this long ends. */
  readonly idleMillis: number;
  /** A session ends this long after it was opened, used or not. */
  readonly lifetimeMillis: number;
  /** Sessions held at once; opening one more ends the oldest. */
  readonly maxSessions: number;
  /** The wall clock, epoch ms. */
  readonly now?: () => number;
}

const digest = (id: string) => createHash('sha256').update(id).digest('hex');

/** The short hash of a token that actions record (`tokenId`): enough to tell tokens apart, never the token. */
export function tokenIdOf(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 12);
}

export class SessionStore {
  /** By digest of the session id; a Map keeps insertion order, so the first entry is the oldest session. */
  private readonly sessions = new Map<string, Session>();
  private readonly now: () => number;

  constructor(readonly options: SessionOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Open a session: its id (32 random bytes, base64url), given to the client once and kept only as a digest. */
  open(actor: string, tokenId: string): string {
    const at = this.now();
    if (this.sessions.size >= this.options.maxSessions) {
      for (const [key, session] of this.sessions) if (!this.live(session, at)) this.sessions.delete(key);
    }
    while (this.sessions.size >= this.options.maxSessions) {
      const oldest = this.sessions.keys().next().value as string;
      this.sessions.delete(oldest);
    }
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(digest(id), { actor, tokenId, createdAt: at, lastUsedAt: at });
    return id;
  }

  /** The live session of an id (its idle time starts again), or undefined; an ended one is forgotten. */
  use(id: string): Session | undefined {
    const key = digest(id);
    const session = this.sessions.get(key);
    if (!session) return undefined;
    const at = this.now();
    if (!this.live(session, at)) {
      this.sessions.delete(key);
      return undefined;
    }
    session.lastUsedAt = at;
    return session;
  }

  /** End a session; true when it was open. */
  close(id: string): boolean {
    return this.sessions.delete(digest(id));
  }

  private live(session: Session, at: number): boolean {
    return at - session.lastUsedAt < this.options.idleMillis && at - session.createdAt < this.options.lifetimeMillis;
  }
}

/** The session id a request's `Cookie` header carries, if any. */
export function sessionIdOf(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) {
      const value = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

/** The `Set-Cookie` value that gives a client its session. */
export function sessionCookie(id: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}`;
}

/** The `Set-Cookie` value that removes the session cookie. */
export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
}

/** The session a request was authenticated by (set by `TokenChecker.require`), for the actions it records. */
const requestSessions = new WeakMap<IncomingMessage, Session>();

export function authenticatedSession(req: IncomingMessage): Session | undefined {
  return requestSessions.get(req);
}

export function markAuthenticated(req: IncomingMessage, session: Session): void {
  requestSessions.set(req, session);
}
