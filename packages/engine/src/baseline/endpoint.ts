/**
 * Endpoint baselines: per route template x method, what a minute and a ten-minute window of traffic look like
 * (requests, 4xx and 5xx responses, distinct callers, mean latency and response size), learned per seasonal
 * slot, and the findings when the current bucket or window is far above its slot.
 *
 * Buckets are tumbling (one minute by default); the long window slides over the last `longWindowBuckets` of them.
 * Minutes without traffic are learned as zeros when the next request arrives (up to a day of them), so a quiet
 * night is part of the baseline. Counts are checked on every request (a spike is reported the moment it crosses
 * the limit); distinct callers over the long window and the level metrics are checked when a bucket closes.
 */
import { type DetectorName, LEARNING_BOUNDS } from './options.js';
import { type RobustStat, upperBound } from './robust.js';
import { type SeasonalExpectation, SeasonalStat, type SlotTime, slotTime } from './seasonal.js';
import { DistinctSketch } from './sketch.js';

export const COUNT_METRICS = ['requests', 'errors4xx', 'errors5xx', 'callers'] as const;
export const LEVEL_METRICS = ['latency', 'bytes'] as const;
export type CountMetric = (typeof COUNT_METRICS)[number];
export type LevelMetric = (typeof LEVEL_METRICS)[number];
export type EndpointMetric = CountMetric | LevelMetric;

const DETECTOR_OF: Readonly<Record<EndpointMetric, DetectorName>> = {
  requests: 'endpoint-volume',
  errors4xx: 'endpoint-errors',
  errors5xx: 'endpoint-errors',
  callers: 'endpoint-callers',
  latency: 'endpoint-latency',
  bytes: 'endpoint-latency',
};

/** Buckets of zeros learned at most after a silence (longer silences learn one day of them). */
const MAX_GAP_BUCKETS = 1440;
/** Closed buckets kept for charts. */
const HISTORY_BUCKETS = 60;
/** Level metrics (means) are learned only over windows with at least this many requests. */
const LEVEL_MIN_REQUESTS = 5;
const CALLER_SKETCH_K = 64;
const WEEK_DAYS = 7;
/** Weeks `growth` looks at: the last one and the three before it. */
const GROWTH_WEEKS = 4;
/** Local days of request totals kept for `growth`: those weeks, and today. */
const GROWTH_DAYS = GROWTH_WEEKS * WEEK_DAYS + 1;

/** What `growth` needs to decide; supplied by the detector. */
export interface GrowthContext {
  /** The local day of the request that asks (days since 1970-01-01 in local time). */
  readonly today: number;
  /** The factor over the earlier weeks' middle typical day, over their busiest, and the least typical day reported. */
  readonly factor: number;
  readonly overBusiest: number;
  readonly minCount: number;
  readonly maxEvidence: number;
}

/** The last week's typical day against the quietest week of the three before it. */
export interface GrowthFinding {
  /** Median of the last seven complete local days' requests. */
  readonly recent: number;
  /** The middle of the earlier weeks' medians (or the level last reported, when higher) ... */
  readonly base: number;
  /** ... of the weeks from this many days before today. */
  readonly baseDaysAgo: number;
  /** Requests in the last seven complete days. */
  readonly requests: number;
  readonly eventIds: readonly string[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export interface RequestObservation {
  readonly time: number;
  readonly id: string;
  readonly status: number | undefined;
  readonly latencySeconds: number | undefined;
  readonly bytes: number | undefined;
  /** Principal key of the caller. */
  readonly caller: string;
  readonly authenticated: boolean;
}

interface Bucket {
  start: number;
  requests: number;
  errors4xx: number;
  errors5xx: number;
  latencySum: number;
  latencyCount: number;
  bytesSum: number;
  bytesCount: number;
  /** Null while the bucket has no request (silent minutes allocate no sketch). */
  callers: DistinctSketch | null;
}

/** A closed bucket, for charts. */
export interface BucketSummary {
  readonly start: number;
  readonly requests: number;
  readonly errors4xx: number;
  readonly errors5xx: number;
  readonly callers: number;
  readonly latencyMeanSeconds: number | null;
  readonly bytesMean: number | null;
}

export interface EndpointFinding {
  readonly detector: DetectorName;
  readonly metric: EndpointMetric;
  /** `bucket`: one bucket; `window`: the sliding long window. */
  readonly resolution: 'bucket' | 'window';
  readonly windowMillis: number;
  readonly value: number;
  readonly limit: number;
  readonly expected: SeasonalExpectation;
  /** Requests in the same bucket or window, for shares. */
  readonly requests: number;
  readonly firstTime: number;
  readonly lastTime: number;
  readonly eventIds: readonly string[];
  /**
   * A window value the finding held back from learning: learned only if the finding is suppressed (an analyst's
   * false positive lets the baseline adapt); a raised one is never learned, like a flagged window.
   */
  readonly learnIfSuppressed?: () => void;
}

/** What the endpoint needs to decide; supplied by the detector (options resolved per endpoint). */
export interface EndpointContext {
  readonly bucketMillis: number;
  readonly longWindowBuckets: number;
  readonly minSamples: number;
  /** Local time's offset from UTC at a moment, in minutes (see `localOffset`). */
  readonly offsetMinutesAt: (timeMillis: number) => number;
  readonly maxEvidence: number;
  /** False during the learning period: learn, report nothing. */
  readonly reporting: boolean;
  readonly sigmas: number;
  readonly minRatio: number;
  /** Per detector: enabled, effective sensitivity and minimum count for this endpoint; undefined = off. */
  threshold(detector: DetectorName): { sensitivity: number; minCount: number } | undefined;
}

function newBucket(start: number): Bucket {
  return {
    start,
    requests: 0,
    errors4xx: 0,
    errors5xx: 0,
    latencySum: 0,
    latencyCount: 0,
    bytesSum: 0,
    bytesCount: 0,
    callers: null,
  };
}

function countOf(bucket: Bucket, metric: CountMetric): number {
  return metric === 'callers' ? (bucket.callers?.estimate() ?? 0) : bucket[metric];
}

type StatKey = `${'bucket' | 'window'}:${EndpointMetric}`;

const BUCKET_KEY = {
  requests: 'bucket:requests',
  errors4xx: 'bucket:errors4xx',
  errors5xx: 'bucket:errors5xx',
  callers: 'bucket:callers',
} as const satisfies Record<CountMetric, StatKey>;
const WINDOW_KEY = {
  requests: 'window:requests',
  errors4xx: 'window:errors4xx',
  errors5xx: 'window:errors5xx',
  callers: 'window:callers',
  latency: 'window:latency',
  bytes: 'window:bytes',
} as const satisfies Record<EndpointMetric, StatKey>;

/**
 * A GraphQL operation that has a baseline of its own: its type, and the root fields it runs (sorted), which are what
 * it does whatever the client called it; or, for events that do not carry them, its name.
 */
export interface GraphqlOperationRef {
  readonly type: 'query' | 'mutation' | 'subscription';
  readonly fields?: readonly string[];
  readonly name?: string;
}

/**
 * The key of an endpoint: `POST /graphql`; for one operation `POST /graphql (mutation { deleteUser })` by its root
 * fields, or `POST /graphql (mutation DeleteUser)` by its name.
 */
export function endpointKeyOf(method: string, route: string, operation?: GraphqlOperationRef): string {
  if (!operation) return `${method} ${route}`;
  return `${method} ${route} (${operation.type} ${operation.fields ? `{ ${operation.fields.join(' ')} }` : operation.name})`;
}

const OPERATION_TEXT =
  /^(query|mutation|subscription) (?:\{ *([_A-Za-z][_0-9A-Za-z]*(?: +[_A-Za-z][_0-9A-Za-z]*)*) *\}|([_A-Za-z][_0-9A-Za-z]*))$/;

/**
 * An operation as written in a key or asked for through the API: `mutation { deleteUser }` (root fields, any order,
 * any spacing) or `mutation DeleteUser` (a name); undefined for anything else.
 */
export function parseOperationRef(text: string): GraphqlOperationRef | undefined {
  const m = OPERATION_TEXT.exec(text);
  if (!m) return undefined;
  const type = m[1] as GraphqlOperationRef['type'];
  return m[2] ? { type, fields: [...new Set(m[2].split(/ +/))].sort() } : { type, name: m[3]! };
}

const KEY_WITH_OPERATION = /^(\S+) (.+) \((.+)\)$/;

/** The parts of an endpoint key (as profiles and peer groups hold it), for the labels of a detection. */
export function endpointKeyParts(key: string): {
  method: string;
  route: string;
  operation: GraphqlOperationRef | undefined;
} {
  const m = KEY_WITH_OPERATION.exec(key);
  const operation = m ? parseOperationRef(m[3]!) : undefined;
  if (m && operation) return { method: m[1]!, route: m[2]!, operation };
  const space = key.indexOf(' ');
  return { method: key.slice(0, space), route: key.slice(space + 1), operation: undefined };
}

export class EndpointBaseline {
  /**
   * `METHOD /route`, or `METHOD /route (type name)` for one GraphQL operation: the one copy of this string that
   * profiles and peer groups refer to.
   */
  readonly key: string;
  firstSeen: number;
  lastSeen: number;
  total = 0;
  /** Requests by authenticated / anonymous principals (halved together past a million, so recent use weighs more). */
  authenticated = 0;
  anonymous = 0;
  current: Bucket;
  /** The last closed buckets, oldest first, contiguous (gaps are filled with empty buckets). */
  recent: Bucket[] = [];
  history: BucketSummary[] = [];
  readonly bucketStats: Record<CountMetric, SeasonalStat>;
  readonly windowStats: Record<EndpointMetric, SeasonalStat>;
  /** Per stat key: learning is skipped for buckets/windows ending before this time (they were anomalous). */
  flaggedUntil: Partial<Record<StatKey, number>> = {};
  /** Keys ever flagged (a fast path: most endpoints never are). */
  private flagCount = 0;
  /** Per stat key: start of the bucket in which it last fired (one finding per bucket). */
  firedAt: Partial<Record<StatKey, number>> = {};
  /** Ids of the latest requests, for evidence. */
  evidence: string[] = [];
  /** Client addresses already reported for unauthenticated access in the current long window. */
  unauthenticatedReported: string[] = [];
  unauthenticatedWindowStart = 0;
  /** Requests per local day, the last `GROWTH_DAYS` of them, at index day modulo `GROWTH_DAYS`. */
  private days = new Float64Array(GROWTH_DAYS);
  /** The latest local day counted in `days`, and the first (undefined until a bucket closed). */
  private latestDay: number | undefined;
  private firstDay: number | undefined;
  /** The local day `growth` last looked (it looks once a day), and the day it last reported with what it reported. */
  growthCheckedDay = Number.NEGATIVE_INFINITY;
  private growthReported: { day: number; recent: number } | undefined;

  constructor(
    readonly route: string,
    readonly method: string,
    time: number,
    bucketMillis: number,
    /** A GraphQL operation with a baseline of its own on this route: `mutation DeleteUser`. */
    readonly operation?: GraphqlOperationRef,
  ) {
    this.key = endpointKeyOf(method, route, operation);
    this.firstSeen = time;
    this.lastSeen = time;
    this.current = newBucket(Math.floor(time / bucketMillis) * bucketMillis);
    const count = () => new SeasonalStat('count');
    this.bucketStats = { requests: count(), errors4xx: count(), errors5xx: count(), callers: count() };
    this.windowStats = {
      requests: count(),
      errors4xx: count(),
      errors5xx: count(),
      callers: count(),
      latency: new SeasonalStat('level', LEARNING_BOUNDS.minLatencySigmaSeconds),
      bytes: new SeasonalStat('level', LEARNING_BOUNDS.minBytesSigma),
    };
  }

  /** Share of requests made by authenticated principals. */
  authenticatedShare(): number {
    const all = this.authenticated + this.anonymous;
    return all === 0 ? 0 : this.authenticated / all;
  }

  countAuthentication(authenticated: boolean): void {
    if (authenticated) this.authenticated++;
    else this.anonymous++;
    if (this.authenticated + this.anonymous > 1_000_000) {
      this.authenticated /= 2;
      this.anonymous /= 2;
    }
  }

  observe(obs: RequestObservation, ctx: EndpointContext): EndpointFinding[] {
    const findings: EndpointFinding[] = [];
    if (obs.time >= this.current.start + ctx.bucketMillis) this.advance(obs.time, ctx, findings);
    this.lastSeen = Math.max(this.lastSeen, obs.time);
    this.total++;
    const b = this.current;
    b.requests++;
    const status = obs.status ?? 0;
    if (status >= 400 && status < 500) b.errors4xx++;
    else if (status >= 500) b.errors5xx++;
    if (obs.latencySeconds !== undefined) {
      b.latencySum += obs.latencySeconds;
      b.latencyCount++;
    }
    if (obs.bytes !== undefined) {
      b.bytesSum += obs.bytes;
      b.bytesCount++;
    }
    if (!b.callers) b.callers = new DistinctSketch(CALLER_SKETCH_K);
    const callersBefore = b.callers.estimate();
    b.callers.add(obs.caller);
    this.evidence.push(obs.id);
    if (this.evidence.length > ctx.maxEvidence) this.evidence.shift();
    if (!ctx.reporting) return findings;

    const at = slotTime(b.start, ctx.offsetMinutesAt(b.start));
    const changed: CountMetric[] = ['requests'];
    if (status >= 400 && status < 500) changed.push('errors4xx');
    else if (status >= 500) changed.push('errors5xx');
    const callersNow = b.callers.estimate();
    if (callersNow !== callersBefore) changed.push('callers');
    for (const metric of changed) {
      const inBucket = countOf(b, metric);
      this.check(findings, ctx, at, 'bucket', metric, inBucket, b.requests, obs.time);
      if (metric !== 'callers' && this.recent.length >= ctx.longWindowBuckets - 1) {
        let inWindow = inBucket;
        let requests = b.requests;
        for (let i = this.recent.length - (ctx.longWindowBuckets - 1); i < this.recent.length; i++) {
          inWindow += this.recent[i]![metric];
          requests += this.recent[i]!.requests;
        }
        this.check(findings, ctx, at, 'window', metric, inWindow, requests, obs.time);
      }
    }
    return findings;
  }

  /** Close the current bucket and any empty ones up to the bucket of `time`. */
  private advance(time: number, ctx: EndpointContext, findings: EndpointFinding[]): void {
    const targetStart = Math.floor(time / ctx.bucketMillis) * ctx.bucketMillis;
    this.close(this.current, ctx, findings, time);
    let gap = (targetStart - this.current.start) / ctx.bucketMillis - 1;
    let start = this.current.start + ctx.bucketMillis;
    if (gap > MAX_GAP_BUCKETS) {
      // Learn one day of silence, then jump: the windows before the jump are all zeros anyway.
      start = targetStart - MAX_GAP_BUCKETS * ctx.bucketMillis;
      gap = MAX_GAP_BUCKETS;
    }
    for (let i = 0; i < gap; i++, start += ctx.bucketMillis) this.close(newBucket(start), ctx, undefined, time);
    this.current = newBucket(targetStart);
  }

  /** Count a closed bucket's requests into its local day. */
  private countDay(day: number, requests: number): void {
    if (this.latestDay === undefined || this.firstDay === undefined) {
      this.latestDay = day;
      this.firstDay = day;
    } else if (day > this.latestDay) {
      const last = Math.min(day, this.latestDay + GROWTH_DAYS);
      for (let d = this.latestDay + 1; d <= last; d++) this.days[d % GROWTH_DAYS] = 0;
      this.latestDay = day;
    } else if (day <= this.latestDay - GROWTH_DAYS) return;
    this.days[day % GROWTH_DAYS]! += requests;
  }

  /** Requests on a local day: 0 for a day without any, undefined for one not counted (before the first, or too old). */
  private requestsOn(day: number): number | undefined {
    if (this.latestDay === undefined || this.firstDay === undefined) return undefined;
    if (day < this.firstDay || day <= this.latestDay - GROWTH_DAYS) return undefined;
    return day > this.latestDay ? 0 : this.days[day % GROWTH_DAYS]!;
  }

  /** The daily totals of the week that began `daysAgo` days before `today`, if all of it was counted in full. */
  private week(today: number, daysAgo: number): number[] | undefined {
    const from = today - daysAgo;
    // The first day was counted from the endpoint's first request, not from midnight.
    if (this.firstDay === undefined || from <= this.firstDay) return undefined;
    const totals: number[] = [];
    for (let d = from; d < from + WEEK_DAYS; d++) {
      const requests = this.requestsOn(d);
      if (requests === undefined) return undefined;
      totals.push(requests);
    }
    return totals;
  }

  /**
   * Lasting growth, once per local day (with its first request): the median day of the last seven complete local days
   * against the median days of the three weeks before, reported when more than `factor` times the middle one of them
   * and more than `overBusiest` times the busiest, and at least `minCount`. The minute-level baselines learn traffic
   * that grows a little every day (their daily bound is a rate), so a sender who ramps an endpoint up patiently stays
   * under their limits; the weeks do not move. Medians of days make a batch day or two a week no growth, and whole
   * weeks take out the weekday cycle; the middle week and the busiest one make traffic coming back after a quiet week
   * or two (holidays, an outage) no growth either. After a report, the reported level stands in for the earlier weeks
   * for four weeks: a step is reported once, and growth that goes on is reported again when it passes that level.
   */
  growth(ctx: GrowthContext): GrowthFinding | undefined {
    if (ctx.today <= this.growthCheckedDay) return undefined;
    this.growthCheckedDay = ctx.today;
    const last = this.week(ctx.today, WEEK_DAYS);
    if (last === undefined) return undefined;
    const recent = median(last);
    if (recent < ctx.minCount) return undefined;
    const earlier: number[] = [];
    for (let weeksAgo = 2; weeksAgo <= GROWTH_WEEKS; weeksAgo++) {
      const totals = this.week(ctx.today, weeksAgo * WEEK_DAYS);
      if (totals === undefined) break;
      earlier.push(median(totals));
    }
    if (earlier.length === 0) return undefined;
    let base = median(earlier);
    let busiest = Math.max(...earlier);
    let baseDaysAgo = (earlier.length + 1) * WEEK_DAYS;
    const reported = this.growthReported;
    if (reported && ctx.today - reported.day < GROWTH_WEEKS * WEEK_DAYS && reported.recent > base) {
      base = reported.recent;
      busiest = Math.max(busiest, reported.recent);
      baseDaysAgo = ctx.today - reported.day + WEEK_DAYS;
    }
    if (!(recent > ctx.factor * Math.max(base, 1) && recent > ctx.overBusiest * busiest)) return undefined;
    this.growthReported = { day: ctx.today, recent };
    return {
      recent,
      base,
      baseDaysAgo,
      requests: last.reduce((sum, n) => sum + n, 0),
      eventIds: this.evidence.slice(-ctx.maxEvidence),
    };
  }

  private close(bucket: Bucket, ctx: EndpointContext, findings: EndpointFinding[] | undefined, now: number): void {
    const at = slotTime(bucket.start, ctx.offsetMinutesAt(bucket.start));
    this.countDay(at.day, bucket.requests);
    for (const metric of COUNT_METRICS) {
      if (!this.isFlagged(BUCKET_KEY[metric], bucket.start))
        this.bucketStats[metric].learn(at, countOf(bucket, metric));
    }
    this.recent.push(bucket);
    if (this.recent.length > ctx.longWindowBuckets) this.recent.shift();
    this.history.push({
      start: bucket.start,
      requests: bucket.requests,
      errors4xx: bucket.errors4xx,
      errors5xx: bucket.errors5xx,
      callers: bucket.callers?.estimate() ?? 0,
      latencyMeanSeconds: bucket.latencyCount ? bucket.latencySum / bucket.latencyCount : null,
      bytesMean: bucket.bytesCount ? bucket.bytesSum / bucket.bytesCount : null,
    });
    if (this.history.length > HISTORY_BUCKETS) this.history.shift();
    if (this.recent.length < ctx.longWindowBuckets) return;

    // The long window ending with this bucket.
    const window = newBucket(this.recent[0]!.start);
    for (const b of this.recent) {
      window.requests += b.requests;
      window.errors4xx += b.errors4xx;
      window.errors5xx += b.errors5xx;
      window.latencySum += b.latencySum;
      window.latencyCount += b.latencyCount;
      window.bytesSum += b.bytesSum;
      window.bytesCount += b.bytesCount;
    }
    const levels: Partial<Record<LevelMetric, number>> = {};
    if (window.latencyCount >= LEVEL_MIN_REQUESTS) levels.latency = window.latencySum / window.latencyCount;
    if (window.bytesCount >= LEVEL_MIN_REQUESTS) levels.bytes = window.bytesSum / window.bytesCount;
    const callers =
      window.requests === 0
        ? 0
        : DistinctSketch.unionEstimate(
            this.recent.map((b) => b.callers),
            CALLER_SKETCH_K,
          );
    const checkedFrom = findings?.length ?? 0;
    if (findings && ctx.reporting && bucket.requests > 0) {
      this.check(findings, ctx, at, 'window', 'callers', callers, window.requests, now);
      for (const metric of LEVEL_METRICS) {
        const value = levels[metric];
        if (value !== undefined) this.check(findings, ctx, at, 'window', metric, value, window.requests, now);
      }
    }
    // A window that raised a finding just now is not learned yet: the detector flags it only after this returns,
    // and learned at once, an attack window would be in the baseline before the flag could keep it out.
    const heldBack = new Map<EndpointMetric, number>();
    for (let i = checkedFrom; i < (findings?.length ?? 0); i++) heldBack.set(findings![i]!.metric, i);
    const windowEnd = bucket.start + ctx.bucketMillis;
    const learn = (metric: EndpointMetric, value: number) => {
      if (this.isFlagged(WINDOW_KEY[metric], windowEnd - 1)) return;
      const finding = heldBack.get(metric);
      if (finding === undefined) this.windowStats[metric].learn(at, value);
      else
        findings![finding] = {
          ...findings![finding]!,
          learnIfSuppressed: () => this.windowStats[metric].learn(at, value),
        };
    };
    for (const metric of COUNT_METRICS) learn(metric, metric === 'callers' ? callers : window[metric]);
    for (const metric of LEVEL_METRICS) {
      const value = levels[metric];
      if (value !== undefined) learn(metric, value);
    }
  }

  private isFlagged(key: StatKey, time: number): boolean {
    if (this.flagCount === 0) return false;
    const until = this.flaggedUntil[key];
    return until !== undefined && time < until;
  }

  private check(
    findings: EndpointFinding[],
    ctx: EndpointContext,
    at: SlotTime,
    resolution: 'bucket' | 'window',
    metric: EndpointMetric,
    value: number,
    requests: number,
    now: number,
  ): void {
    const key: StatKey = `${resolution}:${metric}`;
    if (this.firedAt[key] === this.current.start) return;
    const detector = DETECTOR_OF[metric];
    const threshold = ctx.threshold(detector);
    if (!threshold) return;
    const level = metric === 'latency' || metric === 'bytes';
    // Level metrics need volume in the window; counts need the count itself.
    if ((level ? requests : value) < threshold.minCount) return;
    const stats = resolution === 'bucket' ? this.bucketStats[metric as CountMetric] : this.windowStats[metric];
    let expected = stats.expected(at, ctx.minSamples);
    if (!expected) return;
    const floor = level ? 0 : threshold.minCount;
    let limit = this.limitOf(expected.stat, stats, ctx, threshold.sensitivity, floor);
    if (resolution === 'window') {
      // A window that began in the previous hour is held to the more generous of the two hours: at 23:01 the
      // last ten minutes are mostly 22:00 traffic, and a busy hour ending is not an anomaly.
      const start = this.current.start - (ctx.longWindowBuckets - 1) * ctx.bucketMillis;
      const began = slotTime(start, ctx.offsetMinutesAt(start));
      const other = began.hour !== at.hour ? stats.expected(began, ctx.minSamples) : undefined;
      if (other) {
        const otherLimit = this.limitOf(other.stat, stats, ctx, threshold.sensitivity, floor);
        if (otherLimit > limit) {
          limit = otherLimit;
          expected = other;
        }
      }
    }
    // Written so that a limit that is not a number (never, since non-finite values are not learned) stays silent.
    if (!(value > limit)) return;
    const windowMillis = resolution === 'bucket' ? ctx.bucketMillis : ctx.bucketMillis * ctx.longWindowBuckets;
    this.firedAt[key] = this.current.start;
    findings.push({
      detector,
      metric,
      resolution,
      windowMillis,
      value,
      limit,
      expected,
      requests,
      firstTime: Math.max(this.firstSeen, now - windowMillis),
      lastTime: now,
      eventIds: [...this.evidence],
    });
  }

  private limitOf(stat: RobustStat, stats: SeasonalStat, ctx: EndpointContext, sensitivity: number, floor: number) {
    const sigmas = upperBound(stat, stats.kind, ctx.sigmas / sensitivity, stats.minSigma);
    const ratio = stat.center * (1 + (ctx.minRatio - 1) / sensitivity);
    return Math.max(sigmas, ratio, floor);
  }

  /** Mark a finding's statistic as anomalous so the bucket or window is not learned. */
  flag(finding: EndpointFinding, ctx: EndpointContext): void {
    const key: StatKey = `${finding.resolution}:${finding.metric}`;
    const until = this.current.start + (finding.resolution === 'bucket' ? 1 : ctx.longWindowBuckets) * ctx.bucketMillis;
    this.flaggedUntil[key] = Math.max(this.flaggedUntil[key] ?? 0, until);
    this.flagCount++;
  }

  toJSON(): EndpointSnapshot {
    const bucket = (b: Bucket): BucketSnapshot => ({ ...b, callers: b.callers?.toJSON() ?? null });
    return {
      route: this.route,
      method: this.method,
      ...(this.operation ? { operation: this.operation } : {}),
      firstSeen: this.firstSeen,
      lastSeen: this.lastSeen,
      total: this.total,
      authenticated: this.authenticated,
      anonymous: this.anonymous,
      current: bucket(this.current),
      recent: this.recent.map(bucket),
      history: this.history,
      bucketStats: mapValues(this.bucketStats, (s) => s.toJSON()),
      windowStats: mapValues(this.windowStats, (s) => s.toJSON()),
      flaggedUntil: this.flaggedUntil,
      firedAt: this.firedAt,
      evidence: this.evidence,
      unauthenticatedReported: this.unauthenticatedReported,
      unauthenticatedWindowStart: this.unauthenticatedWindowStart,
      ...(this.latestDay === undefined || this.firstDay === undefined
        ? {}
        : {
            days: {
              first: this.firstDay,
              latest: this.latestDay,
              totals: Array.from(this.days),
              ...(Number.isFinite(this.growthCheckedDay) ? { checked: this.growthCheckedDay } : {}),
              ...(this.growthReported ? { reported: this.growthReported } : {}),
            },
          }),
    };
  }

  static fromJSON(s: EndpointSnapshot, bucketMillis: number): EndpointBaseline {
    const e = new EndpointBaseline(s.route, s.method, s.firstSeen, bucketMillis, s.operation);
    const bucket = (b: BucketSnapshot): Bucket => ({
      ...b,
      callers: b.callers ? new DistinctSketch(CALLER_SKETCH_K, b.callers) : null,
    });
    e.lastSeen = s.lastSeen;
    e.total = s.total;
    e.authenticated = s.authenticated;
    e.anonymous = s.anonymous;
    e.current = bucket(s.current);
    e.recent = s.recent.map(bucket);
    e.history = [...s.history];
    for (const m of COUNT_METRICS) e.bucketStats[m].load(s.bucketStats[m]);
    for (const m of [...COUNT_METRICS, ...LEVEL_METRICS]) e.windowStats[m].load(s.windowStats[m]);
    e.flaggedUntil = { ...s.flaggedUntil };
    e.flagCount = Object.keys(e.flaggedUntil).length;
    e.firedAt = { ...s.firedAt };
    e.evidence = [...s.evidence];
    e.unauthenticatedReported = [...s.unauthenticatedReported];
    e.unauthenticatedWindowStart = s.unauthenticatedWindowStart;
    // Snapshots from before daily totals were kept count from the next bucket on.
    if (s.days && s.days.totals.length === GROWTH_DAYS && s.days.totals.every(Number.isFinite)) {
      e.days = Float64Array.from(s.days.totals);
      e.firstDay = s.days.first;
      e.latestDay = s.days.latest;
      e.growthCheckedDay = s.days.checked ?? Number.NEGATIVE_INFINITY;
      e.growthReported = s.days.reported;
    }
    return e;
  }
}

function mapValues<K extends string, V, W>(record: Record<K, V>, f: (v: V) => W): Record<K, W> {
  const out = {} as Record<K, W>;
  for (const k of Object.keys(record) as K[]) out[k] = f(record[k]);
  return out;
}

export interface BucketSnapshot extends Omit<Bucket, 'callers'> {
  callers: number[] | null;
}

export interface EndpointSnapshot {
  route: string;
  method: string;
  /** Absent for a route's own baseline (and in snapshots from before operations were keyed). */
  operation?: GraphqlOperationRef;
  /**
   * Set when no request to it succeeded yet (such endpoints are evicted among themselves); absent in snapshots from
   * before they were held apart, whose endpoints all count as proven.
   */
  unproven?: boolean;
  firstSeen: number;
  lastSeen: number;
  total: number;
  authenticated: number;
  anonymous: number;
  current: BucketSnapshot;
  recent: BucketSnapshot[];
  history: BucketSummary[];
  bucketStats: Record<CountMetric, number[]>;
  windowStats: Record<EndpointMetric, number[]>;
  flaggedUntil: Partial<Record<string, number>>;
  firedAt: Partial<Record<string, number>>;
  evidence: string[];
  unauthenticatedReported: string[];
  unauthenticatedWindowStart: number;
  /** Requests per local day (see `EndpointBaseline.growth`); absent in snapshots from before they were kept. */
  days?: {
    first: number;
    latest: number;
    totals: number[];
    checked?: number;
    reported?: { day: number; recent: number };
  };
}
