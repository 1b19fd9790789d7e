/**
 * The storage contract. Every implementation (SQLite embedded, PostgreSQL distributed) passes the same
 * conformance suite (store/store.conformance.ts). `appendEvents` resolves only once the events are durable:
 * ingest acknowledges on that promise.
 */
import type { Severity } from '@vigil/engine';
import type { SecurityEvent } from '@vigil/schema';
import type { Alert, AlertStatus } from '../alerts/alert.js';
import type { RoutingVersion } from '../alerts/routing-versions.js';
import type { Silence } from '../alerts/silences.js';
import type { Decision, DecisionScope } from '../decisions/decision.js';

export interface EventQuery {
  /** Event time range, epoch ms, inclusive from, exclusive to. */
  readonly from?: number;
  readonly to?: number;
  readonly type?: string;
  readonly clientAddress?: string;
  readonly userId?: string;
  readonly route?: string;
  readonly limit: number;
  /** Opaque cursor from a previous page. */
  readonly cursor?: string;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor?: string;
}

export interface AlertQuery {
  /** One status, or `open`: firing and acknowledged. */
  readonly status?: AlertStatus | 'open';
  readonly severity?: Severity;
  readonly ruleId?: string;
  readonly limit: number;
  readonly cursor?: string;
}

export type NotificationState = 'pending' | 'delivered' | 'dead';

/** One notification of one alert change to one receiver; written before the first attempt. */
export interface NotificationRecord {
  readonly id: string;
  readonly alertId: string;
  readonly receiver: string;
  /** What was sent: the alert as it was when the notification was created. */
  payload: string;
  /** Aggregation group (receiver + group-by values) when the route groups alerts; changes merge while pending. */
  readonly groupKey?: string;
  state: NotificationState;
  attempts: number;
  nextAttemptAt: number;
  lastError?: string;
  /** When it was created; for a grouped notification, when the group is flushed (its interval runs from there). */
  readonly createdAt: number;
}

/**
 * An alert change its listeners (the notification log, response decisions) must hear of: stored in the transaction
 * that stores the change, and removed once every listener has taken it. A crash in between leaves it stored, and the
 * next start tells it again (the transactional outbox pattern).
 */
export interface AlertAnnouncement {
  /** The alert as the change left it. */
  readonly alert: Alert;
  readonly change: AnnouncedChange;
}

/** The changes of an alert that are announced: each happens at most once to an alert. */
export type AnnouncedChange = 'opened' | 'acknowledged' | 'resolved';

/** Something a person did to an alert: who, when, what, why. */
export interface AlertAction {
  readonly alertId: string;
  readonly action: 'acknowledge' | 'resolve' | 'false_positive';
  readonly actor: string;
  /** Short hash of the API token used, tying the action to a credential. */
  readonly tokenId: string;
  readonly comment?: string;
  /** Wall-clock time, epoch ms. */
  readonly at: number;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly checked: number;
  readonly problems: readonly { seq: number; problem: string }[];
  /**
   * Present once retention has deleted events: rows 1..deletedThroughSeq were deleted (the latest run at
   * `deletedAt`, ISO 8601) because they were stamped before `cutoff`; the chain is checked from the next row on.
   */
  readonly retention?: { readonly deletedThroughSeq: number; readonly deletedAt: string; readonly cutoff: string };
}

export interface AppendResult {
  readonly stored: number;
  readonly duplicates: number;
  /** Positions in the batch of the events that were already stored (same id), and so were skipped. */
  readonly duplicateIndexes: readonly number[];
  /** The store's sequence number of the latest event after this append. */
  readonly lastSequence: number;
}

export interface DecisionQuery {
  readonly scope?: DecisionScope;
  readonly value?: string;
  /** Only decisions in force at this time (not revoked, not expired), epoch ms. */
  readonly activeAt?: number;
  /** Only decisions created at or after this time, epoch ms. */
  readonly createdSince?: number;
  /** Leave out revoked decisions. */
  readonly excludeRevoked?: boolean;
  /** Only decisions the alert with this id caused. */
  readonly alertId?: string;
  readonly limit: number;
  readonly cursor?: string;
}

export interface Store {
  appendEvents(events: readonly SecurityEvent[]): Promise<AppendResult>;
  queryEvents(query: EventQuery): Promise<Page<SecurityEvent>>;
  getEvent(id: string): Promise<SecurityEvent | undefined>;
  /** Sequence number of the latest stored event (0 when empty): the store's own, arrival-ordered position. */
  lastSequence(): Promise<number>;
  /** Events stored after sequence number `seq`, in storage order, in pages (to catch detection up on start). */
  eventsAfterSequence(seq: number, pageSize?: number): AsyncIterable<SecurityEvent[]>;
  /** Insert or update alerts, and store the announcements of their changes, all in one transaction. */
  saveAlerts(alerts: readonly Alert[], announcements?: readonly AlertAnnouncement[]): Promise<void>;
  getAlert(id: string): Promise<Alert | undefined>;
  listAlerts(query: AlertQuery): Promise<Page<Alert>>;
  /** Record an action on an alert together with the alert's new state (and its announcement), in one transaction. */
  recordAlertAction(alert: Alert, action: AlertAction, announcement?: AlertAnnouncement): Promise<void>;
  /** Announcements stored and not yet taken by every listener, in the order they were stored. */
  pendingAnnouncements(): Promise<AlertAnnouncement[]>;
  /** Every listener has taken the announcement: remove it. */
  announced(announcements: readonly AlertAnnouncement[]): Promise<void>;
  alertActions(alertId: string): Promise<AlertAction[]>;
  /** Alerts not yet resolved: restored into the alert manager on start. */
  openAlerts(): Promise<Alert[]>;
  saveRoutingVersion(version: Omit<RoutingVersion, 'version'>): Promise<number>;
  routingVersions(): Promise<RoutingVersion[]>;
  saveSilence(silence: Silence): Promise<void>;
  listSilences(): Promise<Silence[]>;
  /** Receivers that were sent (or are being sent) a notification of this alert. */
  notifiedReceivers(alertId: string): Promise<string[]>;
  /** Record notifications; one whose id is recorded already is left as it is. */
  addNotifications(records: readonly NotificationRecord[]): Promise<void>;
  /** Pending records due by `now`, oldest due first: `limit` in all, at most `perReceiver` of any one receiver. */
  dueNotifications(now: number, limit: number, perReceiver?: number): Promise<NotificationRecord[]>;
  updateNotification(record: NotificationRecord): Promise<void>;
  /** The payloads of the group's notifications that tell of the alert (it started them, or joined them). */
  groupPayloadsOf(receiver: string, groupKey: string, alertId: string): Promise<string[]>;
  /** The group's notification that has not been attempted yet, if any (new changes merge into it). */
  pendingGroupNotification(receiver: string, groupKey: string): Promise<NotificationRecord | undefined>;
  /** When the group's latest notification was created (group_interval runs from it). */
  lastGroupNotificationAt(receiver: string, groupKey: string): Promise<number | undefined>;
  /** Replace the payload of a notification not attempted yet. */
  updateNotificationPayload(id: string, payload: string): Promise<void>;
  /**
   * A group notification also tells of `alertId` (an alert that joined it): `notifiedReceivers` finds its receiver
   * for that alert's acknowledgement and resolve.
   */
  addNotificationMember(notificationId: string, alertId: string): Promise<void>;
  /** A notification's payload and attempts as stored now (for a send that must carry what was merged last). */
  notificationState(id: string): Promise<{ payload: string; attempts: number } | undefined>;
  countNotifications(state: NotificationState): Promise<number>;
  /** Store a new decision, setting its `version`; false (and nothing written) when its id is already stored. */
  insertDecision(decision: Decision): Promise<boolean>;
  /** Save a decision's revocation, raising its `version`; false (and nothing written) when it is already revoked. */
  revokeDecision(decision: Decision): Promise<boolean>;
  getDecision(id: string): Promise<Decision | undefined>;
  /** Newest first. */
  listDecisions(query: DecisionQuery): Promise<Page<Decision>>;
  /**
   * The decision stream: decisions changed after `version` (by version, at most `limit`), and those of `version` or
   * before that expired in (expiredAfter, now] (by expiry, at most `limit`).
   */
  decisionChanges(
    version: number,
    expiredAfter: number,
    now: number,
    limit: number,
  ): Promise<{ changed: Decision[]; expired: Decision[] }>;
  /** Decisions in force at `now` with a version after `version`, by version: the stream's first answers. */
  activeDecisions(version: number, now: number, limit: number): Promise<Decision[]>;
  /**
   * The latest decision `version`, the earliest expiry after `now` of a decision in force, and the latest cutoff
   * before which retention deleted ended decisions (a stream cursor issued before it may miss a revocation).
   */
  decisionClock(now: number): Promise<{ version: number; nextExpiry?: number; deletedBefore?: number }>;
  /** Walk the hash chain of stored events and report gaps and tampering. */
  verify(): Promise<VerifyReport>;
  close(): Promise<void>;
}
