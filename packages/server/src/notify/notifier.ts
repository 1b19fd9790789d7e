/**
 * The receiver contract. A notifier sends one notification; the dispatcher owns retries, the durable log and
 * dead letters, so a notifier stays a few lines of protocol.
 */
import type { AlertJson } from '../alerts/alert.js';
import type { NotificationChange } from '../alerts/policy.js';

export interface NotificationPayload {
  readonly version: 1;
  readonly change: NotificationChange;
  /** The alert whose change this is (for a group: the latest one). */
  readonly alert: AlertJson;
  /** Present when the route groups alerts: every alert of the group that changed since its last notification. */
  readonly group?: { readonly key: string; readonly labels: Record<string, string>; readonly alerts: AlertJson[] };
}

/**
 * A notification as one payload per alert, for receivers that keep one record per alert (PagerDuty incidents, Splunk
 * events, syslog lines): a grouped notification gives every alert of its group, each with its own change — the
 * latest keeps the group's while it fires, the others are read from their own status — so none is lost behind the
 * latest.
 */
export function perAlertPayloads(payload: NotificationPayload): NotificationPayload[] {
  const members = payload.group?.alerts;
  if (!members || members.length === 0) return [payload];
  return members.map((alert) => ({
    version: 1,
    // The latest keeps the group's change while it fires; one that was acknowledged or resolved since says so.
    change: alert.id === payload.alert.id && alert.status === 'firing' ? payload.change : changeOf(alert),
    alert,
  }));
}

function changeOf(alert: AlertJson): NotificationChange {
  if (alert.status === 'resolved') return 'resolved';
  if (alert.status === 'acknowledged') return 'acknowledged';
  return 'opened';
}

/** The alerts of a grouped notification besides its latest one (which receivers show in full). */
export function otherGroupAlerts(payload: NotificationPayload): AlertJson[] {
  return (payload.group?.alerts ?? []).filter((a) => a.id !== payload.alert.id);
}

export interface SendResult {
  /** When the receiver asked to be left alone (429 Retry-After), the earliest time to try again, epoch ms. */
  readonly retryAt?: number;
}

export interface Notifier {
  readonly name: string;
  /** `idempotencyKey` is the same on every attempt of one notification. Throws on failure. */
  send(payload: NotificationPayload, idempotencyKey: string): Promise<SendResult>;
  close(): Promise<void>;
}

export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryAt?: number,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** Parse Retry-After (seconds or an HTTP date) into an absolute time, epoch ms. */
export function retryAfter(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header)) return now + Number(header) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : at;
}
