/**
 * Event retention: deleting the events stamped before the retention window, as a prefix of the hash chain.
 *
 * Only a prefix is ever deleted (rows 1..S), never rows in the middle, and each deletion moves the chain's retention
 * anchor (the sequence number and hash of the last row deleted) in the same transaction, so `verify` checks what is
 * left from the anchor and still finds any edit, deletion, insertion or cut tail in it.
 *
 * S is the row before the first event still inside the window: events are stored in arrival order, so an event
 * stamped long ago that arrived late stays until the prefix reaches it. Finding S reads the rows in sequence order
 * from the start of the table and stops at the first one inside the window: it reads the rows it deletes and one
 * more, never the table.
 */
import type Database from 'better-sqlite3';
import { ANCHOR_KEY, chainHash, chainStart, type RetentionAnchor, SAVE_MARK } from './event-writer.js';

/**
 * Rows deleted per transaction. The main connection's write transactions take the write lock first (IMMEDIATE),
 * and the writer thread's appends wait for it: a first cleanup of months of events, in one transaction, would hold
 * ingest up for as long as it takes.
 */
export const RETENTION_BATCH_ROWS = 10_000;

export interface RetentionBatch {
  /** Rows deleted by this batch. */
  readonly deleted: number;
  /** The anchor after it, when it deleted something. */
  readonly anchor?: RetentionAnchor;
  /**
   * Why nothing was deleted although old rows are there: they do not continue the chain from its anchor (edited,
   * deleted or inserted by hand). Deleting them would take the evidence with them; `verify` reports it.
   */
  readonly refused?: { readonly seq: number; readonly problem: string };
}

interface PrefixRow {
  readonly seq: number;
  readonly time: number;
  readonly body: string;
  readonly hash: string;
}

/**
 * Delete up to `batchRows` events stamped before `cutoff` from the start of the chain, and move the anchor. Runs in
 * the caller's transaction (an IMMEDIATE one: it reads, then writes).
 */
export function deleteExpiredBatch(
  db: Database.Database,
  cutoff: number,
  now: number,
  batchRows = RETENTION_BATCH_ROWS,
): RetentionBatch {
  const start = chainStart(db);
  // From the start of the table, not from the anchor: rows at or below it (put back by hand) are reported too.
  const rows = db
    .prepare('SELECT seq, time, body, hash FROM events ORDER BY seq LIMIT ?')
    .iterate(batchRows) as Iterable<PrefixRow>;
  let last = start;
  for (const row of rows) {
    if (row.time >= cutoff) break;
    const problem = chainBreak(last, row);
    if (problem) return { deleted: 0, refused: { seq: row.seq, problem } };
    last = { seq: row.seq, hash: row.hash };
  }
  if (last.seq === start.seq) return { deleted: 0 };
  const deleted = db.prepare('DELETE FROM events WHERE seq <= ?').run(last.seq).changes;
  const anchor: RetentionAnchor = { seq: last.seq, hash: last.hash, at: now, cutoff };
  db.prepare(SAVE_MARK).run(ANCHOR_KEY, JSON.stringify(anchor));
  return { deleted, anchor };
}

/** Why `row` does not follow `previous` in the chain, or undefined when it does. */
function chainBreak(previous: { seq: number; hash: string }, row: PrefixRow): string | undefined {
  if (row.seq !== previous.seq + 1) {
    return row.seq <= previous.seq
      ? `row ${row.seq} is at or before the retention anchor (${previous.seq})`
      : `rows ${previous.seq + 1}..${row.seq - 1} are missing`;
  }
  if (chainHash(previous.hash, row.body) !== row.hash) return `hash mismatch at row ${row.seq}`;
  return undefined;
}
