/**
 * Rules that ship inside the engine, configured by the server. The full rule pack is written in Sigma
 * (rules/); this one is the end-to-end walking skeleton and stays as a fast path for the commonest attack.
 */
import { ThresholdRule } from './threshold.js';

export interface BruteForceOptions {
  readonly threshold: number;
  readonly windowMillis: number;
  readonly maxKeys?: number;
}

export const BRUTE_FORCE_RULE_ID = 'vigil-authn-brute-force';

/** At least `threshold` failed logins for one user or from one client address within `windowMillis`. */
export function bruteForceRule(options: BruteForceOptions): ThresholdRule {
  return new ThresholdRule({
    id: BRUTE_FORCE_RULE_ID,
    title: 'Repeated failed logins',
    severity: 'high',
    eventTypes: ['authn_login_fail'],
    groupBy: [['user.id'], ['client.address']],
    threshold: options.threshold,
    windowMillis: options.windowMillis,
    summary: '{count} failed logins {group} within {window}',
    tags: ['owasp.api2:2023', 'appsensor.AE2', 'attack.t1110'],
    ...(options.maxKeys !== undefined ? { maxKeys: options.maxKeys } : {}),
  });
}
