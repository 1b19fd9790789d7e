/**
 * The store's two background threads, each with its own connection to the database (see event-writer.ts):
 *
 * - `writer` runs the writes the main thread posts (event batches, alert and notification writes), in order, and
 *   answers each once it is committed.
 * - `checkpointer` copies the write-ahead log back into the database a little at a time (passive checkpoints,
 *   which never block a writer). Left to the committing connection, a checkpoint runs inside some commit and
 *   holds up every batch behind it for as long as the copy takes: seconds, once the database is large.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { StoreWriter, type WriterOptions, type WriterRequest } from './event-writer.js';

const options = workerData as WriterOptions & { role: 'writer' | 'checkpointer' };
const db = new Database(options.file);
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${options.synchronous}`);
db.pragma('busy_timeout = 5000');
db.pragma('wal_autocheckpoint = 0');

function stop(): void {
  db.close();
  parentPort!.close();
}

if (options.role === 'checkpointer') {
  const timer = setInterval(() => {
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Busy or interrupted: the next round copies what this one could not.
    }
  }, options.checkpointMillis);
  parentPort!.on('message', () => {
    clearInterval(timer);
    stop();
  });
} else {
  const writer = new StoreWriter(db);
  parentPort!.on('message', (message: WriterRequest) => {
    if ('close' in message) {
      stop();
      return;
    }
    try {
      if ('events' in message) parentPort!.postMessage({ id: message.id, result: writer.append(message.events) });
      else {
        writer.run(message.statements);
        parentPort!.postMessage({ id: message.id });
      }
    } catch (error) {
      parentPort!.postMessage({ id: message.id, error: (error as Error).message });
    }
  });
}
