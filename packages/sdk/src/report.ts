/**
 * How the SDK tells the host about its own problems without ever throwing into it: typed errors with stable codes,
 * handed to the `onError` hook, or, without one, a single `process.emitWarning` per code.
 */
import { redactUrlPasswords } from './redact.js';

/** Every code a `VigilSdkError` can carry; stable across versions (new ones may be added). */
export const VIGIL_ERROR_CODES = [
  /** Endpoint or token missing: the SDK runs disabled. */
  'config_missing',
  /** An option had an invalid value; its default is used instead. */
  'config_invalid',
  /** The ingest token would travel in clear text to a host that is not loopback. */
  'insecure_endpoint',
  /** The collector refused the token (401/403). */
  'auth_rejected',
  /** The collector refused the request for a reason retrying cannot fix (404, 3xx...). */
  'endpoint_rejected',
  /**
   * Events were rejected as invalid: by the collector (400/422, or per event in a 200), or before queueing when a
   * required field is missing.
   */
  'events_rejected',
  /** The collector's TLS certificate is not trusted (self-signed, unknown CA, expired, wrong name): see `ca`. */
  'tls_untrusted',
  /** The proxy to the collector could not be reached, or refused the connection (407: it wants credentials). */
  'proxy_failed',
  /** A batch could not be delivered after every retry. */
  'delivery_failed',
  /**
   * The app's middleware is in an order that hides requests from the SDK (a Koa body parser before `vigilKoa`: the
   * bodies it refuses end their requests before Vigil sees them).
   */
  'middleware_order',
  /**
   * Requests from a loopback or private peer carry a forwarding header while `trustedProxies` is empty: every
   * request then has the proxy's address.
   */
  'forwarding_ignored',
  /** A user hook (`identify`, `route`) threw. */
  'hook_failed',
  /** Reading a request's user (`req.user`, `req.auth`, ...) threw: the request is recorded without a principal. */
  'identify_failed',
  /** A bug in the SDK, caught before it could reach the host. */
  'internal',
] as const;

export type VigilErrorCode = (typeof VIGIL_ERROR_CODES)[number];

export class VigilSdkError extends Error {
  readonly code: VigilErrorCode;

  constructor(code: VigilErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VigilSdkError';
    this.code = code;
  }
}

export type ErrorHook = (error: VigilSdkError) => void;

/** A Promise, or anything awaitable: what an `async` hook of the app returns. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

export class Reporter {
  /** What `warnOnce` told, by its `once` key (the code, unless the caller names a narrower one). */
  private readonly warned = new Set<string>();
  /** What went out as a process warning, by the same keys: without a hook, one warning per code. */
  private readonly emitted = new Set<string>();

  constructor(
    private readonly onError: ErrorHook | undefined,
    private readonly debugEnabled: boolean,
  ) {}

  /**
   * Report a problem every time it happens when there is a hook; otherwise warn once per code (or per `once` key,
   * when `warnOnce` gives one).
   */
  error(code: VigilErrorCode, problem: string, cause?: unknown, once: string = code): void {
    // An endpoint or proxy URL may carry a password in its user information: the app's logs never get it.
    const message = redactUrlPasswords(problem);
    const error = new VigilSdkError(code, message, cause === undefined ? undefined : { cause });
    this.debug(`${code}: ${message}`);
    if (!this.onError) {
      this.emitOnce(error, once);
      return;
    }
    try {
      const returned: unknown = this.onError(error);
      // An async hook that rejects: the host's code failing, which must not become an unhandled rejection either.
      if (isThenable(returned)) returned.then(undefined, () => {});
    } catch {
      // the hook is the host's code; a throwing hook must not turn into a throwing SDK
    }
  }

  /**
   * Report a problem once for the life of the client, hook or not: once per code, or once per `once` key, which
   * tells apart problems of one code that each need fixing (every invalid option gets its own `config_invalid`).
   */
  warnOnce(code: VigilErrorCode, message: string, cause?: unknown, once: string = code): void {
    if (this.warned.has(once)) return;
    this.warned.add(once);
    this.error(code, message, cause, once);
  }

  debug(message: string): void {
    if (!this.debugEnabled) return;
    try {
      process.stderr.write(`[vigil] ${message}\n`);
    } catch {
      // stderr closed: nothing to tell
    }
  }

  private emitOnce(error: VigilSdkError, once: string): void {
    if (this.emitted.has(once)) return;
    this.emitted.add(once);
    try {
      process.emitWarning(error.message, { type: 'VigilWarning', code: `VIGIL_${error.code.toUpperCase()}` });
    } catch {
      // a process without warnings: nothing to tell
    }
  }
}
