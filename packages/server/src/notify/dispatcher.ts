/**
 * Delivery that loses nothing: every alert change that must be notified becomes one durable record per
 * receiver *before* any attempt. Each attempt is written before it starts (a lease) and after it ends. A failing
 * receiver is retried on its own with exponential backoff and jitter and never causes re-sends to the others;
 * after `maxAttempts` the record becomes a dead letter, visible in the API and metrics.
 */
import { createHash, randomUUID } from 'node:crypto';
import { type Alert, type AlertJson, alertToJson } from '../alerts/alert.js';
import type { NotificationChange } from '../alerts/policy.js';
import type { RouteTarget } from '../alerts/routing.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { NotificationRecord, Store } from '../store/store.js';
import { DeliveryError, type NotificationPayload, type Notifier } from './notifier.js';

export interface DispatcherOptions {
  readonly store: Store;
  readonly notifiers: readonly Notifier[];
  readonly maxAttempts: (receiver: string) => number;
  readonly retryBaseMillis: number;
  readonly retryMaxMillis: number;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly now?: () => number;
  readonly random?: () => number;
  /** How often due records are polled for, besides the immediate kick on a new notification. */
  readonly pollMillis?: number;
}

/** What a receiver must hear of in order: one alert, or one group of alerts. */
function subjectOf(record: NotificationRecord): string {
  return `${record.receiver}\u0000${record.groupKey ?? record.alertId}`;
}

/** How an alert change comes to the dispatcher (see `Delivery.occurrence`, `AlertListener`'s `retold`). */
export interface ToldAs {
  /** Which repeat or escalation step this is. */
  readonly occurrence?: string;
  /** The change was told before (a restart, a listener that failed): a notification may have it already. */
  readonly retold?: boolean;
}

/**
 * The id of the notification of an alert change to a receiver. An opening, acknowledgement or resolve happens once to
 * an alert, a repeat or escalation step once per `occurrence` (see `Delivery`), so its notification has one id however
 * often it is recorded: a change told again after a crash (its notification may have been recorded just before) is
 * recorded once, and a receiver that got it already sees the same `webhook-id`. Without an occurrence, a repeat or
 * escalation gets a random id.
 */
export function notificationId(
  alertId: string,
  change: NotificationChange,
  receiver: string,
  occurrence?: string,
): string {
  if (!NOTIFIED.has(change) && occurrence === undefined) return `ntf_${randomUUID()}`;
  const h = createHash('sha256')
    .update(`${alertId}\u0000${change}\u0000${receiver}\u0000${NOTIFIED.has(change) ? '' : occurrence}`)
    .digest('hex');
  return `ntf_${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * Alert changes that are worth a notification (evidence updates are not: they would flood the receiver). Each happens
 * once to an alert.
 */
const NOTIFIED: ReadonlySet<NotificationChange> = new Set(['opened', 'acknowledged', 'resolved']);
const BATCH = 64;
/** Most attempts in flight at once, over all receivers. */
const MAX_IN_FLIGHT = 64;
/**
 * Most attempts in flight at once for one receiver: a receiver that hangs until its timeout, with a backlog of retries
 * due before anything new, takes at most a quarter of the slots, and the other receivers' alerts still go out at once.
 */
export const MAX_IN_FLIGHT_PER_RECEIVER = 16;
/**
 * Wall-clock time between counts of the pending notifications for `vigil_notifications_pending`. The count reads the
 * whole backlog, and an alert flood runs a pass per new notification: counted on each, it took a tenth of the main
 * thread with a few thousand pending. A pass that asks within this time gets one count when it is up.
 */
const PENDING_COUNT_MILLIS = 1000;

export class Dispatcher {
  private readonly byName: Map<string, Notifier>;
  private readonly now: () => number;
  private readonly random: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private readonly inFlight = new Set<string>();
  /** Attempts in flight per receiver. */
  private readonly receiverLoad = new Map<string, number>();
  /** Per receiver and alert (or group), whether an attempt is in flight: their notifications go out in order. */
  private readonly busySubjects = new Set<string>();
  /** Attempts that ended since the pass before last began, with the number of the pass running when they ended. */
  private readonly ended = new Map<string, number>();
  private passNumber = 0;
  /** A pass left a due record for later (its subject was busy, or too many attempts were in flight). */
  private heldBack = false;
  private readonly attempts = new Set<Promise<void>>();
  private enqueueing: Promise<void> = Promise.resolve();
  /** When (wall clock) the pending notifications were last counted, and the count waiting for its time. */
  private pendingCountedAt = Number.NEGATIVE_INFINITY;
  private pendingRecount: NodeJS.Timeout | undefined;

  constructor(private readonly options: DispatcherOptions) {
    this.byName = new Map(options.notifiers.map((n) => [n.name, n]));
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  start(): void {
    const poll = this.options.pollMillis ?? 500;
    this.timer = setInterval(() => this.kick(), poll);
    this.timer.unref();
    this.kick();
  }

  /**
   * Record the notifications of an alert change, one per target receiver; resolves once they are durable. Without
   * `targets`, every configured receiver is notified at once of openings, acknowledgements and resolutions.
   *
   * A target whose route groups alerts (`groupBy`, `groupWait`, `groupInterval`) gets one notification per group:
   * the first waits `groupWait` for more alerts to join; later changes wait until `groupInterval` after the group's
   * previous notification. Until it is first attempted, a group's notification takes in every new change — the
   * record is durable all along, so a restart loses nothing.
   */
  enqueue(
    alert: Alert,
    change: NotificationChange,
    targets?: readonly (string | RouteTarget)[],
    told: ToldAs = {},
  ): Promise<void> {
    // One at a time: two changes of one group must not both create its pending notification.
    const next = this.enqueueing.then(() => this.enqueueNow(alert, change, targets, told));
    this.enqueueing = next.catch(() => {});
    return next;
  }

  private async enqueueNow(
    alert: Alert,
    change: NotificationChange,
    targets: readonly (string | RouteTarget)[] | undefined,
    { occurrence, retold = false }: ToldAs,
  ): Promise<void> {
    const list = (targets ?? (NOTIFIED.has(change) ? [...this.byName.keys()] : [])).map((t) =>
      typeof t === 'string' ? { receiver: t, groupWaitMillis: 0, groupIntervalMillis: 0 } : t,
    );
    if (list.length === 0) return;
    const json = alertToJson(alert);
    const now = this.now();
    const records: NotificationRecord[] = [];
    for (const target of list) {
      const record = {
        id: notificationId(alert.id, change, target.receiver, occurrence),
        alertId: alert.id,
        receiver: target.receiver,
        state: 'pending' as const,
        attempts: 0,
        createdAt: now,
      };
      if (!target.groupBy && target.groupWaitMillis === 0) {
        records.push({ ...record, payload: JSON.stringify({ version: 1, change, alert: json }), nextAttemptAt: now });
        continue;
      }
      const groupLabels: Record<string, string> = {};
      for (const l of target.groupBy ?? Object.keys(alert.labels)) groupLabels[l] = alert.labels[l] ?? '';
      const groupKey = JSON.stringify(groupLabels);
      // Only a change told again can be in a notification already. Repeats and escalations leave the alert as it
      // is, so they cannot be recognised this way.
      if (retold && NOTIFIED.has(change) && (await this.toldInGroup(target.receiver, groupKey, json))) continue;
      const pending = await this.options.store.pendingGroupNotification(target.receiver, groupKey);
      if (pending) {
        const payload = JSON.parse(pending.payload) as NotificationPayload;
        const alerts = (payload.group?.alerts ?? [payload.alert]).filter((a) => a.id !== json.id);
        alerts.push(json);
        const merged: NotificationPayload = {
          version: 1,
          // Opened while one of the group still fires; an alert that opened and resolved within the wait is
          // told as resolved (its status), not as an opening no resolve would follow.
          change:
            (payload.change === 'opened' || change === 'opened') && alerts.some((a) => a.status === 'firing')
              ? 'opened'
              : change,
          alert: json,
          group: { key: groupKey, labels: groupLabels, alerts },
        };
        const text = JSON.stringify(merged);
        await this.options.store.updateNotificationPayload(pending.id, text);
        // The merge counts only if it landed before the notification's first attempt took it (the update is for a
        // record not attempted yet): read back, and otherwise let this alert start a notification of its own.
        const stored = await this.options.store.notificationState(pending.id);
        if (stored?.payload === text) {
          await this.options.store.addNotificationMember(pending.id, alert.id);
          continue;
        }
      }
      const last = await this.options.store.lastGroupNotificationAt(target.receiver, groupKey);
      const due = last === undefined ? now + target.groupWaitMillis : Math.max(now, last + target.groupIntervalMillis);
      const payload: NotificationPayload = {
        version: 1,
        change,
        alert: json,
        group: { key: groupKey, labels: groupLabels, alerts: [json] },
      };
      // A group's interval runs from when its notification goes out, so that is the time the record carries.
      records.push({ ...record, createdAt: due, payload: JSON.stringify(payload), nextAttemptAt: due, groupKey });
    }
    if (records.length > 0) await this.options.store.addNotifications(records);
    this.kick();
  }

  /**
   * Whether a notification of the group already tells of this change of the alert, or of a later one: the change is
   * being told again after a crash, and the notification that has it may have gone out already. A change is known by
   * the alert's status and update time.
   */
  private async toldInGroup(receiver: string, groupKey: string, json: AlertJson): Promise<boolean> {
    const at = Date.parse(json.updatedAt);
    for (const text of await this.options.store.groupPayloadsOf(receiver, groupKey, json.id)) {
      const payload = JSON.parse(text) as NotificationPayload;
      for (const told of payload.group?.alerts ?? [payload.alert]) {
        if (told.id !== json.id) continue;
        const toldAt = Date.parse(told.updatedAt);
        if (toldAt > at || (toldAt === at && told.status === json.status)) return true;
      }
    }
    return false;
  }

  /** Run a delivery pass now (or right after the current one). */
  kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .catch((error) => this.options.log.error('notification pass failed', { error: (error as Error).message }))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Wait until the current pass and every attempt it started have finished; for tests and shutdown. */
  async idle(): Promise<void> {
    while (this.running || this.attempts.size > 0) {
      if (this.running) await this.running;
      await Promise.all(this.attempts);
    }
  }

  /**
   * Start the attempts that are due. A pass does not wait for them: a new notification must not queue behind a
   * slow receiver's round trip (that was most of the alert latency under load). The list read from the store may
   * hold records whose attempt is in flight or has just ended (its final write can land after the read): both
   * are skipped, the latter by remembering attempts that ended until the next pass has read the store again.
   */
  private async pass(): Promise<void> {
    const number = ++this.passNumber;
    const limit = BATCH + this.inFlight.size + this.ended.size;
    // At most a receiver's share per receiver: a long backlog for one must not fill the list and hide the others'.
    const due = await this.options.store.dueNotifications(this.now(), limit, MAX_IN_FLIGHT_PER_RECEIVER);
    for (const [id, endedIn] of this.ended) if (endedIn < number - 1) this.ended.delete(id);
    for (const record of due) {
      if (this.inFlight.has(record.id) || this.ended.has(record.id)) continue;
      if (
        this.inFlight.size >= MAX_IN_FLIGHT ||
        (this.receiverLoad.get(record.receiver) ?? 0) >= MAX_IN_FLIGHT_PER_RECEIVER ||
        this.busySubjects.has(subjectOf(record))
      ) {
        this.heldBack = true; // after the one in flight, in a later pass
        continue;
      }
      // A store that fails to write (a full disk) must not end the server: the record's lease is in the past or
      // the future, so it is picked up again by a later pass either way.
      const attempt = this.attempt(record)
        .catch((error: unknown) =>
          this.options.log.error('notification attempt could not be recorded', {
            receiver: record.receiver,
            notification: record.id,
            error: (error as Error).message,
          }),
        )
        .finally(() => {
          this.attempts.delete(attempt);
          this.ended.set(record.id, this.passNumber);
          // A record held back behind this one may go now.
          if (this.heldBack) {
            this.heldBack = false;
            this.kick();
          }
        });
      this.attempts.add(attempt);
    }
    this.countPendingSoon();
  }

  /**
   * Update `vigil_notifications_pending` now, or, when it was counted less than PENDING_COUNT_MILLIS ago, once that
   * time is up (one count however many passes asked meanwhile).
   */
  private countPendingSoon(): void {
    if (this.pendingRecount !== undefined || this.closed) return;
    const wait = this.pendingCountedAt + PENDING_COUNT_MILLIS - Date.now();
    this.pendingRecount = setTimeout(
      () => {
        this.pendingRecount = undefined;
        if (this.closed) return;
        this.pendingCountedAt = Date.now();
        this.options.store
          .countNotifications('pending')
          .then((pending) => this.options.metrics.notificationsPending.set(pending))
          .catch((error: unknown) =>
            this.options.log.error('pending notifications could not be counted', { error: (error as Error).message }),
          );
      },
      Math.max(0, wait),
    );
    this.pendingRecount.unref();
  }

  private async attempt(record: NotificationRecord): Promise<void> {
    const notifier = this.byName.get(record.receiver);
    if (!notifier) {
      record.state = 'dead';
      record.lastError = `receiver "${record.receiver}" is no longer configured`;
      await this.options.store.updateNotification(record);
      this.options.metrics.notifications.inc({ receiver: record.receiver, outcome: 'dead' });
      return;
    }
    const subject = subjectOf(record);
    this.inFlight.add(record.id);
    this.busySubjects.add(subject);
    this.receiverLoad.set(record.receiver, (this.receiverLoad.get(record.receiver) ?? 0) + 1);
    try {
      record.attempts++;
      // The lease: if the process dies mid-send, the record is picked up again once it expires.
      record.nextAttemptAt = this.now() + this.backoff(record.attempts);
      await this.options.store.updateNotification(record);
      // What is sent is what is stored once the lease is: an alert merged into the group after this record was
      // read is in it (a merge after the lease does not land, and makes a notification of its own).
      const current = record.groupKey === undefined ? undefined : await this.options.store.notificationState(record.id);
      if (current !== undefined) record.payload = current.payload;
      try {
        await notifier.send(JSON.parse(record.payload) as NotificationPayload, record.id);
        record.state = 'delivered';
        record.lastError = undefined;
        this.options.metrics.notifications.inc({ receiver: record.receiver, outcome: 'delivered' });
      } catch (error) {
        const message = (error as Error).message;
        const limit = this.options.maxAttempts(record.receiver);
        const refused = (error as { code?: string }).code === 'ssrf_refused';
        record.lastError = message;
        if (record.attempts >= limit || refused) {
          record.state = 'dead';
          this.options.metrics.notifications.inc({ receiver: record.receiver, outcome: refused ? 'refused' : 'dead' });
          this.options.log.error('notification dead-lettered', {
            receiver: record.receiver,
            notification: record.id,
            alert: record.alertId,
            attempts: record.attempts,
            error: message,
          });
        } else {
          // A receiver's Retry-After is honoured up to the longest backoff: a year-long one would leave the
          // notification waiting forever instead of retried, or dead-lettered.
          const retryAt = error instanceof DeliveryError ? error.retryAt : undefined;
          const latest = this.now() + this.options.retryMaxMillis;
          record.nextAttemptAt = Math.min(latest, Math.max(retryAt ?? 0, this.now() + this.backoff(record.attempts)));
          this.options.metrics.notifications.inc({ receiver: record.receiver, outcome: 'failed' });
          this.options.log.warn('notification failed, will retry', {
            receiver: record.receiver,
            notification: record.id,
            attempts: record.attempts,
            retryAt: new Date(record.nextAttemptAt).toISOString(),
            error: message,
          });
        }
      }
      await this.options.store.updateNotification(record);
    } finally {
      this.inFlight.delete(record.id);
      this.busySubjects.delete(subject);
      const load = (this.receiverLoad.get(record.receiver) ?? 1) - 1;
      if (load > 0) this.receiverLoad.set(record.receiver, load);
      else this.receiverLoad.delete(record.receiver);
    }
  }

  /** Exponential backoff with "equal jitter" (half fixed, half random), capped: spreads retries, keeps a floor. */
  private backoff(attempts: number): number {
    const ceiling = Math.min(this.options.retryMaxMillis, this.options.retryBaseMillis * 2 ** (attempts - 1));
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    clearTimeout(this.pendingRecount);
    await this.idle();
    await Promise.all(this.options.notifiers.map((n) => n.close()));
  }
}
