/**
 * Line splitting for log files and stdin: streamed, bounded, lenient about encoding.
 *
 * A log is untrusted input. A line may be gigabytes long (a broken writer, an attacker's 1 MB User-Agent), may
 * hold bytes that are not UTF-8, may end in CRLF, and the last one may lack its newline. None of that may stop a
 * replay or grow memory without bound, so every line is cut to a byte limit and decoded with replacement.
 */
import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';

/** One line of input. */
export interface Line {
  /** 1-based, counting every `\n` of the input (blank lines included), so errors can point at the file. */
  readonly lineNumber: number;
  /** The line without its `\n` / `\r\n`, decoded as UTF-8; invalid bytes become U+FFFD. */
  readonly text: string;
  /** Offset of the line's first byte in the stream. */
  readonly byteOffset: number;
  /** Length of the line in the input in bytes, without its line ending (the full length, even when truncated). */
  readonly byteLength: number;
  /** The line was longer than `maxLineBytes`: `text` holds its first `maxLineBytes` bytes only. */
  readonly truncated: boolean;
  /** The line held bytes that are not valid UTF-8 (replaced by U+FFFD in `text`). */
  readonly invalidUtf8: boolean;
}

export interface ReadLinesOptions {
  /** Longer lines are cut to this many bytes (on a character boundary) and flagged `truncated`. Default 64 KiB. */
  readonly maxLineBytes?: number;
}

export const READ_LINES_DEFAULTS = {
  maxLineBytes: 64 * 1024,
} as const;

const LF = 0x0a;
const CR = 0x0d;

/**
 * Split a byte stream into lines without reading it whole. Memory stays within about `maxLineBytes` plus one
 * chunk of the stream, whatever the input. A UTF-8 byte order mark at the start of the stream is dropped.
 *
 * @example
 * for await (const line of readLines(createReadStream('access.log'))) {
 *   if (line.text === '') continue;
 *   const result = parseLine('combined', line.text);
 * }
 */
export async function* readLines(stream: Readable, options: ReadLinesOptions = {}): AsyncIterable<Line> {
  const maxLineBytes = options.maxLineBytes ?? READ_LINES_DEFAULTS.maxLineBytes;
  if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 1) {
    throw new RangeError(`maxLineBytes must be a positive integer, got ${maxLineBytes}`);
  }
  // The current line's bytes, kept as views into the chunks they came from (no copy for lines within one chunk).
  let parts: Buffer[] = [];
  let keptBytes = 0;
  let lineBytes = 0;
  let lineStart = 0;
  let streamOffset = 0;
  let lineNumber = 0;

  // The last byte of the current line (before its `\n`): a `\r` there is part of the line ending, not of the line.
  let lastByte = -1;

  const emit = (): Line => {
    let bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts, keptBytes);
    let start = lineStart;
    let length = lineBytes > 0 && lastByte === CR ? lineBytes - 1 : lineBytes;
    // The CR was kept when the line fits the limit; it is dropped before the line is judged cut, so a line of
    // exactly maxLineBytes ending in CRLF is whole.
    if (bytes.length > length) bytes = bytes.subarray(0, length);
    const truncated = length > bytes.length;
    if (lineNumber === 0 && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
      // A UTF-8 byte order mark opens the stream: it is not part of the first line.
      bytes = bytes.subarray(3);
      start += 3;
      length -= 3;
    }
    if (truncated) bytes = bytes.subarray(0, characterBoundary(bytes));
    const line: Line = {
      lineNumber: ++lineNumber,
      text: bytes.toString('utf8'),
      byteOffset: start,
      byteLength: length,
      truncated,
      invalidUtf8: !isUtf8(bytes),
    };
    parts = [];
    keptBytes = 0;
    lineBytes = 0;
    lastByte = -1;
    return line;
  };

  for await (const data of stream) {
    const chunk = toBuffer(data);
    let position = 0;
    while (position <= chunk.length) {
      const newline = chunk.indexOf(LF, position);
      const end = newline === -1 ? chunk.length : newline;
      const size = end - position;
      if (size > 0) {
        const room = maxLineBytes - keptBytes;
        if (room > 0) {
          const take = Math.min(size, room);
          parts.push(chunk.subarray(position, position + take));
          keptBytes += take;
          // A trickle of tiny chunks (a slow pipe) would otherwise pile up one view per chunk.
          if (parts.length > 64) parts = [Buffer.concat(parts, keptBytes)];
        }
        lineBytes += size;
        lastByte = chunk[end - 1]!;
      }
      if (newline === -1) break;
      yield emit();
      position = newline + 1;
      lineStart = streamOffset + position;
    }
    streamOffset += chunk.length;
  }
  // A last line without its newline is still a line.
  if (lineBytes > 0) yield emit();
}

function toBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError('readLines needs a stream of bytes or strings');
}

/**
 * Length of `bytes` without a trailing incomplete UTF-8 sequence, so cutting a line inside a character does not
 * look like invalid input.
 */
export function characterBoundary(bytes: Buffer): number {
  const length = bytes.length;
  // Walk back over at most 3 continuation bytes (10xxxxxx) to the lead byte of the last sequence.
  let lead = length - 1;
  while (lead >= 0 && length - lead <= 3 && (bytes[lead]! & 0xc0) === 0x80) lead--;
  if (lead < 0) return length;
  const byte = bytes[lead]!;
  const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
  return length - lead < needed ? lead : length;
}
