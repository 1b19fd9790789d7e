/**
 * Typed errors with stable codes. The HTTP layer maps a code to a status in one place (HTTP_STATUS below), and
 * every error body has the same shape: {"error": {"code": "...", "message": "..."}}.
 */
export type ErrorCode =
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'invalid_body'
  | 'method_not_allowed'
  | 'body_too_large'
  | 'too_many_events'
  | 'malformed_json'
  | 'malformed_protobuf'
  | 'empty_body'
  | 'unsupported_media_type'
  | 'unsupported_encoding'
  | 'bad_encoding'
  | 'invalid_parameter'
  | 'all_events_invalid'
  | 'storage_unavailable'
  | 'overloaded'
  | 'internal';

export const HTTP_STATUS: Record<ErrorCode, number> = {
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  invalid_body: 400,
  method_not_allowed: 405,
  body_too_large: 413,
  too_many_events: 413,
  malformed_json: 400,
  malformed_protobuf: 400,
  empty_body: 400,
  unsupported_media_type: 415,
  unsupported_encoding: 415,
  bad_encoding: 400,
  invalid_parameter: 400,
  all_events_invalid: 422,
  storage_unavailable: 503,
  overloaded: 503,
  internal: 500,
};

/**
 * Seconds a client is told to wait (`Retry-After`) before sending again, for the errors a retry can cure. OTLP
 * exporters retry a 429, 502, 503 or 504 and honour this header; every other 4xx and 5xx is final for them.
 */
export const RETRY_AFTER_SECONDS: Partial<Record<ErrorCode, number>> = {
  storage_unavailable: 5,
  overloaded: 1,
};

export class VigilError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra JSON merged into the error body (e.g. the per-event rejections). */
    readonly details?: Record<string, unknown>,
    /** Response headers the error needs (`Allow` for a 405). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'VigilError';
  }

  get status(): number {
    return HTTP_STATUS[this.code];
  }
}

/**
 * What `JSON.parse` found wrong in a request body or an NDJSON line, for the answer. V8 quotes the text around an
 * unexpected character (`Unexpected token 'h', ..."assword": hunter2sec"... is not valid JSON`), and what breaks a
 * hand-built JSON document is often the very secret in it (a password holding a quote): such a message is answered
 * without its quote. The others name the problem and its position only (`Unterminated string in JSON at position 12`).
 */
export function jsonSyntaxProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  if (message === '') return 'not valid JSON';
  return message.includes('"') ? 'an unexpected character (the text around it is not repeated)' : message;
}

/** A configuration problem: stops start-up, naming the key. */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`configuration: ${key}: ${message}`);
    this.name = 'ConfigError';
  }
}
