export { BRUTE_FORCE_RULE_ID, type BruteForceOptions, bruteForceRule } from './builtin.js';
export { Engine, type EngineSnapshot } from './engine.js';
export { EventTimeOrderer, type OrdererOptions } from './reorder.js';
export {
  compileSigma,
  SIGMA_DEFAULTS,
  type SigmaCompileOptions,
  type SigmaCompileResult,
  type SigmaSource,
} from './sigma/compile.js';
export type { CorrelationCounters } from './sigma/correlation.js';
export type { SigmaError, SigmaErrorCode } from './sigma/errors.js';
export type { SigmaEvaluator } from './sigma/evaluators.js';
export { SIGMA_WEB_FIELD_MAPPING } from './sigma/field-mapping.js';
export { SIGMA_SPEC_VERSION } from './sigma/spec.js';
export { describeGroup, fillTemplate, formatDuration, ThresholdRule, type ThresholdRuleSpec } from './threshold.js';
export { type Detection, type RuleEvaluator, SEVERITIES, type Severity } from './types.js';
