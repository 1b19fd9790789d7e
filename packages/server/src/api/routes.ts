/**
 * The read API: `GET /api/v1/alerts`, `GET /api/v1/alerts/:id`, `GET /api/v1/events`, `GET /api/v1/events/:id`.
 * Query parameters are validated; a bad one, an unknown one or a repeated one is a 400 naming the parameter.
 */
import { SEVERITIES, type Severity } from '@vigil/engine';
import { neutralise, parseTime, toCanonical } from '@vigil/schema';
import type { AlertStatus } from '../alerts/alert.js';
import { alertToJson } from '../alerts/alert.js';
import type { Actor } from '../alerts/manager.js';
import type { Silences } from '../alerts/silences.js';
import { DEFAULTS } from '../defaults.js';
import { VigilError } from '../errors.js';
import { authenticatedSession, tokenIdOf } from '../http/sessions.js';
import type { Store } from '../store/store.js';

const STATUSES: readonly AlertStatus[] = ['firing', 'acknowledged', 'resolved'];

/**
 * Refuse a query parameter the route does not read, and one given twice. A misspelt filter (`user=alice` for
 * `user.id=alice`) or a second value (`type=a&type=b`) would otherwise be dropped, and the page, holding events or
 * alerts the filter was meant to leave out, would read as the filtered answer.
 */
export function onlyParams(params: URLSearchParams, known: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (!known.includes(name)) {
      throw new VigilError(
        'invalid_parameter',
        `unknown query parameter ${JSON.stringify(name.slice(0, 64))}; this route takes ${known.join(', ')}`,
      );
    }
    if (seen.has(name)) throw new VigilError('invalid_parameter', `${name} is given more than once; give it once`);
    seen.add(name);
  }
}

/** The query parameters of `GET /api/v1/events`. */
const EVENT_PARAMS = ['from', 'to', 'type', 'client.address', 'user.id', 'http.route', 'limit', 'cursor'] as const;
/** The query parameters of `GET /api/v1/alerts`. */
const ALERT_PARAMS = ['status', 'severity', 'rule', 'limit', 'cursor'] as const;

/** The `limit` query parameter of a list route, validated. */
export function limitOf(params: URLSearchParams): number {
  const raw = params.get('limit');
  if (raw === null) return DEFAULTS.defaultPageSize;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > DEFAULTS.maxPageSize) {
    throw new VigilError('invalid_parameter', `limit must be an integer from 1 to ${DEFAULTS.maxPageSize}`);
  }
  return n;
}

function timeOf(params: URLSearchParams, name: string): number | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  const t = parseTime(/^\d+$/.test(raw) ? Number(raw) : raw);
  if (t === undefined) throw new VigilError('invalid_parameter', `${name} must be RFC 3339 or epoch milliseconds`);
  return t;
}

function cursorError(error: unknown): never {
  if (error instanceof RangeError) throw new VigilError('invalid_parameter', `cursor: ${error.message}`);
  throw error;
}

export async function listEvents(store: Store, params: URLSearchParams) {
  onlyParams(params, EVENT_PARAMS);
  const from = timeOf(params, 'from');
  const to = timeOf(params, 'to');
  if (from !== undefined && to !== undefined && from > to) {
    throw new VigilError('invalid_parameter', 'from is after to: the range would hold nothing; swap them?');
  }
  const cursor = params.get('cursor');
  const page = await store
    .queryEvents({
      limit: limitOf(params),
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
      ...(params.get('type') ? { type: params.get('type')! } : {}),
      ...(params.get('client.address') ? { clientAddress: params.get('client.address')! } : {}),
      ...(params.get('user.id') ? { userId: params.get('user.id')! } : {}),
      ...(params.get('http.route') ? { route: params.get('http.route')! } : {}),
      ...(cursor ? { cursor } : {}),
    })
    .catch(cursorError);
  return { events: page.items.map(toCanonical), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
}

export async function listAlerts(store: Store, params: URLSearchParams) {
  onlyParams(params, ALERT_PARAMS);
  const status = params.get('status');
  if (status !== null && status !== 'open' && !STATUSES.includes(status as AlertStatus)) {
    throw new VigilError('invalid_parameter', `status must be one of ${STATUSES.join(', ')} or open`);
  }
  const severity = params.get('severity');
  if (severity !== null && !SEVERITIES.includes(severity as Severity)) {
    throw new VigilError('invalid_parameter', `severity must be one of ${SEVERITIES.join(', ')}`);
  }
  const cursor = params.get('cursor');
  const page = await store
    .listAlerts({
      limit: limitOf(params),
      ...(status ? { status: status as AlertStatus | 'open' } : {}),
      ...(severity ? { severity: severity as Severity } : {}),
      ...(params.get('rule') ? { ruleId: params.get('rule')! } : {}),
      ...(cursor ? { cursor } : {}),
    })
    .catch(cursorError);
  return { alerts: page.items.map(alertToJson), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
}

export async function getEvent(store: Store, id: string) {
  const event = await store.getEvent(id);
  if (!event) throw new VigilError('not_found', `no event with id ${JSON.stringify(id)}`);
  return toCanonical(event);
}

export async function getAlert(store: Store, id: string) {
  const alert = await store.getAlert(id);
  if (!alert) throw new VigilError('not_found', `no alert with id ${JSON.stringify(id)}`);
  return alertToJson(alert);
}

/**
 * Who acts: `actor` (required) and `comment` from the JSON body, and a short hash of the token used. A request
 * authenticated by a dashboard session acts as the session's actor, with the hash of the token that opened it.
 */
export function actorOf(body: Buffer, req: import('node:http').IncomingMessage): Actor {
  let parsed: unknown;
  try {
    parsed = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    throw new VigilError('invalid_body', 'the body must be JSON: {"actor": "who", "comment": "why"}');
  }
  const { actor: named, comment } = (parsed ?? {}) as { actor?: unknown; comment?: unknown };
  const session = authenticatedSession(req);
  const actor = session ? session.actor : named;
  if (typeof actor !== 'string' || actor.trim() === '' || actor.length > 128) {
    throw new VigilError('invalid_body', '"actor" is required: who does this (1-128 characters)');
  }
  if (comment !== undefined && (typeof comment !== 'string' || comment.length > 2000)) {
    throw new VigilError('invalid_body', '"comment" must be a string of at most 2000 characters');
  }
  const token = /^Bearer\s+(\S+)/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
  return {
    name: neutralise(actor.trim()),
    tokenId: session ? session.tokenId : tokenIdOf(token),
    ...(comment ? { comment: neutralise(comment) } : {}),
  };
}

export async function alertHistory(store: Store, id: string) {
  const alert = await store.getAlert(id);
  if (!alert) throw new VigilError('not_found', `no alert with id ${JSON.stringify(id)}`);
  const actions = await store.alertActions(id);
  return { alert: alertToJson(alert), actions: actions.map((a) => ({ ...a, at: new Date(a.at).toISOString() })) };
}

export function jsonBody(body: Buffer): unknown {
  try {
    return body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    throw new VigilError('invalid_body', 'the body must be a JSON object');
  }
}

/**
 * The body of `POST /api/v1/silences`. A request authenticated by a dashboard session creates the silence as the
 * session's actor, whatever `createdBy` says, as `actorOf` does for actions; with a token, `createdBy` comes from the
 * body and is required.
 */
export function silenceBody(body: Buffer, req: import('node:http').IncomingMessage): unknown {
  const parsed = jsonBody(body);
  const session = authenticatedSession(req);
  if (!session || parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return parsed;
  return { ...parsed, createdBy: session.actor };
}

export function listSilences(silences: Silences, url: URL) {
  onlyParams(url.searchParams, ['state']);
  const state = url.searchParams.get('state');
  if (state !== null && !['pending', 'active', 'expired'].includes(state)) {
    throw new VigilError('invalid_parameter', 'state must be pending, active or expired');
  }
  return silences.list((state ?? undefined) as 'pending' | 'active' | 'expired' | undefined);
}
