/**
 * Seasonality: a metric is learned three times, for any time, per hour of day, and per hour of day on weekdays
 * or weekends, and compared with the most specific of these that has enough samples. Monday 09:00 is thus
 * compared with weekday mornings, Sunday 03:00 with weekend nights, and a new endpoint with its overall level
 * until the slots fill.
 */
import { learnPacked, type RobustStat, readPacked, STAT_WIDTH, type StatKind } from './robust.js';

const HOURS = 24;
/** Slot 0: any time; 1..24: hour of day; 25..72: weekday hours, then weekend hours. */
const SLOTS = 1 + HOURS + 2 * HOURS;

export interface SlotTime {
  readonly hour: number;
  readonly weekend: boolean;
}

const HOUR_MILLIS = 3_600_000;
const DAY_MILLIS = 86_400_000;

/**
 * Local time's offset from UTC at a moment, in minutes: a fixed one, or an IANA zone's (daylight saving time
 * included). A zone's offset is asked of `Intl` once per quarter hour of time (offsets change on those) and kept.
 */
/** Whether `name` is a time zone the runtime knows (IANA: `Europe/Berlin`). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

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
  return { hour: Math.floor((local - days * DAY_MILLIS) / HOUR_MILLIS), weekend: weekday === 0 || weekday === 6 };
}

export interface SeasonalExpectation {
  readonly stat: RobustStat;
  /** Words for the slot used: "weekdays 14:00", "14:00", "any time". */
  readonly slot: string;
}

export class SeasonalStat {
  readonly data: Float64Array;

  constructor(
    readonly kind: StatKind,
    /** Absolute floor of the deviation, in the metric's unit (see `sigmaOf`). */
    readonly minSigma = 0,
  ) {
    this.data = new Float64Array(SLOTS * STAT_WIDTH);
  }

  /**
   * Load saved slots. A slot that is not finite (saved before non-finite values were refused; JSON writes NaN as
   * null) starts over, empty: it could never recover, and would alert on every value.
   */
  load(data: ArrayLike<number | null>): void {
    const values = Array.from(data).slice(0, this.data.length);
    for (let at = 0; at < values.length; at += STAT_WIDTH) {
      const slot = values.slice(at, at + STAT_WIDTH);
      if (slot.every((x) => typeof x === 'number' && Number.isFinite(x))) this.data.set(slot as number[], at);
    }
  }

  learn(at: SlotTime, value: number): void {
    const { kind, minSigma } = this;
    learnPacked(this.data, 0, value, kind, minSigma);
    learnPacked(this.data, (1 + at.hour) * STAT_WIDTH, value, kind, minSigma);
    learnPacked(this.data, (1 + HOURS + (at.weekend ? HOURS : 0) + at.hour) * STAT_WIDTH, value, kind, minSigma);
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

  toJSON(): number[] {
    // Full precision: JSON round-trips doubles exactly, so a restored baseline decides exactly as the live one.
    return Array.from(this.data);
  }
}
