/**
 * What a configured receiver offers beyond the `Notifier` contract: a cheap health check and a "send a test
 * notification" action, both for the API and the dashboard. Kept apart from `notifier.ts` so the dispatcher's
 * contract stays three members.
 */
import { randomUUID } from 'node:crypto';
import { fingerprint } from '../alerts/alert.js';
import type { NotificationPayload, Notifier, SendResult } from './notifier.js';
import { redactSecrets, type Secret } from './options.js';

export type ReceiverType = 'webhook' | 'slack' | 'teams' | 'pagerduty' | 'email' | 'alertmanager' | 'syslog' | 'splunk';

export interface HealthResult {
  readonly ok: boolean;
  /** What was checked and what came back, for a person; never contains a secret. */
  readonly message: string;
  readonly latencyMillis: number;
}

export interface ReceiverNotifier extends Notifier {
  readonly type: ReceiverType;
  /** Cheap reachability: DNS + TCP connect, or the service's own health endpoint. Never throws. */
  healthCheck(): Promise<HealthResult>;
  /** Send a synthetic alert clearly marked as a test. Throws like `send` when it cannot be delivered. */
  sendTest(): Promise<SendResult>;
}

/** The rule id of the synthetic test alert; receivers use it to recognise a test. */
export const TEST_RULE_ID = 'vigil-test-notification';

/** A synthetic alert, marked as a test in its rule, labels, summary and id. */
export function testPayload(receiverName: string, now = Date.now()): NotificationPayload {
  const labels = { rule: TEST_RULE_ID, severity: 'info', 'vigil.test': 'true' };
  const at = new Date(now).toISOString();
  return {
    version: 1,
    change: 'opened',
    alert: {
      id: `test-${randomUUID()}`,
      fingerprint: fingerprint(labels),
      status: 'firing',
      rule: { id: TEST_RULE_ID, title: 'Vigil test notification' },
      severity: 'info',
      labels,
      tags: ['vigil.test'],
      startsAt: at,
      lastSeenAt: at,
      eventCount: 0,
      summary: `TEST: this is a test notification from Vigil to receiver "${receiverName}"; no action is needed.`,
      evidence: [],
      updatedAt: at,
      createdAt: at,
    },
  };
}

export function isTestAlert(payload: NotificationPayload): boolean {
  return payload.alert.rule.id === TEST_RULE_ID;
}

/** Run a probe, timing it; a failure becomes `ok: false` with a message scrubbed of the given secrets. */
export async function probe(
  check: () => Promise<string>,
  secrets: readonly (Secret | string | undefined)[] = [],
): Promise<HealthResult> {
  const started = performance.now();
  try {
    const message = await check();
    return {
      ok: true,
      message: redactSecrets(message, secrets),
      latencyMillis: Math.round(performance.now() - started),
    };
  } catch (error) {
    return {
      ok: false,
      message: redactSecrets(describeError(error), secrets),
      latencyMillis: Math.round(performance.now() - started),
    };
  }
}

/** The most useful message of an error, looking through `fetch failed` to its cause. */
export function describeError(error: unknown): string {
  const e = error as { message?: string; cause?: { message?: string; code?: string }; code?: string; name?: string };
  if (e?.name === 'TimeoutError') return 'timed out';
  if (e?.cause?.message) return e.cause.message;
  return e?.message ?? String(error);
}
