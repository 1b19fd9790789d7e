/**
 * What every adapter over node:http needs: the neutral view of an IncomingMessage, counting response bytes, and
 * noticing the end of a response exactly once (`finish`, or `close` when the client went away first).
 */
import type { RequestView } from '../request.js';

/** The parts of node:http's IncomingMessage the SDK reads (structural, so any framework's raw request fits). */
export interface NodeRequestLike {
  readonly method?: string;
  readonly url?: string;
  readonly originalUrl?: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly socket?: { readonly remoteAddress?: string; readonly remotePort?: number } | null;
}

/** The parts of node:http's ServerResponse the SDK uses. */
export interface NodeResponseLike {
  statusCode: number;
  readonly writableFinished?: boolean;
  getHeader(name: string): unknown;
  write(...args: unknown[]): boolean;
  end(...args: unknown[]): unknown;
  once(event: 'finish' | 'close', listener: () => void): unknown;
}

export function nodeRequestView(req: NodeRequestLike): RequestView {
  return {
    method: req.method ?? 'GET',
    // Express rewrites req.url inside routers; originalUrl is what the client sent.
    url: req.originalUrl ?? req.url ?? '/',
    headers: req.headers ?? {},
    remoteAddress: req.socket?.remoteAddress,
    remotePort: req.socket?.remotePort,
  };
}

function chunkBytes(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') {
    return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  }
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return 0;
}

export interface ResponseTracking {
  /** Body bytes written so far. */
  bytes(): number;
}

/**
 * Count body bytes by wrapping this response's own `write` and `end` (the prototype is untouched), call `onEnd` when
 * the app ends the response (the moment the route is still known), and `onDone` once when it finished or closed.
 */
export function trackResponse(res: NodeResponseLike, onEnd: () => void, onDone: () => void): ResponseTracking {
  let bytes = 0;
  let done = false;
  const write = res.write;
  const end = res.end;
  res.write = function (this: unknown, ...args: unknown[]) {
    try {
      bytes += chunkBytes(args[0], args[1]);
    } catch {
      // counting is best effort
    }
    return write.apply(this, args);
  };
  res.end = function (this: unknown, ...args: unknown[]) {
    try {
      if (typeof args[0] !== 'function') bytes += chunkBytes(args[0], args[1]);
      onEnd();
    } catch {
      // the app's response must end whatever happens here
    }
    return end.apply(this, args);
  };
  const finish = () => {
    if (done) return;
    done = true;
    onDone();
  };
  res.once('finish', finish);
  res.once('close', finish);
  return { bytes: () => bytes };
}

/** A response's Content-Length as a number, if it has a valid one. */
export function headerReader(res: NodeResponseLike): (name: string) => unknown {
  return (name) => res.getHeader(name);
}
