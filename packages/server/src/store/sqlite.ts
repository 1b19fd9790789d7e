/**
 * Embedded store on SQLite (better-sqlite3, WAL). Events are appended to a hash chain: each row's hash covers the
 * previous row's hash and the row's canonical JSON, so `vigil verify` finds any edit, deletion or insertion. The
 * indexed columns are copies of fields of that JSON, checked against it by `verify`; events are read from the JSON.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CanonicalEvent, SecurityEvent } from '@vigil/schema';
import Database from 'better-sqlite3';
import { type Alert, type AlertJson, alertFromJson, alertToJson } from '../alerts/alert.js';
import type { RoutingVersion } from '../alerts/routing-versions.js';
import type { Silence } from '../alerts/silences.js';
import type { Decision } from '../decisions/decision.js';
import { DEFAULTS } from '../defaults.js';
import type { Logger } from '../log.js';
import {
  ALERT_RETENTION_BATCH_ROWS,
  type AlertScanPosition,
  deleteEndedAlertsBatch,
  deleteEndedDecisionsBatch,
  deleteEndedSilencesBatch,
  readDecisionsDeleted,
} from './alert-retention.js';
import {
  chainHash,
  eventColumns,
  GENESIS_HASH,
  openChain,
  type RetentionAnchor,
  readChainMark,
  readRetentionAnchor,
  StoreWriter,
  WriterThread,
  type WriteStatement,
} from './event-writer.js';
import { deleteExpiredBatch, RETENTION_BATCH_ROWS } from './retention.js';
import type {
  AlertAction,
  AlertAnnouncement,
  AlertQuery,
  AnnouncedChange,
  AppendResult,
  DecisionQuery,
  EventQuery,
  NotificationRecord,
  NotificationState,
  Page,
  Store,
  VerifyReport,
} from './store.js';

export { chainHash, GENESIS_HASH };

const SCHEMA_VERSION = 1;

const MIGRATION = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  time INTEGER NOT NULL,
  type TEXT NOT NULL,
  client_address TEXT,
  user_id TEXT,
  route TEXT,
  body TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_time ON events (time, seq);
CREATE INDEX IF NOT EXISTS events_type_time ON events (type, time);
CREATE INDEX IF NOT EXISTS events_client_time ON events (client_address, time);
CREATE INDEX IF NOT EXISTS events_user_time ON events (user_id, time);
CREATE TABLE IF NOT EXISTS alerts (
  id TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  status TEXT NOT NULL,
  rule_id TEXT NOT NULL,
  starts_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_status ON alerts (status, starts_at);
CREATE INDEX IF NOT EXISTS alerts_starts ON alerts (starts_at, id);
CREATE INDEX IF NOT EXISTS alerts_resolved ON alerts (updated_at, id) WHERE status = 'resolved';
CREATE TABLE IF NOT EXISTS notifications (
  id TEXT PRIMARY KEY,
  alert_id TEXT NOT NULL,
  receiver TEXT NOT NULL,
  payload TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  group_key TEXT
);
CREATE TABLE IF NOT EXISTS alert_actions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  alert_id TEXT NOT NULL,
  action TEXT NOT NULL,
  actor TEXT NOT NULL,
  token_id TEXT NOT NULL,
  comment TEXT,
  at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_actions_alert ON alert_actions (alert_id, seq);
CREATE TABLE IF NOT EXISTS silences (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS routing_versions (version INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS notifications_alert ON notifications (alert_id);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (state, next_attempt_at);
CREATE INDEX IF NOT EXISTS notifications_group ON notifications (receiver, group_key, state);
CREATE INDEX IF NOT EXISTS notifications_receiver_due ON notifications (state, receiver, next_attempt_at, created_at);
CREATE TABLE IF NOT EXISTS notification_members (
  notification_id TEXT NOT NULL,
  alert_id TEXT NOT NULL,
  PRIMARY KEY (notification_id, alert_id)
);
CREATE INDEX IF NOT EXISTS notification_members_alert ON notification_members (alert_id);
CREATE TABLE IF NOT EXISTS alert_announcements (
  alert_id TEXT NOT NULL,
  change TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (alert_id, change)
);
CREATE TABLE IF NOT EXISTS decisions (
  id TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  scope TEXT NOT NULL,
  value TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_subject ON decisions (scope, value, created_at);
CREATE INDEX IF NOT EXISTS decisions_version ON decisions (version);
CREATE INDEX IF NOT EXISTS decisions_expires ON decisions (expires_at);
CREATE INDEX IF NOT EXISTS decisions_created ON decisions (created_at, id);
`;

function encodeCursor(parts: (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

function decodeCursor(cursor: string | undefined): (string | number)[] | undefined {
  if (!cursor) return undefined;
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    // Exactly what newestFirst writes: a time and a tie-breaker (an id, or a sequence number).
    if (
      Array.isArray(parts) &&
      parts.length === 2 &&
      Number.isSafeInteger(parts[0]) &&
      (typeof parts[1] === 'string' || Number.isSafeInteger(parts[1]))
    ) {
      return parts as (string | number)[];
    }
  } catch {
    // fall through
  }
  throw new RangeError('not one this server issued; start again without one');
}

function saveAlert(a: Alert): WriteStatement {
  return [
    `INSERT INTO alerts (id, fingerprint, status, rule_id, starts_at, updated_at, body) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET status = excluded.status, starts_at = excluded.starts_at,
       updated_at = excluded.updated_at, body = excluded.body`,
    [a.id, a.fingerprint, a.status, a.rule.id, a.startsAt, a.updatedAt, JSON.stringify(alertToJson(a))],
  ];
}

/** An announcement, in the order of the rowid (taken in insertion order). */
function saveAnnouncement(a: AlertAnnouncement): WriteStatement {
  return [
    `INSERT INTO alert_announcements (alert_id, change, body) VALUES (?, ?, ?)
     ON CONFLICT (alert_id, change) DO UPDATE SET body = excluded.body`,
    [a.alert.id, a.change, JSON.stringify(alertToJson(a.alert))],
  ];
}

/** The event as the chain hashed it: the indexed columns only find rows, a forged one cannot change what is read. */
function fromRow(row: { body: string }): SecurityEvent {
  const { id, time, type, ...attributes } = JSON.parse(row.body);
  return { id, time: Date.parse(time), type, attributes };
}

interface NotificationRow {
  id: string;
  alert_id: string;
  receiver: string;
  payload: string;
  state: NotificationState;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  group_key: string | null;
}

/** The order notifications fall due in, as the due query sorts them within one receiver. */
function byDueTime(a: NotificationRow, b: NotificationRow): number {
  return a.next_attempt_at - b.next_attempt_at || a.created_at - b.created_at;
}

function notificationFromRow(r: NotificationRow): NotificationRecord {
  return {
    id: r.id,
    alertId: r.alert_id,
    receiver: r.receiver,
    payload: r.payload,
    state: r.state,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    ...(r.last_error ? { lastError: r.last_error } : {}),
    createdAt: r.created_at,
    ...(r.group_key ? { groupKey: r.group_key } : {}),
  };
}

export interface SqliteStoreOptions {
  readonly file: string;
  readonly synchronous?: 'FULL' | 'NORMAL';
  /**
   * Where events are appended (and alerts and notifications written): `inline` on this thread (tools, tests), or
   * `thread`, a writer thread of its own (the server), so that the next requests are parsed, enriched and
   * detected on while a batch commits.
   */
  readonly eventWriter?: 'inline' | 'thread';
  /** Where to report events missing from the end of the chain, found on opening. */
  readonly log?: Logger;
}

/**
 * Create the database file readable and writable by its owner only, before SQLite would create it with the process's
 * umask (0644 as a rule): it holds user ids and client addresses, and a data directory the operator made may be open
 * to others. SQLite gives the `-wal` and `-shm` files the mode of the database file. A file that exists keeps its mode.
 */
function createOwnerOnly(file: string): void {
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/**
 * The receivers with pending notifications, one index lookup each (a loose scan of `notifications_receiver_due`),
 * however long their backlogs.
 */
const PENDING_RECEIVERS_SQL = `WITH RECURSIVE receivers(name) AS (
   SELECT (SELECT min(receiver) FROM notifications WHERE state = 'pending')
   UNION ALL
   SELECT (SELECT min(receiver) FROM notifications WHERE state = 'pending' AND receiver > name)
   FROM receivers WHERE name IS NOT NULL)
 SELECT name FROM receivers WHERE name IS NOT NULL`;

/**
 * One receiver's due notifications, oldest due first. Not a record with an older one of the same subject (receiver
 * and alert, or receiver and group) still pending: a resolve must not overtake its trigger while the trigger waits
 * for a retry.
 *
 * Read in the order of `notifications_receiver_due`, so it stops at the limit, and the older-record check is two
 * lookups, one per kind of subject, each on an index of its own (an alert's records, a group's records; left to
 * itself, SQLite would look an ungrouped record's up by receiver, through every ungrouped one). Ranking every
 * due record of every receiver instead, with one check that could use neither index, read the whole backlog for each
 * due record: with a receiver down during an alert flood, each delivery pass took seconds, on the thread that serves
 * every request.
 */
export const DUE_NOTIFICATIONS_SQL = `SELECT n.* FROM notifications n
 WHERE n.state = 'pending' AND n.receiver = ? AND n.next_attempt_at <= ?
 AND NOT EXISTS (
   SELECT 1 FROM notifications o INDEXED BY notifications_alert
   WHERE n.group_key IS NULL AND o.alert_id = n.alert_id AND o.group_key IS NULL
   AND o.receiver = n.receiver AND o.state = 'pending' AND o.id != n.id
   AND (o.created_at < n.created_at OR (o.created_at = n.created_at AND o.id < n.id)))
 AND NOT EXISTS (
   SELECT 1 FROM notifications o WHERE n.group_key IS NOT NULL AND o.receiver = n.receiver
   AND o.group_key = n.group_key AND o.state = 'pending' AND o.id != n.id
   AND (o.created_at < n.created_at OR (o.created_at = n.created_at AND o.id < n.id)))
 ORDER BY n.next_attempt_at, n.created_at LIMIT ?`;

export interface RetentionResult {
  /** Events deleted by this run. */
  readonly deleted: number;
  /** The anchor after the run, when it deleted something. */
  readonly anchor?: RetentionAnchor;
  /** Where the run stopped because the old rows do not continue the chain (left for `verify` to report). */
  readonly refused?: { readonly seq: number; readonly problem: string };
}

/** What one run of alert retention deleted (see alert-retention.ts). */
export interface AlertRetentionResult {
  /** Resolved alerts, each with its history. */
  readonly alerts: number;
  /** Notifications that told of deleted alerts only. */
  readonly notifications: number;
  readonly decisions: number;
  readonly silences: number;
}

/** The anchor as `verify` reports it: information about what was cut, not a problem. */
function retentionCut(anchor: RetentionAnchor): NonNullable<VerifyReport['retention']> {
  return {
    deletedThroughSeq: anchor.seq,
    deletedAt: new Date(anchor.at).toISOString(),
    cutoff: new Date(anchor.cutoff).toISOString(),
  };
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private sequence = 0;
  private readonly inline: StoreWriter | undefined;
  private readonly writer: WriterThread | undefined;

  constructor(options: SqliteStoreOptions) {
    // Owner-only when made here: the store holds user ids and addresses, the directory the tokens too.
    if (options.file !== ':memory:') {
      mkdirSync(dirname(options.file), { recursive: true, mode: 0o700 });
      createOwnerOnly(options.file);
    }
    this.db = new Database(options.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(MIGRATION);
    // Databases written before notification grouping lack the column.
    const columns = this.db.prepare('PRAGMA table_info(notifications)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'group_key'))
      this.db.exec('ALTER TABLE notifications ADD COLUMN group_key TEXT');
    this.db.exec('CREATE INDEX IF NOT EXISTS notifications_group ON notifications (receiver, group_key, created_at)');
    const version = this.db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as
      | { value: string }
      | undefined;
    if (!version) {
      this.db.prepare(`INSERT INTO meta (key, value) VALUES ('schema_version', ?)`).run(String(SCHEMA_VERSION));
    } else if (Number(version.value) > SCHEMA_VERSION) {
      throw new Error(`${options.file} was written by a newer Vigil (schema ${version.value}); upgrade Vigil`);
    }
    const { mark, lastRowSeq } = openChain(this.db);
    this.sequence = mark.seq;
    if (lastRowSeq < mark.seq) {
      options.log?.error('events are missing from the end of the chain: rows were deleted from the database', {
        missingFromSeq: lastRowSeq + 1,
        missingToSeq: mark.seq,
        nextSeq: mark.seq + 1,
      });
    }
    if (options.eventWriter === 'thread' && options.file !== ':memory:') {
      // Checkpoints (copying the WAL back into the database, with an fsync) run on a thread of their own: on this
      // connection one would stall the main thread for as long as the copy takes.
      this.db.pragma('wal_autocheckpoint = 0');
      this.writer = new WriterThread({
        file: options.file,
        synchronous: options.synchronous ?? 'FULL',
        checkpointMillis: 200,
      });
    } else {
      this.inline = new StoreWriter(this.db);
    }
  }

  /** Run write statements in one transaction, on the writer thread when there is one. */
  private async write(statements: readonly WriteStatement[]): Promise<void> {
    if (statements.length === 0) return;
    if (this.writer) await this.writer.run(statements);
    else this.inline!.run(statements);
  }

  async appendEvents(events: readonly SecurityEvent[]): Promise<AppendResult> {
    // On the writer thread, the events are turned into rows there: the canonical JSON is the costliest part.
    const result = this.writer ? await this.writer.append(events) : this.inline!.append(events);
    if (result.lastSequence > this.sequence) this.sequence = result.lastSequence;
    return result;
  }

  async queryEvents(query: EventQuery): Promise<Page<SecurityEvent>> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.from !== undefined) where.push('time >= ?') && params.push(query.from);
    if (query.to !== undefined) where.push('time < ?') && params.push(query.to);
    if (query.type) where.push('type = ?') && params.push(query.type);
    if (query.clientAddress) where.push('client_address = ?') && params.push(query.clientAddress);
    if (query.userId) where.push('user_id = ?') && params.push(query.userId);
    if (query.route) where.push('route = ?') && params.push(query.route);
    const { rows, nextCursor } = this.newestFirst<{ body: string }>(
      { columns: 'seq, time, body', table: 'events', time: 'time', tie: 'seq' },
      where,
      params,
      query,
    );
    return { items: rows.map(fromRow), ...(nextCursor ? { nextCursor } : {}) };
  }

  async lastSequence(): Promise<number> {
    return this.sequence;
  }

  async *eventsAfterSequence(seq: number, pageSize = 1000): AsyncIterable<SecurityEvent[]> {
    const page = this.db.prepare('SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?');
    let after = seq;
    for (;;) {
      const rows = page.all(after, pageSize) as { seq: number; body: string }[];
      if (rows.length === 0) return;
      yield rows.map(fromRow);
      after = rows[rows.length - 1]!.seq;
    }
  }

  async getEvent(id: string): Promise<SecurityEvent | undefined> {
    const row = this.db.prepare('SELECT body FROM events WHERE id = ?').get(id) as { body: string } | undefined;
    return row ? fromRow(row) : undefined;
  }

  async saveAlerts(alerts: readonly Alert[], announcements: readonly AlertAnnouncement[] = []): Promise<void> {
    await this.write([...alerts.map(saveAlert), ...announcements.map(saveAnnouncement)]);
  }

  async recordAlertAction(alert: Alert, action: AlertAction, announcement?: AlertAnnouncement): Promise<void> {
    await this.write([
      saveAlert(alert),
      [
        'INSERT INTO alert_actions (alert_id, action, actor, token_id, comment, at) VALUES (?, ?, ?, ?, ?, ?)',
        [action.alertId, action.action, action.actor, action.tokenId, action.comment ?? null, action.at],
      ],
      ...(announcement ? [saveAnnouncement(announcement)] : []),
    ]);
  }

  async pendingAnnouncements(): Promise<AlertAnnouncement[]> {
    const rows = this.db.prepare('SELECT change, body FROM alert_announcements ORDER BY rowid').all() as {
      change: AnnouncedChange;
      body: string;
    }[];
    return rows.map((r) => ({ alert: alertFromJson(JSON.parse(r.body) as AlertJson), change: r.change }));
  }

  async announced(announcements: readonly AlertAnnouncement[]): Promise<void> {
    await this.write(
      announcements.map(
        (a): WriteStatement => [
          'DELETE FROM alert_announcements WHERE alert_id = ? AND change = ?',
          [a.alert.id, a.change],
        ],
      ),
    );
  }

  async alertActions(alertId: string): Promise<AlertAction[]> {
    const rows = this.db.prepare('SELECT * FROM alert_actions WHERE alert_id = ? ORDER BY seq').all(alertId) as {
      alert_id: string;
      action: AlertAction['action'];
      actor: string;
      token_id: string;
      comment: string | null;
      at: number;
    }[];
    return rows.map((r) => ({
      alertId: r.alert_id,
      action: r.action,
      actor: r.actor,
      tokenId: r.token_id,
      ...(r.comment ? { comment: r.comment } : {}),
      at: r.at,
    }));
  }

  async getAlert(id: string): Promise<Alert | undefined> {
    const row = this.db.prepare('SELECT body FROM alerts WHERE id = ?').get(id) as { body: string } | undefined;
    return row ? alertFromJson(JSON.parse(row.body) as AlertJson) : undefined;
  }

  async listAlerts(query: AlertQuery): Promise<Page<Alert>> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.status === 'open') where.push(`status != 'resolved'`);
    else if (query.status) where.push('status = ?') && params.push(query.status);
    if (query.severity) where.push(`json_extract(body, '$.severity') = ?`) && params.push(query.severity);
    if (query.ruleId) where.push('rule_id = ?') && params.push(query.ruleId);
    const { rows, nextCursor } = this.newestFirst<{ body: string }>(
      { columns: 'id, starts_at, body', table: 'alerts', time: 'starts_at', tie: 'id' },
      where,
      params,
      query,
    );
    return {
      items: rows.map((r) => alertFromJson(JSON.parse(r.body) as AlertJson)),
      ...(nextCursor ? { nextCursor } : {}),
    };
  }

  async openAlerts(): Promise<Alert[]> {
    const rows = this.db.prepare(`SELECT body FROM alerts WHERE status != 'resolved'`).all() as { body: string }[];
    return rows.map((r) => alertFromJson(JSON.parse(r.body) as AlertJson));
  }

  async saveRoutingVersion(version: Omit<RoutingVersion, 'version'>): Promise<number> {
    const info = this.db.prepare('INSERT INTO routing_versions (body) VALUES (?)').run(JSON.stringify(version));
    return Number(info.lastInsertRowid);
  }

  async routingVersions(): Promise<RoutingVersion[]> {
    const rows = this.db.prepare('SELECT version, body FROM routing_versions ORDER BY version').all() as {
      version: number;
      body: string;
    }[];
    return rows.map((r) => ({ ...JSON.parse(r.body), version: r.version }));
  }

  async saveSilence(silence: Silence): Promise<void> {
    this.db
      .prepare('INSERT INTO silences (id, body) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body')
      .run(silence.id, JSON.stringify(silence));
  }

  async listSilences(): Promise<Silence[]> {
    return (this.db.prepare('SELECT body FROM silences').all() as { body: string }[]).map((r) => JSON.parse(r.body));
  }

  async notifiedReceivers(alertId: string): Promise<string[]> {
    const rows = this.db
      .prepare(
        `SELECT DISTINCT receiver FROM notifications WHERE state != 'dead' AND (alert_id = ?
           OR id IN (SELECT notification_id FROM notification_members WHERE alert_id = ?))`,
      )
      .all(alertId, alertId) as { receiver: string }[];
    return rows.map((r) => r.receiver);
  }

  async addNotifications(records: readonly NotificationRecord[]): Promise<void> {
    await this.write(
      records.map((r) => [
        // A record already there is the same notification, recorded before a crash: it is not recorded twice.
        `INSERT INTO notifications (id, alert_id, receiver, payload, state, attempts, next_attempt_at, last_error, created_at, group_key)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
        [
          r.id,
          r.alertId,
          r.receiver,
          r.payload,
          r.state,
          r.attempts,
          r.nextAttemptAt,
          r.lastError ?? null,
          r.createdAt,
          r.groupKey ?? null,
        ],
      ]),
    );
  }

  async dueNotifications(now: number, limit: number, perReceiver = limit): Promise<NotificationRecord[]> {
    // At most a receiver's share from each, so one receiver's backlog cannot take the whole list.
    const receivers = this.db.prepare(PENDING_RECEIVERS_SQL).pluck().all() as string[];
    const due = this.db.prepare(DUE_NOTIFICATIONS_SQL);
    const rows = receivers.flatMap((receiver) => due.all(receiver, now, perReceiver) as NotificationRow[]);
    rows.sort(byDueTime);
    return rows.slice(0, limit).map(notificationFromRow);
  }

  async groupPayloadsOf(receiver: string, groupKey: string, alertId: string): Promise<string[]> {
    // Found from the alert's side (its own notifications, those it joined), not by reading the whole group's: the
    // planner, without statistics, would start from the group index.
    return this.db
      .prepare(
        `SELECT payload FROM notifications INDEXED BY notifications_alert WHERE alert_id = ? AND receiver = ? AND group_key = ?
         UNION ALL
         SELECT n.payload FROM notification_members m CROSS JOIN notifications n ON n.id = m.notification_id
           WHERE m.alert_id = ? AND n.receiver = ? AND n.group_key = ?`,
      )
      .pluck()
      .all(alertId, receiver, groupKey, alertId, receiver, groupKey) as string[];
  }

  async pendingGroupNotification(receiver: string, groupKey: string): Promise<NotificationRecord | undefined> {
    const row = this.db
      .prepare(
        `SELECT * FROM notifications WHERE receiver = ? AND group_key = ? AND state = 'pending' AND attempts = 0
         ORDER BY created_at DESC LIMIT 1`,
      )
      .get(receiver, groupKey) as NotificationRow | undefined;
    return row ? notificationFromRow(row) : undefined;
  }

  async lastGroupNotificationAt(receiver: string, groupKey: string): Promise<number | undefined> {
    const row = this.db
      .prepare('SELECT max(created_at) AS at FROM notifications WHERE receiver = ? AND group_key = ?')
      .get(receiver, groupKey) as { at: number | null };
    return row.at ?? undefined;
  }

  async updateNotificationPayload(id: string, payload: string): Promise<void> {
    await this.write([['UPDATE notifications SET payload = ? WHERE id = ? AND attempts = 0', [payload, id]]]);
  }

  async addNotificationMember(notificationId: string, alertId: string): Promise<void> {
    await this.write([
      [
        'INSERT INTO notification_members (notification_id, alert_id) VALUES (?, ?) ON CONFLICT DO NOTHING',
        [notificationId, alertId],
      ],
    ]);
  }

  async notificationState(id: string): Promise<{ payload: string; attempts: number } | undefined> {
    return this.db.prepare('SELECT payload, attempts FROM notifications WHERE id = ?').get(id) as
      | { payload: string; attempts: number }
      | undefined;
  }

  async updateNotification(record: NotificationRecord): Promise<void> {
    await this.write([
      [
        'UPDATE notifications SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?',
        [record.state, record.attempts, record.nextAttemptAt, record.lastError ?? null, record.id],
      ],
    ]);
  }

  async countNotifications(state: NotificationState): Promise<number> {
    const row = this.db.prepare('SELECT count(*) AS n FROM notifications WHERE state = ?').get(state) as { n: number };
    return row.n;
  }

  private decisionVersion(): number {
    const row = this.db.prepare('SELECT max(version) AS v FROM decisions').get() as { v: number | null };
    // Retention may have deleted the latest: versions go on from the highest ever given.
    return Math.max(row.v ?? 0, readDecisionsDeleted(this.db)?.version ?? 0);
  }

  // Decisions read the version counter, then write: their transactions take the write lock first (IMMEDIATE), which
  // waits out the writer thread's commits. A deferred one fails at once ("database is locked", SQLITE_BUSY_SNAPSHOT)
  // when the writer thread commits between its read and its write, which under load lost decisions.
  async insertDecision(decision: Decision): Promise<boolean> {
    return this.db
      .transaction(() => {
        const version = this.decisionVersion() + 1;
        const info = this.db
          .prepare(
            `INSERT OR IGNORE INTO decisions (id, version, scope, value, created_at, expires_at, revoked, body)
           VALUES (?, ?, ?, ?, ?, ?, 0, ?)`,
          )
          .run(
            decision.id,
            version,
            decision.scope,
            decision.value,
            decision.createdAt,
            decision.expiresAt,
            JSON.stringify({ ...decision, version }),
          );
        if (info.changes === 1) decision.version = version;
        return info.changes === 1;
      })
      .immediate();
  }

  async revokeDecision(decision: Decision): Promise<boolean> {
    // Only an unrevoked one: of two revocations at once, the second must not overwrite the first's record.
    return this.db
      .transaction(() => {
        const version = this.decisionVersion() + 1;
        const info = this.db
          .prepare('UPDATE decisions SET version = ?, revoked = 1, body = ? WHERE id = ? AND revoked = 0')
          .run(version, JSON.stringify({ ...decision, version }), decision.id);
        if (info.changes === 1) decision.version = version;
        return info.changes === 1;
      })
      .immediate();
  }

  async getDecision(id: string): Promise<Decision | undefined> {
    const row = this.db.prepare('SELECT body FROM decisions WHERE id = ?').get(id) as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as Decision) : undefined;
  }

  async listDecisions(query: DecisionQuery): Promise<Page<Decision>> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.scope) where.push('scope = ?') && params.push(query.scope);
    if (query.value) where.push('value = ?') && params.push(query.value);
    if (query.activeAt !== undefined) where.push('revoked = 0 AND expires_at > ?') && params.push(query.activeAt);
    if (query.createdSince !== undefined) where.push('created_at >= ?') && params.push(query.createdSince);
    if (query.excludeRevoked) where.push('revoked = 0');
    // Read from the stored decision: decisions are few (an alert makes at most one per response rule), and held only
    // as long as alerts are (storage.alertRetentionDays).
    if (query.alertId) where.push("json_extract(body, '$.reason.alertId') = ?") && params.push(query.alertId);
    const { rows, nextCursor } = this.newestFirst<{ body: string }>(
      { columns: 'id, created_at, body', table: 'decisions', time: 'created_at', tie: 'id' },
      where,
      params,
      query,
    );
    return { items: rows.map((r) => JSON.parse(r.body) as Decision), ...(nextCursor ? { nextCursor } : {}) };
  }

  async decisionChanges(
    version: number,
    expiredAfter: number,
    now: number,
    limit: number,
  ): Promise<{ changed: Decision[]; expired: Decision[] }> {
    const changed = this.db
      .prepare('SELECT body FROM decisions WHERE version > ? ORDER BY version LIMIT ?')
      .all(version, limit) as { body: string }[];
    const expired = this.db
      .prepare(
        `SELECT body FROM decisions WHERE version <= ? AND revoked = 0 AND expires_at > ? AND expires_at <= ?
         ORDER BY expires_at LIMIT ?`,
      )
      .all(version, expiredAfter, now, limit) as { body: string }[];
    const parse = (r: { body: string }) => JSON.parse(r.body) as Decision;
    return { changed: changed.map(parse), expired: expired.map(parse) };
  }

  async activeDecisions(version: number, now: number, limit: number): Promise<Decision[]> {
    const rows = this.db
      .prepare(
        'SELECT body FROM decisions WHERE version > ? AND revoked = 0 AND expires_at > ? ORDER BY version LIMIT ?',
      )
      .all(version, now, limit) as { body: string }[];
    return rows.map((r) => JSON.parse(r.body) as Decision);
  }

  async decisionClock(now: number): Promise<{ version: number; nextExpiry?: number; deletedBefore?: number }> {
    const row = this.db
      .prepare('SELECT min(expires_at) AS next FROM decisions WHERE revoked = 0 AND expires_at > ?')
      .get(now) as { next: number | null };
    const deleted = readDecisionsDeleted(this.db);
    return {
      version: this.decisionVersion(),
      ...(row.next !== null ? { nextExpiry: row.next } : {}),
      ...(deleted ? { deletedBefore: deleted.cutoff } : {}),
    };
  }

  /**
   * Delete the events stamped before `cutoff` from the start of the chain (see retention.ts), `batchRows` per
   * transaction, at most `maxBatches` transactions (until `signal` aborts). Between two, other work on this thread
   * goes on.
   */
  async deleteEventsBefore(
    cutoff: number,
    options: { batchRows?: number; maxBatches?: number; now?: () => number; signal?: AbortSignal } = {},
  ): Promise<RetentionResult> {
    const batchRows = options.batchRows ?? RETENTION_BATCH_ROWS;
    const now = options.now ?? Date.now;
    let deleted = 0;
    let anchor: RetentionAnchor | undefined;
    for (let batches = 0; batches < (options.maxBatches ?? Number.POSITIVE_INFINITY); batches++) {
      if (batches > 0) await new Promise((resolve) => setImmediate(resolve));
      // Stopped between two batches (the server closing), the anchor already stands where the last one left it.
      if (options.signal?.aborted) break;
      const batch = this.db.transaction(() => deleteExpiredBatch(this.db, cutoff, now(), batchRows)).immediate();
      deleted += batch.deleted;
      anchor = batch.anchor ?? anchor;
      if (batch.refused) return { deleted, ...(anchor ? { anchor } : {}), refused: batch.refused };
      // A batch short of its size reached the window (or the end of the table).
      if (batch.deleted < batchRows) break;
    }
    return { deleted, ...(anchor ? { anchor } : {}) };
  }

  /**
   * Delete the resolved alerts (with their history and notifications), decisions and silences that ended before
   * `cutoff` (see alert-retention.ts), `batchRows` per transaction, until `signal` aborts. Between two, other work on
   * this thread goes on.
   */
  async deleteEndedBefore(
    cutoff: number,
    options: { batchRows?: number; signal?: AbortSignal } = {},
  ): Promise<AlertRetentionResult> {
    const batchRows = options.batchRows ?? ALERT_RETENTION_BATCH_ROWS;
    let batches = 0;
    // One transaction at a time, each taking the write lock first; undefined once stopped (the server closing).
    const batch = async <T>(work: () => T): Promise<T | undefined> => {
      if (batches++ > 0) await new Promise((resolve) => setImmediate(resolve));
      if (options.signal?.aborted) return undefined;
      return this.db.transaction(work).immediate();
    };
    let alerts = 0;
    let notifications = 0;
    let decisions = 0;
    let silences = 0;
    let position: AlertScanPosition | undefined;
    do {
      const done = await batch(() => deleteEndedAlertsBatch(this.db, cutoff, position, batchRows));
      if (!done) return { alerts, notifications, decisions, silences };
      alerts += done.alerts;
      notifications += done.notifications;
      position = done.next;
    } while (position);
    for (;;) {
      const deleted = await batch(() => deleteEndedDecisionsBatch(this.db, cutoff, batchRows));
      if (deleted === undefined) return { alerts, notifications, decisions, silences };
      decisions += deleted;
      if (deleted < batchRows) break;
    }
    for (;;) {
      const deleted = await batch(() => deleteEndedSilencesBatch(this.db, cutoff, batchRows));
      if (deleted === undefined) return { alerts, notifications, decisions, silences };
      silences += deleted;
      if (deleted < batchRows) break;
    }
    return { alerts, notifications, decisions, silences };
  }

  async verify(): Promise<VerifyReport> {
    // One read transaction, so one snapshot: the mark and the rows agree while a live server commits batches.
    return this.db.transaction(() => this.verifyChain())();
  }

  private verifyChain(): VerifyReport {
    const mark = readChainMark(this.db);
    const anchor = readRetentionAnchor(this.db);
    const problems: { seq: number; problem: string }[] = [];
    // After a retention run, what is left continues the chain from the last row it deleted.
    let previous = GENESIS_HASH;
    let expectedSeq = 1;
    if (typeof anchor === 'object') {
      previous = anchor.hash;
      expectedSeq = anchor.seq + 1;
    } else if (anchor === 'unreadable') {
      problems.push({ seq: 1, problem: 'the retention anchor in meta is not one: it was edited' });
    }
    let checked = 0;
    const rows = this.db
      .prepare('SELECT seq, id, time, type, client_address, user_id, route, body, hash FROM events ORDER BY seq')
      .iterate() as Iterable<Record<string, string | number | null> & { seq: number; body: string; hash: string }>;
    for (const row of rows) {
      checked++;
      if (row.seq > expectedSeq) {
        problems.push({ seq: row.seq, problem: `gap: rows ${expectedSeq}..${row.seq - 1} are missing` });
      } else if (row.seq < expectedSeq) {
        problems.push({ seq: row.seq, problem: `row ${row.seq} is at or before the retention anchor` });
      }
      if (chainHash(previous, row.body) !== row.hash) {
        problems.push({ seq: row.seq, problem: `hash mismatch: event ${row.id} was changed, or a row before it` });
      }
      // The columns the API searches by must say what the hashed body says.
      let body: unknown;
      try {
        body = JSON.parse(row.body);
      } catch {
        // reported below
      }
      if (typeof body !== 'object' || body === null) {
        problems.push({ seq: row.seq, problem: 'the stored body is not an event' });
      } else {
        for (const [name, value] of Object.entries(eventColumns(body as CanonicalEvent))) {
          if (row[name] !== value) {
            problems.push({
              seq: row.seq,
              problem: `column ${name} holds ${JSON.stringify(row[name])} but the event says ${JSON.stringify(value)}`,
            });
          }
        }
      }
      if (mark && row.seq === mark.seq && row.hash !== mark.hash) {
        problems.push({
          seq: row.seq,
          problem: `hash mismatch: event ${row.id} is not the last event stored; its row was rewritten`,
        });
      }
      previous = row.hash;
      expectedSeq = row.seq + 1;
      if (problems.length >= 100) break;
    }
    // A deleted tail leaves no gap: compare with the high-water mark, moved by every append.
    if (mark && problems.length < 100) {
      if (checked === 0 && expectedSeq === 1 && mark.seq > 0) {
        problems.push({ seq: 1, problem: `truncated: all ${mark.seq} rows are missing` });
      } else if (mark.seq >= expectedSeq) {
        problems.push({
          seq: expectedSeq,
          problem: `truncated: rows ${expectedSeq}..${mark.seq} are missing at the end`,
        });
      } else if (checked === 0 && mark.seq === expectedSeq - 1 && mark.hash !== previous) {
        // Retention deleted every row: the last one it deleted is the last one stored.
        problems.push({ seq: mark.seq, problem: 'the retention anchor is not the last event stored: it was edited' });
      }
    }
    return {
      ok: problems.length === 0,
      checked,
      problems,
      ...(typeof anchor === 'object' ? { retention: retentionCut(anchor) } : {}),
    };
  }

  /**
   * One page of a table, newest first by `time` then `tie` (keyset pagination: the cursor is the last row's pair,
   * so pages stay stable while rows are appended). The page ends early, with a cursor, once the rows' `body` columns
   * reach `DEFAULTS.maxPageChars`; rows are read one at a time so that the ones past it are never loaded.
   */
  private newestFirst<R extends { body: string }>(
    source: { columns: string; table: string; time: string; tie: string },
    where: string[],
    params: (string | number)[],
    query: { cursor?: string; limit: number },
  ): { rows: R[]; nextCursor?: string } {
    const cursor = decodeCursor(query.cursor);
    if (cursor) {
      where.push(`(${source.time} < ? OR (${source.time} = ? AND ${source.tie} < ?))`);
      params.push(Number(cursor[0]), Number(cursor[0]), cursor[1] ?? '');
    }
    const statement = this.db.prepare(
      `SELECT ${source.columns} FROM ${source.table} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY ${source.time} DESC, ${source.tie} DESC LIMIT ?`,
    );
    const page: Record<string, string | number>[] = [];
    let chars = 0;
    let more = false;
    for (const row of statement.iterate(...params, query.limit + 1) as IterableIterator<
      Record<string, string | number>
    >) {
      if (page.length === query.limit || chars >= DEFAULTS.maxPageChars) {
        more = true;
        break; // ends the statement: the rows after this one are not read
      }
      page.push(row);
      chars += String(row.body).length;
    }
    const last = page[page.length - 1];
    return {
      rows: page as unknown as R[],
      ...(more && last ? { nextCursor: encodeCursor([last[source.time]!, last[source.tie]!]) } : {}),
    };
  }

  async close(): Promise<void> {
    await this.writer?.close();
    if (this.db.open) this.db.close();
  }
}
