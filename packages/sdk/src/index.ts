/**
 * @vigil/sdk: record OWASP-vocabulary security events from a Node.js API and send them to Vigil.
 *
 * The root entry has no framework code: adapters are subpath exports (`@vigil/sdk/express`, `@vigil/sdk/node`,
 * `@vigil/sdk/fastify`, ...), and so is the test kit (`@vigil/sdk/testing`). The redaction functions are exported here so the collector can reuse the same code.
 */
export { createVigil, type Vigil, type VigilStats } from './client.js';
export { currentRequest } from './context.js';
export { DEFAULT_AUTOMATIC_EVENTS, DEFAULTS } from './defaults.js';
export { DROP_REASONS, type DropCounts, type DropReason } from './drops.js';
export { DecisionCache, type DecisionCacheOptions, type DecisionSubject, Enforcer, type Verdict } from './enforce.js';
export { errorFingerprint } from './fingerprint.js';
export type { VigilOptions } from './options.js';
export { createTrustedProxies, type ForwardedHeader, type TrustedProxies } from './proxy.js';
export {
  createRedactor,
  errorClassName,
  luhnValid,
  REDACTED,
  type RedactionOptions,
  type Redactor,
  redact,
} from './redact.js';
export { type ErrorHook, VIGIL_ERROR_CODES, type VigilErrorCode, VigilSdkError } from './report.js';
export {
  type AutomaticEvents,
  defaultIdentify,
  type IdentifyHook,
  type Principal,
  type RequestState,
  type RequestView,
  type ResponseView,
} from './request.js';
export type { SinkStats } from './transport.js';
export type {
  AccountHelpers,
  AppHelpers,
  AuthnHelpers,
  AuthzHelpers,
  DataHelpers,
  ExcessHelpers,
  ExtraFields,
  Id,
  InputHelpers,
  LoginFailDetails,
  MaliciousHelpers,
  ObjectRef,
  PaymentHelpers,
  PaymentRef,
  PrivilegeHelpers,
  SensitiveHelpers,
  SequenceHelpers,
  SessionHelpers,
  SysHelpers,
  UploadHelpers,
  UserHelpers,
  ValidationResult,
  VocabularyHelpers,
} from './vocabulary.js';
