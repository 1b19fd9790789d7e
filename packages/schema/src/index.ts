export {
  type CanonicalEvent,
  flatten,
  MAX_FIELD_NAME_LENGTH,
  neutralise,
  PARSE_DEFAULTS,
  type ParseOptions,
  type ParseResult,
  parseEvent,
  parseTime,
  type SecurityEvent,
  toCanonical,
  type ValidationIssue,
} from './event.js';
export {
  FIELDS,
  FIELDS_BY_NAME,
  Field,
  type FieldDefinition,
  type FieldName,
  type FieldType,
  type FieldValue,
} from './fields.js';
export { uuidv7 } from './id.js';
export { eventJsonSchema } from './json-schema.js';
export {
  createRedactor,
  errorClassName,
  hideOperands,
  hideSecretKeys,
  isInjectionKey,
  luhnValid,
  MAX_MEMOISED_KEYS,
  memoByKey,
  normaliseKey,
  REDACTED,
  REDACTION_LIMITS,
  type RedactionOptions,
  type Redactor,
  redact,
} from './redact.js';
export {
  CUSTOM_TYPE_PREFIX,
  EVENT_TYPES,
  EVENT_TYPES_BY_NAME,
  type EventArgument,
  type EventCategory,
  type EventLevel,
  type EventTypeDefinition,
  isKnownEventType,
  OWASP_EVENT_TYPES,
  VIGIL_EXTENSION_TYPES,
  VOCABULARY_VERSION,
} from './vocabulary.js';
