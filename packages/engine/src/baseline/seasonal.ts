/**
 * Seasonality: a metric is learned three times, for any time, per hour of day, and per hour of day on weekdays
 * or weekends, and compared with the most specific of these that has enough samples. Monday 09:00 is thus
 * compared with weekday mornings, Sunday 03:00 with weekend nights, and a new endpoint with its overall level
 * until the slots fill.
 */
import { LEARNING_BOUNDS } from './options.js';
import {
  learnPacked,
  type RobustStat,
  readPacked,
  STAT_DEFAULTS,
  STAT_WIDTH,
  type StatKind,
  sigmaOf,
} from './robust.js';

const HOURS = 24;
/** Slot 0: any time; 1..24: hour of day; 25..72: weekday hours, then weekend hours. */
const SLOTS = 1 + HOURS + 2 * HOURS;

export interface SlotTime {
  readonly hour: number;
  readonly weekend: boolean;
  /** Local days since 1970-01-01: what a slot learns is bounded per day (see `SeasonalStat.learn`). */
  readonly day: number;
}

const HOUR_MILLIS = 3_600_000;
const DAY_MILLIS = 86_400_000;

/** Whether `name` is a time zone the runtime knows (IANA: `Europe/Berlin`). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * Local time's offset from UTC at a moment, in minutes: a fixed one, or an IANA zone's (daylight saving time
 * included). A zone's offset is asked of `Intl` once per quarter hour of time (offsets change on those) and kept.
 */
export function localOffset(timeZone: string, fixedMinutes: number): (timeMillis: number) => number {
  if (timeZone === '') return () => fixedMinutes;
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  });
  const QUARTER = 900_000;
  let cachedQuarter = Number.NaN;
  let cached = 0;
  return (timeMillis) => {
    const quarter = Math.floor(timeMillis / QUARTER);
    if (quarter === cachedQuarter) return cached;
    const at = quarter * QUARTER;
    const part: Record<string, number> = {};
    for (const p of format.formatToParts(at)) if (p.type !== 'literal') part[p.type] = Number(p.value);
    const local = Date.UTC(part.year!, part.month! - 1, part.day!, part.hour!, part.minute!);
    cachedQuarter = quarter;
    cached = Math.round((local - at) / 60_000);
    return cached;
  };
}

export function slotTime(timeMillis: number, offsetMinutes: number): SlotTime {
  const local = timeMillis + offsetMinutes * 60_000;
  const days = Math.floor(local / DAY_MILLIS);
  // 1970-01-01 was a Thursday (day 4, with Sunday = 0).
  const weekday = (((days + 4) % 7) + 7) % 7;
  return {
    hour: Math.floor((local - days * DAY_MILLIS) / HOUR_MILLIS),
    weekend: weekday === 0 || weekday === 6,
    day: days,
  };
}

export interface SeasonalExpectation {
  readonly stat: RobustStat;
  /** Words for the slot used: "weekdays 14:00", "14:00", "any time". */
  readonly slot: string;
}

/**
 * Per slot, what its learning is bounded by today: the local day, and the bound (`growthBound`) of the slot as that
 * day began, NaN if it had not warmed up by then. Single precision: a bound needs no more, and an endpoint holds 730.
 */
const DAY_START_WIDTH = 2;

export class SeasonalStat {
  readonly data: Float64Array;
  private readonly dayStart: Float32Array;

  constructor(
    readonly kind: StatKind,
    /** Absolute floor of the deviation, in the metric's unit (see `sigmaOf`). */
    readonly minSigma = 0,
  ) {
    this.data = new Float64Array(SLOTS * STAT_WIDTH);
    this.dayStart = new Float32Array(SLOTS * DAY_START_WIDTH).fill(Number.NaN);
  }

  /**
   * Load saved slots. A slot that is not finite (saved before non-finite values were refused; JSON writes NaN as
   * null) starts over, empty: it could never recover, and would alert on every value.
   */
  load(data: ArrayLike<number | null>): void {
    const values = Array.from(data);
    for (let at = 0; at < this.data.length && at < values.length; at += STAT_WIDTH) {
      const slot = values.slice(at, at + STAT_WIDTH);
      if (slot.every((x) => typeof x === 'number' && Number.isFinite(x))) this.data.set(slot as number[], at);
    }
    // Snapshots from before learning was bounded per day have no day starts: each slot takes its own with the next
    // value it learns.
    const days = values.slice(this.data.length, this.data.length + this.dayStart.length);
    for (let at = 0; at < days.length; at += DAY_START_WIDTH) {
      const [day, bound] = days.slice(at, at + DAY_START_WIDTH);
      if (typeof day !== 'number' || !Number.isFinite(day)) continue;
      this.dayStart[at] = day;
      this.dayStart[at + 1] = typeof bound === 'number' ? bound : Number.NaN;
    }
  }

  /**
   * Learn a value into the any-time, hour and weekday/weekend-hour slots of `at`, each at most at its bound for the
   * day (see `growthBound`).
   */
  learn(at: SlotTime, value: number): void {
    const week = 1 + HOURS + (at.weekend ? HOURS : 0) + at.hour;
    const hour = 1 + at.hour;
    this.startDay(0, at.day);
    this.startDay(hour, at.day);
    this.startDay(week, at.day);
    const any = this.growthBound(0);
    const hourly = this.growthBound(hour) ?? any;
    this.learnSlot(0, value, any);
    this.learnSlot(hour, value, hourly);
    this.learnSlot(week, value, this.growthBound(week) ?? hourly);
  }

  /**
   * Note the slot's bound for `day` before its first value of the day: the most it learns of a value that day is
   * `LEARNING_BOUNDS.endpointDailyGrowth` times its centre, or its centre plus 2 of its deviations, or plus 4 of its
   * smallest deviations (a sparse endpoint's centre is near 0), whichever is more. A bound for the day, not the
   * band it is learned in: values kept at the edge of the band widen it as they are learned, and the limit with it.
   */
  private startDay(slot: number, day: number): void {
    const at = slot * DAY_START_WIDTH;
    if (this.dayStart[at] === day) return;
    const stat = readPacked(this.data, slot * STAT_WIDTH);
    this.dayStart[at] = day;
    if (stat.n < STAT_DEFAULTS.warmup) {
      this.dayStart[at + 1] = Number.NaN;
      return;
    }
    const { kind, minSigma } = this;
    const c = stat.center;
    this.dayStart[at + 1] = Math.max(
      LEARNING_BOUNDS.endpointDailyGrowth * c,
      c + 2 * sigmaOf(stat, kind, minSigma),
      c + STAT_DEFAULTS.clipSigmas * sigmaOf({ n: stat.n, center: c, spread: 0 }, kind, minSigma),
    );
  }

  /**
   * The slot's bound for the day (see `startDay`); undefined when the slot had not warmed up as the day began. The
   * slot then takes the bound of the broader one it refines, so that a slot that fills today cannot be taught more
   * than the one it takes over from.
   */
  private growthBound(slot: number): number | undefined {
    const bound = this.dayStart[slot * DAY_START_WIDTH + 1]!;
    return Number.isNaN(bound) ? undefined : bound;
  }

  private learnSlot(slot: number, value: number, bound: number | undefined): void {
    learnPacked(
      this.data,
      slot * STAT_WIDTH,
      bound === undefined ? value : Math.min(value, bound),
      this.kind,
      this.minSigma,
    );
  }

  /** The most specific slot with at least `minSamples` values, or undefined while none has. */
  expected(at: SlotTime, minSamples: number): SeasonalExpectation | undefined {
    const hh = `${String(at.hour).padStart(2, '0')}:00`;
    const week = readPacked(this.data, (1 + HOURS + (at.weekend ? HOURS : 0) + at.hour) * STAT_WIDTH);
    if (week.n >= minSamples) return { stat: week, slot: `${at.weekend ? 'weekends' : 'weekdays'} ${hh}` };
    const hour = readPacked(this.data, (1 + at.hour) * STAT_WIDTH);
    if (hour.n >= minSamples) return { stat: hour, slot: hh };
    const any = readPacked(this.data, 0);
    // The overall level stands in for a slot only once it has seen a full day.
    if (any.n >= minSamples * HOURS) return { stat: any, slot: 'any time' };
    return undefined;
  }

  /** Per-slot view for charts. */
  slots(): { hour: number | null; weekend: boolean | null; stat: RobustStat }[] {
    const out: { hour: number | null; weekend: boolean | null; stat: RobustStat }[] = [];
    out.push({ hour: null, weekend: null, stat: readPacked(this.data, 0) });
    for (let h = 0; h < HOURS; h++)
      out.push({ hour: h, weekend: null, stat: readPacked(this.data, (1 + h) * STAT_WIDTH) });
    for (const weekend of [false, true]) {
      for (let h = 0; h < HOURS; h++) {
        const at = (1 + HOURS + (weekend ? HOURS : 0) + h) * STAT_WIDTH;
        out.push({ hour: h, weekend, stat: readPacked(this.data, at) });
      }
    }
    return out;
  }

  /** The slots (n, centre, spread each), then per slot its day and its bound for that day (see `dayStart`). */
  toJSON(): number[] {
    // Full precision: JSON round-trips doubles exactly, so a restored baseline decides exactly as the live one. A
    // slot that never learned has a NaN day, which JSON writes as null and `load` skips.
    return [...this.data, ...this.dayStart];
  }
}
