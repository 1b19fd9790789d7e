/**
 * What stamps each event: its id and its time.
 *
 * Event ids: UUID version 7 (RFC 9562), a millisecond timestamp followed by random bits. Ids made in time order
 * land at the end of the store's id index instead of at random pages of it, which keeps each commit small.
 *
 * The SDK makes one id per request on the app's own thread, so this is written for speed: the time part is
 * formatted once per millisecond, and the 74 random bits come from a pool refilled 8 KiB at a time from the CSPRNG,
 * each byte turned into hex by table (about a third of the cost of slicing a `randomUUID()`).
 */
import { randomFillSync } from 'node:crypto';

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const pool = Buffer.alloc(8192);
let poolOffset = pool.length;
let prefixMillis = Number.NaN;
let prefix = '';

/**
 * A new UUIDv7 for the time `now` (epoch ms).
 *
 * @example
 * uuidv7(); // '019ac1f2-3b4c-7d8e-9f01-23456789abcd'
 */
export function uuidv7(now: number = Date.now()): string {
  const millis = Math.max(0, Math.floor(now));
  if (millis !== prefixMillis) {
    prefixMillis = millis;
    const time = millis.toString(16).padStart(12, '0').slice(-12);
    prefix = `${time.slice(0, 8)}-${time.slice(8, 12)}-7`;
  }
  if (poolOffset + 10 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const p = pool;
  const i = poolOffset;
  poolOffset += 10;
  // 12 random bits after the version nibble, the variant (10xx) and 14 more, then 48.
  return (
    `${prefix}${HEX[p[i]! & 0x0f]!.slice(1)}${HEX[p[i + 1]!]}-${HEX[(p[i + 2]! & 0x3f) | 0x80]}${HEX[p[i + 3]!]}-` +
    `${HEX[p[i + 4]!]}${HEX[p[i + 5]!]}${HEX[p[i + 6]!]}${HEX[p[i + 7]!]}${HEX[p[i + 8]!]}${HEX[p[i + 9]!]}`
  );
}

/** `000Z` to `999Z`: the end of an RFC 3339 time, by its milliseconds. */
const MILLIS_Z: readonly string[] = Array.from({ length: 1000 }, (_, i) => `${String(i).padStart(3, '0')}Z`);
/** The largest time a Date holds, either side of 1970 (ECMA-262, 21.4.1.1). */
const MAX_TIME = 8.64e15;
let isoSecond = Number.NaN;
let isoSecondText = '';
let isoMillis = Number.NaN;
let isoText = '';

/**
 * The time `now` (epoch ms) in RFC 3339 with milliseconds, as `Date.prototype.toISOString` writes it. The SDK stamps
 * every event on the app's thread and the collector writes every event it stores, and `toISOString` costs a
 * microsecond or more: the text up to the second is made once per second, and each millisecond adds its last four
 * characters from a table; the last time written is given again as it is, since events come many to a millisecond
 * under load. A time a Date cannot hold is a RangeError, as from `toISOString`.
 *
 * @example
 * isoTime(Date.UTC(2026, 10, 26, 12, 0, 0, 7)); // '2026-11-26T12:00:00.007Z'
 */
export function isoTime(now: number): string {
  const millis = Math.trunc(now); // as a Date takes its time value
  if (millis === isoMillis) return isoText;
  if (!(Math.abs(millis) <= MAX_TIME)) throw new RangeError(`Invalid time value: ${now}`);
  const second = Math.floor(millis / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoSecondText = new Date(second * 1000).toISOString().slice(0, -4); // without `000Z`
  }
  isoMillis = millis;
  isoText = isoSecondText + MILLIS_Z[millis - second * 1000];
  return isoText;
}
