/**
 * The behaviour detector: one RuleEvaluator that learns endpoint baselines, principal profiles and peer groups
 * from `http_request` events, and raises anomaly detections under one rule id per detector
 * (`vigil-baseline-object-enumeration`, ...). Pure and deterministic in event time: no clock, no I/O, no
 * randomness; the same events in the same order give the same state and the same detections, and a snapshot
 * restored into a fresh detector continues exactly as the original would have.
 *
 * @example
 * const behaviour = createBehaviourDetector({ peerGroupFields: ['user.roles'] });
 * const engine = new Engine([bruteForceRule(...), behaviour]);
 * // persist: JSON.stringify(behaviour.snapshot()); on start: behaviour.restore(JSON.parse(saved))
 * behaviour.suppress({ 'user.id': '4711' }, 'object-enumeration', until, { by: 'alice', reason: 'bulk sync job' });
 */

import { Field, type FieldValue, type SecurityEvent } from '@vigil/schema';
import { canonicalJson, stableHash } from '../hash.js';
import type { Detection, RuleEvaluator, Severity } from '../types.js';
import { BoundedMap, PartitionedBoundedMap } from './bounded-map.js';
import {
  EndpointBaseline,
  type EndpointContext,
  type EndpointFinding,
  type EndpointSnapshot,
  endpointKeyOf,
  endpointKeyParts,
  type GraphqlOperationRef,
} from './endpoint.js';
import {
  describeObjects,
  describePrincipal,
  formatBytes,
  formatDuration,
  formatNumber,
  formatScore,
  formatSeconds,
  percent,
  roundScore,
} from './explain.js';
import { countryDistanceKm } from './geo.js';
import {
  BEHAVIOUR_DEFAULTS,
  type BehaviourOptions,
  DETECTOR_DEFAULTS,
  type DetectorName,
  ENDPOINT_GROWTH_FACTOR,
  ENDPOINT_GROWTH_OVER_BUSIEST,
  type EndpointOptions,
  LEARNING_BOUNDS,
  type ResolvedOptions,
  resolveOptions,
  ruleIdOf,
} from './options.js';
import { PeerGroup, type PeerGroupSnapshot, peerGroupOf } from './peer-group.js';
import {
  learnedValue,
  newWindow,
  objectOf,
  PrincipalProfile,
  type PrincipalRef,
  type PrincipalWindow,
  type ProfileSnapshot,
  principalKeyOf,
  principalOf,
  remember,
} from './principal.js';
import { upperBound } from './robust.js';
import { localOffset, slotTime } from './seasonal.js';
import { normaliseRuleId, type Suppression, SuppressionList } from './suppression.js';

export const BEHAVIOUR_EVALUATOR_ID = 'vigil-baseline';

/** How the key of a principal known only by its client address starts (see `principalOf`). */
const ADDRESS_KEY_PREFIX = `${Field.clientAddress}=`;
/** Client addresses reported for `unauthenticated-access` per endpoint and window; further ones are not. */
const MAX_UNAUTHENTICATED_REPORTED = 100;
/** A detection with the figures behind its sentence. Structurally a Detection: alerting needs nothing else. */
export interface BehaviourDetection extends Detection {
  readonly detector: DetectorName;
  /** How far outside normal: observed / usual maximum for counts, the sum of signal weights for first-seen. */
  readonly score: number;
  readonly details: Readonly<Record<string, string | number | null>>;
}

export interface BehaviourSnapshot {
  readonly version: 1;
  readonly firstEventTime: number | null;
  readonly lastEventTime: number | null;
  readonly windowStart: number | null;
  readonly events: number;
  readonly detections: number;
  /** Least recently seen first. */
  readonly principals: ProfileSnapshot[];
  /** Keys of principals with an open window, in the order they opened. */
  readonly openWindows: string[];
  readonly endpoints: EndpointSnapshot[];
  readonly groups: PeerGroupSnapshot[];
  readonly suppressions: { items: Suppression[]; suppressed: number };
  readonly evictions: { principals: number; endpoints: number; groups: number };
  /** Absent in snapshots from before GraphQL operations were keyed. */
  readonly operationsFolded?: number;
}

export interface BehaviourStats {
  readonly events: number;
  readonly detections: number;
  readonly suppressed: number;
  readonly principals: number;
  readonly endpoints: number;
  readonly peerGroups: number;
  readonly evictions: { principals: number; endpoints: number; groups: number };
  /**
   * Requests for a GraphQL operation learned under their route's own baseline because the route already had
   * `maxOperationsPerRoute` operations with baselines of their own.
   */
  readonly operationsFolded: number;
  readonly learning: boolean;
}

const TAGS: Readonly<Record<DetectorName, readonly string[]>> = {
  'endpoint-volume': ['owasp.api4:2023'],
  'endpoint-errors': ['owasp.api2:2023'],
  'endpoint-callers': ['owasp.api2:2023'],
  'endpoint-latency': ['owasp.api4:2023'],
  'object-enumeration': ['owasp.api1:2023'],
  'principal-rate': ['owasp.api4:2023', 'owasp.api6:2023'],
  'data-volume': ['owasp.api3:2023'],
  'principal-errors': ['owasp.api8:2023'],
  'new-access': ['owasp.api2:2023', 'attack.t1078'],
  'function-novelty': ['owasp.api5:2023'],
  'unauthenticated-access': ['owasp.api2:2023'],
  'endpoint-growth': ['owasp.api4:2023'],
};

const TITLES: Readonly<Record<DetectorName, string>> = {
  'endpoint-volume': 'Unusual request volume on an endpoint',
  'endpoint-errors': 'Unusual error responses on an endpoint',
  'endpoint-callers': 'Unusual number of callers on an endpoint',
  'endpoint-latency': 'Unusual latency or response size on an endpoint',
  'object-enumeration': 'Unusually many distinct objects accessed',
  'principal-rate': 'Unusual request rate by a principal',
  'data-volume': 'Unusual data volume received by a principal',
  'principal-errors': 'Unusually many client errors for a principal',
  'new-access': 'Access from a new country, network or device',
  'function-novelty': 'Function used for the first time',
  'unauthenticated-access': 'Unauthenticated access to a normally authenticated endpoint',
  'endpoint-growth': 'Lasting growth of traffic on an endpoint',
};

const SEVERITY_ORDER: readonly Severity[] = ['info', 'low', 'medium', 'high', 'critical'];

function lower(severity: Severity): Severity {
  return SEVERITY_ORDER[Math.max(0, SEVERITY_ORDER.indexOf(severity) - 1)]!;
}

function text(value: FieldValue | undefined): string | undefined {
  if (value === undefined || Array.isArray(value)) return undefined;
  const s = String(value);
  return s === '' ? undefined : s;
}

const OPERATION_TYPES: ReadonlySet<string> = new Set(['query', 'mutation', 'subscription']);
const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,99}$/;
const MAX_KEYED_ROOT_FIELDS = 16;

/**
 * The GraphQL operation of a request, when it can have a baseline of its own: one operation (a batch mixes them),
 * known by the root fields it runs (`vigil.graphql.root_fields`: what it does, whatever the client named it), or
 * else by its name. Both are the client's to choose, so they are held to GraphQL's name syntax, 100 characters and
 * 16 fields.
 */
function operationOf(a: SecurityEvent['attributes']): GraphqlOperationRef | undefined {
  const type = a[Field.graphqlOperationType];
  if (typeof type !== 'string' || !OPERATION_TYPES.has(type)) return undefined;
  const operations = num(a[Field.graphqlOperations]);
  if (operations !== undefined && operations !== 1) return undefined;
  const t = type as GraphqlOperationRef['type'];
  const fields = a[Field.graphqlRootFields];
  if (Array.isArray(fields) && fields.length > 0) {
    if (fields.length > MAX_KEYED_ROOT_FIELDS || !fields.every((f) => GRAPHQL_NAME.test(f))) return undefined;
    return { type: t, fields: [...new Set(fields)].sort() };
  }
  const name = a[Field.graphqlOperationName];
  if (typeof name !== 'string' || !GRAPHQL_NAME.test(name)) return undefined;
  return { type: t, name };
}

/**
 * The labels naming an endpoint in a detection: route and method, and the GraphQL operation when it has one (its
 * root fields, space-separated, or its name).
 */
function endpointLabels(method: string, route: string, operation: GraphqlOperationRef | undefined) {
  const labels: Record<string, string> = { [Field.httpRoute]: route, [Field.httpRequestMethod]: method };
  if (operation) {
    labels[Field.graphqlOperationType] = operation.type;
    if (operation.fields) labels[Field.graphqlRootFields] = operation.fields.join(' ');
    else if (operation.name !== undefined) labels[Field.graphqlOperationName] = operation.name;
  }
  return labels;
}

function num(value: FieldValue | undefined): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value !== '' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** A counter read from a snapshot: 0 unless a whole number of at least 0 (a damaged one must not make stats NaN). */
function savedCount(value: unknown): number {
  return Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : 0;
}

/**
 * A duration or size as it is learned: none when negative, not a number, or above `max`. A schema-valid 1e308 s
 * would make every sum it enters infinite; clamped to the cap instead of ignored, it would still hold the slot it
 * lands in while warming up (no clipping yet) at a mean of minutes for days.
 */
function plausible(value: FieldValue | undefined, max: number): number | undefined {
  const n = num(value);
  return n === undefined || n < 0 || n > max ? undefined : n;
}

/** Everything a check needs about the event being processed. */
interface Visit {
  readonly event: SecurityEvent;
  readonly time: number;
  readonly principal: PrincipalRef;
  readonly profile: PrincipalProfile;
  readonly group: PeerGroup;
  readonly window: PrincipalWindow;
  readonly learned: boolean;
  readonly endpointOptions: EndpointOptions | undefined;
  readonly out: BehaviourDetection[];
}

export class BehaviourDetector implements RuleEvaluator {
  readonly id = BEHAVIOUR_EVALUATOR_ID;
  readonly title = 'Behaviour baselines';
  readonly options: ResolvedOptions;
  /** Same options, same behaviour: a reload or restart keeps the learned state only for an unchanged setup. */
  readonly version: string;
  private principals: PartitionedBoundedMap<string, PrincipalProfile>;
  /** Endpoints that answered a request successfully (or whose requests carry no status). */
  private endpoints: BoundedMap<string, EndpointBaseline>;
  /**
   * Endpoints whose every request so far was refused or failed, apart: up to a quarter of `maxEndpoints` more. Paths
   * that do not exist, which a scanner makes up by the thousand, evict only each other, never a learned endpoint.
   */
  private unproven: BoundedMap<string, EndpointBaseline>;
  /** Per route key (`POST /graphql`): how many of its GraphQL operations have a baseline of their own. */
  private operationCounts = new Map<string, number>();
  private operationsFolded = 0;
  private groups: BoundedMap<string, PeerGroup>;
  /** Principals with an open window, in the order the windows opened (closing order must be deterministic). */
  private openWindows = new Set<PrincipalProfile>();
  private suppressionList: SuppressionList;
  private firstEventTime: number | undefined;
  private lastEventTime: number | undefined;
  private windowStart: number | undefined;
  private events = 0;
  private detections = 0;
  private readonly strings = new Map<string, string>();
  /** Local time's offset from UTC at a moment, in minutes: the seasonality's clock. */
  private readonly offsetMinutesAt: (timeMillis: number) => number;

  constructor(options: BehaviourOptions = {}) {
    this.options = resolveOptions(options);
    // An option added in a later release counts only when set away from its default, so that upgrading keeps
    // what was learned (a snapshot from before it restores as it is).
    const { maxOperationsPerRoute, timeZone, detectors, ...versioned } = this.options;
    const { 'endpoint-growth': growth, ...olderDetectors } = detectors;
    this.version = stableHash(
      canonicalJson({
        ...versioned,
        detectors: olderDetectors,
        ...(maxOperationsPerRoute !== BEHAVIOUR_DEFAULTS.maxOperationsPerRoute ? { maxOperationsPerRoute } : {}),
        ...(timeZone !== BEHAVIOUR_DEFAULTS.timeZone ? { timeZone } : {}),
        ...(canonicalJson(growth) !== canonicalJson(DETECTOR_DEFAULTS['endpoint-growth']) ? { growth } : {}),
        adminRoutePattern: String(this.options.adminRoutePattern),
      }),
    );
    this.offsetMinutesAt = localOffset(this.options.timeZone, this.options.timeZoneOffsetMinutes);
    this.principals = this.newPrincipalMap(this.openWindows);
    this.endpoints = this.newEndpointMap(this.options.maxEndpoints, this.operationCounts);
    this.unproven = this.newEndpointMap(this.unprovenBound(), this.operationCounts);
    this.groups = new BoundedMap(this.options.maxPeerGroups);
    this.suppressionList = new SuppressionList(this.options.maxSuppressions);
  }

  private unprovenBound(): number {
    return Math.max(1, Math.floor(this.options.maxEndpoints / 4));
  }

  /** An evicted operation's baseline frees its place among its route's operations. */
  private newEndpointMap(maxSize: number, operationCounts: Map<string, number>): BoundedMap<string, EndpointBaseline> {
    return new BoundedMap(maxSize, (_, e) => {
      if (!e.operation) return;
      const routeKey = endpointKeyOf(e.method, e.route);
      const count = (operationCounts.get(routeKey) ?? 1) - 1;
      if (count > 0) operationCounts.set(routeKey, count);
      else operationCounts.delete(routeKey);
    });
  }

  /**
   * The baseline a request is learned under: its GraphQL operation's own, when it has one and the route has room
   * for it (at most `maxOperationsPerRoute`, so that operations a client makes up cannot crowd out or evict the
   * baselines of real ones); else its route's. A new endpoint starts among the unproven unless the request
   * succeeded, and moves among the others with its first success.
   */
  private endpointFor(
    routeKey: string,
    route: string,
    method: string,
    operation: GraphqlOperationRef | undefined,
    time: number,
    success: boolean,
  ): EndpointBaseline {
    const o = this.options;
    if (operation) {
      const key = endpointKeyOf(method, route, operation);
      const known = this.knownEndpoint(key, success);
      if (known) return known;
      const count = this.operationCounts.get(routeKey) ?? 0;
      if (count < o.maxOperationsPerRoute) {
        const endpoint = new EndpointBaseline(route, method, time, o.bucketMillis, operation);
        (success ? this.endpoints : this.unproven).set(key, endpoint);
        this.operationCounts.set(routeKey, count + 1);
        return endpoint;
      }
      this.operationsFolded++;
    }
    let endpoint = this.knownEndpoint(routeKey, success);
    if (!endpoint) {
      endpoint = new EndpointBaseline(route, method, time, o.bucketMillis);
      (success ? this.endpoints : this.unproven).set(routeKey, endpoint);
    }
    return endpoint;
  }

  /** An endpoint by key, marked as recently seen; an unproven one is proven by a success. */
  private knownEndpoint(key: string, success: boolean): EndpointBaseline | undefined {
    const proven = this.endpoints.get(key);
    if (proven) return proven;
    const endpoint = this.unproven.get(key);
    if (endpoint && success) {
      this.unproven.delete(key);
      this.endpoints.set(key, endpoint);
    }
    return endpoint;
  }

  /**
   * Users and API keys up to `maxPrincipals`; principals known only by their address apart, up to a quarter of it.
   * In one map, a spray from 200 000 made-up addresses (an IPv6 /64 holds 2^64) evicted every user's profile, and
   * the takeover that followed met no history to differ from.
   */
  private newPrincipalMap(openWindows: Set<PrincipalProfile>): PartitionedBoundedMap<string, PrincipalProfile> {
    return new PartitionedBoundedMap(
      this.options.maxPrincipals,
      Math.max(1, Math.floor(this.options.maxPrincipals / 4)),
      (key) => key.startsWith(ADDRESS_KEY_PREFIX),
      (_, p) => openWindows.delete(p),
    );
  }

  stateSize(): number {
    return this.principals.size + this.endpoints.size + this.unproven.size + this.groups.size;
  }

  evictionCount(): number {
    return this.principals.evictions + this.endpoints.evictions + this.unproven.evictions + this.groups.evictions;
  }

  stats(): BehaviourStats {
    return {
      events: this.events,
      detections: this.detections,
      suppressed: this.suppressionList.suppressed,
      principals: this.principals.size,
      endpoints: this.endpoints.size + this.unproven.size,
      peerGroups: this.groups.size,
      evictions: {
        principals: this.principals.evictions,
        endpoints: this.endpoints.evictions + this.unproven.evictions,
        groups: this.groups.evictions,
      },
      operationsFolded: this.operationsFolded,
      learning: !this.reportingAt(this.lastEventTime ?? Number.NEGATIVE_INFINITY),
    };
  }

  private reportingAt(time: number): boolean {
    return this.firstEventTime !== undefined && time - this.firstEventTime >= this.options.learningMillis;
  }

  process(event: SecurityEvent): readonly BehaviourDetection[] {
    if (event.type !== 'http_request') return [];
    const o = this.options;
    const a = event.attributes;
    const time = event.time;
    this.events++;
    if (this.firstEventTime === undefined) this.firstEventTime = time;
    if (this.lastEventTime === undefined || time > this.lastEventTime) this.lastEventTime = time;
    const reporting = this.reportingAt(time);
    const windowStart = Math.floor(time / o.windowMillis) * o.windowMillis;
    if (this.windowStart === undefined || windowStart > this.windowStart) {
      this.closeWindowsBefore(windowStart);
      this.windowStart = windowStart;
      this.suppressionList.prune(time);
    }

    const out: BehaviourDetection[] = [];
    const route = text(a[Field.httpRoute]);
    const method = text(a[Field.httpRequestMethod])?.toUpperCase();
    const status = num(a[Field.httpResponseStatusCode]);
    const bytes = plausible(a[Field.httpResponseBodySize], LEARNING_BOUNDS.maxBodyBytes);
    const routeKey = route !== undefined && method !== undefined ? endpointKeyOf(method, route) : undefined;
    const operation = routeKey !== undefined && o.maxOperationsPerRoute > 0 ? operationOf(a) : undefined;
    // An operation's own options (`POST /graphql (mutation { deleteUser })`) before its route's.
    let endpointOptions =
      routeKey === undefined
        ? undefined
        : ((operation && o.endpoints[endpointKeyOf(method!, route!, operation)]) ?? o.endpoints[routeKey]);
    let endpointKey = routeKey;
    const principal = principalOf(a);
    const authenticated = principal !== undefined && principal.kind !== 'address';
    const success = status === undefined || status < 400;

    if (routeKey !== undefined && !endpointOptions?.ignore) {
      const endpoint = this.endpointFor(routeKey, route!, method!, operation, time, success);
      if (endpoint.key === routeKey) endpointOptions = o.endpoints[routeKey];
      // Profiles and groups hold the endpoint's own copy of the key: 100k profiles must not hold 100k copies.
      endpointKey = endpoint.key;
      const ctx = this.endpointContext(endpointOptions, reporting);
      const findings = endpoint.observe(
        {
          time,
          id: event.id,
          status,
          latencySeconds: plausible(a[Field.httpServerRequestDuration], LEARNING_BOUNDS.maxLatencySeconds),
          bytes,
          caller: principal?.key ?? '',
          authenticated,
        },
        ctx,
      );
      for (const f of findings) {
        const ep = endpoint;
        if (!this.emit(out, this.endpointDetection(ep, f), time, () => ep.flag(f, ctx))) f.learnIfSuppressed?.();
      }
      if (reporting) this.checkGrowth(endpoint, endpointOptions, time, out);
      const unusual =
        reporting && !authenticated && status !== undefined && status >= 200 && status < 300
          ? this.checkUnauthenticated(endpoint, event, windowStart, endpointOptions, out)
          : false;
      if (!unusual) endpoint.countAuthentication(authenticated);
    }

    if (!principal) return out;
    const groupKey = this.intern(peerGroupOf(a, principal, o.peerGroupFields));
    let profile = this.principals.get(principal.key);
    if (!profile) {
      profile = new PrincipalProfile(principal.kind, principal.field, principal.value, groupKey, time);
      this.principals.set(principal.key, profile);
      this.groupOf(groupKey, time).members++;
    } else if (profile.group !== groupKey) {
      profile.group = groupKey;
      this.groupOf(groupKey, time).members++;
    }
    const group = this.groupOf(groupKey, time);
    profile.events++;
    if (time > profile.lastSeen) profile.lastSeen = time;
    const localMillis = time + this.offsetMinutesAt(time) * 60_000;
    const localDays = Math.floor(localMillis / 86_400_000);
    profile.hourMask |= 1 << Math.floor((localMillis - localDays * 86_400_000) / 3_600_000);
    // 1970-01-01 was a Thursday (4, with Sunday = 0).
    profile.weekdayMask |= 1 << ((((localDays + 4) % 7) + 7) % 7);

    let window = profile.window;
    if (!window || window.start < windowStart) {
      if (window) this.closeWindow(profile);
      window = newWindow(windowStart, time);
      profile.window = window;
      this.openWindows.add(profile);
    }
    window.requests++;
    window.evidence.push(event.id);
    if (window.evidence.length > o.maxEvidence) window.evidence.shift();

    const learned = time - profile.firstSeen >= o.principalLearningMillis && profile.windows >= o.principalMinWindows;
    const visit: Visit = { event, time, principal, profile, group, window, learned, endpointOptions, out };

    if (principal.kind !== 'address') this.checkNewAccess(visit, reporting);

    if (endpointKey !== undefined && !endpointOptions?.ignore) {
      const novel = authenticated && reporting ? this.checkFunctionNovelty(visit, endpointKey, status) : false;
      if (success) {
        const firstUse = profile.useEndpoint(endpointKey, o.maxProfileEndpoints);
        const users = group.endpoints.peek(endpointKey);
        // A reported use of a function the group does not know is not learned as normal, but it counts towards
        // the members after which it is: a function deployed after the learning day, that the whole group starts
        // using, stops being novel after a few of them (a function only one member probes stays novel).
        if (users === undefined && novel) {
          group.noteNovelUse(endpointKey, principal.key, LEARNING_BOUNDS.knownFunctionMembers);
        } else if (firstUse) {
          group.endpoints.set(endpointKey, (users ?? 0) + 1);
        }
      }
      const count = (window.endpoints.get(endpointKey) ?? 0) + 1;
      window.endpoints.set(endpointKey, count);
      if (reporting) {
        this.checkProfileMetric(visit, 'principal-rate', `rate:${endpointKey}`, count, () =>
          profile.usualForEndpoint(endpointKey),
        );
      }
    }

    const object = objectOf(a, route);
    if (object) {
      window.objects ??= new Map();
      let ids = window.objects.get(object.type);
      if (!ids) {
        ids = new Set();
        window.objects.set(object.type, ids);
      }
      if (ids.size < o.maxObjectsPerWindow && !ids.has(object.id)) {
        ids.add(object.id);
        if (reporting) {
          this.checkProfileMetric(visit, 'object-enumeration', `objects:${object.type}`, ids.size, () =>
            profile.usualForObjects(object.type),
          );
        }
      }
    }

    if (bytes !== undefined && bytes > 0) {
      window.bytes += bytes;
      if (reporting) this.checkProfileMetric(visit, 'data-volume', 'bytes', window.bytes, () => profile.maxBytes);
    }

    if (status !== undefined && status >= 400 && status < 500) {
      window.errors++;
      window.errorTargets ??= new Set();
      if (window.errorTargets.size < 256) window.errorTargets.add(route ?? text(a[Field.urlPath]) ?? '?');
      if (reporting)
        this.checkProfileMetric(visit, 'principal-errors', 'errors', window.errors, () => profile.maxErrors);
    }
    return out;
  }

  /**
   * One copy of each common string (countries, networks, devices, group keys): every event brings its own copy,
   * and profiles keep them for days. Bounded; when full, strings are simply not shared.
   */
  private intern<T extends string | undefined>(value: T): T {
    if (value === undefined) return value;
    const known = this.strings.get(value);
    if (known !== undefined) return known as T;
    if (this.strings.size < 50_000) this.strings.set(value, value);
    return value;
  }

  private groupOf(key: string, time: number): PeerGroup {
    let group = this.groups.get(key);
    if (!group) {
      group = new PeerGroup(key, time, this.options.maxPeerMetrics);
      this.groups.set(key, group);
    }
    return group;
  }

  private endpointContext(endpointOptions: EndpointOptions | undefined, reporting: boolean): EndpointContext {
    const o = this.options;
    return {
      bucketMillis: o.bucketMillis,
      longWindowBuckets: o.longWindowBuckets,
      minSamples: o.endpointMinSamples,
      offsetMinutesAt: this.offsetMinutesAt,
      maxEvidence: o.maxEvidence,
      reporting,
      sigmas: BEHAVIOUR_DEFAULTS.endpointSigmas,
      minRatio: BEHAVIOUR_DEFAULTS.endpointMinRatio,
      threshold: (name) => {
        const d = o.detectors[name];
        if (!d.enabled) return undefined;
        return {
          sensitivity: d.sensitivity * (endpointOptions?.sensitivity ?? 1),
          minCount: endpointOptions?.minVolume ?? d.minCount,
        };
      },
    };
  }

  /** `endpoint-growth`, with the first request of each local day (see `EndpointBaseline.growth`). */
  private checkGrowth(
    endpoint: EndpointBaseline,
    endpointOptions: EndpointOptions | undefined,
    time: number,
    out: BehaviourDetection[],
  ): void {
    const d = this.options.detectors['endpoint-growth'];
    if (!d.enabled) return;
    const today = Math.floor((time + this.offsetMinutesAt(time) * 60_000) / 86_400_000);
    // The common case, on every request: today was looked at already.
    if (today <= endpoint.growthCheckedDay) return;
    const sensitivity = d.sensitivity * (endpointOptions?.sensitivity ?? 1);
    const g = endpoint.growth({
      today,
      factor: 1 + (ENDPOINT_GROWTH_FACTOR - 1) / sensitivity,
      overBusiest: 1 + (ENDPOINT_GROWTH_OVER_BUSIEST - 1) / sensitivity,
      minCount: d.minCount,
      maxEvidence: this.options.maxEvidence,
    });
    if (!g) return;
    const day = 86_400_000;
    // The local date the compared weeks began on.
    const since = (daysAgo: number) => new Date((today - daysAgo) * day).toISOString().slice(0, 10);
    const summary =
      `${endpoint.key} had ${formatNumber(g.recent)} requests on a typical day of the last week, ` +
      `${formatNumber(Math.round((g.recent / Math.max(g.base, 1)) * 10) / 10)} times the ${formatNumber(g.base)} ` +
      `of the weeks before, from ${since(g.baseDaysAgo)}; traffic that grows a little every day is learned by the ` +
      'minute-level baselines, not reported';
    this.emit(
      out,
      this.detection(
        'endpoint-growth',
        d.severity,
        endpointLabels(endpoint.method, endpoint.route, endpoint.operation),
        g.recent / Math.max(g.base, 1),
        summary,
        { ids: g.eventIds, firstTime: time - 7 * day, lastTime: time, count: g.requests },
        { metric: 'requests', resolution: 'day', observed: g.recent, expected: g.base, requests: g.requests },
      ),
      time,
      () => {},
    );
  }

  /** Returns whether the detection was raised (false when suppressed); `onRaised` runs only then. */
  private emit(out: BehaviourDetection[], d: BehaviourDetection, time: number, onRaised: () => void): boolean {
    if (this.suppressionList.matches(d, time)) {
      this.suppressionList.suppressed++;
      return false;
    }
    out.push(d);
    this.detections++;
    onRaised();
    return true;
  }

  private detection(
    name: DetectorName,
    severity: Severity,
    labels: Record<string, string>,
    score: number,
    summary: string,
    evidence: { ids: readonly string[]; firstTime: number; lastTime: number; count: number },
    details: Record<string, string | number | null>,
  ): BehaviourDetection {
    const rounded = roundScore(score);
    return {
      ruleId: ruleIdOf(name),
      ruleTitle: TITLES[name],
      severity,
      groupLabels: labels,
      eventIds: evidence.ids.slice(-this.options.maxEvidence),
      firstTime: evidence.firstTime,
      lastTime: evidence.lastTime,
      eventCount: evidence.count,
      summary: `${summary} (score ${formatScore(rounded)})`,
      tags: ['vigil.baseline', `detector=${name}`, `score=${formatScore(rounded)}`, ...TAGS[name]],
      detector: name,
      score: rounded,
      details,
    };
  }

  private endpointDetection(endpoint: EndpointBaseline, f: EndpointFinding): BehaviourDetection {
    const where = endpoint.key;
    const span = formatDuration(f.windowMillis);
    const usual = f.expected.stat.center;
    const level = f.metric === 'latency' || f.metric === 'bytes';
    const fmt = f.metric === 'latency' ? formatSeconds : f.metric === 'bytes' ? formatBytes : formatNumber;
    let seen: string;
    switch (f.metric) {
      case 'requests':
        seen = `${where} had ${formatNumber(f.value)} requests in ${span}`;
        break;
      case 'errors4xx':
      case 'errors5xx': {
        const cls = f.metric === 'errors4xx' ? '4xx' : '5xx';
        seen = `${where} answered ${cls} to ${formatNumber(f.value)} of ${formatNumber(f.requests)} requests in ${span} (${percent(f.value, f.requests)})`;
        break;
      }
      case 'callers':
        seen = `${where} was called by ${formatNumber(f.value)} distinct principals in ${span}`;
        break;
      case 'latency':
        seen = `${where} took ${formatSeconds(f.value)} on average over ${span} (${formatNumber(f.requests)} requests)`;
        break;
      case 'bytes':
        seen = `${where} returned ${formatBytes(f.value)} per response on average over ${span} (${formatNumber(f.requests)} requests)`;
        break;
    }
    const normal = `usual for ${f.expected.slot} is about ${fmt(level ? usual : Math.round(usual * 10) / 10)}, alerting above ${fmt(level ? f.limit : Math.floor(f.limit))}`;
    // A level's score is relative to its smallest deviation too: a centre of 0 B would make any body infinite.
    const score = level
      ? f.value / Math.max(usual, endpoint.windowStats[f.metric].minSigma, 1e-9)
      : f.value / Math.max(usual, 1);
    const d = this.options.detectors[f.detector];
    return this.detection(
      f.detector,
      d.severity,
      endpointLabels(endpoint.method, endpoint.route, endpoint.operation),
      score,
      `${seen}; ${normal}`,
      { ids: f.eventIds, firstTime: f.firstTime, lastTime: f.lastTime, count: level ? f.requests : f.value },
      {
        metric: f.metric,
        resolution: f.resolution,
        windowMillis: f.windowMillis,
        observed: f.value,
        expected: usual,
        limit: f.limit,
        slot: f.expected.slot,
        requests: f.requests,
      },
    );
  }

  /**
   * The profile detectors share one rule: fire when the window's value exceeds `factor` times the larger of the
   * principal's usual maximum (once they have a history, and for this metric: `usual` is undefined for an endpoint
   * or object type they never used) and their peer group's high quantile, and at least the detector's minimum.
   * Without either baseline nothing is said: there is nothing to compare with. A raised detection records the limit
   * it crossed: the window is learned with the metric clipped to it.
   */
  private checkProfileMetric(
    v: Visit,
    name: DetectorName,
    metric: string,
    value: number,
    usual: () => number | undefined,
  ): void {
    const o = this.options;
    const d = o.detectors[name];
    if (!d.enabled || v.window.reported.has(metric)) return;
    const sensitivity = d.sensitivity * (v.endpointOptions?.sensitivity ?? 1);
    const minCount = name === 'data-volume' ? d.minCount * 1e6 : d.minCount;
    if (value <= minCount) return;
    const own = v.learned ? usual() : undefined;
    const peer = v.group.atMost(metric, o.peerQuantile, o.peerMinSamples);
    if (own === undefined && peer === undefined) return;
    const base = Math.max(own ?? 0, peer ?? 0);
    const factor = 1 + (BEHAVIOUR_DEFAULTS.profileFactor - 1) / sensitivity;
    const limit = Math.max(minCount, base * factor);
    if (value <= limit) return;
    v.window.reported.add(metric);

    const who = describePrincipal(v.principal.field, v.principal.value);
    const span = formatDuration(o.windowMillis);
    const fmt = name === 'data-volume' ? formatBytes : formatNumber;
    const labels: Record<string, string> = { [v.principal.field]: v.principal.value };
    const a = v.event.attributes;
    let seen: string;
    if (name === 'object-enumeration') {
      const type = metric.slice('objects:'.length);
      const verb = text(a[Field.httpRequestMethod])?.toUpperCase() === 'GET' ? 'read' : 'accessed';
      seen = `${who} ${verb} ${formatNumber(value)} distinct ${describeObjects(type)} in ${span}`;
      if (type.startsWith('/')) labels[Field.httpRoute] = type;
      else labels[Field.objectType] = type;
    } else if (name === 'principal-rate') {
      const endpoint = metric.slice('rate:'.length);
      seen = `${who} called ${endpoint} ${formatNumber(value)} times in ${span}`;
      const parts = endpointKeyParts(endpoint);
      Object.assign(labels, endpointLabels(parts.method, parts.route, parts.operation));
    } else if (name === 'data-volume') {
      seen = `${who} received ${formatBytes(value)} in ${span}`;
    } else {
      seen = `${who} got ${formatNumber(value)} client errors (4xx) in ${span} on ${formatNumber(v.window.errorTargets?.size ?? 0)} distinct routes or paths`;
    }
    const ownText = own === undefined ? 'they have no history of their own yet' : `their usual is at most ${fmt(own)}`;
    const peerText =
      peer === undefined
        ? `their peer group (${v.profile.group}) has no baseline yet`
        : `their peer group's (${v.profile.group}) at most ${fmt(peer)}`;
    this.emit(
      v.out,
      this.detection(
        name,
        o.detectors[name].severity,
        labels,
        value / Math.max(base, 1),
        `${seen}; ${ownText}, ${peerText}`,
        { ids: v.window.evidence, firstTime: v.window.firstTime, lastTime: v.time, count: value },
        {
          metric,
          observed: value,
          usual: own ?? null,
          peerAtMost: peer ?? null,
          peerGroup: v.profile.group,
          limit,
          windowMillis: o.windowMillis,
        },
      ),
      v.time,
      () => {
        v.window.limits ??= new Map();
        v.window.limits.set(metric, limit);
      },
    );
  }

  /** New country / network / device for a principal with a history, and impossible travel. */
  private checkNewAccess(v: Visit, reporting: boolean): void {
    const o = this.options;
    const a = v.event.attributes;
    const p = v.profile;
    const country = this.intern(text(a[Field.clientGeoCountryIsoCode])?.toUpperCase());
    const asn = this.intern(text(a[Field.clientAsNumber]));
    const device = this.intern(text(a[Field.userAgentOriginal])?.slice(0, 200));
    const weights = o.newAccessWeights;
    const signals: string[] = [];
    let score = 0;
    const details: Record<string, string | number | null> = {};
    if (v.learned) {
      if (country !== undefined && p.countries.length > 0 && !p.countries.includes(country)) {
        score += weights.country;
        signals.push(`a new country ${country} (usually ${p.countries.join(', ')})`);
        details.country = country;
      }
      if (asn !== undefined && p.asns.length > 0 && !p.asns.includes(asn)) {
        score += weights.asn;
        signals.push(`a new network AS ${asn} (usually ${p.asns.map((x) => `AS ${x}`).join(', ')})`);
        details.asn = asn;
      }
      if (device !== undefined && p.devices.length > 0 && !p.devices.includes(device)) {
        score += weights.device;
        signals.push(`a new device "${device.slice(0, 60)}" (${p.devices.length} known)`);
        details.device = device;
      }
    }
    if (country !== undefined && p.lastCountry !== undefined && country !== p.lastCountry) {
      const km = countryDistanceKm(p.lastCountry, country);
      const hours = Math.max(v.time - p.lastCountryTime, 1) / 3_600_000;
      if (km !== undefined && km >= o.travelMinDistanceKm && km / hours > o.travelSpeedKmh) {
        score += weights.travel;
        signals.push(
          `impossible travel ${p.lastCountry} → ${country}, ${formatNumber(Math.round(km))} km in ${formatDuration(Math.max(60_000, Math.round((v.time - p.lastCountryTime) / 60_000) * 60_000))}`,
        );
        details.travelKm = Math.round(km);
        details.travelFrom = p.lastCountry;
      }
    }
    const d = o.detectors['new-access'];
    if (reporting && d.enabled && score >= BEHAVIOUR_DEFAULTS.newAccessMinScore / d.sensitivity && signals.length) {
      const who = describePrincipal(v.principal.field, v.principal.value);
      const list =
        signals.length === 1 ? signals[0]! : `${signals.slice(0, -1).join(', ')} and ${signals[signals.length - 1]}`;
      this.emit(
        v.out,
        this.detection(
          'new-access',
          d.severity,
          { [v.principal.field]: v.principal.value },
          score,
          `${who} came from ${list}`,
          { ids: [v.event.id], firstTime: v.time, lastTime: v.time, count: 1 },
          details,
        ),
        v.time,
        () => {
          v.window.anomalous = true;
        },
      );
    }
    if (country !== undefined) {
      remember(p.countries, country, o.maxProfileValues);
      p.lastCountry = country;
      p.lastCountryTime = v.time;
    }
    if (asn !== undefined) remember(p.asns, asn, o.maxProfileValues);
    if (device !== undefined) remember(p.devices, device, o.maxProfileValues);
  }

  /**
   * A role using an endpoint nobody in its group has used successfully (function-level authorization probing),
   * or an administrative function used for the first time by a principal whose group rarely uses it.
   * Returns whether the use is novel: a detection was raised, now or earlier in the window (the use is then not
   * learned as normal for the group; see `PeerGroup.noteNovelUse`).
   */
  private checkFunctionNovelty(v: Visit, endpointKey: string, status: number | undefined): boolean {
    const o = this.options;
    const d = o.detectors['function-novelty'];
    const reportKey = `function:${endpointKey}`;
    if (!d.enabled) return false;
    // A probe refused and then allowed in the same window must not make the function normal for the group.
    if (v.window.reported.has(reportKey)) return true;
    if (v.time - v.group.firstSeen < o.learningMillis) return false;
    const users = v.group.endpoints.peek(endpointKey);
    const parts = endpointKeyParts(endpointKey);
    const refused = status !== undefined && status >= 400;
    const outcome = status === undefined ? '' : ` (answered ${status})`;
    const who = describePrincipal(v.principal.field, v.principal.value);
    let summary: string | undefined;
    let score = 0;
    if (users === undefined) {
      const others = (v.group.candidates.peek(endpointKey) ?? []).filter((m) => m !== v.principal.key).length;
      const members = (n: number) => (n === 1 ? 'one other member' : `${n} other members`);
      summary =
        others === 0
          ? `${who} (${v.profile.group}) called ${endpointKey}${outcome}, which no one in their peer group has used successfully before`
          : `${who} (${v.profile.group}) called ${endpointKey}${outcome}, which their peer group does not know yet: ${members(others)} used it successfully, each reported (it becomes normal for the group once ${LEARNING_BOUNDS.knownFunctionMembers} members have)`;
      score = 1;
    } else if (
      !refused &&
      v.learned &&
      (v.endpointOptions?.admin ?? o.adminRoutePattern.test(parts.route)) &&
      !v.profile.endpoints.includes(endpointKey) &&
      users < LEARNING_BOUNDS.knownFunctionMembers
    ) {
      summary = `${who} used the administrative function ${endpointKey} for the first time; ${users === 1 ? 'one member' : `${users} members`} of their peer group (${v.profile.group}) used it before`;
      score = 1 / (users + 1);
    }
    if (summary === undefined) return false;
    v.window.reported.add(reportKey);
    return this.emit(
      v.out,
      this.detection(
        'function-novelty',
        refused ? lower(d.severity) : d.severity,
        {
          [v.principal.field]: v.principal.value,
          ...endpointLabels(parts.method, parts.route, parts.operation),
        },
        score,
        summary,
        { ids: [v.event.id], firstTime: v.time, lastTime: v.time, count: 1 },
        { endpoint: endpointKey, peerGroup: v.profile.group, peerUsers: users ?? 0, status: status ?? null },
      ),
      v.time,
      () => {
        v.window.anomalous = true;
      },
    );
  }

  /** A successful anonymous request to an endpoint whose traffic is (almost) always authenticated. */
  private checkUnauthenticated(
    endpoint: EndpointBaseline,
    event: SecurityEvent,
    windowStart: number,
    endpointOptions: EndpointOptions | undefined,
    out: BehaviourDetection[],
  ): boolean {
    const d = this.options.detectors['unauthenticated-access'];
    if (!d.enabled) return false;
    const total = endpoint.authenticated + endpoint.anonymous;
    const sensitivity = d.sensitivity * (endpointOptions?.sensitivity ?? 1);
    const share = endpoint.authenticatedShare();
    if (total < d.minCount || share < 1 - (1 - BEHAVIOUR_DEFAULTS.authenticatedShare) * sensitivity) return false;
    const address = text(event.attributes[Field.clientAddress]) ?? '(unknown)';
    if (endpoint.unauthenticatedWindowStart !== windowStart) {
      endpoint.unauthenticatedWindowStart = windowStart;
      endpoint.unauthenticatedReported = [];
    }
    // One detection per address and window, for the first MAX_UNAUTHENTICATED_REPORTED addresses: past them an
    // address the list could not hold was reported again on every request, a detection per event from a spray.
    if (endpoint.unauthenticatedReported.includes(address)) return true;
    if (endpoint.unauthenticatedReported.length >= MAX_UNAUTHENTICATED_REPORTED) return true;
    endpoint.unauthenticatedReported.push(address);
    const status = num(event.attributes[Field.httpResponseStatusCode]);
    return this.emit(
      out,
      this.detection(
        'unauthenticated-access',
        d.severity,
        { ...endpointLabels(endpoint.method, endpoint.route, endpoint.operation), [Field.clientAddress]: address },
        1 / Math.max(1 - share, 1 / total),
        `${describePrincipal(Field.clientAddress, address)} called ${endpoint.key} without authentication and got ${status}; ${(share * 100).toFixed(1)} % of its ${formatNumber(Math.round(total))} requests are authenticated`,
        { ids: [event.id], firstTime: event.time, lastTime: event.time, count: 1 },
        { authenticatedShare: share, requests: Math.round(total), status: status ?? null },
      ),
      event.time,
      () => {},
    );
  }

  private closeWindowsBefore(windowStart: number): void {
    for (const p of this.openWindows) {
      if (p.window && p.window.start < windowStart) this.closeWindow(p);
    }
  }

  /**
   * Fold a principal's closed window into its profile and its peer group, unless a first-seen detection made it
   * anomalous. A count that crossed its limit is learned as the limit (see `PrincipalWindow.limits`).
   */
  private closeWindow(p: PrincipalProfile): void {
    const w = p.window;
    this.openWindows.delete(p);
    p.window = undefined;
    if (!w || w.anomalous) return;
    // The day of the growth bound is the local day, as for the hours of the profile.
    const day = slotTime(w.start, this.offsetMinutesAt(w.start)).day;
    p.learnWindow(w, day, this.options.maxProfileEndpoints, BEHAVIOUR_DEFAULTS.profileFactor);
    const g = this.groups.peek(p.group);
    if (!g) return;
    // The group learns no more of a window than the member's profile did: its high quantile is a few members'
    // largest windows, which one member raising their own window by window would otherwise carry along.
    const learned = (metric: string, value: number, usual: number | undefined) =>
      Math.min(learnedValue(w, metric, value), usual ?? Number.POSITIVE_INFINITY);
    g.learn('requests', learned('requests', w.requests, p.maxRequests));
    g.learn('bytes', learned('bytes', w.bytes, p.maxBytes));
    g.learn('errors', learned('errors', w.errors, p.maxErrors));
    for (const [endpoint, count] of w.endpoints) {
      const metric = `rate:${endpoint}`;
      g.learn(metric, learned(metric, count, p.usualForEndpoint(endpoint)));
    }
    for (const [type, ids] of w.objects ?? []) {
      const metric = `objects:${type}`;
      g.learn(metric, learned(metric, ids.size, p.usualForObjects(type)));
    }
  }

  /**
   * Silence one detector (or `*`) for an entity until an event time, e.g. after an analyst marked an alert as a
   * false positive. `entity` labels must all match the detection's labels (`{ 'user.id': '4711' }`).
   */
  suppress(
    entity: Readonly<Record<string, string>>,
    detector: string,
    untilEventTime: number,
    meta: { by: string; reason: string },
  ): Suppression {
    const s: Suppression = {
      entity: { ...entity },
      ruleId: normaliseRuleId(detector),
      untilEventTime,
      by: meta.by,
      reason: meta.reason,
      createdAtEventTime: this.lastEventTime ?? 0,
    };
    this.suppressionList.add(s);
    return s;
  }

  unsuppress(entity: Readonly<Record<string, string>>, detector: string): boolean {
    return this.suppressionList.remove(entity, normaliseRuleId(detector));
  }

  suppressions(): readonly Suppression[] {
    return this.suppressionList.list();
  }

  /**
   * The learned baseline of an endpoint, or of one GraphQL operation on it, for charts; undefined when it was never
   * seen (or evicted).
   */
  baselineFor(route: string, method: string, operation?: GraphqlOperationRef): EndpointBaselineView | undefined {
    const key = endpointKeyOf(method.toUpperCase(), route, operation);
    const e = this.endpoints.peek(key) ?? this.unproven.peek(key);
    if (!e) return undefined;
    const sigmas = BEHAVIOUR_DEFAULTS.endpointSigmas;
    const slots = (s: EndpointBaseline['windowStats'][keyof EndpointBaseline['windowStats']]) =>
      s
        .slots()
        .filter((x) => x.stat.n > 0)
        .map((x) => ({
          hour: x.hour,
          weekend: x.weekend,
          samples: x.stat.n,
          center: x.stat.center,
          spread: x.stat.spread,
          upper: upperBound(x.stat, s.kind, sigmas, s.minSigma),
        }));
    const bucket: Record<string, SlotView[]> = {};
    for (const [m, s] of Object.entries(e.bucketStats)) bucket[m] = slots(s);
    const window: Record<string, SlotView[]> = {};
    for (const [m, s] of Object.entries(e.windowStats)) window[m] = slots(s);
    return {
      route: e.route,
      method: e.method,
      ...(e.operation ? { operation: e.operation } : {}),
      firstSeen: e.firstSeen,
      lastSeen: e.lastSeen,
      requests: e.total,
      authenticatedShare: e.authenticatedShare(),
      bucketMillis: this.options.bucketMillis,
      windowMillis: this.options.bucketMillis * this.options.longWindowBuckets,
      recentBuckets: [...e.history],
      bucket,
      window,
    };
  }

  /**
   * Endpoints known (GraphQL operations with a baseline of their own apart): those that answered successfully, then
   * those that never did, each most recently seen last.
   */
  endpointKeys(): EndpointKeyView[] {
    return [...this.endpoints.values(), ...this.unproven.values()].map((e) => ({
      route: e.route,
      method: e.method,
      ...(e.operation ? { operation: e.operation } : {}),
      requests: e.total,
      firstSeen: e.firstSeen,
      lastSeen: e.lastSeen,
    }));
  }

  /** A principal's profile, by labels such as `{ 'user.id': '4711' }`; undefined when unknown (or evicted). */
  profileFor(entity: Readonly<Record<string, string>>): ProfileView | undefined {
    const key = principalKeyOf(entity);
    const p = key === undefined ? undefined : this.principals.peek(key);
    if (!p) return undefined;
    const o = this.options;
    const g = this.groups.peek(p.group);
    const peer = (metric: string) => g?.atMost(metric, o.peerQuantile, o.peerMinSamples) ?? null;
    const bits = (mask: number, n: number) => Array.from({ length: n }, (_, i) => i).filter((i) => mask & (1 << i));
    const time = this.lastEventTime ?? p.lastSeen;
    return {
      principal: { kind: p.kind, field: p.field, value: p.value },
      peerGroup: p.group,
      peerGroupMembers: g?.members ?? 0,
      firstSeen: p.firstSeen,
      lastSeen: p.lastSeen,
      events: p.events,
      windowsLearned: p.windows,
      learned: time - p.firstSeen >= o.principalLearningMillis && p.windows >= o.principalMinWindows,
      countries: [...p.countries],
      asns: [...p.asns],
      devices: [...p.devices],
      activeHours: bits(p.hourMask, 24),
      activeWeekdays: bits(p.weekdayMask, 7),
      windowMillis: o.windowMillis,
      usual: {
        requests: p.maxRequests,
        bytes: p.maxBytes,
        clientErrors: p.maxErrors,
        endpoints: p.endpoints.map((endpoint, i) => ({
          endpoint,
          maxPerWindow: p.endpointMax[i]!,
          peerAtMost: peer(`rate:${endpoint}`),
        })),
        objects: p.objectTypes.map((type, i) => ({
          type,
          maxPerWindow: p.objectMax[i]!,
          peerAtMost: peer(`objects:${type}`),
        })),
      },
      peerAtMost: { requests: peer('requests'), bytes: peer('bytes'), clientErrors: peer('errors') },
      currentWindow: p.window
        ? {
            start: p.window.start,
            requests: p.window.requests,
            bytes: p.window.bytes,
            clientErrors: p.window.errors,
            objects: Object.fromEntries([...(p.window.objects ?? [])].map(([t, ids]) => [t, ids.size])),
          }
        : null,
    };
  }

  /** All learned state as a JSON-serialisable object. */
  snapshot(): BehaviourSnapshot {
    const principals: ProfileSnapshot[] = [];
    for (const p of this.principals.values()) principals.push(p.toJSON());
    return {
      version: 1,
      firstEventTime: this.firstEventTime ?? null,
      lastEventTime: this.lastEventTime ?? null,
      windowStart: this.windowStart ?? null,
      events: this.events,
      detections: this.detections,
      principals,
      openWindows: [...this.openWindows].map((p) => `${p.field}=${p.value}`),
      endpoints: [
        ...[...this.endpoints.values()].map((e) => e.toJSON()),
        ...[...this.unproven.values()].map((e) => ({ ...e.toJSON(), unproven: true })),
      ],
      groups: [...this.groups.values()].map((g) => g.toJSON()),
      suppressions: this.suppressionList.toJSON(),
      evictions: {
        principals: this.principals.evictions,
        endpoints: this.endpoints.evictions + this.unproven.evictions,
        groups: this.groups.evictions,
      },
      operationsFolded: this.operationsFolded,
    };
  }

  /** Replace all state with a snapshot's. Options are this detector's own (they are configuration, not state). */
  restore(snapshot: BehaviourSnapshot): void {
    if (snapshot?.version !== 1) throw new RangeError('unsupported behaviour snapshot version');
    // Everything is read before anything is replaced: a snapshot that cannot be read half way through (damaged, or
    // written by another release) throws and leaves the state as it was, instead of half of it replaced.
    const openWindows = new Set<PrincipalProfile>();
    const principals = this.newPrincipalMap(openWindows);
    for (const s of snapshot.principals) principals.set(`${s.field}=${s.value}`, PrincipalProfile.fromJSON(s));
    for (const key of snapshot.openWindows) {
      const p = principals.peek(key);
      if (p?.window) openWindows.add(p);
    }
    const operationCounts = new Map<string, number>();
    const endpoints = this.newEndpointMap(this.options.maxEndpoints, operationCounts);
    const unproven = this.newEndpointMap(this.unprovenBound(), operationCounts);
    for (const s of snapshot.endpoints) {
      const e = EndpointBaseline.fromJSON(s, this.options.bucketMillis);
      (s.unproven ? unproven : endpoints).set(e.key, e);
      if (e.operation) {
        const routeKey = endpointKeyOf(e.method, e.route);
        operationCounts.set(routeKey, (operationCounts.get(routeKey) ?? 0) + 1);
      }
    }
    const groups = new BoundedMap<string, PeerGroup>(this.options.maxPeerGroups);
    for (const s of snapshot.groups) groups.set(s.key, PeerGroup.fromJSON(s, this.options.maxPeerMetrics));
    principals.evictions = savedCount(snapshot.evictions.principals);
    endpoints.evictions = savedCount(snapshot.evictions.endpoints);
    groups.evictions = savedCount(snapshot.evictions.groups);
    const suppressionList = new SuppressionList(this.options.maxSuppressions);
    suppressionList.restore(snapshot.suppressions);

    this.openWindows = openWindows;
    this.principals = principals;
    this.operationCounts = operationCounts;
    this.endpoints = endpoints;
    this.unproven = unproven;
    this.operationsFolded = savedCount(snapshot.operationsFolded);
    this.groups = groups;
    this.suppressionList = suppressionList;
    this.firstEventTime = snapshot.firstEventTime ?? undefined;
    this.lastEventTime = snapshot.lastEventTime ?? undefined;
    this.windowStart = snapshot.windowStart ?? undefined;
    this.events = savedCount(snapshot.events);
    this.detections = savedCount(snapshot.detections);
  }
}

export interface SlotView {
  /** null: any hour; weekend null: any day. */
  readonly hour: number | null;
  readonly weekend: boolean | null;
  readonly samples: number;
  readonly center: number;
  readonly spread: number;
  /** Where the detector's deviation limit lies for this slot (before the minimum ratio and volume). */
  readonly upper: number;
}

export interface EndpointKeyView {
  readonly route: string;
  readonly method: string;
  /** Set for a GraphQL operation learned apart from its route. */
  readonly operation?: GraphqlOperationRef;
  readonly requests: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
}

export interface EndpointBaselineView {
  readonly route: string;
  readonly method: string;
  /** Set for the baseline of one GraphQL operation. */
  readonly operation?: GraphqlOperationRef;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly requests: number;
  readonly authenticatedShare: number;
  readonly bucketMillis: number;
  readonly windowMillis: number;
  readonly recentBuckets: readonly import('./endpoint.js').BucketSummary[];
  /** Per metric (`requests`, `errors4xx`, `errors5xx`, `callers`), per slot: one bucket. */
  readonly bucket: Readonly<Record<string, SlotView[]>>;
  /** Per metric (the above plus `latency` in seconds and `bytes` per response): the sliding window. */
  readonly window: Readonly<Record<string, SlotView[]>>;
}

export interface ProfileView {
  readonly principal: { kind: string; field: string; value: string };
  readonly peerGroup: string;
  readonly peerGroupMembers: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly events: number;
  readonly windowsLearned: number;
  readonly learned: boolean;
  readonly countries: string[];
  readonly asns: string[];
  readonly devices: string[];
  readonly activeHours: number[];
  readonly activeWeekdays: number[];
  readonly windowMillis: number;
  readonly usual: {
    requests: number;
    bytes: number;
    clientErrors: number;
    endpoints: { endpoint: string; maxPerWindow: number; peerAtMost: number | null }[];
    objects: { type: string; maxPerWindow: number; peerAtMost: number | null }[];
  };
  readonly peerAtMost: { requests: number | null; bytes: number | null; clientErrors: number | null };
  readonly currentWindow: {
    start: number;
    requests: number;
    bytes: number;
    clientErrors: number;
    objects: Record<string, number>;
  } | null;
}

/**
 * The factory the server calls: one evaluator holding every behaviour detector, with snapshot / restore,
 * suppression and chart queries on it.
 */
export function createBehaviourDetector(options: BehaviourOptions = {}): BehaviourDetector {
  return new BehaviourDetector(options);
}
