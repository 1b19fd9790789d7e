/**
 * The writer thread: its own connection to the events database, appending the batches the main thread posts, in
 * order, and answering each once it is committed (see event-writer.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { EventAppender, type EventRow, type WriterOptions } from './event-writer.js';

const options = workerData as WriterOptions;
const db = new Database(options.file);
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${options.synchronous}`);
db.pragma('busy_timeout = 5000');
const appender = new EventAppender(db);

parentPort!.on('message', (message: { id: number; rows: EventRow[] } | { close: true }) => {
  if ('close' in message) {
    db.close();
    parentPort!.close();
    return;
  }
  try {
    parentPort!.postMessage({ id: message.id, result: appender.append(message.rows) });
  } catch (error) {
    parentPort!.postMessage({ id: message.id, error: (error as Error).message });
  }
});
