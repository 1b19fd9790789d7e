/**
 * Writing to the store, in the calling thread or in a writer thread of its own: appending events to the hash
 * chain, and the alert and notification writes of the alert path.
 *
 * Storing is the largest single cost of ingest: the inserts into the events table and its indexes (the client
 * address index takes rows in random order, so each commit writes many pages) and the commit's fsync. The server
 * hands that to a writer thread, so that parsing, enrichment and detection of the next requests go on on the main
 * thread while a batch commits. The alert path's writes go the same way, in call order with the event batches,
 * so that an alert's fsyncs never stall the main thread either. Callers resolve only once their writes are
 * durable.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { type CanonicalEvent, Field, type SecurityEvent, toCanonical } from '@vigil/schema';
import type Database from 'better-sqlite3';
import type { AppendResult } from './store.js';

/** Hash that precedes the first event of a chain. */
export const GENESIS_HASH = '0'.repeat(64);

export function chainHash(previous: string, body: string): string {
  return createHash('sha256').update(previous).update('\n').update(body).digest('hex');
}

/** An indexed column's value: the attribute when it is a string. */
function column(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/**
 * The indexed columns of an event's row, taken from its canonical JSON (the body the chain hashes). `verify` runs
 * each stored body through here too: a column edited apart from its body shows as a difference.
 */
export function eventColumns(canonical: CanonicalEvent) {
  return {
    id: canonical.id,
    time: Date.parse(canonical.time),
    type: canonical.type,
    client_address: column(canonical[Field.clientAddress]),
    user_id: column(canonical[Field.userId]),
    route: column(canonical[Field.httpRoute]),
  };
}

/**
 * The chain's high-water mark: sequence number and hash of the last event stored. It lives in `meta` and moves in
 * the transaction of every append that stores an event, so rows cut from the end of the table leave it above them.
 */
export interface ChainMark {
  readonly seq: number;
  readonly hash: string;
}

const MARK_KEY = 'events_head';

/** The mark, or undefined when there is none (a store from before it) or it is not one (edited by hand). */
export function readChainMark(db: Database.Database): ChainMark | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(MARK_KEY) as { value: string } | undefined;
  try {
    const mark = row && JSON.parse(row.value);
    return Number.isSafeInteger(mark?.seq) && typeof mark.hash === 'string' ? mark : undefined;
  } catch {
    return undefined;
  }
}

export const SAVE_MARK =
  'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value';

/**
 * Where the chain starts once retention has deleted a prefix of it (rows 1..seq): the sequence number and hash of
 * the last row deleted, and when and why. It lives in `meta` and moves in the transaction of every deletion, so
 * `verify` checks what is left from here instead of GENESIS_HASH; a prefix deleted without moving it shows as
 * tampering.
 */
export interface RetentionAnchor extends ChainMark {
  /** When the rows were deleted, ms since the epoch. */
  readonly at: number;
  /** Why: the events were stamped before this time (ms since the epoch), the start of the retention window. */
  readonly cutoff: number;
}

export const ANCHOR_KEY = 'events_retention_anchor';

/** The anchor; `none` when retention never deleted anything, `unreadable` when the row is not one (edited by hand). */
export function readRetentionAnchor(db: Database.Database): RetentionAnchor | 'none' | 'unreadable' {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(ANCHOR_KEY) as { value: string } | undefined;
  if (!row) return 'none';
  try {
    const anchor = JSON.parse(row.value);
    const valid =
      Number.isSafeInteger(anchor?.seq) &&
      anchor.seq > 0 &&
      typeof anchor.hash === 'string' &&
      Number.isSafeInteger(anchor.at) &&
      Number.isSafeInteger(anchor.cutoff);
    return valid ? anchor : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

/** Where the rows left in the table start: after the anchor, or at the genesis of the chain. */
export function chainStart(db: Database.Database): ChainMark {
  const anchor = readRetentionAnchor(db);
  return typeof anchor === 'object' ? { seq: anchor.seq, hash: anchor.hash } : { seq: 0, hash: GENESIS_HASH };
}

/**
 * Where the chain goes on: its mark, and the last row's sequence number (below the mark when rows were cut from
 * the end; the retention anchor's when retention deleted every row). A store written before the mark existed gets
 * one from its last row, which that version trusted; so does one whose rows run past the mark (written by such a
 * version since).
 */
export function openChain(db: Database.Database): { mark: ChainMark; lastRowSeq: number } {
  return db.transaction(() => {
    const last = db.prepare('SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1').get() as ChainMark | undefined;
    // Retention may have deleted every row: the chain then goes on from its anchor.
    const lastRow = last ?? chainStart(db);
    const mark = readChainMark(db);
    if (mark && mark.seq >= lastRow.seq) return { mark, lastRowSeq: lastRow.seq };
    db.prepare(SAVE_MARK).run(MARK_KEY, JSON.stringify(lastRow));
    return { mark: lastRow, lastRowSeq: lastRow.seq };
  })();
}

/** One SQL statement and its parameters, run by `StoreWriter.run` with others in one transaction. */
export type WriteStatement = readonly [sql: string, params: readonly (string | number | null)[]];

/**
 * The writes of one connection: events appended to the chain (whose head and sequence live here) and batches of
 * other statements.
 */
export class StoreWriter {
  private head: string;
  private sequence: number;
  private readonly tx: (events: readonly SecurityEvent[]) => AppendResult;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly runTx: (statements: readonly WriteStatement[]) => void;

  constructor(db: Database.Database) {
    // Cut rows at the end keep their numbers: the chain goes on above the mark, so `verify` shows the gap.
    const { mark } = openChain(db);
    this.head = mark.hash;
    this.sequence = mark.seq;
    // The sequence number is given, not drawn: an insert skipped as a duplicate must not use one up, or the
    // chain would show a gap where nothing was deleted. Only a duplicate id is skipped; any other conflict fails.
    const insert = db.prepare(
      `INSERT INTO events (seq, id, time, type, client_address, user_id, route, body, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    );
    const saveMark = db.prepare(SAVE_MARK);
    this.tx = db.transaction((events: readonly SecurityEvent[]) => {
      let head = this.head;
      let sequence = this.sequence;
      let stored = 0;
      const duplicateIndexes: number[] = [];
      for (let index = 0; index < events.length; index++) {
        // The canonical JSON is what the hash covers; the columns are read from it.
        const canonical = toCanonical(events[index]!);
        const body = JSON.stringify(canonical);
        const hash = chainHash(head, body);
        const c = eventColumns(canonical);
        const info = insert.run(sequence + 1, c.id, c.time, c.type, c.client_address, c.user_id, c.route, body, hash);
        if (info.changes === 1) {
          head = hash;
          stored++;
          sequence++;
        } else {
          duplicateIndexes.push(index);
        }
      }
      // Only events stored move the mark: a batch of duplicates leaves it where it was.
      if (stored > 0) saveMark.run(MARK_KEY, JSON.stringify({ seq: sequence, hash: head }));
      // Only move the head and sequence once the transaction body has run: a throw rolls back both.
      this.head = head;
      this.sequence = sequence;
      return { stored, duplicates: duplicateIndexes.length, duplicateIndexes, lastSequence: sequence };
    });
    this.runTx = db.transaction((statements: readonly WriteStatement[]) => {
      for (const [sql, params] of statements) {
        let statement = this.statements.get(sql);
        if (!statement) {
          statement = db.prepare(sql);
          this.statements.set(sql, statement);
        }
        statement.run(...params);
      }
    });
  }

  get lastSequence(): number {
    return this.sequence;
  }

  /** Append in one transaction; durable when it returns. */
  append(events: readonly SecurityEvent[]): AppendResult {
    return this.tx(events);
  }

  /** Run the statements in one transaction; durable when it returns. */
  run(statements: readonly WriteStatement[]): void {
    this.runTx(statements);
  }
}

export interface WriterOptions {
  readonly file: string;
  readonly synchronous: 'FULL' | 'NORMAL';
  /** How often the checkpointer thread copies the write-ahead log into the database, ms. */
  readonly checkpointMillis: number;
}

/** What the main thread posts to the writer thread. */
export type WriterRequest =
  | { readonly id: number; readonly events: readonly SecurityEvent[] }
  | { readonly id: number; readonly statements: readonly WriteStatement[] }
  | { readonly close: true };

type Reply = { readonly id: number; readonly result?: AppendResult } | { readonly id: number; readonly error: string };

interface Pending {
  resolve(result: AppendResult | undefined): void;
  reject(error: Error): void;
}

/**
 * The writer thread, seen from the main thread. Writes run in the order they were asked for. If the thread
 * dies, the writes in flight fail (an ingest client gets an error and may retry: nothing was acknowledged) and
 * the next write starts a new thread, which reads the chain's head back from the database.
 */
export class WriterThread {
  private worker: Worker | undefined;
  private checkpointer: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;

  constructor(private readonly options: WriterOptions) {}

  append(events: readonly SecurityEvent[]): Promise<AppendResult> {
    return this.request((id) => ({ id, events })) as Promise<AppendResult>;
  }

  async run(statements: readonly WriteStatement[]): Promise<void> {
    await this.request((id) => ({ id, statements }));
  }

  private request(message: (id: number) => WriterRequest): Promise<AppendResult | undefined> {
    if (this.closed) return Promise.reject(new Error('the event store is closed'));
    const worker = this.ensureWorker();
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Keep the process alive while a write is in flight, and only then.
      if (this.pending.size === 1) worker.ref();
      worker.postMessage(message(id));
    });
  }

  /** Finish the batches already sent, then stop the threads. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([this.worker, this.checkpointer].map((worker) => worker && stopThread(worker)));
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    this.checkpointer ??= this.startCheckpointer();
    const worker = startThread({ ...this.options, role: 'writer' });
    worker.on('message', (reply: Reply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      // Closing, the thread stays referenced until it exits: unreferenced, a write answered after close() began let
      // the process exit (or a test runner end) before the exit that close() waits for.
      if (this.pending.size === 0 && !this.closed) worker.unref();
      if ('error' in reply) waiting.reject(new Error(reply.error));
      else waiting.resolve(reply.result);
    });
    const fail = (error: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    };
    worker.on('error', (error) => fail(new Error(`event writer thread failed: ${error.message}`)));
    worker.on('exit', (code) => fail(new Error(`event writer thread exited (code ${code})`)));
    // Idle, the thread must not keep the process alive on its own: the server closes it on shutdown.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private startCheckpointer(): Worker {
    const checkpointer = startThread({ ...this.options, role: 'checkpointer' });
    // Should it die, the writer's next start brings a new one; checkpoints only wait meanwhile.
    checkpointer.on('error', () => {});
    checkpointer.on('exit', () => {
      if (this.checkpointer === checkpointer) this.checkpointer = undefined;
    });
    checkpointer.unref();
    return checkpointer;
  }
}

function startThread(data: WriterOptions & { role: 'writer' | 'checkpointer' }): Worker {
  return new Worker(new URL('./event-writer-worker.js', import.meta.url), { workerData: data });
}

async function stopThread(worker: Worker): Promise<void> {
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.ref();
  worker.postMessage({ close: true });
  await exited;
}
