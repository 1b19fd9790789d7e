/**
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
