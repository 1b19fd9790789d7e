/**
 * Following a log file the way `tail -F` does, with delivery guarantees: every complete line is handed to a sink in
 * batches, and the offset moves (in memory and in the state file) only after the sink resolved, that is after the
 * server acknowledged the batch. Together with event ids derived from the line, this gives no gaps (nothing is
 * skipped that was not acknowledged) and no duplicates (a batch re-sent after a crash or a failed answer is skipped
 * by the server).
 *
 * The file is polled with `stat` (every 250 ms by default), not watched: inotify misses renames on some file
 * systems and does not exist on network mounts. Handled cases:
 * - growth: new complete lines are read; a last line without its newline yet is waited for;
 * - rename rotation (logrotate `create`, nginx USR1, Docker's json-file driver): a new file (another inode) takes
 *   the path. The old file is read to its end first (the writer may still be appending until it reopens), then the
 *   new one from byte 0;
 * - copytruncate: the file shrinks below the offset; reading restarts at 0;
 * - restart: the state file gives the inode and the offset. When another file holds the path by then (rotated while
 *   stopped), the old one is looked for by inode next to it (`access.log.1`) and finished first. A sink that asks for
 *   header lines (W3C `#Fields:`) gets those before the offset first.
 *
 * A sink may hold the first pieces of a line whose last piece has not been read (a container log's long line): the
 * committed offset then stays before its first piece, also across a rotation, so a restart reads the line whole.
 */

import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { type FileHandle, open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { FileIdentity, FollowState, FollowStateStore } from './follow-state.js';
import { isGzip } from './gzip-input.js';
import { characterBoundary, type Line, readLines } from './lines.js';

/** A complete line of a followed file. */
export interface FollowedLine extends Line {
  /** Offset just past the line and its newline: where reading resumes once the line is acknowledged. */
  readonly endOffset: number;
}

/** Lines of one file, in order, handed to the sink at once. */
export interface LineBatch {
  /** The followed path, absolute: the stable key of the log. */
  readonly source: string;
  /** The file the lines come from (after a rotation, not the one that has the path now). */
  readonly file?: FileIdentity;
  readonly lines: readonly FollowedLine[];
  /**
   * The input ends after these lines (a file read once to its end, standard input closed): a sink that holds the
   * start of a line whose last piece never came (a container log's partial line) delivers what it has.
   */
  readonly end?: boolean;
}

/** Where lines go. `deliver` resolves once the lines are durable at the receiver, and may be called again with the same batch. */
export interface LineSink {
  deliver(batch: LineBatch, attempt: number, signal: AbortSignal): Promise<void>;
  /**
   * For logs whose header lines say how the lines after them read (W3C `#Fields:` directives start with `#`): the
   * header line a line of the file holds (the line itself, or the line inside a container runtime's wrapper), or
   * undefined. A follower that resumes a file past its start (a restart) first hands `replayHeader` the header lines
   * before the offset, since they were read by an earlier run.
   */
  readonly headerLine?: ((line: Line) => string | undefined) | undefined;
  replayHeader?(source: string, lines: readonly string[]): void;
  /**
   * The first piece (a line of a batch delivered earlier) of the line of `source` whose last piece has not come yet,
   * if the sink holds one (a container log's long line). The follower commits no offset past it, so a restart reads
   * the whole line again. A follower that reads a file once to its end without a state then delivers an empty batch
   * marked `end`, and the sink sends what it has of the line.
   */
  heldLine?(source: string): Line | undefined;
}

/** A failed delivery. Retryable ones (network errors, 5xx, 429) are retried with backoff; others stop the follower. */
export class SendError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMillis?: number,
  ) {
    super(message);
    this.name = 'SendError';
  }
}

/** Time, injectable so tests need not wait for real polls and backoffs. */
export interface FollowClock {
  now(): number;
  /** Resolve after `millis`, or as soon as `signal` aborts. */
  sleep(millis: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: FollowClock = {
  now: () => Date.now(),
  sleep: (millis, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, millis);
      signal.addEventListener('abort', done, { once: true });
    }),
};

export interface RetryOptions {
  /** First delay after a failed delivery; doubles per attempt. Default 250 ms. */
  readonly baseMillis?: number;
  /** Longest delay between two attempts. Default 30 s. */
  readonly maxMillis?: number;
  /** Attempts before giving up (the error is thrown). Default unlimited: a follower waits for the server. */
  readonly maxAttempts?: number;
}

export const FOLLOW_DEFAULTS = {
  pollIntervalMillis: 250,
  maxBatchLines: 500,
  maxBatchBytes: 1024 * 1024,
  maxLineBytes: 64 * 1024,
  readChunkBytes: 64 * 1024,
  /** After a rotation, how long the old file must stay still before it is left when the new one is still empty. */
  rotationGraceMillis: 2000,
  retryBaseMillis: 250,
  retryMaxMillis: 30_000,
} as const;

/**
 * Hand `batch` to `sink` until it is acknowledged, with exponential backoff (jittered, capped) between attempts.
 * Returns false when `signal` aborted first; throws a non-retryable SendError, or the last one after `maxAttempts`.
 */
export async function deliverWithRetry(
  sink: LineSink,
  batch: LineBatch,
  signal: AbortSignal,
  options: RetryOptions & { clock?: FollowClock; onRetry?: (error: SendError, attempt: number, delay: number) => void },
): Promise<boolean> {
  const clock = options.clock ?? systemClock;
  const base = options.baseMillis ?? FOLLOW_DEFAULTS.retryBaseMillis;
  const max = options.maxMillis ?? FOLLOW_DEFAULTS.retryMaxMillis;
  const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) return false;
    try {
      await sink.deliver(batch, attempt, signal);
      return true;
    } catch (error) {
      if (signal.aborted) return false;
      if (!(error instanceof SendError) || !error.retryable || attempt >= maxAttempts) throw error;
      const exponential = Math.min(max, base * 2 ** Math.min(attempt - 1, 30));
      // ±20 % jitter, so that many shippers that lost the same server do not come back in lockstep.
      const delay = Math.min(
        max,
        Math.max(error.retryAfterMillis ?? 0, Math.round(exponential * (0.8 + 0.4 * Math.random()))),
      );
      options.onRetry?.(error, attempt, delay);
      await clock.sleep(delay, signal);
    }
  }
}

/**
 * A stable event id for a line: the log's key, the file's inode, the line's byte offset and its text. Re-reading the
 * same line (after a restart, a retry) gives the same id, which the server stores once.
 */
export function lineEventId(source: string, file: FileIdentity | undefined, line: Line): string {
  return createHash('sha256')
    .update(`${source}\n${file ? `${file.dev}:${file.ino}` : '-'}\n${line.byteOffset}\n${line.text}`)
    .digest('hex')
    .slice(0, 32);
}

export interface FollowerOptions {
  /** The log file. Its absolute form is the log's key in the state and in event ids. */
  readonly path: string;
  readonly sink: LineSink;
  /** Keep reading as the file grows and rotates (true), or stop at its end (false). */
  readonly follow: boolean;
  /**
   * Remember the offset here across restarts. Without it, every run starts at byte 0. It also decides what a run
   * with `follow: false` does with a last line that has no newline: without a state it is sent (the file simply
   * lacks a final newline); with one it is left for the next run, since its writer may not have finished it.
   */
  readonly states?: FollowStateStore;
  readonly pollIntervalMillis?: number;
  readonly maxBatchLines?: number;
  readonly maxBatchBytes?: number;
  /** Longer lines are cut to this many bytes (and flagged `truncated`), as in readLines. */
  readonly maxLineBytes?: number;
  readonly readChunkBytes?: number;
  readonly rotationGraceMillis?: number;
  readonly retry?: RetryOptions;
  readonly clock?: FollowClock;
  /** Rotations, truncations, lost data, retries: things a person running the shipper should see. */
  readonly onNotice?: (message: string) => void;
}

export interface FollowerStats {
  /** Complete lines read (blank ones included). */
  lines: number;
  /** Lines handed to the sink and acknowledged. */
  acknowledgedLines: number;
  batches: number;
  rotations: number;
  truncations: number;
  retries: number;
}

interface OpenFile {
  readonly path: string;
  readonly handle: FileHandle;
  readonly identity: FileIdentity;
  /** Next byte to read. */
  readOffset: number;
  /** First byte of the line being assembled: everything before it is complete lines. */
  lineStart: number;
  /** Complete lines before lineStart. */
  lineNumber: number;
  parts: Buffer[];
  keptBytes: number;
  lineBytes: number;
  /** Last byte of the line being assembled: a `\r` there belongs to the line ending. -1 before the first byte. */
  lastByte: number;
  lastGrowthAt: number;
  /** Offset and line of the last commit, to skip writing an unchanged state. */
  committedOffset: number;
  /**
   * The first piece of a line the sink holds, read from the file before this one (rotated): until the line is
   * complete, this file's offset is not committed, so the state stays on that line's start in the previous file.
   */
  carried: Line | undefined;
  /** The first piece of a line the sink holds, read before the file was truncated: its start is gone. */
  lostStart: Line | undefined;
}

/** Header lines kept for a resumed file: a W3C log has a few per (re)start of its writer; the last ones count. */
const MAX_HEADER_LINES = 256;
const LF = 0x0a;
const CR = 0x0d;
const TAIL_BYTES = 64;

/**
 * Follows one log file and delivers its lines, committing the offset after each acknowledged batch.
 *
 * @example
 * const follower = new LogFollower({ path: '/var/log/nginx/access.log', follow: true, sink, states });
 * const controller = new AbortController();
 * process.once('SIGTERM', () => controller.abort());
 * await follower.run(controller.signal);
 */
export class LogFollower {
  readonly source: string;
  readonly stats: FollowerStats = {
    lines: 0,
    acknowledgedLines: 0,
    batches: 0,
    rotations: 0,
    truncations: 0,
    retries: 0,
  };
  private readonly options: FollowerOptions;
  private readonly clock: FollowClock;
  private readonly pollMillis: number;
  private readonly maxBatchLines: number;
  private readonly maxBatchBytes: number;
  private readonly maxLineBytes: number;
  private readonly rotationGraceMillis: number;
  private readonly buffer: Buffer;
  private batch: FollowedLine[] = [];
  private batchBytes = 0;

  constructor(options: FollowerOptions) {
    this.options = options;
    this.source = resolve(options.path);
    this.clock = options.clock ?? systemClock;
    this.pollMillis = options.pollIntervalMillis ?? FOLLOW_DEFAULTS.pollIntervalMillis;
    this.maxBatchLines = options.maxBatchLines ?? FOLLOW_DEFAULTS.maxBatchLines;
    this.maxBatchBytes = options.maxBatchBytes ?? FOLLOW_DEFAULTS.maxBatchBytes;
    this.maxLineBytes = options.maxLineBytes ?? FOLLOW_DEFAULTS.maxLineBytes;
    this.rotationGraceMillis = options.rotationGraceMillis ?? FOLLOW_DEFAULTS.rotationGraceMillis;
    this.buffer = Buffer.allocUnsafe(options.readChunkBytes ?? FOLLOW_DEFAULTS.readChunkBytes);
  }

  /**
   * Read and deliver until the end of the file (follow: false) or until `signal` aborts (follow: true). Resolves
   * when stopped; rejects on a delivery error that is not retryable (a refused token) or on an I/O error.
   */
  async run(signal: AbortSignal = new AbortController().signal): Promise<FollowerStats> {
    let file = await this.start(signal);
    if (file !== undefined && file.readOffset > 0) await this.replayHeader(file);
    let draining = file !== undefined && file.path !== this.source;
    try {
      while (file !== undefined && !signal.aborted) {
        if (!(await this.readToEnd(file, signal))) break;
        if (draining) {
          // A rotated file found on start: its writer has moved on, so it is finished, partial last line included.
          this.finishPartialLine(file);
          if (!(await this.flush(file, signal))) break;
          await file.handle.close();
          draining = false;
          this.stats.rotations++;
          this.notice(`finished the rotated file ${file.path}; now reading ${this.source} from the start`);
          const previous = file;
          file = await this.openWhenPresent(signal);
          if (file) await this.enter(file, previous);
          continue;
        }
        if (!this.options.follow) {
          if (this.options.states === undefined) {
            // A plain import: nothing remembers where it stopped, so a last line without its newline is sent.
            this.finishPartialLine(file);
          } else if (file.lineBytes > 0) {
            // With a state (a one-shot run from cron), the line may still be being written: it is left for the
            // next run, which sends it whole, as --follow does. Sending it now would store it twice (its
            // text, and so its event id, differs once finished).
            this.notice(
              `${this.source}: the last line (line ${file.lineNumber + 1}) has no newline yet; it is left for the next run`,
            );
          }
          const held = (await this.flush(file, signal)) ? this.options.sink.heldLine?.(this.source) : undefined;
          if (held !== undefined && this.options.states === undefined) await this.deliverEnd(file, signal);
          else if (held !== undefined) {
            // As a last line without its newline: the runtime may still be writing its pieces. The offset stays
            // before the first piece (see acknowledge), and the next run sends the line whole.
            this.notice(
              `${this.source}: the line in pieces from line ${held.lineNumber} has no last piece yet; it is left ` +
                'for the next run',
            );
          }
          break;
        }
        if (!(await this.flush(file, signal))) break;
        const current = await statIdentity(this.source);
        if (current !== undefined && !sameFile(current, file.identity)) {
          // Rotated. The writer may go on appending to the old file until it reopens its log; once the new file has
          // data (or the old one has been still for a while) it has.
          const still = this.clock.now() - file.lastGrowthAt;
          if (current.size > 0n || still >= this.rotationGraceMillis) {
            if (!(await this.readToEnd(file, signal))) break;
            this.finishPartialLine(file);
            if (!(await this.flush(file, signal))) break;
            await file.handle.close();
            this.stats.rotations++;
            this.notice(`${this.source} was rotated: finished the previous file at byte ${file.readOffset}`);
            const previous = file;
            file = await this.openWhenPresent(signal);
            if (file) await this.enter(file, previous);
            continue;
          }
        } else if (current !== undefined && current.size < BigInt(file.readOffset)) {
          // copytruncate: the content was copied away and the file emptied under the same inode. A line that was
          // half read is dropped: its start is in the copy. So is the start of a line the sink holds in pieces: it
          // is still joined with its last piece if that comes now, but a restart cannot read it again.
          this.stats.truncations++;
          this.notice(`${this.source} was truncated (copytruncate?): reading it again from the start`);
          this.resetTo(file, 0, 0);
          file.lostStart = this.options.sink.heldLine?.(this.source);
          await this.commit(file, 0, 0, true);
          continue;
        }
        await this.clock.sleep(this.pollMillis, signal);
      }
    } finally {
      await file?.handle.close().catch(() => {});
    }
    return this.stats;
  }

  /** Open where the state says, or at the start. Undefined when stopped before the file appeared. */
  private async start(signal: AbortSignal): Promise<OpenFile | undefined> {
    const saved = await this.options.states?.load(this.source);
    if (saved !== undefined) {
      const current = await statIdentity(this.source);
      if (current === undefined || !sameFile(current, saved)) {
        const rotated = await this.findRotated(saved);
        if (rotated !== undefined) {
          const file = await this.openFile(rotated);
          if (sameFile(file.identity, saved) && (await this.resumable(file, saved))) {
            this.resetTo(file, saved.offset, saved.line);
            this.notice(
              `${this.source} was rotated while stopped: finishing ${rotated} from byte ${saved.offset} first`,
            );
            return file;
          }
          await file.handle.close();
        }
        this.notice(
          `${this.source} was replaced while stopped and the previous file was not found beside it (deleted or ` +
            `compressed?): lines written to it after byte ${saved.offset} were not sent`,
        );
      }
    }
    const file = await this.openWhenPresent(signal);
    if (file === undefined) return undefined;
    if (saved !== undefined && sameFile(file.identity, saved)) {
      if (await this.resumable(file, saved)) this.resetTo(file, saved.offset, saved.line);
      else {
        this.stats.truncations++;
        this.notice(`${this.source} was truncated while stopped: reading it again from the start`);
      }
    }
    return file;
  }

  /**
   * Hand the sink the lines before the resume offset that start with its header prefix: one sequential read of that
   * part of the file, on start only. At most MAX_HEADER_LINES are kept, the last ones, each cut to maxLineBytes.
   */
  private async replayHeader(file: OpenFile): Promise<void> {
    const { sink } = this.options;
    const headerLine = sink.headerLine;
    if (headerLine === undefined || sink.replayHeader === undefined) return;
    const found: string[] = [];
    // The handle stays open: reading goes on from the offset once the header is replayed.
    const before = file.handle.createReadStream({ start: 0, end: file.readOffset - 1, autoClose: false });
    for await (const line of readLines(before, { maxLineBytes: this.maxLineBytes })) {
      const header = headerLine(line);
      if (header === undefined) continue;
      found.push(header);
      if (found.length > MAX_HEADER_LINES) found.shift();
    }
    if (found.length > 0) sink.replayHeader(this.source, found);
  }

  /** The saved offset is still inside the file and the bytes before it are the ones that were acknowledged. */
  private async resumable(file: OpenFile, saved: FollowState): Promise<boolean> {
    const size = (await file.handle.stat()).size;
    return size >= saved.offset && (await tailHash(file.handle, saved.offset)) === saved.tail;
  }

  /** A file beside the followed one, named after it (`access.log.1`, `access.log-20240101`), with the saved inode. */
  private async findRotated(saved: FileIdentity): Promise<string | undefined> {
    const dir = dirname(this.source);
    const name = basename(this.source);
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch {
      return undefined;
    }
    for (const entry of entries) {
      if (entry === name || !entry.startsWith(name)) continue;
      const candidate = join(dir, entry);
      const identity = await statIdentity(candidate);
      if (identity !== undefined && sameFile(identity, saved)) return candidate;
    }
    return undefined;
  }

  /** Open the followed path; when following, wait for it to exist. */
  private async openWhenPresent(signal: AbortSignal): Promise<OpenFile | undefined> {
    for (;;) {
      try {
        return await this.openFile(this.source);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !this.options.follow) throw error;
      }
      if (signal.aborted) return undefined;
      await this.clock.sleep(this.pollMillis, signal);
      if (signal.aborted) return undefined;
    }
  }

  private async openFile(path: string): Promise<OpenFile> {
    const handle = await open(path, 'r');
    try {
      await refuseCompressed(handle, path);
      const st = await handle.stat({ bigint: true });
      return {
        path,
        handle,
        identity: identityOf(st),
        readOffset: 0,
        lineStart: 0,
        lineNumber: 0,
        parts: [],
        keptBytes: 0,
        lineBytes: 0,
        lastByte: -1,
        lastGrowthAt: this.clock.now(),
        committedOffset: -1,
        carried: undefined,
        lostStart: undefined,
      };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  private resetTo(file: OpenFile, offset: number, line: number): void {
    file.readOffset = offset;
    file.lineStart = offset;
    file.lineNumber = line;
    file.parts = [];
    file.keptBytes = 0;
    file.lineBytes = 0;
    file.lastByte = -1;
    file.committedOffset = offset;
  }

  /** Read to the current end of the file, delivering full batches on the way. False when stopped. */
  private async readToEnd(file: OpenFile, signal: AbortSignal): Promise<boolean> {
    for (;;) {
      if (signal.aborted) return false;
      const { bytesRead } = await file.handle.read(this.buffer, 0, this.buffer.length, file.readOffset);
      if (bytesRead === 0) return true;
      file.lastGrowthAt = this.clock.now();
      this.split(file, this.buffer.subarray(0, bytesRead));
      if (this.batch.length >= this.maxBatchLines || this.batchBytes >= this.maxBatchBytes) {
        if (!(await this.flush(file, signal))) return false;
      }
    }
  }

  /** Cut a chunk read at `file.readOffset` into lines; the unfinished end is kept (copied: the buffer is reused). */
  private split(file: OpenFile, chunk: Buffer): void {
    const chunkOffset = file.readOffset;
    let position = 0;
    for (;;) {
      const newline = chunk.indexOf(LF, position);
      const end = newline === -1 ? chunk.length : newline;
      const size = end - position;
      if (size > 0) {
        const room = this.maxLineBytes - file.keptBytes;
        if (room > 0) {
          const piece = chunk.subarray(position, position + Math.min(size, room));
          file.parts.push(newline === -1 ? Buffer.from(piece) : piece);
          file.keptBytes += piece.length;
          if (file.parts.length > 64) file.parts = [Buffer.concat(file.parts, file.keptBytes)];
        }
        file.lineBytes += size;
        file.lastByte = chunk[end - 1]!;
      }
      if (newline === -1) break;
      this.emit(file, chunkOffset + newline + 1);
      position = newline + 1;
    }
    file.readOffset = chunkOffset + chunk.length;
  }

  /** The line being assembled is complete; it ends (newline included) at `endOffset`. */
  private emit(file: OpenFile, endOffset: number): void {
    let bytes = file.parts.length === 1 ? file.parts[0]! : Buffer.concat(file.parts, file.keptBytes);
    let start = file.lineStart;
    let length = file.lineBytes > 0 && file.lastByte === CR ? file.lineBytes - 1 : file.lineBytes;
    // As in readLines: the CR of a CRLF is dropped before the line is judged cut.
    if (bytes.length > length) bytes = bytes.subarray(0, length);
    const truncated = length > bytes.length;
    if (start === 0 && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
      bytes = bytes.subarray(3);
      start += 3;
      length -= 3;
    }
    if (truncated) bytes = bytes.subarray(0, characterBoundary(bytes));
    const text = bytes.toString('utf8');
    const line: FollowedLine = {
      lineNumber: ++file.lineNumber,
      text,
      byteOffset: start,
      byteLength: length,
      truncated,
      invalidUtf8: !isUtf8(bytes),
      endOffset,
    };
    file.parts = [];
    file.keptBytes = 0;
    file.lineBytes = 0;
    file.lastByte = -1;
    file.lineStart = endOffset;
    this.stats.lines++;
    if (text.trim() === '') return; // blank lines are consumed, not sent
    this.batch.push(line);
    this.batchBytes += text.length;
  }

  /** A last line without its newline, in a file that will not grow any more, is still a line. */
  private finishPartialLine(file: OpenFile): void {
    if (file.lineBytes > 0) this.emit(file, file.readOffset);
  }

  /**
   * Deliver the batch (retrying until acknowledged), then commit the offset: the end of the last complete line, since
   * every line before it was in this batch or an earlier one. False when stopped before the acknowledgement.
   */
  private async flush(file: OpenFile, signal: AbortSignal): Promise<boolean> {
    // A chunk read at once may hold more than a batch of lines: send them in batches, committing after each.
    while (this.batch.length > 0) {
      const lines = this.batch.slice(0, this.maxBatchLines);
      const batch: LineBatch = { source: this.source, file: file.identity, lines };
      const delivered = await deliverWithRetry(this.options.sink, batch, signal, {
        ...this.options.retry,
        clock: this.clock,
        onRetry: (error, attempt, delay) => {
          this.stats.retries++;
          // Powers of two: the first failures are reported, a long outage does not flood the terminal.
          if ((attempt & (attempt - 1)) === 0) {
            this.notice(`sending failed (${error.message}); attempt ${attempt + 1} in ${delay} ms`);
          }
        },
      });
      if (!delivered) return false;
      this.stats.batches++;
      this.stats.acknowledgedLines += lines.length;
      this.batch = this.batch.slice(lines.length);
      this.batchBytes = 0;
      for (const l of this.batch) this.batchBytes += l.text.length;
      if (this.batch.length > 0) {
        const last = lines[lines.length - 1]!;
        await this.acknowledge(file, last.endOffset, last.lineNumber);
        if (signal.aborted) return false;
      }
    }
    await this.acknowledge(file, file.lineStart, file.lineNumber);
    return true;
  }

  /**
   * Commit the offset up to which the sink acknowledged every line, but never past the first piece of a line the
   * sink holds (a container log's long line whose last piece has not been read): a restart then reads the line whole
   * again, and its event id, derived from its last piece, comes out the same. While the held line began in a rotated
   * file, the state stays there (see carried); one that began before a truncation cannot be read again.
   */
  private async acknowledge(file: OpenFile, offset: number, line: number): Promise<void> {
    const held = this.options.sink.heldLine?.(this.source);
    if (held === undefined || held === file.lostStart) return this.commit(file, offset, line, false);
    if (held === file.carried) return;
    await this.commit(file, held.byteOffset, held.lineNumber - 1, false);
  }

  /**
   * A new file took the path and is read from its start. Its identity is committed at once, unless the sink holds a
   * line that began in the previous file: the state then stays on that line's start until the line is complete.
   */
  private async enter(file: OpenFile, previous: OpenFile): Promise<void> {
    const held = this.options.sink.heldLine?.(this.source);
    if (held !== undefined && held !== previous.lostStart) {
      file.carried = held;
      return;
    }
    file.lostStart = held;
    await this.commit(file, 0, 0, true);
  }

  /** The file was read once to its end: the sink delivers the line it holds (see LineSink.heldLine). */
  private async deliverEnd(file: OpenFile, signal: AbortSignal): Promise<void> {
    const batch: LineBatch = { source: this.source, file: file.identity, lines: [], end: true };
    await deliverWithRetry(this.options.sink, batch, signal, { ...this.options.retry, clock: this.clock });
  }

  private async commit(file: OpenFile, offset: number, line: number, force: boolean): Promise<void> {
    if (!force && offset === file.committedOffset) return;
    file.committedOffset = offset;
    const states = this.options.states;
    if (states === undefined) return;
    await states.save({
      path: this.source,
      dev: file.identity.dev,
      ino: file.identity.ino,
      offset,
      line,
      tail: await tailHash(file.handle, offset),
    });
  }

  private notice(message: string): void {
    this.options.onNotice?.(message);
  }
}

function identityOf(st: BigIntStats): FileIdentity {
  return { dev: st.dev.toString(), ino: st.ino.toString() };
}

function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

async function statIdentity(path: string): Promise<(FileIdentity & { size: bigint }) | undefined> {
  try {
    const st = await stat(path, { bigint: true });
    return { ...identityOf(st), size: st.size };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Hash of up to TAIL_BYTES bytes before `offset`: the same file at the same offset gives the same hash. */
async function tailHash(handle: FileHandle, offset: number): Promise<string> {
  const start = Math.max(0, offset - TAIL_BYTES);
  const bytes = Buffer.alloc(offset - start);
  let read = 0;
  while (read < bytes.length) {
    const r = await handle.read(bytes, read, bytes.length - read, start + read);
    if (r.bytesRead === 0) break;
    read += r.bytesRead;
  }
  return createHash('sha256').update(bytes.subarray(0, read)).digest('hex').slice(0, 16);
}

/**
 * A gzip file (a rotated `access.log.2.gz`) cannot be followed by byte offsets in what it decompresses to: refused
 * with the way to send it (`code` `ECOMPRESSED`), instead of read as lines of binary.
 */
async function refuseCompressed(handle: FileHandle, path: string): Promise<void> {
  const head = Buffer.alloc(2);
  const { bytesRead } = await handle.read(head, 0, 2, 0);
  if (!isGzip(head.subarray(0, bytesRead))) return;
  const error: NodeJS.ErrnoException = new Error(
    `${path} is gzip-compressed; ingest reads plain files, whose offsets it can remember: ` +
      `send it with zcat ${path} | vigil ingest - --format …, or replay it with vigil analyze`,
  );
  error.code = 'ECOMPRESSED';
  throw error;
}
