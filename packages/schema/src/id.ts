/**
 * Event ids: UUID version 7 (RFC 9562), a millisecond timestamp followed by random bits. Ids made in time order
 * land at the end of the store's id index instead of at random pages of it, which keeps each commit small.
 */

/**
 * A new UUIDv7 for the time `now` (epoch ms).
 *
 * @example
 * uuidv7(); // '019ac1f2-3b4c-7d8e-9f01-23456789abcd'
 */
export function uuidv7(now: number = Date.now()): string {
  // A v4 UUID supplies the random bits and the variant; the first 48 bits become the time, the version becomes 7.
  const random = globalThis.crypto.randomUUID();
  const time = Math.max(0, Math.floor(now)).toString(16).padStart(12, '0').slice(-12);
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15)}`;
}
