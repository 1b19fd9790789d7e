/**
 * Behaviour profiles: who a principal is (user, API key, or client address for anonymous traffic), what they
 * normally do (per ten-minute window: requests per endpoint, distinct objects per resource type, bytes received,
 * client errors), where they come from (countries, networks, devices), and when (hours, weekdays).
 *
 * "Usual" is the largest value of a learned window: easy to explain ("their usual is at most 7"). A window in which
 * a count crossed its limit is learned with that count clipped to the limit, so an attack the detectors caught
 * raises the usual by at most the limit's factor, and a lasting change of habit becomes the usual after a few
 * windows (each of which reports) instead of reporting forever.
 */
import { Field, type FieldValue } from '@vigil/schema';
import { SNAPSHOT_EVIDENCE_IDS } from '../types.js';

export type PrincipalKind = 'user' | 'api_key' | 'address';

export interface PrincipalRef {
  readonly kind: PrincipalKind;
  /** The field that identifies it (`user.id`, `vigil.api_key.id`, `client.address`). */
  readonly field: string;
  readonly value: string;
  readonly key: string;
}

function text(value: FieldValue | undefined): string | undefined {
  if (value === undefined || Array.isArray(value)) return undefined;
  const s = String(value);
  return s === '' ? undefined : s;
}

/** The principal an event is about: user id, else API key id, else client address; undefined when none. */
export function principalOf(attributes: Readonly<Record<string, FieldValue>>): PrincipalRef | undefined {
  const pick = (kind: PrincipalKind, field: string): PrincipalRef | undefined => {
    const value = text(attributes[field]);
    return value === undefined ? undefined : { kind, field, value, key: `${field}=${value}` };
  };
  return (
    pick('user', Field.userId) ?? pick('api_key', Field.apiKeyId) ?? pick('address', Field.clientAddress) ?? undefined
  );
}

/** Key from labels such as `{ 'user.id': '4711' }`. */
export function principalKeyOf(entity: Readonly<Record<string, string>>): string | undefined {
  for (const field of [Field.userId, Field.apiKeyId, Field.clientAddress]) {
    const value = entity[field];
    if (value !== undefined) return `${field}=${value}`;
  }
  return undefined;
}

const TEMPLATED_SEGMENT = /^(:[^/]+|\{[^/}]+\}|<[^/>]+>|\*)$/;

/**
 * The object a request touched: `vigil.object.type` / `vigil.object.id` when the application says, else the
 * value of the route's last templated segment (`/accounts/{id}` on `/accounts/991` → type `/accounts/{id}`,
 * id `991`). Routes below the object (`/accounts/{id}/statements`) count the same object type.
 */
export function objectOf(
  attributes: Readonly<Record<string, FieldValue>>,
  route: string | undefined,
): { type: string; id: string; declared: boolean } | undefined {
  const type = text(attributes[Field.objectType]);
  const id = text(attributes[Field.objectId]);
  if (type !== undefined && id !== undefined) return { type, id, declared: true };
  const path = text(attributes[Field.urlPath]);
  if (route === undefined || path === undefined) return undefined;
  const templateSegments = route.split('/');
  const pathSegments = path.split('?')[0]!.split('/');
  if (templateSegments.length > pathSegments.length) return undefined;
  for (let i = templateSegments.length - 1; i >= 0; i--) {
    if (TEMPLATED_SEGMENT.test(templateSegments[i]!)) {
      const value = pathSegments[i];
      if (value === undefined || value === '') return undefined;
      return { type: templateSegments.slice(0, i + 1).join('/'), id: value, declared: false };
    }
  }
  return undefined;
}

/** The current window of a principal. Held only while it is open; closed windows are folded into the profile. */
export interface PrincipalWindow {
  start: number;
  firstTime: number;
  requests: number;
  errors: number;
  bytes: number;
  /** Endpoint key → requests. */
  endpoints: Map<string, number>;
  /** Object type → distinct ids (capped); created on first use. */
  objects: Map<string, Set<string>> | undefined;
  /** Distinct routes or paths of the client errors (capped), for the explanation; created on first use. */
  errorTargets: Set<string> | undefined;
  /** Metric keys already reported in this window. */
  reported: Set<string>;
  /**
   * Metric key (`rate:GET /x`, `objects:/accounts/{id}`, `bytes`, `errors`) → the limit it crossed in this window
   * (a detection that was raised); the window learns the metric clipped to it. Created on first use.
   */
  limits: Map<string, number> | undefined;
  /** A first-seen detection (new access, function novelty) fired in this window: it is not learned at all. */
  anomalous: boolean;
  evidence: string[];
}

/**
 * The distinct object ids of a restored window. A snapshot keeps only their number, so the set is refilled with as
 * many placeholders (which no real id equals): the count goes on from there, and an id seen before the restart
 * counts once more if it comes again in the same window.
 */
function restoredIds(saved: number | string[]): Set<string> {
  if (Array.isArray(saved)) return new Set(saved);
  const ids = new Set<string>();
  for (let i = 0; i < saved; i++) ids.add(`\u0000${i}`);
  return ids;
}

export function newWindow(start: number, time: number): PrincipalWindow {
  return {
    start,
    firstTime: time,
    requests: 0,
    errors: 0,
    bytes: 0,
    endpoints: new Map(),
    objects: undefined,
    errorTargets: undefined,
    reported: new Set(),
    limits: undefined,
    anomalous: false,
    evidence: [],
  };
}

/** Add to a bounded most-recent-last list; returns true when the value is new. */
export function remember(list: string[], value: string, max: number): boolean {
  const i = list.indexOf(value);
  if (i >= 0) {
    if (i !== list.length - 1) {
      list.splice(i, 1);
      list.push(value);
    }
    return false;
  }
  list.push(value);
  if (list.length > max) list.shift();
  return true;
}

/** What a closed window teaches about a metric: its value, clipped to the limit it crossed in that window. */
export function learnedValue(w: PrincipalWindow, metric: string, value: number): number {
  const limit = w.limits?.get(metric);
  return limit === undefined ? value : Math.min(value, limit);
}

export class PrincipalProfile {
  firstSeen: number;
  lastSeen: number;
  events = 0;
  /** Windows with activity that were learned. */
  windows = 0;
  group: string;
  countries: string[] = [];
  asns: string[] = [];
  devices: string[] = [];
  lastCountry: string | undefined = undefined;
  lastCountryTime = 0;
  /** Endpoints used (successfully), most recent last, with the usual maximum requests per window. */
  endpoints: string[] = [];
  endpointMax: number[] = [];
  objectTypes: string[] = [];
  objectMax: number[] = [];
  maxRequests = 0;
  maxBytes = 0;
  maxErrors = 0;
  /** Bit h set: active in local hour h; bit d of weekdayMask: active on day d (0 = Sunday). */
  hourMask = 0;
  weekdayMask = 0;
  window: PrincipalWindow | undefined = undefined;
  /** The local day (of event time, in the detector's time zone) of `dayStart`. */
  growthDay = -1;
  /**
   * Metric key → its usual maximum at the start of `growthDay`, for the metrics whose usual grew that day (most
   * never do, and hold no entry): a window learned unreported raises the usual to at most `factor` times it.
   */
  dayStart: Map<string, number> | undefined = undefined;

  constructor(
    readonly kind: PrincipalKind,
    readonly field: string,
    readonly value: string,
    group: string,
    time: number,
  ) {
    this.group = group;
    this.firstSeen = time;
    this.lastSeen = time;
  }

  /**
   * The usual maximum requests per window to an endpoint; undefined when no learned window used it (never used, or
   * used so far only in the open window): "never did this" is no history, not a history of 0.
   */
  usualForEndpoint(endpoint: string): number | undefined {
    const i = this.endpoints.indexOf(endpoint);
    return i < 0 || this.endpointMax[i] === 0 ? undefined : this.endpointMax[i];
  }

  /** The usual maximum distinct objects of a type per window; undefined when no learned window touched the type. */
  usualForObjects(type: string): number | undefined {
    const i = this.objectTypes.indexOf(type);
    return i < 0 ? undefined : this.objectMax[i];
  }

  /** Remember an endpoint as used; returns true when it is new to this principal. */
  useEndpoint(endpoint: string, maxEndpoints: number): boolean {
    if (this.endpoints.includes(endpoint)) return false;
    this.endpoints.push(endpoint);
    this.endpointMax.push(0);
    if (this.endpoints.length > maxEndpoints) {
      this.endpoints.shift();
      this.endpointMax.shift();
    }
    return true;
  }

  /**
   * Fold a closed window into the usual maxima. A metric that crossed its limit (was reported) is learned clipped to
   * that limit. One that did not raises its usual to at most `factor` times what the usual was at the start of the
   * day: the limit is `factor` times the usual, so learned as it is, a window just below the limit tripled the limit
   * for the next, and a sender who raised their rate window by window was never reported (5 to 5,000 distinct objects
   * in 50 minutes). A metric without a usual at the start of the day takes its first value of the day as it. `day` is
   * the window's local day (days since 1970-01-01 in the detector's time zone).
   */
  learnWindow(w: PrincipalWindow, day: number, maxEndpoints: number, factor: number): void {
    this.windows++;
    if (day !== this.growthDay) {
      this.growthDay = day;
      this.dayStart = undefined;
    }
    const learned = (metric: string, usual: number, value: number): number => {
      const limit = w.limits?.get(metric);
      if (limit !== undefined) return Math.min(value, limit);
      if (value <= usual) return value;
      this.dayStart ??= new Map();
      const start = this.dayStart.get(metric) ?? usual;
      if (start === 0) {
        this.dayStart.set(metric, value);
        return value;
      }
      this.dayStart.set(metric, start);
      return Math.min(value, start * factor);
    };
    this.maxRequests = Math.max(this.maxRequests, learned('requests', this.maxRequests, w.requests));
    this.maxBytes = Math.max(this.maxBytes, learned('bytes', this.maxBytes, w.bytes));
    this.maxErrors = Math.max(this.maxErrors, learned('errors', this.maxErrors, w.errors));
    for (const [endpoint, count] of w.endpoints) {
      const i = this.endpoints.indexOf(endpoint);
      if (i >= 0) {
        this.endpointMax[i] = Math.max(this.endpointMax[i]!, learned(`rate:${endpoint}`, this.endpointMax[i]!, count));
      }
    }
    for (const [type, ids] of w.objects ?? []) {
      const i = this.objectTypes.indexOf(type);
      const size = learned(`objects:${type}`, i >= 0 ? this.objectMax[i]! : 0, ids.size);
      if (i >= 0) this.objectMax[i] = Math.max(this.objectMax[i]!, size);
      else {
        this.objectTypes.push(type);
        this.objectMax.push(size);
        if (this.objectTypes.length > maxEndpoints) {
          this.objectTypes.shift();
          this.objectMax.shift();
        }
      }
    }
  }

  toJSON(): ProfileSnapshot {
    const w = this.window;
    return {
      kind: this.kind,
      field: this.field,
      value: this.value,
      group: this.group,
      firstSeen: this.firstSeen,
      lastSeen: this.lastSeen,
      events: this.events,
      windows: this.windows,
      countries: this.countries,
      asns: this.asns,
      devices: this.devices,
      lastCountry: this.lastCountry ?? null,
      lastCountryTime: this.lastCountryTime,
      endpoints: this.endpoints,
      endpointMax: this.endpointMax,
      objectTypes: this.objectTypes,
      objectMax: this.objectMax,
      maxRequests: this.maxRequests,
      maxBytes: this.maxBytes,
      maxErrors: this.maxErrors,
      hourMask: this.hourMask,
      weekdayMask: this.weekdayMask,
      ...(this.dayStart?.size ? { growth: { day: this.growthDay, dayStart: [...this.dayStart] } } : {}),
      window: w
        ? {
            ...w,
            endpoints: [...w.endpoints],
            // Only how many: at 10,000 events per second the ids themselves were most of a detection snapshot.
            objects: [...(w.objects ?? [])].map(([type, ids]) => [type, ids.size] as [string, number]),
            errorTargets: [...(w.errorTargets ?? [])],
            reported: [...w.reported],
            limits: w.limits ? [...w.limits] : undefined,
            evidence: w.evidence.slice(-SNAPSHOT_EVIDENCE_IDS),
          }
        : null,
    };
  }

  static fromJSON(s: ProfileSnapshot): PrincipalProfile {
    const p = new PrincipalProfile(s.kind, s.field, s.value, s.group, s.firstSeen);
    p.lastSeen = s.lastSeen;
    p.events = s.events;
    p.windows = s.windows;
    p.countries = [...s.countries];
    p.asns = [...s.asns];
    p.devices = [...s.devices];
    p.lastCountry = s.lastCountry ?? undefined;
    p.lastCountryTime = s.lastCountryTime;
    p.endpoints = [...s.endpoints];
    p.endpointMax = [...s.endpointMax];
    p.objectTypes = [...s.objectTypes];
    p.objectMax = [...s.objectMax];
    p.maxRequests = s.maxRequests;
    p.maxBytes = s.maxBytes;
    p.maxErrors = s.maxErrors;
    p.hourMask = s.hourMask;
    p.weekdayMask = s.weekdayMask;
    if (s.growth) {
      p.growthDay = s.growth.day;
      p.dayStart = new Map(s.growth.dayStart);
    }
    const w = s.window;
    p.window = w
      ? {
          ...w,
          endpoints: new Map(w.endpoints),
          objects: w.objects.length ? new Map(w.objects.map(([type, ids]) => [type, restoredIds(ids)])) : undefined,
          errorTargets: w.errorTargets.length ? new Set(w.errorTargets) : undefined,
          reported: new Set(w.reported),
          limits: w.limits?.length ? new Map(w.limits) : undefined,
          evidence: [...w.evidence],
        }
      : undefined;
    return p;
  }
}

export interface ProfileSnapshot {
  kind: PrincipalKind;
  field: string;
  value: string;
  group: string;
  firstSeen: number;
  lastSeen: number;
  events: number;
  windows: number;
  countries: string[];
  asns: string[];
  devices: string[];
  lastCountry: string | null;
  lastCountryTime: number;
  endpoints: string[];
  endpointMax: number[];
  objectTypes: string[];
  objectMax: number[];
  maxRequests: number;
  maxBytes: number;
  maxErrors: number;
  hourMask: number;
  weekdayMask: number;
  /** Absent when no usual grew on the last day learned (and in snapshots from before growth was bounded per day). */
  growth?: { day: number; dayStart: [string, number][] };
  window: {
    start: number;
    firstTime: number;
    requests: number;
    errors: number;
    bytes: number;
    endpoints: [string, number][];
    /** Distinct ids per object type (earlier snapshots: the ids themselves). */
    objects: [string, number | string[]][];
    errorTargets: string[];
    reported: string[];
    /** Absent when nothing crossed a limit (and in snapshots from before fired windows were learned clipped). */
    limits?: [string, number][];
    anomalous: boolean;
    evidence: string[];
  } | null;
}
