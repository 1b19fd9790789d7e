export {
  BEHAVIOUR_EVALUATOR_ID,
  type BehaviourDetection,
  BehaviourDetector,
  type BehaviourSnapshot,
  type BehaviourStats,
  createBehaviourDetector,
  type EndpointBaselineView,
  type EndpointKeyView,
  type ProfileView,
  type SlotView,
} from './baseline/detector.js';
export { type GraphqlOperationRef, parseOperationRef } from './baseline/endpoint.js';
export {
  BEHAVIOUR_DEFAULTS,
  type BehaviourOptions,
  DETECTOR_DEFAULTS,
  DETECTOR_NAMES,
  type DetectorName,
  type DetectorOptions,
  type EndpointOptions,
} from './baseline/options.js';
export { isTimeZone, localOffset } from './baseline/seasonal.js';
export type { Suppression } from './baseline/suppression.js';
export { BRUTE_FORCE_RULE_ID, type BruteForceOptions, bruteForceRule } from './builtin.js';
export { Engine, type EngineSnapshot } from './engine.js';
export { detectCmdi } from './payload/cmdi.js';
export { detectCrlf } from './payload/crlf.js';
export {
  decodeBase64Text,
  decodeForms,
  decodeHtmlEntities,
  decodeJsEscapes,
  MAX_DECODE_ROUNDS,
  MAX_VALUE_CHARS,
  percentDecode,
} from './payload/decode.js';
export {
  detectPayload,
  type InspectedParam,
  inspectRequest,
  type LocatedFinding,
  MAX_QUERY_PARAMS,
  parseQueryString,
  type RequestInspection,
  type RequestView,
} from './payload/detect.js';
export { detectJndi } from './payload/jndi.js';
export { detectNosqli } from './payload/nosqli.js';
export { detectProtoPollution } from './payload/proto-pollution.js';
export { detectSqli } from './payload/sqli.js';
export { detectSsrf } from './payload/ssrf.js';
export { detectPathTraversal } from './payload/traversal.js';
export {
  PAYLOAD_CLASSES,
  type PayloadClass,
  type PayloadContext,
  type PayloadFinding,
  type PayloadLocation,
} from './payload/types.js';
export { detectXss } from './payload/xss.js';
export { EventTimeOrderer, type OrdererOptions } from './reorder.js';
export {
  DEFAULT_TEST_BASE_TIME,
  parseRelativeTime,
  parseRuleTests,
  type RuleTestCase,
  type RuleTestExpectation,
  type RuleTestFile,
  type RuleTestParseResult,
  type RuleTestProblem,
  type RuleTestResult,
  type RuleTestRunOptions,
  runRuleTests,
} from './rule-test.js';
export { builtinRulesDir } from './rules.js';
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
export { type Detection, type RuleEvaluator, SEVERITIES, type Severity, SNAPSHOT_EVIDENCE_IDS } from './types.js';
