/**
 * The server's own log: one JSON object per line on stderr. Values pass through `neutralise` so an attacker's
 * string cannot forge a log line; callers never pass secrets (tokens are only ever referred to by file name).
 *
 * Lines that an attack can multiply (an alert opened per address, a notification retried per alert, a failing
 * request) are limited per message: beyond `maxLinesPerMessage` lines of one message in a minute, the rest of that
 * minute's are left out, counted, and told in one `log lines suppressed` line when the minute ends.
 */
import { neutralise } from '@vigil/schema';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface LoggerOptions {
  readonly level?: LogLevel;
  readonly write?: (line: string) => void;
  readonly now?: () => number;
  /** Lines of one message written per window; default 600. */
  readonly maxLinesPerMessage?: number;
  /** The window lines are limited over, ms; default a minute. */
  readonly windowMillis?: number;
  /** Told of each line left out (the server counts them in `vigil_log_lines_suppressed_total`). */
  readonly onSuppressed?: (msg: string) => void;
}

/** Messages are the code's own constants; more than this many distinct ones in a minute are not limited. */
const MAX_TRACKED_MESSAGES = 1000;

interface Window {
  start: number;
  written: number;
  suppressed: number;
  level: LogLevel;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const min = ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const now = options.now ?? Date.now;
  const max = options.maxLinesPerMessage ?? 600;
  const windowMillis = options.windowMillis ?? 60_000;
  const windows = new Map<string, Window>();
  let flushTimer: NodeJS.Timeout | undefined;

  const line = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    const record: Record<string, unknown> = { time: new Date(now()).toISOString(), level, msg: neutralise(msg) };
    // A field named `time`, `level` or `msg` must not pass for the record's own: it is kept as `field.<name>`.
    for (const key in fields) record[key in record ? `field.${key}` : key] = fields[key];
    write(`${JSON.stringify(record, (_k, v) => (typeof v === 'string' ? neutralise(v) : v))}\n`);
  };
  const tell = (msg: string, w: Window) => {
    line(w.level, 'log lines suppressed', { message: msg, suppressed: w.suppressed, limit: max, windowMillis });
  };
  /** End the windows that are over: tell what each left out, and forget them. */
  const flush = () => {
    const at = now();
    for (const [msg, w] of windows) {
      if (at - w.start < windowMillis) continue;
      if (w.suppressed > 0) tell(msg, w);
      windows.delete(msg);
    }
    if (![...windows.values()].some((w) => w.suppressed > 0) && flushTimer) {
      clearInterval(flushTimer);
      flushTimer = undefined;
    }
  };
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const at = now();
    let w = windows.get(msg);
    if (w && at - w.start >= windowMillis) {
      if (w.suppressed > 0) tell(msg, w);
      w = undefined;
    }
    if (!w) {
      if (windows.size >= MAX_TRACKED_MESSAGES) flush();
      w = { start: at, written: 0, suppressed: 0, level };
      if (windows.size < MAX_TRACKED_MESSAGES) windows.set(msg, w);
    }
    if (w.written >= max) {
      w.suppressed++;
      if (ORDER[level] > ORDER[w.level]) w.level = level;
      options.onSuppressed?.(msg);
      // The minute's count is told even if no line of this message comes again.
      flushTimer ??= setInterval(flush, windowMillis / 4).unref();
      return;
    }
    w.written++;
    line(level, msg, fields);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
