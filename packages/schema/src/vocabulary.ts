/**
 * The event types Vigil knows: the OWASP Application Logging Vocabulary, plus Vigil's own extensions.
 *
 * OWASP entries follow the cheat sheet pinned in VOCABULARY_VERSION; where the cheat sheet contradicts itself the
 * entry carries a `note` saying what was normalised and why.
 */
import { Field, type FieldName } from './fields.js';

export type EventCategory =
  | 'authn'
  | 'authz'
  | 'excess'
  | 'upload'
  | 'input'
  | 'malicious'
  | 'privilege'
  | 'sensitive'
  | 'sequence'
  | 'session'
  | 'sys'
  | 'user'
  | 'request'
  | 'payment'
  | 'account'
  | 'data'
  | 'app';

export type EventLevel = 'INFO' | 'WARN' | 'CRITICAL';

export interface EventArgument {
  /** The argument's name in the cheat sheet's pattern (`userid`, `retries`...). */
  readonly name: string;
  /** The Vigil field that carries it on the wire. */
  readonly field: FieldName;
  readonly required: boolean;
}

export interface EventTypeDefinition {
  readonly type: string;
  /** `owasp` for the cheat sheet's vocabulary, `vigil` for the extension namespace. */
  readonly namespace: 'owasp' | 'vigil';
  readonly category: EventCategory;
  /** The argument pattern as written in the cheat sheet (normalised), e.g. `authn_login_fail:userid`. */
  readonly pattern: string;
  readonly args: readonly EventArgument[];
  readonly level: EventLevel;
  readonly description: string;
  /** What was normalised relative to the cheat sheet, if anything. */
  readonly note?: string;
}

export const VOCABULARY_VERSION = 'OWASP Application Logging Vocabulary Cheat Sheet (pinned: see docs/events.md)';

const arg = (name: string, field: FieldName, required = true): EventArgument => ({ name, field, required });

export const EVENT_TYPES: readonly EventTypeDefinition[] = [
  {
    type: 'authn_login_success',
    namespace: 'owasp',
    category: 'authn',
    pattern: 'authn_login_success:userid',
    args: [arg('userid', Field.userId)],
    level: 'INFO',
    description: 'A user logged in successfully.',
  },
  {
    type: 'authn_login_fail',
    namespace: 'owasp',
    category: 'authn',
    pattern: 'authn_login_fail:userid',
    args: [arg('userid', Field.userId, false)],
    level: 'WARN',
    description: 'A login attempt failed.',
  },
  {
    type: 'http_request',
    namespace: 'vigil',
    category: 'request',
    pattern: 'http_request',
    args: [],
    level: 'INFO',
    description: 'One API call: its method, route, status, timing, sizes, client and principal.',
  },
];

export const EVENT_TYPES_BY_NAME: ReadonlyMap<string, EventTypeDefinition> = new Map(
  EVENT_TYPES.map((t) => [t.type, t]),
);

/** Custom event types a user defines for themselves must carry this prefix, so they never collide with ours. */
export const CUSTOM_TYPE_PREFIX = 'x_';

export function isKnownEventType(type: string): boolean {
  return EVENT_TYPES_BY_NAME.has(type) || (type.startsWith(CUSTOM_TYPE_PREFIX) && /^x_[a-z0-9_]{1,60}$/.test(type));
}
