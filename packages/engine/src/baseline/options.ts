/**
 * Options of the behaviour detectors and their defaults, in one place. Every default is documented where it is
 * defined and in docs/baselines.md.
 */

import type { Severity } from '../types.js';
import { isTimeZone } from './seasonal.js';

/** The detectors; each raises detections under the rule id `vigil-baseline-<name>`. */
export const DETECTOR_NAMES = [
  'endpoint-volume',
  'endpoint-errors',
  'endpoint-callers',
  'endpoint-latency',
  'object-enumeration',
  'principal-rate',
  'data-volume',
  'principal-errors',
  'new-access',
  'function-novelty',
  'unauthenticated-access',
  'endpoint-growth',
] as const;

export type DetectorName = (typeof DETECTOR_NAMES)[number];

export const RULE_ID_PREFIX = 'vigil-baseline-';

export function ruleIdOf(name: DetectorName): string {
  return `${RULE_ID_PREFIX}${name}`;
}

export interface DetectorOptions {
  readonly enabled?: boolean;
  readonly severity?: Severity;
  /**
   * Higher is more sensitive (more alerts). 1 is the default; 2 halves the margin over normal (the factor over
   * the usual maximum, the number of deviations, the minimum first-seen score), 0.5 doubles it.
   */
  readonly sensitivity?: number;
  /** Absolute floor: never fire below this count (requests, objects, errors; MB for data volume). */
  readonly minCount?: number;
}

/**
 * Per endpoint, keyed `"METHOD /route/template"` (e.g. `"POST /login"`), or for one GraphQL operation
 * `"POST /graphql (mutation { deleteUser })"` (by its root fields; `(mutation DeleteUser)` by its name, for events
 * without them), which comes before its route's.
 */
export interface EndpointOptions {
  /** Multiplies the detector's sensitivity for this endpoint. */
  readonly sensitivity?: number;
  /** Minimum requests in a bucket before the endpoint detectors look at it. */
  readonly minVolume?: number;
  /** Treat as an administrative function (first use by a principal is reported). */
  readonly admin?: boolean;
  /** Learn nothing and report nothing for this endpoint. */
  readonly ignore?: boolean;
}

export interface BehaviourOptions {
  /** Nothing is reported until this much event time has passed since the first event. Default 1 day. */
  readonly learningMillis?: number;
  /** A principal's own history is trusted (and first-seen signals start) after this age. Default 1 day. */
  readonly principalLearningMillis?: number;
  /** ... and after this many active windows. Default 4. */
  readonly principalMinWindows?: number;
  /** Length of a principal's (tumbling) activity window. Default 10 minutes. */
  readonly windowMillis?: number;
  /** Endpoint bucket length. Default 1 minute. */
  readonly bucketMillis?: number;
  /** Buckets in the endpoint's sliding long window (default 10: 10 minutes). */
  readonly longWindowBuckets?: number;
  /** Samples a seasonal slot needs before it is used. Default 30. */
  readonly endpointMinSamples?: number;
  /** Fields whose values form the peer group (`user.roles`, `vigil.tenant.id`, a custom label). */
  readonly peerGroupFields?: readonly string[];
  /** Windows a peer group's distribution needs before it is used. Default 200. */
  readonly peerMinSamples?: number;
  /** Quantile of the peer group quoted as "their peer group's at most". Default 0.999. */
  readonly peerQuantile?: number;
  /** Routes that are administrative functions. Default: a path segment `admin`. */
  readonly adminRoutePattern?: RegExp;
  /** Offset of local time from UTC used for hour-of-day and day-of-week seasonality. Default 0. */
  readonly timeZoneOffsetMinutes?: number;
  /**
   * IANA time zone of the seasonality (`Europe/Berlin`), daylight saving time included; when set, it replaces
   * `timeZoneOffsetMinutes`. A fixed offset compares a summer morning with the hour before it, twice a year for good.
   * Default: none.
   */
  readonly timeZone?: string;
  /** Travel faster than this between two countries is impossible. Default 1000 km/h. */
  readonly travelSpeedKmh?: number;
  /** Travel shorter than this never counts (centroids are coarse). Default 1000 km. */
  readonly travelMinDistanceKm?: number;
  /** Weights of the first-seen signals; `new-access` fires when their sum reaches 0.75 / sensitivity. */
  readonly newAccessWeights?: { country?: number; asn?: number; device?: number; travel?: number };
  readonly maxPrincipals?: number;
  readonly maxEndpoints?: number;
  /**
   * GraphQL operations (by `vigil.graphql.root_fields`, else `graphql.operation.name`) per route learned under a
   * baseline of their own; the route's further operations are learned under the route's. 0: operations are not
   * told apart. Default 50.
   */
  readonly maxOperationsPerRoute?: number;
  readonly maxPeerGroups?: number;
  /** Distributions held per peer group (one per endpoint and object type). */
  readonly maxPeerMetrics?: number;
  /** Countries, ASNs and devices remembered per principal. */
  readonly maxProfileValues?: number;
  /** Endpoints remembered per principal. */
  readonly maxProfileEndpoints?: number;
  /** Distinct object ids held per principal window (the count saturates there). */
  readonly maxObjectsPerWindow?: number;
  readonly maxSuppressions?: number;
  /** Evidence ids per detection. */
  readonly maxEvidence?: number;
  readonly detectors?: Partial<Record<DetectorName, DetectorOptions>>;
  readonly endpoints?: Readonly<Record<string, EndpointOptions>>;
}

export interface ResolvedDetector {
  readonly enabled: boolean;
  readonly severity: Severity;
  readonly sensitivity: number;
  readonly minCount: number;
}

/** Defaults per detector. minCount is in the detector's unit (requests, objects, errors, MB). */
export const DETECTOR_DEFAULTS: Readonly<Record<DetectorName, ResolvedDetector>> = {
  'endpoint-volume': { enabled: true, severity: 'medium', sensitivity: 1, minCount: 60 },
  'endpoint-errors': { enabled: true, severity: 'medium', sensitivity: 1, minCount: 30 },
  'endpoint-callers': { enabled: true, severity: 'medium', sensitivity: 1, minCount: 40 },
  'endpoint-latency': { enabled: true, severity: 'low', sensitivity: 1, minCount: 50 },
  'object-enumeration': { enabled: true, severity: 'high', sensitivity: 1, minCount: 40 },
  'principal-rate': { enabled: true, severity: 'medium', sensitivity: 1, minCount: 60 },
  'data-volume': { enabled: true, severity: 'high', sensitivity: 1, minCount: 20 },
  'principal-errors': { enabled: true, severity: 'medium', sensitivity: 1, minCount: 40 },
  'new-access': { enabled: true, severity: 'high', sensitivity: 1, minCount: 0 },
  'function-novelty': { enabled: true, severity: 'high', sensitivity: 1, minCount: 0 },
  'unauthenticated-access': { enabled: true, severity: 'high', sensitivity: 1, minCount: 200 },
  'endpoint-growth': { enabled: true, severity: 'low', sensitivity: 1, minCount: 1000 },
};

export const BEHAVIOUR_DEFAULTS = {
  learningMillis: 86_400_000,
  principalLearningMillis: 86_400_000,
  principalMinWindows: 4,
  windowMillis: 600_000,
  bucketMillis: 60_000,
  longWindowBuckets: 10,
  endpointMinSamples: 30,
  peerGroupFields: ['user.roles'] as readonly string[],
  peerMinSamples: 200,
  peerQuantile: 0.999,
  adminRoutePattern: /(^|\/)admin(\/|$)/,
  timeZoneOffsetMinutes: 0,
  timeZone: '',
  travelSpeedKmh: 1000,
  travelMinDistanceKm: 1000,
  newAccessWeights: { country: 0.5, asn: 0.25, device: 0.25, travel: 0.5 },
  /** Minimum sum of first-seen weights for `new-access` at sensitivity 1. */
  newAccessMinScore: 0.75,
  /** Profile detectors fire above this factor times the larger of the usual and the peer maximum. */
  profileFactor: 3,
  /** Endpoint detectors fire this many deviations above the seasonal centre ... */
  endpointSigmas: 6,
  /** ... and at least this factor above it. */
  endpointMinRatio: 2,
  /** Unauthenticated success is unusual when at least this share of the endpoint's requests is authenticated. */
  authenticatedShare: 0.995,
  maxPrincipals: 200_000,
  maxEndpoints: 5_000,
  maxOperationsPerRoute: 50,
  maxPeerGroups: 1_000,
  maxPeerMetrics: 5_000,
  maxProfileValues: 16,
  maxProfileEndpoints: 64,
  maxObjectsPerWindow: 5_000,
  maxSuppressions: 10_000,
  maxEvidence: 20,
} as const;

/**
 * `endpoint-growth` fires when the last week's typical day is above this factor times the middle of the three weeks
 * before, and above the second factor times the busiest of them (at sensitivity 1). Not in `BEHAVIOUR_DEFAULTS`,
 * whose values make the detector's version: they came later, and upgrading must keep what was learned.
 */
export const ENDPOINT_GROWTH_FACTOR = 3;
export const ENDPOINT_GROWTH_OVER_BUSIEST = 1.5;

/**
 * Fixed bounds of what the baselines learn. Not options, so not part of the detector's version: changing them keeps
 * what was learned.
 */
export const LEARNING_BOUNDS = {
  /**
   * Distinct members of a peer group whose successful use of an endpoint was reported as `function-novelty` after
   * which the endpoint is known to the group (a function deployed after the learning day). The admin-function rule
   * uses the same number: a first use is reported while fewer members than this ever used it.
   */
  knownFunctionMembers: 3,
  /** Durations above this (seconds) are implausible and ignored, as are negative and non-finite ones. */
  maxLatencySeconds: 3600,
  /** Response body sizes above this (bytes, 1 TB) are implausible and ignored, as are negative and non-finite ones. */
  maxBodyBytes: 1e12,
  /**
   * Smallest deviation of a level metric, so that a level of 0 (responses without a body) still has a tolerance:
   * 1 ms of latency, 16 bytes of response size. At sensitivity 1 the limit is at least 6 of these above the centre.
   */
  minLatencySigmaSeconds: 0.001,
  minBytesSigma: 16,
  /**
   * How far a value learned into an endpoint's seasonal slot may lie above the slot's centre as the local day began:
   * this factor (or 2 of its deviations then, if more; see `SeasonalStat`). Traffic kept just below the limit widens
   * the band it is learned in, so without a bound a patient sender raised the limit faster every day (from 100 to
   * 130,000 requests a minute in four days, unreported).
   */
  endpointDailyGrowth: 1.5,
} as const;

export type ResolvedOptions = Omit<Required<BehaviourOptions>, 'detectors' | 'newAccessWeights'> & {
  readonly detectors: Readonly<Record<DetectorName, ResolvedDetector>>;
  readonly newAccessWeights: Required<NonNullable<BehaviourOptions['newAccessWeights']>>;
};

export function resolveOptions(options: BehaviourOptions = {}): ResolvedOptions {
  const detectors = {} as Record<DetectorName, ResolvedDetector>;
  for (const name of DETECTOR_NAMES) {
    const given = options.detectors?.[name] ?? {};
    const merged = { ...DETECTOR_DEFAULTS[name], ...given };
    if (!(merged.sensitivity > 0)) throw new RangeError(`detectors.${name}.sensitivity must be above 0`);
    detectors[name] = merged;
  }
  for (const [key, endpoint] of Object.entries(options.endpoints ?? {})) {
    if (endpoint.sensitivity !== undefined && !(endpoint.sensitivity > 0)) {
      throw new RangeError(`endpoints["${key}"].sensitivity must be above 0`);
    }
  }
  const resolved: ResolvedOptions = {
    ...BEHAVIOUR_DEFAULTS,
    endpoints: {},
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    detectors,
    newAccessWeights: { ...BEHAVIOUR_DEFAULTS.newAccessWeights, ...options.newAccessWeights },
  };
  for (const key of ['windowMillis', 'bucketMillis', 'longWindowBuckets', 'maxPrincipals', 'maxEndpoints'] as const) {
    if (!(resolved[key] >= 1)) throw new RangeError(`${key} must be at least 1`);
  }
  if (!(Number.isInteger(resolved.maxOperationsPerRoute) && resolved.maxOperationsPerRoute >= 0)) {
    throw new RangeError('maxOperationsPerRoute must be a whole number, 0 or more');
  }
  if (resolved.timeZone !== '' && !isTimeZone(resolved.timeZone)) {
    throw new RangeError(`timeZone: "${resolved.timeZone}" is not an IANA time zone (such as Europe/Berlin)`);
  }
  if (resolved.windowMillis % resolved.bucketMillis !== 0) {
    throw new RangeError('windowMillis must be a multiple of bucketMillis');
  }
  return resolved;
}
