/**
 * Time zones for logs whose times carry no offset (HAProxy's accept date is the local time of the proxy's host):
 * `UTC`, a fixed offset (`+01:00`, `-0500`), or an IANA zone name (`Europe/Paris`) with its daylight-saving rules,
 * through the ICU data Node.js ships with.
 */
import { isTimeZone, localOffset } from '@vigil/engine';

/** A zone that turns a wall-clock time into an instant. */
export interface TimeZone {
  /** The zone as it was given, for messages. */
  readonly name: string;
  /**
   * Epoch milliseconds of a wall-clock time in this zone. `wallMillis` is that wall-clock time read as if it were
   * UTC (`Date.UTC(year, month, day, ...)`).
   */
  toEpochMillis(wallMillis: number): number;
}

const OFFSET = /^([+-])(\d{2}):?(\d{2})$/;

/**
 * Read a time zone: `UTC` (or `Z`), an offset `±hh:mm` / `±hhmm`, or an IANA name. Undefined when it is none of
 * them.
 *
 * @example
 * parseTimeZone('Europe/Paris')?.toEpochMillis(Date.UTC(2026, 6, 1, 12, 0)); // Date.UTC(2026, 6, 1, 10, 0)
 */
export function parseTimeZone(text: string): TimeZone | undefined {
  if (text === 'UTC' || text === 'Z') return fixedOffset(text, 0);
  const offset = OFFSET.exec(text);
  if (offset !== null) {
    const hours = Number(offset[2]);
    const minutes = Number(offset[3]);
    if (hours > 23 || minutes > 59) return undefined;
    return fixedOffset(text, (offset[1] === '-' ? -1 : 1) * (hours * 60 + minutes) * 60_000);
  }
  // Only names in the runtime's zone database (which has a few legacy ones such as `CET`); anything else, an offset
  // without its minutes (`+01`) included, is refused rather than guessed at.
  if (!/^[A-Za-z][A-Za-z0-9_+/-]*$/.test(text) || !isTimeZone(text)) return undefined;
  return new NamedZone(text, localOffset(text, 0));
}

function fixedOffset(name: string, offsetMillis: number): TimeZone {
  return { name, toEpochMillis: (wallMillis) => wallMillis - offsetMillis };
}

const HOUR_MILLIS = 3_600_000;

class NamedZone implements TimeZone {
  // Log lines mostly share their minute, and zones change their offset on whole minutes: remember the last one.
  private lastMinute = Number.NaN;
  private lastOffsetMillis = 0;

  constructor(
    readonly name: string,
    /** The zone's offset from UTC at an instant, in minutes (the baselines' seasonality reads zones the same way). */
    private readonly offsetMinutesAt: (epochMillis: number) => number,
  ) {}

  toEpochMillis(wallMillis: number): number {
    const minute = Math.floor(wallMillis / 60_000);
    if (minute !== this.lastMinute) {
      this.lastOffsetMillis = this.offsetOfWallTime(minute * 60_000);
      this.lastMinute = minute;
    }
    return wallMillis - this.lastOffsetMillis;
  }

  /**
   * The offset that applies to a wall-clock time. Around a change the two offsets in force half a day before and
   * after are the candidates: a wall time is read with the one under which it exists. A time that exists under both
   * (the hour repeated when clocks go back) is read as its first occurrence; one that exists under neither (the hour
   * skipped when they go forward, which a clock never shows) with the offset from before the change.
   */
  private offsetOfWallTime(wallMillis: number): number {
    const offsetAt = (epochMillis: number) => this.offsetMinutesAt(epochMillis) * 60_000;
    const before = offsetAt(wallMillis - 12 * HOUR_MILLIS);
    const after = offsetAt(wallMillis + 12 * HOUR_MILLIS);
    if (before === after) return before;
    const valid = [before, after].filter((offset) => offsetAt(wallMillis - offset) === offset);
    // The larger offset gives the earlier instant.
    return valid.length === 0 ? before : Math.max(...valid);
  }
}
