/**
 * `mode: 'stdout'`: one JSON line per event on standard output, for teams that ship their logs themselves.
 *
 * Each line is a valid Vigil event (`time`, `type`, dotted fields; `vigil analyze --format vigil` reads it) that also
 * carries the envelope of the OWASP Logging Vocabulary cheat sheet: `datetime`, `appid`, `event`
 * (`authn_login_fail:ann`), `level` and `description`.
 */
import { DropCounter } from './drops.js';
import type { Sink, SinkStats } from './transport.js';

/** Stop writing when this much output is still waiting for the stream (a blocked pipe): bounded memory. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;

export interface LineStream {
  write(chunk: string): boolean;
  readonly writableLength?: number;
}

export class StdoutSink implements Sink {
  private readonly drops = new DropCounter();
  private sent = 0;
  private closed = false;

  constructor(
    private readonly dropEvent: (reason: 'queue_full' | 'shutdown', count: number) => string,
    private readonly stream: LineStream = process.stdout,
  ) {}

  enqueue(line: string): void {
    if (this.closed) {
      this.drops.add('shutdown');
      return;
    }
    if ((this.stream.writableLength ?? 0) > MAX_PENDING_BYTES) {
      this.drops.add('queue_full');
      return;
    }
    try {
      if (this.drops.hasPending()) {
        for (const [reason, count] of this.drops.takePending()) {
          if (reason === 'queue_full' || reason === 'shutdown') this.stream.write(`${this.dropEvent(reason, count)}\n`);
        }
      }
      this.stream.write(`${line}\n`);
      this.sent++;
    } catch {
      this.drops.add('queue_full');
    }
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  stats(): SinkStats {
    return { queued: 0, inFlight: 0, sent: this.sent, retries: 0, dropped: { ...this.drops.total } };
  }
}

/** A sink that takes nothing: the client runs disabled (no endpoint or token). */
export class DisabledSink implements Sink {
  enqueue(): void {}
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  stats(): SinkStats {
    return {
      queued: 0,
      inFlight: 0,
      sent: 0,
      retries: 0,
      dropped: { queue_full: 0, rejected: 0, auth: 0, too_large: 0, retries_exhausted: 0, shutdown: 0 },
    };
  }
}
