/**
 * Reading request bodies with a hard size limit, before and after decompression (a small gzip body can inflate
 * to gigabytes). Bodies over the limit are refused as soon as the limit is crossed, not after buffering them.
 */
import type { IncomingMessage } from 'node:http';
import { createGunzip, createInflate } from 'node:zlib';
import { VigilError } from '../errors.js';

/**
 * Read a request body of at most `maxBytes` (as sent and, for gzip or deflate, once decompressed). `limit` names the
 * limit in the error message: the setting to raise, or what the route takes.
 */
export async function readBody(req: IncomingMessage, maxBytes: number, limit = 'ingest.maxBodyBytes'): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new VigilError('body_too_large', `request body is ${declared} bytes; the limit is ${maxBytes} (${limit})`);
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  let source: NodeJS.ReadableStream = req;
  if (encoding === 'gzip' || encoding === 'x-gzip' || encoding === 'deflate') {
    const decompressor = encoding === 'deflate' ? createInflate() : createGunzip();
    // What arrives is counted too: the decompressed size alone lets an undeclared body of any length through
    // (blocks that inflate to nothing, or bytes after the compressed data).
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) {
        decompressor.destroy(
          new VigilError('body_too_large', `request body exceeds ${maxBytes} bytes as sent (${limit})`),
        );
      }
    });
    // A client that goes away mid-body ends the decompressor too: `pipe` would leave it waiting for data forever
    // (and the request its ingest slot).
    req.on('close', () => {
      if (!req.complete) decompressor.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    });
    source = req.pipe(decompressor);
  } else if (encoding !== 'identity') {
    throw new VigilError(
      'unsupported_encoding',
      `Content-Encoding "${encoding}" is not supported; use gzip, deflate or none`,
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        throw new VigilError(
          'body_too_large',
          `request body exceeds ${maxBytes} bytes${encoding === 'identity' ? '' : ' after decompression'} (${limit})`,
        );
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof VigilError) throw error;
    const code = (error as { code?: unknown }).code;
    // zlib's own errors (`Z_DATA_ERROR`) mean the data, however much of it has arrived yet.
    if (encoding !== 'identity' && typeof code === 'string' && code.startsWith('Z_')) {
      throw new VigilError('bad_encoding', `request body is not valid ${encoding} data`);
    }
    if (code === 'ECONNRESET' || !req.complete) throw error; // the client went away
    if (encoding !== 'identity') throw new VigilError('bad_encoding', `request body is not valid ${encoding} data`);
    throw error;
  }
  return Buffer.concat(chunks, size);
}

/** The body of an action (acknowledge, resolve, a silence, a reset): a small JSON object. */
export function readActionBody(req: IncomingMessage): Promise<Buffer> {
  return readBody(req, 64 * 1024, 'an action takes 64 KiB');
}

/** Send a JSON response. */
export function sendJson(
  res: import('node:http').ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}
