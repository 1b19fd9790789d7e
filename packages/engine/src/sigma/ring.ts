/**
 * A bounded ring of (event time, event id), oldest first: the evidence a correlation keeps per group. The capacity
 * belongs to the rule and is passed in, so a group stores none of it. A group holding one entry keeps it in two
 * fields; arrays appear with the second entry and grow by doubling up to the capacity, and are dropped again when
 * the window drains. At a million tracked keys, most of them seen once, that is most of the memory per key.
 */
export class EvidenceRing {
  private times: number | number[] | undefined = undefined;
  private ids: string | string[] | undefined = undefined;
  private head = 0;
  private length = 0;

  get size(): number {
    return this.length;
  }

  /** Append an event; when `capacity` entries are held, the oldest is overwritten. */
  push(time: number, id: string, capacity: number): void {
    const times = this.times;
    if (!Array.isArray(times)) {
      if (this.length === 0 || capacity <= 1) {
        this.times = time;
        this.ids = id;
        this.length = 1;
        return;
      }
      const slots = Math.min(capacity, 2);
      const nextTimes = new Array<number>(slots);
      const nextIds = new Array<string>(slots);
      nextTimes[0] = times as number;
      nextIds[0] = this.ids as string;
      nextTimes[1] = time;
      nextIds[1] = id;
      this.times = nextTimes;
      this.ids = nextIds;
      this.head = 0;
      this.length = 2;
      return;
    }
    const ids = this.ids as string[];
    const slots = times.length;
    if (this.length >= capacity) {
      times[this.head] = time;
      ids[this.head] = id;
      this.head = (this.head + 1) % slots;
      return;
    }
    if (this.length === slots) {
      this.grow(Math.min(capacity, slots * 2));
      this.push(time, id, capacity);
      return;
    }
    const at = (this.head + this.length) % slots;
    times[at] = time;
    ids[at] = id;
    this.length++;
  }

  /** Drop entries older than `cutoff` from the front. Events arrive roughly in time order, so this stops early. */
  dropBefore(cutoff: number): void {
    if (this.length === 0) return;
    const times = this.times;
    if (!Array.isArray(times)) {
      if ((times as number) < cutoff) this.clear();
      return;
    }
    const slots = times.length;
    while (this.length > 0 && times[this.head]! < cutoff) {
      this.head = (this.head + 1) % slots;
      this.length--;
    }
    if (this.length === 0) this.clear();
  }

  /**
   * The entries, oldest first, as `[times, ids]` (for a snapshot). With `maxIds`, only the newest `maxIds` ids are
   * given (all times still are): a count needs every time, a detection reports only the newest ids.
   */
  entries(maxIds = Number.POSITIVE_INFINITY): [number[], string[]] {
    const times: number[] = [];
    const ids: string[] = [];
    const firstId = Math.max(0, this.length - maxIds);
    for (let i = 0; i < this.length; i++) {
      times.push(this.timeAt(i));
      if (i >= firstId) ids.push(this.idAt(i));
    }
    return [times, ids];
  }

  /** Replace the content with entries taken by `entries()`; fewer ids than times belong to the newest times. */
  load(times: readonly number[], ids: readonly string[], capacity: number): void {
    this.clear();
    const missing = times.length - ids.length;
    for (let i = 0; i < times.length; i++) this.push(times[i]!, i < missing ? '' : ids[i - missing]!, capacity);
  }

  /** Time of the oldest entry, or undefined when empty. */
  oldestTime(): number | undefined {
    return this.length === 0 ? undefined : this.timeAt(0);
  }

  /** The newest `limit` ids, oldest first (entries restored without an id are left out). */
  newestIds(limit: number): string[] {
    const count = Math.min(limit, this.length);
    const out: string[] = [];
    for (let i = this.length - count; i < this.length; i++) {
      const id = this.idAt(i);
      if (id !== '') out.push(id); // an entry restored from a snapshot without its id
    }
    return out;
  }

  /** The i-th entry from the oldest. */
  private timeAt(i: number): number {
    const times = this.times;
    return Array.isArray(times) ? times[(this.head + i) % times.length]! : (times as number);
  }

  private idAt(i: number): string {
    const ids = this.ids;
    return Array.isArray(ids) ? ids[(this.head + i) % ids.length]! : (ids as string);
  }

  private clear(): void {
    this.times = undefined;
    this.ids = undefined;
    this.head = 0;
    this.length = 0;
  }

  private grow(slots: number): void {
    const times = new Array<number>(slots);
    const ids = new Array<string>(slots);
    for (let i = 0; i < this.length; i++) {
      times[i] = this.timeAt(i);
      ids[i] = this.idAt(i);
    }
    this.times = times;
    this.ids = ids;
    this.head = 0;
  }
}
