/**
 * Retention of what detection and response made (`storage.alertRetentionDays`): resolved alerts with their history
 * and notifications, decisions and silences, deleted once they ended before the cutoff. Routing versions stay: they
 * are a small audit of configuration, with no personal data.
 *
 * Nothing that still acts is deleted: an open (firing or acknowledged) alert, an alert a pending notification tells
 * of (it is still to be delivered, and its alert answers the API meanwhile), a decision in force, a silence not yet
 * over. A grouped notification goes only with the last of the alerts it tells of: it is how `notifiedReceivers` finds
 * the receivers of the alerts still stored.
 *
 * Each function is one batch, run in the caller's transaction (an IMMEDIATE one: it reads, then writes); the store
 * runs them batch by batch so that the write lock is never held for long.
 */
import type Database from 'better-sqlite3';
import { SAVE_MARK } from './event-writer.js';

/**
 * Rows read per batch: alerts examined (each deleted with its actions and notifications), decisions or silences
 * deleted. Smaller than the events' batch: an alert takes its history and notifications with it.
 */
export const ALERT_RETENTION_BATCH_ROWS = 1000;

/** Where a run's scan of resolved alerts stands: the last alert examined, in `(updated_at, id)` order. */
export interface AlertScanPosition {
  readonly updatedAt: number;
  readonly id: string;
}

export interface AlertRetentionBatch {
  readonly alerts: number;
  readonly notifications: number;
  /** Where the next batch goes on from; undefined when this one reached the end of the old resolved alerts. */
  readonly next?: AlertScanPosition;
}

interface ResolvedRow {
  readonly id: string;
  readonly updated_at: number;
  readonly ends_at: string | null;
  readonly pending: number;
}

/**
 * The resolved alerts last changed before the cutoff, in `(updated_at, id)` order after `after`, with whether a pending
 * notification tells of them (as its alert or as a member of its group). Read through `alerts_resolved`, which holds
 * resolved alerts only: the scan reads the rows it examines, never the open ones or the table.
 */
const RESOLVED_BEFORE_SQL = `SELECT a.id, a.updated_at, json_extract(a.body, '$.endsAt') AS ends_at,
   EXISTS (SELECT 1 FROM notifications n WHERE n.alert_id = a.id AND n.state = 'pending')
   OR EXISTS (SELECT 1 FROM notification_members m JOIN notifications n ON n.id = m.notification_id
              WHERE m.alert_id = a.id AND n.state = 'pending') AS pending
 FROM alerts a INDEXED BY alerts_resolved
 WHERE a.status = 'resolved' AND a.updated_at < ? AND (a.updated_at, a.id) > (?, ?)
 ORDER BY a.updated_at, a.id LIMIT ?`;

/** The ids of a JSON array parameter, as a table. */
const IDS = 'SELECT value FROM json_each(?)';

/**
 * Examine up to `batchRows` resolved alerts after `after` and delete those that ended before `cutoff` and that no
 * pending notification tells of, with their actions, their notification memberships and the notifications left
 * telling of no stored alert.
 *
 * An alert ends at `endsAt` (event time), or at its last change (`updatedAt`, wall clock) when that is later: an
 * alert replayed from old logs, or acted on after it resolved, is kept for the window from then.
 */
export function deleteEndedAlertsBatch(
  db: Database.Database,
  cutoff: number,
  after: AlertScanPosition | undefined,
  batchRows = ALERT_RETENTION_BATCH_ROWS,
): AlertRetentionBatch {
  const rows = db
    .prepare(RESOLVED_BEFORE_SQL)
    .all(cutoff, after?.updatedAt ?? Number.MIN_SAFE_INTEGER, after?.id ?? '', batchRows) as ResolvedRow[];
  const last = rows[rows.length - 1];
  const next = rows.length === batchRows && last ? { updatedAt: last.updated_at, id: last.id } : undefined;
  const ended = rows.filter((r) => !r.pending && endOf(r) < cutoff).map((r) => r.id);
  if (ended.length === 0) return { alerts: 0, notifications: 0, ...(next ? { next } : {}) };
  const ids = JSON.stringify(ended);
  // The notifications that told of these alerts, found before their memberships go.
  const told = db
    .prepare(
      `SELECT id FROM notifications WHERE alert_id IN (${IDS})
       UNION SELECT notification_id FROM notification_members WHERE alert_id IN (${IDS})`,
    )
    .pluck()
    .all(ids, ids) as string[];
  db.prepare(`DELETE FROM alert_actions WHERE alert_id IN (${IDS})`).run(ids);
  db.prepare(`DELETE FROM notification_members WHERE alert_id IN (${IDS})`).run(ids);
  const alerts = db.prepare(`DELETE FROM alerts WHERE id IN (${IDS})`).run(ids).changes;
  // A grouped notification that also tells of an alert still stored stays, for that alert's receivers; it goes with
  // the last of its alerts.
  const gone = db
    .prepare(
      `DELETE FROM notifications WHERE id IN (${IDS}) AND state != 'pending'
       AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.id = notifications.alert_id)
       AND NOT EXISTS (SELECT 1 FROM notification_members m JOIN alerts a ON a.id = m.alert_id
                       WHERE m.notification_id = notifications.id)
       RETURNING id`,
    )
    .pluck()
    .all(JSON.stringify(told)) as string[];
  if (gone.length > 0) {
    db.prepare(`DELETE FROM notification_members WHERE notification_id IN (${IDS})`).run(JSON.stringify(gone));
  }
  return { alerts, notifications: gone.length, ...(next ? { next } : {}) };
}

function endOf(row: ResolvedRow): number {
  const endsAt = row.ends_at === null ? Number.NaN : Date.parse(row.ends_at);
  return Number.isNaN(endsAt) ? row.updated_at : Math.max(endsAt, row.updated_at);
}

/**
 * What retention deleted of the decisions, in `meta`: the highest version of a decision it deleted, and the latest
 * cutoff it deleted one at. The decision counter never goes below that version, so a version is never given twice.
 * A stream cursor issued before that cutoff may hold a decision whose revocation is now gone, so it is refused, and
 * the SDK starts over from the decisions in force.
 */
export interface DecisionsDeleted {
  readonly version: number;
  readonly cutoff: number;
}

export const DECISIONS_DELETED_KEY = 'decisions_retention';

export function readDecisionsDeleted(db: Database.Database): DecisionsDeleted | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(DECISIONS_DELETED_KEY) as
    | { value: string }
    | undefined;
  try {
    const mark = row && JSON.parse(row.value);
    return Number.isSafeInteger(mark?.version) && Number.isSafeInteger(mark?.cutoff) ? mark : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Delete up to `batchRows` decisions that ended before `cutoff`: expired before it, or revoked before it. A decision
 * in force (neither) is never one of them.
 */
export function deleteEndedDecisionsBatch(
  db: Database.Database,
  cutoff: number,
  batchRows = ALERT_RETENTION_BATCH_ROWS,
): number {
  const expired = db
    .prepare('SELECT id, version FROM decisions WHERE expires_at < ? ORDER BY expires_at LIMIT ?')
    .all(cutoff, batchRows) as { id: string; version: number }[];
  // Revoked early, still before the cutoff, though set to expire later: the revocation is in the body only.
  const revoked =
    expired.length < batchRows
      ? (db
          .prepare(
            `SELECT id, version FROM decisions WHERE expires_at >= ? AND revoked = 1
             AND json_extract(body, '$.revoked.at') < ? LIMIT ?`,
          )
          .all(cutoff, cutoff, batchRows - expired.length) as { id: string; version: number }[])
      : [];
  const ended = [...expired, ...revoked];
  if (ended.length === 0) return 0;
  const before = readDecisionsDeleted(db);
  const mark: DecisionsDeleted = {
    version: Math.max(before?.version ?? 0, ...ended.map((d) => d.version)),
    cutoff: Math.max(before?.cutoff ?? cutoff, cutoff),
  };
  db.prepare(SAVE_MARK).run(DECISIONS_DELETED_KEY, JSON.stringify(mark));
  return db.prepare(`DELETE FROM decisions WHERE id IN (${IDS})`).run(JSON.stringify(ended.map((d) => d.id))).changes;
}

/** Delete up to `batchRows` silences that ended (ran out, or were expired by hand) before `cutoff`. */
export function deleteEndedSilencesBatch(
  db: Database.Database,
  cutoff: number,
  batchRows = ALERT_RETENTION_BATCH_ROWS,
): number {
  return db
    .prepare(
      `DELETE FROM silences WHERE id IN (SELECT id FROM silences WHERE json_extract(body, '$.endsAt') < ? LIMIT ?)`,
    )
    .run(cutoff, batchRows).changes;
}
