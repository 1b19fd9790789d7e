/**
 * Bearer-token authentication. Ingest tokens and API tokens are separate: an ingest token can only write
 * events, an API token can only read and administer. Tokens are compared as SHA-256 digests in constant time.
 * The API routes (`/api/v1/...`) also take a dashboard session cookie in place of the API token (sessions.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { VigilError } from '../errors.js';
import { requestUrl } from './router.js';
import { markAuthenticated, REQUEST_HEADER, type SessionStore, sessionIdOf } from './sessions.js';

export type TokenKind = 'ingest' | 'api';

const digest = (token: string) => createHash('sha256').update(token).digest();

export class TokenChecker {
  private readonly digests: { kind: TokenKind; digest: Buffer }[];

  constructor(
    tokens: { ingest: readonly string[]; api: readonly string[] },
    /** Dashboard sessions, accepted on the API routes when no bearer token is sent. */
    private readonly sessions?: SessionStore,
  ) {
    this.digests = [
      ...tokens.ingest.map((t) => ({ kind: 'ingest' as const, digest: digest(t) })),
      ...tokens.api.map((t) => ({ kind: 'api' as const, digest: digest(t) })),
    ];
  }

  /** The kind of the token presented, or undefined for none / an unknown one. */
  kindOf(token: string): TokenKind | undefined {
    const presented = digest(token);
    let found: TokenKind | undefined;
    // Compare against every token so the time taken does not tell which one matched.
    for (const d of this.digests) if (timingSafeEqual(d.digest, presented)) found = d.kind;
    return found;
  }

  /**
   * Throws 401 for a missing or unknown token, 403 for a token of the wrong kind. Without an `Authorization` header,
   * an API route takes a session cookie instead (a bearer header, when present, is what counts).
   */
  require(req: IncomingMessage, kind: TokenKind): void {
    const header = req.headers.authorization;
    if (!header && kind === 'api' && this.sessions && isApiPath(req.url)) {
      const id = sessionIdOf(req);
      if (id !== undefined || req.headers.cookie?.includes('vigil_session=')) {
        const session = id === undefined ? undefined : this.sessions.use(id);
        if (!session) throw new VigilError('unauthorized', 'the session has expired or was signed out: sign in again');
        requireSameSite(req);
        markAuthenticated(req, session);
        return;
      }
    }
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) {
      throw new VigilError(
        'unauthorized',
        header
          ? 'the Authorization header is not "Bearer <token>" (one token, no spaces in it)'
          : 'missing bearer token: send "Authorization: Bearer <token>"',
      );
    }
    const actual = this.kindOf(match[1]!);
    if (!actual) throw new VigilError('unauthorized', 'unknown token');
    if (actual !== kind) {
      throw new VigilError(
        'forbidden',
        kind === 'ingest'
          ? 'an API token cannot be used here (sending events, reading decisions): use an ingest token'
          : 'an ingest token cannot read or administer: use an API token',
      );
    }
  }
}

/**
 * Cookies are taken on the API routes only: `/metrics` and the ingest routes want their token. The path is the one the
 * router matches (dot segments resolved), so `/api/v1/../../metrics` is not an API path.
 */
function isApiPath(target: string | undefined): boolean {
  return requestUrl(target)?.pathname.startsWith('/api/v1/') === true;
}

/**
 * Cross-site request forgery: a request authenticated by its cookie that changes state (any method but GET and HEAD)
 * must carry the dashboard's header and, when it names its origin, come from this server's own. Browsers send the
 * cookie with requests other sites make; they let no other site set a custom header without this server's consent.
 */
export function requireSameSite(req: IncomingMessage): void {
  if (req.method === 'GET' || req.method === 'HEAD') return;
  if (req.headers[REQUEST_HEADER] !== '1') {
    throw new VigilError(
      'forbidden',
      `a request that changes something, authenticated by the session cookie, must send "${REQUEST_HEADER}: 1"`,
    );
  }
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (host === undefined || host !== req.headers.host) {
    throw new VigilError('forbidden', 'this request comes from another site (its Origin is not this server): refused');
  }
}
