/**
 * Running retention on the live server: once at start-up, then every `DEFAULTS.retentionIntervalMillis`. Each run
 * deletes the events stamped before the window of `storage.retentionDays`, in batches (see retention.ts), and the
 * resolved alerts, decisions and silences that ended before the window of `storage.alertRetentionDays` (see
 * alert-retention.ts). It counts them in `vigil_events_deleted_total`, `vigil_alerts_deleted_total` and
 * `vigil_decisions_deleted_total`, and logs one line for each kind of record it deleted any of.
 */
import { DEFAULTS } from '../defaults.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { SqliteStore } from './sqlite.js';

const DAY_MILLIS = 86_400_000;

export interface RetentionTimerOptions {
  readonly store: SqliteStore;
  /** Days of events to keep; undefined keeps every event. */
  readonly retentionDays?: number;
  /** Days to keep alerts, decisions and silences after they ended; undefined keeps them. */
  readonly alertRetentionDays?: number;
  /** The silences the server holds in memory, to drop the ones deleted from the store. */
  readonly silences?: { forgetEndedBefore(cutoff: number): void };
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly intervalMillis?: number;
}

export interface RetentionTimer {
  /** Stop the timer and wait for a run in progress to end its batch. */
  close(): Promise<void>;
}

export function startRetentionTimer(options: RetentionTimerOptions): RetentionTimer {
  const { store, retentionDays, alertRetentionDays, log, metrics } = options;
  const stop = new AbortController();
  let running: Promise<void> | undefined;

  const deleteEvents = async (days: number) => {
    const cutoff = Date.now() - days * DAY_MILLIS;
    const result = await store.deleteEventsBefore(cutoff, { signal: stop.signal });
    metrics.eventsDeleted.inc({}, result.deleted);
    if (result.deleted > 0) {
      log.info('retention deleted old events', {
        deleted: result.deleted,
        cutoff: new Date(cutoff).toISOString(),
        deletedThroughSeq: result.anchor?.seq,
      });
    }
    if (result.refused) {
      log.error('retention stopped: the oldest events do not continue the hash chain; run vigil verify', {
        seq: result.refused.seq,
        problem: result.refused.problem,
      });
    }
  };
  const deleteEnded = async (days: number) => {
    const cutoff = Date.now() - days * DAY_MILLIS;
    const result = await store.deleteEndedBefore(cutoff, { signal: stop.signal });
    options.silences?.forgetEndedBefore(cutoff);
    metrics.alertsDeleted.inc({}, result.alerts);
    metrics.decisionsDeleted.inc({}, result.decisions);
    if (result.alerts + result.notifications + result.decisions + result.silences > 0) {
      log.info('retention deleted ended alerts, decisions and silences', {
        ...result,
        cutoff: new Date(cutoff).toISOString(),
      });
    }
  };
  const runOnce = async () => {
    // Each on its own: a failure of one must not keep the other from running.
    for (const [days, work, what] of [
      [retentionDays, deleteEvents, 'events'],
      [alertRetentionDays, deleteEnded, 'alerts'],
    ] as const) {
      if (days === undefined || stop.signal.aborted) continue;
      await work(days).catch((error) => log.error('retention failed', { of: what, error: (error as Error).message }));
    }
  };
  const run = () => {
    // One run at a time: a first cleanup of a large store may outlast the interval.
    if (running || stop.signal.aborted) return;
    running = runOnce().finally(() => {
      running = undefined;
    });
  };

  run();
  const timer = setInterval(run, options.intervalMillis ?? DEFAULTS.retentionIntervalMillis);
  timer.unref();
  return {
    async close() {
      clearInterval(timer);
      stop.abort();
      await running;
    },
  };
}
