/**
 * `@vigil/sdk/testing`: a client for an app's own tests. It records exactly what a real client records (same
 * adapters, helpers, redaction and encoding), but keeps the events in memory, each checked as the collector checks it,
 * so a test can assert that the app logs what it must: a failed login, a refused access, a payment.
 *
 * @example
 * import { createTestVigil } from '@vigil/sdk/testing';
 * const vigil = createTestVigil();
 * const app = buildApp(vigil); // the app takes its client, as in production
 * await request(app).post('/login').send({ user: 'ann', password: 'wrong' });
 * const [fail] = await vigil.waitFor('authn_login_fail');
 * assert.equal(fail['user.id'], 'ann');
 */
import { parseEvent } from '@vigil/schema';
import { createVigilWithSink, type Vigil } from './client.js';
import { DropCounter, type DropReason } from './drops.js';
import type { VigilOptions } from './options.js';
import type { Reporter } from './report.js';
import { idleStats } from './stdout.js';
import { type Sink, type SinkStats, tooLarge } from './transport.js';

/** One recorded event: its fields under their dotted names, as the collector receives them. */
export interface RecordedEvent {
  readonly id: string;
  readonly time: string;
  readonly type: string;
  readonly [field: string]: unknown;
}

export interface TestVigil extends Vigil {
  /** The events recorded so far, oldest first; only those of `type` when it is given. */
  events(type?: string): RecordedEvent[];
  /** Forget the events recorded so far. */
  clear(): void;
  /**
   * The events of `type` (and matching `where`, when given) once there is at least one. A request's own events are
   * recorded when its response ends, which can be a moment after the client has read the response. Rejects after
   * `timeoutMillis` (default 2000), naming the types that were recorded.
   */
  waitFor(type: string, where?: (event: RecordedEvent) => boolean, timeoutMillis?: number): Promise<RecordedEvent[]>;
}

export type TestVigilOptions = Omit<VigilOptions, 'endpoint' | 'token' | 'mode' | 'proxy' | 'ca'>;

/** The hash key when none is given: fixed, so hashed ids are the same from one test run to the next. */
const TEST_HASH_KEY = 'vigil-test-kit';

/** Keeps what the client records, parsed and checked against the event schema. */
class MemorySink implements Sink {
  readonly events: RecordedEvent[] = [];
  private readonly drops = new DropCounter();
  private readonly waiters = new Set<() => boolean>();
  private closed = false;

  constructor(
    private readonly maxEvents: number,
    private readonly reporter: Reporter,
    private readonly maxEventBytes: number,
  ) {}

  enqueue(line: string): void {
    if (this.closed) {
      this.drops.add('shutdown');
      return;
    }
    if (this.events.length >= this.maxEvents) {
      this.drops.add('queue_full');
      return;
    }
    if (tooLarge(line, this.maxEventBytes, this.reporter)) {
      this.drops.add('too_large');
      return;
    }
    const event = JSON.parse(line) as RecordedEvent;
    const checked = parseEvent(event);
    if (!checked.ok) {
      // What the collector would answer: the event is refused, and the test hears why.
      this.drops.add('rejected');
      const issues = checked.issues.map((i) => `${i.field}: ${i.message}`).join('; ');
      this.reporter.error('events_rejected', `a ${event.type} event would be rejected by the collector: ${issues}`);
      return;
    }
    this.events.push(event);
    for (const wake of this.waiters) wake();
  }

  countDrop(reason: DropReason): void {
    this.drops.add(reason);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  stats(): SinkStats {
    return idleStats(this.events.length, { ...this.drops.total });
  }

  /**
   * Resolves when `ready()` gives a value, checked now and after every event; rejects after `timeoutMillis`, or
   * with what `ready()` threw (the test's own condition: it must not break the recording of the event).
   */
  until<T>(ready: () => T | undefined, timeoutMillis: number, describe: () => string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const check = (): boolean => {
        let value: T | undefined;
        try {
          value = ready();
        } catch (error) {
          this.waiters.delete(check);
          clearTimeout(timer);
          reject(error);
          return true;
        }
        if (value === undefined) return false;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(value);
        return true;
      };
      if (check()) return;
      timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(describe()));
      }, timeoutMillis);
      this.waiters.add(check);
    });
  }
}

/**
 * A client for tests: nothing leaves the process, no endpoint or token is needed, and no shutdown listener is
 * installed. Every other option works as in `createVigil` (`identify`, `redact`, `inspect`, `automaticEvents`...).
 * At most `maxQueueSize` events are kept (default 10 000); `clear()` makes room.
 */
export function createTestVigil(options: TestVigilOptions = {}): TestVigil {
  let sink: MemorySink | undefined;
  const vigil = createVigilWithSink(
    // `hashKey: undefined` (an unset variable passed on) keeps the fixed key, not a plain hash.
    { flushOnExit: false, ...options, hashKey: options.hashKey ?? TEST_HASH_KEY },
    (reporter, resolved) => {
      sink = new MemorySink(resolved.maxQueueSize, reporter, resolved.maxEventBytes);
      return sink;
    },
  );
  const memory = sink as unknown as MemorySink;
  const ofType = (type?: string) =>
    type === undefined ? [...memory.events] : memory.events.filter((e) => e.type === type);
  return Object.assign(vigil, {
    events: ofType,
    clear() {
      memory.events.length = 0;
    },
    waitFor(type: string, where?: (event: RecordedEvent) => boolean, timeoutMillis = 2000) {
      return memory.until(
        () => {
          const found = ofType(type).filter((e) => where === undefined || where(e));
          return found.length > 0 ? found : undefined;
        },
        timeoutMillis,
        () =>
          `no ${type} event${where ? ' matching the condition' : ''} was recorded in ${timeoutMillis} ms; ` +
          `recorded: ${memory.events.map((e) => e.type).join(', ') || 'nothing'}`,
      );
    },
  });
}
