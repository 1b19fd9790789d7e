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
