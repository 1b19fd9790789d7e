/**
 * `mode: 'stdout'`: one JSON line per event on standard output, for teams that ship their logs themselves.
 *
 * Lines are written once per event-loop turn (and when the process exits), not one system call per event.
 *
 * Each line is a valid Vigil event (`time`, `type`, dotted fields; `vigil analyze --format vigil` reads it) that also
 * carries the envelope of the OWASP Logging Vocabulary cheat sheet: `datetime`, `appid`, `event`
 * (`authn_login_fail:ann`), `level` and `description`.
 */
import { DropCounter, type DropCounts, type DropReason, zeroDrops } from './drops.js';
import { ROUTINE_SHARE, type Sink, type SinkStats } from './transport.js';

/** Stop writing when this much output is still waiting for the stream (a blocked pipe): bounded memory. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;
/** Lines are gathered and written once per event-loop turn, or as soon as this many characters wait. */
const WRITE_CHARS = 64 * 1024;
/** Drops with no line to follow are reported on their own this long after (later while the stream is blocked). */
const REPORT_DELAY_MILLIS = 1000;

export interface LineStream {
  write(chunk: string): boolean;
  readonly writableLength?: number;
  on?(event: 'error', listener: (error: Error) => void): unknown;
}

/** What every sink writing to one stream shares: whether the stream failed. */
interface StreamState {
  broken: boolean;
}

const streamStates = new WeakMap<LineStream, StreamState>();

/**
 * A write to a closed pipe fails after the call, as an 'error' event, and one nobody listens to ends the process:
 * the app's, for the SDK's write. One listener per stream keeps the app alive, for every sink writing to it: a
 * listener per sink would keep each closed sink alive with it, and warn of a leak past ten clients (a test suite
 * making one per test).
 */
function stateOf(stream: LineStream): StreamState {
  let state = streamStates.get(stream);
  if (state === undefined) {
    const created: StreamState = { broken: false };
    stream.on?.('error', () => {
      created.broken = true;
    });
    streamStates.set(stream, created);
    state = created;
  }
  return state;
}

/** Sinks with lines not yet written; written out when the process exits (`process.exit()` skips other hooks). */
const unwritten = new Set<StdoutSink>();
let exitHook = false;

export class StdoutSink implements Sink {
  private readonly drops = new DropCounter();
  private sent = 0;
  private closed = false;
  /** Lines of this event-loop turn, not written yet, and how many. */
  private pending = '';
  private pendingLines = 0;
  private immediate: NodeJS.Immediate | undefined;
  /** The report of drops that no line has followed yet, waiting for its delay. */
  private reportTimer: NodeJS.Timeout | undefined;

  /** Its `broken` is set when the stream failed (a pipe whose reader went away: EPIPE): later lines are dropped. */
  private readonly streamState: StreamState;

  constructor(
    private readonly dropEvent: (reason: DropReason, count: number) => string,
    private readonly stream: LineStream = process.stdout,
  ) {
    this.streamState = stateOf(stream);
  }

  enqueue(line: string, routine = false): void {
    if (this.closed) {
      this.drops.add('shutdown');
      return;
    }
    if (this.streamState.broken) {
      this.drops.add('queue_full');
      return;
    }
    const bound = routine ? MAX_PENDING_BYTES * ROUTINE_SHARE : MAX_PENDING_BYTES;
    if ((this.stream.writableLength ?? 0) + this.pending.length > bound) {
      this.countDrop('queue_full');
      return;
    }
    this.addDropReports();
    this.add(line);
  }

  countDrop(reason: DropReason): void {
    this.drops.add(reason);
    this.reportLater();
  }

  flush(): Promise<void> {
    if (!this.streamState.broken) this.addDropReports();
    this.write();
    return Promise.resolve();
  }

  close(): Promise<void> {
    clearTimeout(this.reportTimer);
    this.reportTimer = undefined;
    if (!this.closed && !this.streamState.broken) this.addDropReports();
    this.write();
    this.closed = true;
    return Promise.resolve();
  }

  stats(): SinkStats {
    return {
      queued: this.pendingLines,
      queuedBytes: this.pending.length,
      inFlight: 0,
      sent: this.sent,
      retries: 0,
      dropped: { ...this.drops.total },
    };
  }

  /**
   * Report the drops on their own if no line comes to carry the report first: an app that goes quiet after its
   * output was blocked still tells what it lost. Not while the stream is still blocked, or the report would add to it.
   */
  private reportLater(): void {
    if (this.reportTimer !== undefined || this.closed || this.streamState.broken) return;
    this.reportTimer = setTimeout(() => {
      this.reportTimer = undefined;
      if (this.closed || this.streamState.broken || !this.drops.hasPending()) return;
      if ((this.stream.writableLength ?? 0) + this.pending.length > MAX_PENDING_BYTES) this.reportLater();
      else this.addDropReports();
    }, REPORT_DELAY_MILLIS).unref();
  }

  /** An `sdk_drops` line per reason counted since the last report, every reason (as the http transport sends). */
  private addDropReports(): void {
    if (!this.drops.hasPending()) return;
    for (const [reason, count] of this.drops.takePending()) {
      const line = this.dropEvent(reason, count);
      if (line !== '') this.add(line);
    }
  }

  /**
   * Queue a line for this turn's write. One write per turn instead of one per event: standard output to a file or
   * pipe is a synchronous system call per write.
   */
  private add(line: string): void {
    this.pending += `${line}\n`;
    this.pendingLines++;
    if (this.pending.length >= WRITE_CHARS) {
      this.write();
      return;
    }
    if (this.immediate === undefined) {
      this.immediate = setImmediate(() => this.write());
      unwritten.add(this);
      if (!exitHook) {
        exitHook = true;
        process.on('exit', () => {
          for (const sink of unwritten) sink.write();
        });
      }
    }
  }

  private write(): void {
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.immediate = undefined;
    unwritten.delete(this);
    if (this.pendingLines === 0) return;
    const chunk = this.pending;
    const lines = this.pendingLines;
    this.pending = '';
    this.pendingLines = 0;
    try {
      this.stream.write(chunk);
      this.sent += lines;
    } catch {
      this.drops.add('queue_full', lines);
    }
  }
}

/** A sink that takes nothing: the client runs disabled (no endpoint or token). */
export class DisabledSink implements Sink {
  enqueue(): void {}
  countDrop(): void {}
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  stats(): SinkStats {
    return idleStats(0, zeroDrops());
  }
}

/** The stats of a sink that holds nothing back: no queue, no request in flight, no retries. */
export function idleStats(sent: number, dropped: DropCounts): SinkStats {
  return { queued: 0, queuedBytes: 0, inFlight: 0, sent, retries: 0, dropped };
}
