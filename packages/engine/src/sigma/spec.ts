/**
 * The Sigma specification version this implementation follows.
 *
 * Pinned: Sigma specification v2.0.0 (released 2024-08-08), i.e. the Sigma Rules Specification v2.0.0, the Sigma
 * Modifiers Appendix v2.0.0 and the Sigma Correlation Rules Specification v2.0.0 of SigmaHQ/sigma-specification.
 * Features added in later versions (the `neq` and time modifiers and the `value_sum` / `value_avg` /
 * `value_percentile` correlation types of v2.1.0, scalar search identifiers of v2.2.0) are rejected with a lint
 * error that names the version, so a rule never silently means something other than what its author wrote.
 */
export const SIGMA_SPEC_VERSION = '2.0.0';
