/**
 * Stable identity of an application error without its message: the message may hold user input, secrets or PII,
 * and it varies between occurrences of the same fault ("user 4711 not found"), so it is never read. The class name
 * and the stack frames (function and file:line, made relative to the working directory) identify the fault.
 */
import { createHash } from 'node:crypto';
import { HASH_HEX_LENGTH } from './defaults.js';
import { errorClassName } from './redact.js';

const MAX_FRAMES = 20;
const FRAME = /^\s*at\s+/;
/** `:line:column` at the end of a location; the column changes with minification and adds nothing. */
const COLUMN = /:(\d+):\d+(\)?)$/;

/** Truncated SHA-256, hex. */
export function shortHash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, HASH_HEX_LENGTH);
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
