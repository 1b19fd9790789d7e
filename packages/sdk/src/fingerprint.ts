/**
 * Stable identity of an application error without its message: the message may hold user input, secrets or PII,
 * and it varies between occurrences of the same fault ("user 4711 not found"), so it is never read. The class name
 * and the stack frames (function and file:line, made relative to the working directory) identify the fault.
 */
import { createHash, createHmac } from 'node:crypto';
import { HASH_HEX_LENGTH } from './defaults.js';
import { errorClassName } from './redact.js';

const MAX_FRAMES = 20;
const FRAME = /^\s*at\s+/;
/** `:line:column` at the end of a location; the column changes with minification and adds nothing. */
const COLUMN = /:(\d+):\d+(\)?)$/;

/** Truncated SHA-256, hex. For values that are not secrets (an error's class and stack frames). */
export function shortHash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, HASH_HEX_LENGTH);
}

/** Pseudonymises an id: the same id gives the same hash, and the hash does not give the id back. */
export type IdHash = (id: string) => string;

/**
 * Ids sent hashed (session cookies, `hashObjectIds`, the user name of a login for an account that does not exist)
 * are mostly guessable: order numbers count up, a mistyped user name is often a password from a short list. An
 * unkeyed hash of those is reversed by hashing the guesses. So they are hashed with a key (HMAC-SHA256, truncated):
 * whoever reads the events cannot test guesses without it. Without a key (stdout mode with no `hashKey`), the plain
 * SHA-256 is all there is.
 */
export function idHasher(key: string | undefined): IdHash {
  if (key === undefined) return shortHash;
  // The HMAC key is derived from the configured one, so that it is never the ingest token itself.
  const derived = createHash('sha256').update('vigil id hash\0').update(key).digest();
  return (id) => createHmac('sha256', derived).update(id).digest('hex').slice(0, HASH_HEX_LENGTH);
}

/**
 * @example
 * errorFingerprint(new TypeError('x is undefined')) === errorFingerprint(new TypeError('y is undefined')) // same site
 */
export function errorFingerprint(error: unknown): string {
  const type = errorClassName(error);
  const stack = error instanceof Error && typeof error.stack === 'string' ? error.stack : '';
  const cwd = safeCwd();
  const frames: string[] = [];
  for (const line of stack.split('\n')) {
    // The first lines are "Name: message" (possibly several lines of message); only frames count.
    if (!FRAME.test(line)) continue;
    let frame = line.replace(FRAME, '').replace(COLUMN, ':$1$2').replace('file://', '');
    if (cwd) frame = frame.split(cwd).join('.');
    frames.push(frame);
    if (frames.length >= MAX_FRAMES) break;
  }
  return shortHash(`${type}\n${frames.join('\n')}`);
}

function safeCwd(): string | undefined {
  try {
    return process.cwd();
  } catch {
    return undefined;
  }
}
