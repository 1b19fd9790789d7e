/**
 * Who hears about an alert, following the Alertmanager model: a routing tree of matchers (first matching child
 * wins unless it says `continue`), inhibition (an open alert matching a source rule mutes alerts matching a target
 * rule when the `equal` labels agree), silences, repeat notifications for alerts nobody took, and escalation to
 * another receiver when nobody acknowledges in time.
 */
import type { Alert } from './alert.js';
import { allMatch, type Matcher } from './matchers.js';

export interface RouteConfig {
  readonly matchers: readonly Matcher[];
  /** Receiver names; a route without receivers inherits its parent's. */
  readonly receivers: readonly string[];
  readonly continue: boolean;
  /** Re-send a firing, unacknowledged alert this often (0: never). Inherited. */
  readonly repeatIntervalMillis?: number;
  /** Notify `escalation.receivers` when an alert is still unacknowledged this long after it opened. */
  readonly escalation?: { readonly afterMillis: number; readonly receivers: readonly string[] };
  readonly routes: readonly RouteConfig[];
}

export interface InhibitRule {
  readonly sourceMatchers: readonly Matcher[];
  readonly targetMatchers: readonly Matcher[];
  readonly equal: readonly string[];
}

/** What routing decided for one alert. */
export interface RouteDecision {
  readonly receivers: string[];
  readonly repeatIntervalMillis: number;
  readonly escalations: { afterMillis: number; receivers: readonly string[] }[];
}

/** The labels routing sees: the alert's labels plus `tags` (comma-joined), so a matcher can select on tags. */
export function routingLabels(alert: Alert): Record<string, string> {
  return { ...alert.labels, tags: alert.tags.join(',') };
}

export function route(root: RouteConfig, alert: Alert): RouteDecision {
  const labels = routingLabels(alert);
  const receivers = new Set<string>();
  const escalations: RouteDecision['escalations'] = [];
  let repeat = root.repeatIntervalMillis ?? 0;
  const walk = (node: RouteConfig, inherited: readonly string[], inheritedRepeat: number): boolean => {
    if (!allMatch(node.matchers, labels)) return false;
    const own = node.receivers.length > 0 ? node.receivers : inherited;
    const nodeRepeat = node.repeatIntervalMillis ?? inheritedRepeat;
    let matchedChild = false;
    for (const child of node.routes) {
      if (walk(child, own, nodeRepeat)) {
        matchedChild = true;
        if (!child.continue) break;
      }
    }
    if (!matchedChild) {
      for (const r of own) receivers.add(r);
      repeat = nodeRepeat;
      if (node.escalation) escalations.push({ ...node.escalation });
    }
    return true;
  };
  walk(root, root.receivers, repeat);
  return { receivers: [...receivers], repeatIntervalMillis: repeat, escalations };
}

/** Is `alert` muted by another open alert under these inhibition rules? */
export function isInhibited(alert: Alert, open: Iterable<Alert>, rules: readonly InhibitRule[]): boolean {
  if (rules.length === 0) return false;
  const target = routingLabels(alert);
  const candidates = [...open].filter((a) => a.id !== alert.id && a.status !== 'resolved');
  for (const rule of rules) {
    if (!allMatch(rule.targetMatchers, target)) continue;
    for (const other of candidates) {
      const source = routingLabels(other);
      if (!allMatch(rule.sourceMatchers, source)) continue;
      if (rule.equal.every((l) => (source[l] ?? '') === (target[l] ?? ''))) return true;
    }
  }
  return false;
}
