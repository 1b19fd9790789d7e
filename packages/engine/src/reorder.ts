/**
 * Event-time ordering with a watermark. Events may arrive out of order (several senders, batching, retries);
 * detection must see them in event-time order so that a replay gives the alerts the live run gave. Events are
 * held until the watermark (the newest event time minus the allowed lateness, or a caller-supplied clock) has
 * passed them, then released sorted by (time, id). An event that arrives after its moment was released is not
 * dropped: it is released at once and counted as late. The buffer is bounded in events and in size; past either
 * bound the oldest events are released early (and counted).
 */
import { approximateFieldsSize, type SecurityEvent } from '@vigil/schema';

export interface OrdererOptions {
  /** How far behind the newest event time an event may arrive and still be put in order. */
  readonly latenessMillis: number;
  /** Most events held at once. */
  readonly maxBuffered?: number;
  /**
   * Most bytes held at once, as `approximateEventSize` counts them: a count alone bounds nothing when each event may
   * carry hundreds of kilobytes, and events stamped minutes ahead are held for minutes.
   */
  readonly maxBufferedBytes?: number;
}

/** An event held, with its size taken once when it came in. */
interface Held {
  readonly event: SecurityEvent;
  readonly size: number;
}

function before(a: SecurityEvent, b: SecurityEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.id < b.id);
}

function heldBefore(a: Held, b: Held): boolean {
  return before(a.event, b.event);
}

/**
 * A rough size of an event in memory, in bytes: one per character of its id, type, field names and string values,
 * and 8 for each number or flag (`approximateFieldsSize`).
 */
export function approximateEventSize(event: SecurityEvent): number {
  return event.id.length + event.type.length + 8 + approximateFieldsSize(event.attributes);
}

export class EventTimeOrderer {
  /** Newest event time seen. */
  maxEventTime = Number.NEGATIVE_INFINITY;
  /** Event time up to which everything has been released. */
  releasedUpTo = Number.NEGATIVE_INFINITY;
  lateEvents = 0;
  forcedReleases = 0;
  private readonly heap: Held[] = [];
  private readonly maxBuffered: number;
  private readonly maxBufferedBytes: number;
  private heldBytes = 0;

  constructor(private readonly options: OrdererOptions) {
    this.maxBuffered = options.maxBuffered ?? 100_000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 64 * 1024 * 1024;
  }

  get buffered(): number {
    return this.heap.length;
  }

  /** Bytes of the events held, as `approximateEventSize` counts them. */
  get bufferedBytes(): number {
    return this.heldBytes;
  }

  /**
   * Add events and return those now ready, in event-time order. `clockMillis` lets a live server move the
   * watermark with the wall clock when events are sparse; a replay leaves it out.
   */
  push(events: Iterable<SecurityEvent>, clockMillis?: number): SecurityEvent[] {
    const late: SecurityEvent[] = [];
    for (const event of events) {
      if (event.time > this.maxEventTime) this.maxEventTime = event.time;
      if (event.time < this.releasedUpTo) {
        this.lateEvents++;
        late.push(event);
        continue;
      }
      this.insert(event);
    }
    late.sort((a, b) => (before(a, b) ? -1 : 1));
    const ready = this.release(clockMillis);
    while (this.heap.length > this.maxBuffered || this.heldBytes > this.maxBufferedBytes) {
      this.forcedReleases++;
      ready.push(this.take());
    }
    return late.length ? [...late, ...ready] : ready;
  }

  /**
   * Release what the watermark has passed. With a clock (a live server), the watermark follows the clock alone: one
   * event stamped minutes ahead (within the accepted skew) would otherwise move it that far, and every ordinary
   * event after it would be late, put in no order at all. Events ahead of the clock wait for it.
   */
  release(clockMillis?: number): SecurityEvent[] {
    const base = clockMillis === undefined ? this.maxEventTime : clockMillis;
    const watermark = base - this.options.latenessMillis;
    const out: SecurityEvent[] = [];
    while (this.heap.length > 0 && this.heap[0]!.event.time <= watermark) out.push(this.take());
    if (watermark > this.releasedUpTo) this.releasedUpTo = watermark;
    return out;
  }

  /** The events held, in no particular order (for a state snapshot). */
  pending(): SecurityEvent[] {
    return this.heap.map((held) => held.event);
  }

  /** Release everything (end of a replay, shutdown). */
  flush(): SecurityEvent[] {
    const out: SecurityEvent[] = [];
    while (this.heap.length > 0) out.push(this.take());
    return out;
  }

  private insert(event: SecurityEvent): void {
    const heap = this.heap;
    const held = { event, size: approximateEventSize(event) };
    this.heldBytes += held.size;
    heap.push(held);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!heldBefore(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private take(): SecurityEvent {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    this.heldBytes -= top.size;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && heldBefore(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && heldBefore(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    if (top.event.time > this.releasedUpTo) this.releasedUpTo = top.event.time;
    return top.event;
  }
}
