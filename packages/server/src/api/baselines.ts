/**
 * The learned baselines through the API (for charts), and marking an alert as a false positive: the alert is
 * resolved, and the same finding is suppressed for that entity for a chosen time — by the baseline detector itself
 * for baseline alerts, by a silence for rule alerts. Who and why are recorded.
 */
import { type BehaviourDetector, type EndpointKeyView, parseOperationRef } from '@vigil/engine';
import type { Actor, AlertManager } from '../alerts/manager.js';
import type { Silences } from '../alerts/silences.js';
import { VigilError } from '../errors.js';
import type { Store } from '../store/store.js';

const PRINCIPAL_FIELDS = ['user.id', 'vigil.api_key.id', 'client.address'] as const;
const DEFAULT_SUPPRESS_MILLIS = 7 * 86_400_000;
const MAX_SUPPRESS_MILLIS = 365 * 86_400_000;

function detectorOf(find: () => BehaviourDetector | undefined): BehaviourDetector {
  const detector = find();
  if (!detector) throw new VigilError('not_found', 'baselines are off (detection.baselines.enabled: false)');
  return detector;
}

export function listEndpoints(find: () => BehaviourDetector | undefined): { endpoints: EndpointKeyView[] } {
  return { endpoints: detectorOf(find).endpointKeys() };
}

/**
 * `?route=&method=`, and `&operation=mutation { deleteUser }` (its root fields) or `&operation=mutation DeleteUser`
 * (its name) for one GraphQL operation's own baseline.
 */
export function endpointBaseline(find: () => BehaviourDetector | undefined, params: URLSearchParams) {
  const route = params.get('route');
  const method = params.get('method');
  if (!route || !method)
    throw new VigilError('invalid_parameter', 'give route and method, e.g. ?route=/users/{id}&method=GET');
  const given = params.get('operation');
  const operation = given === null ? undefined : parseOperationRef(given);
  if (given !== null && operation === undefined) {
    throw new VigilError(
      'invalid_parameter',
      'operation is a GraphQL operation type and its root fields or its name, e.g. "mutation { deleteUser }" or "mutation DeleteUser"',
    );
  }
  const view = detectorOf(find).baselineFor(route, method.toUpperCase(), operation);
  const what = `${method.toUpperCase()} ${route}${given === null ? '' : ` (${given})`}`;
  if (!view) throw new VigilError('not_found', `no baseline for ${what} yet`);
  return view;
}

export function principalProfile(find: () => BehaviourDetector | undefined, params: URLSearchParams) {
  const field = PRINCIPAL_FIELDS.find((f) => params.get(f));
  if (!field) throw new VigilError('invalid_parameter', `give one of ${PRINCIPAL_FIELDS.join(', ')}`);
  const view = detectorOf(find).profileFor({ [field]: params.get(field)! });
  if (!view) throw new VigilError('not_found', `no profile for ${field} ${params.get(field)} yet`);
  return view;
}

export async function markFalsePositive(
  deps: { store: Store; alerts: AlertManager; silences: Silences; baselines: () => BehaviourDetector | undefined },
  id: string,
  actor: Actor,
  body: unknown,
) {
  const alert = await deps.store.getAlert(id);
  if (!alert) throw new VigilError('not_found', `no alert with id ${JSON.stringify(id)}`);
  const requested = (body as { durationMillis?: unknown } | null)?.durationMillis;
  if (requested !== undefined && (typeof requested !== 'number' || requested <= 0 || requested > MAX_SUPPRESS_MILLIS)) {
    throw new VigilError('invalid_body', '"durationMillis" must be a positive number of milliseconds, at most a year');
  }
  const duration = (requested as number | undefined) ?? DEFAULT_SUPPRESS_MILLIS;
  // Like every action, on an open alert only: the action is recorded in its history, the suppression made after.
  if (alert.status === 'resolved') {
    throw new VigilError(
      'conflict',
      `cannot mark alert ${JSON.stringify(id)} as a false positive: it is resolved (create a silence for what it matched)`,
    );
  }
  const resolved = await deps.alerts.resolve(id, actor, 'false_positive');
  const reason = actor.comment ?? 'marked as a false positive';
  const entity: Record<string, string> = {};
  for (const [k, v] of Object.entries(alert.labels)) if (k !== 'rule' && k !== 'severity') entity[k] = v;
  let suppression: unknown;
  const baselines = deps.baselines();
  if (baselines && alert.rule.id.startsWith('vigil-baseline')) {
    // Baseline alerts run in event time: the suppression lasts `duration` of event time after the alert.
    suppression = baselines.suppress(entity, alert.rule.id, alert.lastSeenAt + duration, { by: actor.name, reason });
  } else {
    const matchers = Object.entries({ rule: alert.rule.id, ...entity }).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
    suppression = await deps.silences.create({
      matchers,
      durationMillis: duration,
      createdBy: actor.name,
      comment: `false positive (alert ${alert.id}): ${reason}`,
    });
  }
  return { alert: resolved, suppression };
}
