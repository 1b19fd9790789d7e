/**
 * Running retention (`storage.retentionDays`) on the live server: once at start-up, then every
 * `DEFAULTS.retentionIntervalMillis`. Each run deletes the events stamped before the window, in batches (see
 * retention.ts), counts them in `vigil_events_deleted_total` and logs one line when it deleted any.
 */
import { DEFAULTS } from '../defaults.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { SqliteStore } from './sqlite.js';

const DAY_MILLIS = 86_400_000;

export interface RetentionTimerOptions {
  readonly store: SqliteStore;
  readonly retentionDays: number;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly intervalMillis?: number;
}

export interface RetentionTimer {
  /** Stop the timer and wait for a run in progress to end its batch. */
  close(): Promise<void>;
}

export function startRetentionTimer(options: RetentionTimerOptions): RetentionTimer {
  const { store, retentionDays, log, metrics } = options;
  const stop = new AbortController();
  let running: Promise<void> | undefined;

  const runOnce = async () => {
    const cutoff = Date.now() - retentionDays * DAY_MILLIS;
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
  const run = () => {
    // One run at a time: a first cleanup of a large store may outlast the interval.
    if (running || stop.signal.aborted) return;
    running = runOnce()
      .catch((error) => log.error('retention failed', { error: (error as Error).message }))
      .finally(() => {
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
