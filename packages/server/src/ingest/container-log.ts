/**
 * Container log files: the access log of a server that runs in a container, as its runtime writes it to disk.
 *
 * - `cri` (containerd, CRI-O: `/var/log/containers/*.log`, `/var/log/pods/`): `TIME STREAM TAG CONTENT`, e.g.
 *   `2026-11-28T10:00:00.123456789Z stdout F 203.0.113.7 - - [...] "GET / HTTP/1.1" 200 ...`. The tag is `F` for a
 *   full line and `P` for a piece of a long line; the pieces of a line are `P` ... `P` `F`.
 * - `docker` (Docker's json-file driver): `{"log":"...\n","stream":"stdout","time":"..."}`; a `log` value without its
 *   trailing `\n` is a piece of a long line, continued in the next record of the stream.
 *
 * The runtime's wrapper is taken off and the line inside goes to the format's parser as the line of a plain log
 * would: the runtime's time is when the line was written, not when the request was made, so it is not used. Lines
 * written to `stderr` are the server's error log (nginx writes it there), not requests: like partial pieces, they
 * are neither events nor bad lines (`directive: true`), and both are counted (ContainerLineCounts).
 *
 * The wrapper is named by the user (`--container cri|docker`) rather than recognised per line: a plain JSON log may
 * have a `log` key, and a line of any format may begin with what looks like a time and `stdout`, so a guess could
 * misread a line of a plain log. The explicit option also makes a plain file read with it fail loudly, line by line.
 */

import { type LineParser, type LineResult, parseLineRecord } from './access-log.js';
import { characterBoundary, type Line, READ_LINES_DEFAULTS } from './lines.js';

export const CONTAINER_LOG_RUNTIMES = ['cri', 'docker'] as const;

export type ContainerLogRuntime = (typeof CONTAINER_LOG_RUNTIMES)[number];

export function isContainerLogRuntime(name: string): name is ContainerLogRuntime {
  return (CONTAINER_LOG_RUNTIMES as readonly string[]).includes(name);
}

/** What a line reader holds back when its input ends: the start of a line whose last piece never came. */
export interface HeldLine {
  /** The last piece read (the wrapped line as read): where the held line is reported and what its id comes from. */
  readonly line: Line;
  readonly result: LineResult;
}

/**
 * What a container log's reader read that is neither an event nor a bad line, so a summary can account for every
 * line: lines read = events + bad lines + stderr lines + pieces - lines joined from them (+ blank lines).
 */
export interface ContainerLineCounts {
  /** Lines of the stderr stream (the server's error log): skipped. */
  stderrLines: number;
  /** Pieces of long lines (CRI `P` ... `F`, Docker records without their `\n`) that were joined... */
  pieces: number;
  /** ... into this many lines. */
  joinedLines: number;
}

/**
 * Reads the lines of one stream (one file, standard input) in order. Keeps state: use one per stream.
 */
export interface LineReader {
  /** The result of the line that `line` completes, or `directive: true` when it completes none. */
  read(line: Line): LineResult;
  /** The input ended: the line whose pieces were read but whose last piece never came, if any. */
  end(): HeldLine | undefined;
  /**
   * The first piece (the object given to `read`) of the line whose last piece has not been read yet, if any: a
   * reader that can resume its input must resume there, so that the line is read whole again.
   */
  heldFrom(): Line | undefined;
}

export interface LineReaderOptions {
  /** The runtime whose wrapper each line has. Without it, the lines are those of a plain log. */
  readonly container?: ContainerLogRuntime | undefined;
  /** A line joined from pieces is cut to this many bytes and marked truncated. Default 64 KiB, as readLines. */
  readonly maxLineBytes?: number;
  /** Counts the reader adds to (one object may be shared by the readers of several streams). */
  readonly counts?: ContainerLineCounts;
}

/** Counts that are all zero. */
export function emptyContainerLineCounts(): ContainerLineCounts {
  return { stderrLines: 0, pieces: 0, joinedLines: 0 };
}

/**
 * The counts for a command's summary, each after a comma, the zero ones left out: `, 2 stderr lines skipped, 6 pieces
 * joined into 2 lines`, or '' (a plain log's summary is unchanged).
 */
export function containerLineCountsText(counts: ContainerLineCounts): string {
  let text = '';
  if (counts.stderrLines > 0) text += `, ${counts.stderrLines} stderr lines skipped`;
  if (counts.pieces > 0) text += `, ${counts.pieces} pieces joined into ${counts.joinedLines} lines`;
  return text;
}

/**
 * A reader of one stream's lines in a format, through a container runtime's wrapper when one is given.
 *
 * @example
 * const reader = createLineReader(createLineParser('combined'), { container: 'cri' });
 * for await (const line of readLines(createReadStream('/var/log/containers/ingress-nginx-controller-x.log'))) {
 *   const result = reader.read(line);
 *   if (!result.ok) report(line.lineNumber, result.reason);
 *   else if (!result.directive) ingest(result.event);
 * }
 * const held = reader.end();
 */
export function createLineReader(parser: LineParser, options: LineReaderOptions = {}): LineReader {
  if (options.container === undefined) {
    return { read: (line) => parseLineRecord(parser, line), end: () => undefined, heldFrom: () => undefined };
  }
  return new ContainerLineReader(
    parser,
    options.container,
    options.maxLineBytes ?? READ_LINES_DEFAULTS.maxLineBytes,
    options.counts ?? emptyContainerLineCounts(),
  );
}

const SKIPPED: LineResult = { ok: true, directive: true };

/** The content of one wrapped line, or why it is not one. */
type Unwrapped =
  | { readonly kind: 'content'; readonly line: Line; readonly partial: boolean }
  | { readonly kind: 'stderr' }
  | { readonly kind: 'bad'; readonly reason: string };

class ContainerLineReader implements LineReader {
  /** Pieces of the stdout line being joined; empty when no line is open. */
  private pieces: string[] = [];
  private keptBytes = 0;
  private totalBytes = 0;
  private truncated = false;
  private invalidUtf8 = false;
  private firstOffset = 0;
  private pieceCount = 0;
  private firstPiece: Line | undefined;
  private lastPiece: Line | undefined;

  constructor(
    private readonly parser: LineParser,
    private readonly runtime: ContainerLogRuntime,
    private readonly maxLineBytes: number,
    private readonly counts: ContainerLineCounts,
  ) {}

  read(line: Line): LineResult {
    const unwrapped = unwrap(this.runtime, line);
    if (unwrapped.kind === 'bad') {
      if (!line.truncated) return { ok: false, reason: unwrapped.reason };
      return {
        ok: false,
        reason: `line of ${line.byteLength} bytes was cut to the line length limit (${unwrapped.reason})`,
      };
    }
    if (unwrapped.kind === 'stderr') {
      this.counts.stderrLines++;
      return SKIPPED;
    }
    const content = unwrapped.line;
    if (unwrapped.partial) {
      this.add(content, line);
      return SKIPPED;
    }
    if (this.lastPiece === undefined) return this.parse(content);
    this.add(content, line);
    return this.parse(this.take(line));
  }

  heldFrom(): Line | undefined {
    return this.firstPiece;
  }

  end(): HeldLine | undefined {
    const last = this.lastPiece;
    if (last === undefined) return undefined;
    return { line: last, result: this.parse(this.take(last)) };
  }

  /** Blank lines of a plain log are skipped by its readers; the same holds for blank content. */
  private parse(content: Line): LineResult {
    return content.text.trim() === '' ? SKIPPED : parseLineRecord(this.parser, content);
  }

  private add(content: Line, wrapped: Line): void {
    if (this.lastPiece === undefined) {
      this.firstOffset = content.byteOffset;
      this.firstPiece = wrapped;
    }
    this.lastPiece = wrapped;
    this.pieceCount++;
    this.totalBytes += content.byteLength;
    this.truncated ||= content.truncated;
    this.invalidUtf8 ||= content.invalidUtf8;
    const room = this.maxLineBytes - this.keptBytes;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const bytes = Buffer.byteLength(content.text);
    if (bytes <= room) {
      this.pieces.push(content.text);
      this.keptBytes += bytes;
      return;
    }
    const cut = Buffer.from(content.text).subarray(0, room);
    this.pieces.push(cut.subarray(0, characterBoundary(cut)).toString('utf8'));
    this.keptBytes = this.maxLineBytes;
    this.truncated = true;
  }

  /** The joined line, numbered as its last piece; the reader is then empty again. */
  private take(last: Line): Line {
    const joined: Line = {
      lineNumber: last.lineNumber,
      text: this.pieces.join(''),
      byteOffset: this.firstOffset,
      byteLength: this.totalBytes,
      truncated: this.truncated,
      invalidUtf8: this.invalidUtf8,
    };
    this.counts.pieces += this.pieceCount;
    this.counts.joinedLines++;
    this.pieces = [];
    this.keptBytes = 0;
    this.totalBytes = 0;
    this.truncated = false;
    this.invalidUtf8 = false;
    this.pieceCount = 0;
    this.firstPiece = undefined;
    this.lastPiece = undefined;
    return joined;
  }
}

function unwrap(runtime: ContainerLogRuntime, line: Line): Unwrapped {
  return runtime === 'cri' ? unwrapCri(line) : unwrapDocker(line);
}

/**
 * The content of a wrapped line of the stdout stream that is a whole line (not a piece), or undefined: how a
 * resumed reader finds a W3C log's `#Fields:` lines among the lines before its offset.
 */
export function wholeLineContent(runtime: ContainerLogRuntime, line: Line): string | undefined {
  const unwrapped = unwrap(runtime, line);
  return unwrapped.kind === 'content' && !unwrapped.partial ? unwrapped.line.text : undefined;
}

/** `2026-11-28T10:00:00.123456789Z`, or with an offset: the shape of the time, not its validity (it is not used). */
const CRI_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[^ ]*$/;
const CRI_FORMAT = 'expected TIME STREAM TAG CONTENT, e.g. 2026-11-28T10:00:00.123456789Z stdout F ...';

/**
 * One line of a CRI container log (the kubelet's format): `TIME STREAM TAG CONTENT`, where TAG is `F` or `P`,
 * possibly followed by `:`-separated tags of a later version of the format. A reason never quotes the line.
 */
function unwrapCri(line: Line): Unwrapped {
  const text = line.text;
  const timeEnd = text.indexOf(' ');
  if (timeEnd <= 0 || !CRI_TIME.test(text.slice(0, timeEnd))) {
    return { kind: 'bad', reason: `not a CRI container log line: no time at the start (${CRI_FORMAT})` };
  }
  const streamEnd = text.indexOf(' ', timeEnd + 1);
  const stream = streamEnd === -1 ? text.slice(timeEnd + 1) : text.slice(timeEnd + 1, streamEnd);
  if (stream !== 'stdout' && stream !== 'stderr') {
    return {
      kind: 'bad',
      reason: `not a CRI container log line: no stream (stdout or stderr) after the time (${CRI_FORMAT})`,
    };
  }
  const tagEnd = streamEnd === -1 ? -1 : text.indexOf(' ', streamEnd + 1);
  const tags = streamEnd === -1 ? '' : tagEnd === -1 ? text.slice(streamEnd + 1) : text.slice(streamEnd + 1, tagEnd);
  const tag = tags.split(':', 1)[0];
  if (tag !== 'F' && tag !== 'P') {
    return { kind: 'bad', reason: `not a CRI container log line: no tag (F or P) after the stream (${CRI_FORMAT})` };
  }
  if (stream === 'stderr') return { kind: 'stderr' };
  // The prefix is ASCII, so its length in characters is its length in bytes.
  const prefix = tagEnd === -1 ? text.length : tagEnd + 1;
  const content: Line = {
    lineNumber: line.lineNumber,
    text: text.slice(prefix),
    byteOffset: line.byteOffset + prefix,
    byteLength: Math.max(0, line.byteLength - prefix),
    truncated: line.truncated,
    invalidUtf8: line.invalidUtf8,
  };
  return { kind: 'content', line: content, partial: tag === 'P' };
}

const DOCKER_FORMAT = 'expected a json-file record such as {"log":"...\\n","stream":"stdout","time":"..."}';

/**
 * One record of Docker's json-file log driver. `log` is what the container wrote, with its `\n` when the line ended
 * there; a record without one is a piece of a line continued in the next record of the stream.
 */
function unwrapDocker(line: Line): Unwrapped {
  let record: unknown;
  try {
    record = JSON.parse(line.text);
  } catch {
    return { kind: 'bad', reason: `not a Docker json-file record: not JSON (${DOCKER_FORMAT})` };
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    return { kind: 'bad', reason: `not a Docker json-file record: not a JSON object (${DOCKER_FORMAT})` };
  }
  const { log, stream } = record as { log?: unknown; stream?: unknown };
  if (typeof log !== 'string') {
    return { kind: 'bad', reason: `not a Docker json-file record: no "log" string (${DOCKER_FORMAT})` };
  }
  if (stream === 'stderr') return { kind: 'stderr' };
  const partial = !log.endsWith('\n');
  const text = partial ? log : log.slice(0, log.endsWith('\r\n') ? -2 : -1);
  const content: Line = {
    lineNumber: line.lineNumber,
    text,
    byteOffset: line.byteOffset,
    byteLength: Buffer.byteLength(text),
    truncated: false,
    invalidUtf8: line.invalidUtf8,
  };
  return { kind: 'content', line: content, partial };
}
