/**
 * Compressed logs read as they are: rotated access logs (`access.log.2.gz`) and the files load balancers deliver to
 * object storage are gzip. A stream whose first bytes are gzip's magic number is decompressed on the way; anything
 * else passes through unchanged, whatever the file is called.
 */
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

const GZIP_MAGIC = [0x1f, 0x8b] as const;

/** Whether `head` starts as a gzip stream does (RFC 1952). */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
}

/**
 * `input`'s bytes, gunzipped when they are gzip (concatenated members too, as `cat a.gz b.gz` gives). Damaged
 * compressed data ends the stream with zlib's error, whose `code` starts with `Z_` (see `isCompressionError`).
 */
export function decompressedIfGzip(input: Readable): Readable {
  async function* bytes(): AsyncGenerator<Buffer> {
    const chunks = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    try {
      // Enough bytes to tell: a pipe may deliver one at a time.
      let head = Buffer.alloc(0);
      while (head.length < GZIP_MAGIC.length) {
        const next = await chunks.next();
        if (next.done) break;
        head = Buffer.concat([head, next.value]);
      }
      const rest = (async function* () {
        yield head;
        for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
      })();
      if (!isGzip(head)) {
        if (head.length > 0) yield* rest;
        return;
      }
      const gunzip = createGunzip();
      // The pipeline ends or destroys the gunzip stream with the input's error or its own; reading it rethrows that.
      pipeline(Readable.from(rest, { objectMode: false }), gunzip, () => {});
      yield* gunzip as AsyncIterable<Buffer>;
    } finally {
      // A reader that stops early closes the input too.
      await chunks.return?.();
    }
  }
  return Readable.from(bytes(), { objectMode: false });
}

/** Whether `error` is zlib's about damaged compressed data (`Z_DATA_ERROR`, `Z_BUF_ERROR` for a cut file...). */
export function isCompressionError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}
