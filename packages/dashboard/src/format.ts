/** Field names and how times are shown and read. */

/** The event fields the dashboard names (OpenTelemetry / ECS names, as in docs/events.md). */
export const FIELD = {
  clientAddress: 'client.address',
  userId: 'user.id',
  route: 'http.route',
  method: 'http.request.method',
  path: 'url.path',
  status: 'http.response.status_code',
  apiKeyId: 'vigil.api_key.id',
  graphqlType: 'graphql.operation.type',
  graphqlName: 'graphql.operation.name',
  graphqlRootFields: 'vigil.graphql.root_fields',
  type: 'type',
  time: 'time',
} as const;

/** Alert labels that name an entity whose events can be followed (a timeline link each). */
export const ENTITY_LABELS: readonly string[] = [FIELD.clientAddress, FIELD.userId, FIELD.route];

/**
 * The fields that name a principal, as the behaviour detectors pick one (docs/baselines.md): the user, else the API
 * key, else the client address; `GET /api/v1/baselines/principal` takes one of them.
 */
export const PRINCIPAL_FIELDS: readonly string[] = [FIELD.userId, FIELD.apiKeyId, FIELD.clientAddress];

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** A time in the browser's zone, to the second: `2026-11-02 11:00:02`. */
export function localTime(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** An RFC 3339 time as a `datetime-local` input value (local time, to the second). */
export function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return localTime(iso).replace(' ', 'T');
}

/** A `datetime-local` input value (local time) as RFC 3339 UTC; undefined when empty or not a time. */
export function fromLocalInput(value: string): string | undefined {
  if (!value) return undefined;
  // A date and time without an offset is local time to the Date parser.
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** An RFC 3339 time moved by some milliseconds. */
export function shifted(iso: string, millis: number): string {
  return new Date(new Date(iso).getTime() + millis).toISOString();
}

/** `1 alert`, `2 alerts`. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

const NUMBER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** A number as read aloud: `1,234`, `0.21` (at most two decimals); an absent one as `–`. */
export function amount(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '–' : NUMBER.format(n);
}

/** A share of 0–1 as a percentage: `83 %`. */
export function percent(share: number): string {
  return `${amount(share * 100)} %`;
}

/** A duration in words, for the API's `bucketMillis` / `windowMillis`: `1 minute`, `10 minutes`, `2 hours`. */
export function duration(millis: number): string {
  if (millis % 3_600_000 === 0) return count(millis / 3_600_000, 'hour');
  if (millis % 60_000 === 0) return count(millis / 60_000, 'minute');
  return count(millis / 1000, 'second');
}

/** A duration as the unit of a rate: `minute` for 60 000 ms, `10 minutes` otherwise as `duration` says. */
export function per(millis: number): string {
  return duration(millis).replace(/^1 /, '');
}
