/**
 * Redaction is shared with the collector, which runs the very same code again at ingest: it lives in
 * `@vigil/schema`. This module re-exports it for the SDK's own imports.
 */
export {
  createRedactor,
  errorClassName,
  hideSecretSegments,
  luhnValid,
  normaliseKey,
  REDACTED,
  type RedactionOptions,
  type Redactor,
  redact,
  redactUrlPasswords,
  secretSegments,
} from '@vigil/schema';
