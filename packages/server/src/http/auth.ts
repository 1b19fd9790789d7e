/**
 * Bearer-token authentication. Ingest tokens and API tokens are separate: an ingest token can only write
 * events, an API token can only read and administer. Tokens are compared as SHA-256 digests in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { VigilError } from '../errors.js';

export type TokenKind = 'ingest' | 'api';

const digest = (token: string) => createHash('sha256').update(token).digest();

export class TokenChecker {
  private readonly digests: { kind: TokenKind; digest: Buffer }[];

  constructor(tokens: { ingest: readonly string[]; api: readonly string[] }) {
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

  /** Throws 401 for a missing or unknown token, 403 for a token of the wrong kind. */
  require(req: IncomingMessage, kind: TokenKind): void {
    const header = req.headers.authorization;
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
