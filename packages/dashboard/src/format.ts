/** Field names and how times are shown and read. */

/** The event fields the dashboard names (OpenTelemetry / ECS names, as in docs/events.md). */
export const FIELD = {
  clientAddress: 'client.address',
  userId: 'user.id',
  route: 'http.route',
  method: 'http.request.method',
  path: 'url.path',
  status: 'http.response.status_code',
  type: 'type',
  time: 'time',
} as const;

/** Alert labels that name an entity whose events can be followed (a timeline link each). */
export const ENTITY_LABELS: readonly string[] = [FIELD.clientAddress, FIELD.userId, FIELD.route];

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
