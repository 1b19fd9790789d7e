export { BRUTE_FORCE_RULE_ID, type BruteForceOptions, bruteForceRule } from './builtin.js';
export { Engine } from './engine.js';
export { describeGroup, fillTemplate, formatDuration, ThresholdRule, type ThresholdRuleSpec } from './threshold.js';
export { type Detection, type RuleEvaluator, SEVERITIES, type Severity } from './types.js';
