/**
 * One spelling per path: percent-encoded letters, digits and `-._~` in `url.path` are decoded, and the hex digits
 * of the escapes that stay are written in upper case. RFC 3986 (6.2.2) makes such paths the same URI, and web
 * servers serve them alike (nginx answers `/%61dmin` with its `/admin` location), so rules, route templates and
 * baselines must see them alike too: `url.path|contains: /.env` would otherwise miss `/%2Eenv`, served all the same.
 *
 * Only what RFC 3986 calls equivalent is changed. `%2F` stays (a server may or may not take it for a separator), and
 * so do dot segments (`/a/../admin`): a traversal is evidence, and what it reaches depends on the server. The path as
 * it was sent is kept in `url.original` when it differs, and an escape that decodes shows there.
 */
import { Field, type SecurityEvent } from '@vigil/schema';
import { type EnrichmentStage, withAttributes } from './stage.js';

const ESCAPE = /%([0-9A-Fa-f]{2})/g;

/** RFC 3986 "unreserved": ALPHA / DIGIT / "-" / "." / "_" / "~". */
const UNRESERVED = /^[A-Za-z0-9._~-]$/;

/**
 * The path in its normal form, or the same string when it has nothing to normalise.
 *
 * @example
 * normalisePath('/%61dmin/%2e%2e/%2fetc'); // '/admin/../%2Fetc'
 */
export function normalisePath(path: string): string {
  if (!path.includes('%')) return path;
  return path.replace(ESCAPE, (sequence: string, hex: string) => {
    const character = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(character) ? character : sequence.toUpperCase();
  });
}

export function createUrlPathStage(): EnrichmentStage {
  return {
    name: 'url-path',
    apply(event: SecurityEvent): SecurityEvent {
      const path = event.attributes[Field.urlPath];
      if (typeof path !== 'string') return event;
      const normal = normalisePath(path);
      if (normal === path) return event;
      // A sender's own `url.original` (a whole URL, say) stays: it is also what was sent.
      if (event.attributes[Field.urlOriginal] !== undefined) return withAttributes(event, { [Field.urlPath]: normal });
      return withAttributes(event, { [Field.urlPath]: normal, [Field.urlOriginal]: path });
    },
  };
}
