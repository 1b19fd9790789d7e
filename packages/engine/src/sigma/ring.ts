/**
 * A bounded ring of (event time, event id), oldest first: the evidence a correlation keeps per group. Storage grows
 * with use up to its capacity, so a group that saw two events costs two slots, not the capacity.
 */
export class EvidenceRing {
  private times: number[] = [];
  private ids: string[] = [];
  private head = 0;
  private length = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.length;
  }

  /** Append an event; when full, the oldest entry is overwritten. */
  push(time: number, id: string): void {
    if (this.length === this.times.length && this.length < this.capacity) this.grow();
    const slots = this.times.length;
    if (this.length === this.capacity) {
      this.times[this.head] = time;
      this.ids[this.head] = id;
      this.head = (this.head + 1) % slots;
      return;
    }
    const at = (this.head + this.length) % slots;
    this.times[at] = time;
    this.ids[at] = id;
    this.length++;
  }

  /** Drop entries older than `cutoff` from the front. Events arrive roughly in time order, so this stops early. */
  dropBefore(cutoff: number): void {
    const slots = this.times.length;
    while (this.length > 0 && this.times[this.head]! < cutoff) {
      this.head = (this.head + 1) % slots;
      this.length--;
    }
    if (this.length === 0) this.head = 0;
  }

  /** The entries, oldest first, as `[times, ids]` (for a snapshot). */
  entries(): [number[], string[]] {
    const times: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < this.length; i++) {
      const at = (this.head + i) % this.times.length;
      times.push(this.times[at]!);
      ids.push(this.ids[at]!);
    }
    return [times, ids];
  }

  /** Replace the content with entries taken by `entries()`. */
  load(times: readonly number[], ids: readonly string[]): void {
    this.times = [];
    this.ids = [];
    this.head = 0;
    this.length = 0;
    for (let i = 0; i < times.length; i++) this.push(times[i]!, ids[i]!);
  }

  /** Time of the oldest entry, or undefined when empty. */
  oldestTime(): number | undefined {
    return this.length === 0 ? undefined : this.times[this.head];
  }

  /** The newest `limit` ids, oldest first. */
  newestIds(limit: number): string[] {
    const count = Math.min(limit, this.length);
    const out = new Array<string>(count);
    const slots = this.times.length;
    const start = this.head + this.length - count;
    for (let i = 0; i < count; i++) out[i] = this.ids[(start + i) % slots]!;
    return out;
  }

  private grow(): void {
    const slots = Math.min(this.capacity, Math.max(1, this.times.length * 2));
    const times = new Array<number>(slots);
    const ids = new Array<string>(slots);
    for (let i = 0; i < this.length; i++) {
      const from = (this.head + i) % this.times.length;
      times[i] = this.times[from]!;
      ids[i] = this.ids[from]!;
    }
    this.times = times;
    this.ids = ids;
    this.head = 0;
  }
}
