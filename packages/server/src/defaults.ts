/**
 * Every default of the server, in one place. The configuration reference (docs/configuration.md) documents each
 * key next to the value given here.
 */
export const DEFAULTS = {
  /** `server.port` / VIGIL_PORT: one port for ingest, API, dashboard and metrics. */
  port: 7070,
  /** `server.host`: listen address. Loopback by default; set 0.0.0.0 to accept remote senders. */
  host: '127.0.0.1',
  /** `dataDir` / VIGIL_DATA_DIR: SQLite database, generated credentials, state. */
  dataDir: './.vigil',
  /** `ingest.maxBodyBytes`: largest request body accepted on ingest routes, after decompression. */
  maxBodyBytes: 5 * 1024 * 1024,
  /** `ingest.maxEventsPerRequest`: largest batch in one request. */
  maxEventsPerRequest: 10_000,
  /** `ingest.maxFutureSkewMillis`: events stamped further in the future are rejected. */
  maxFutureSkewMillis: 5 * 60_000,
  /** `ingest.maxStringLength`: longer string values are truncated (and the event marked). */
  maxStringLength: 8192,
  /** `storage.synchronous`: SQLite synchronous mode; FULL survives power loss, NORMAL only process crashes. */
  sqliteSynchronous: 'FULL' as 'FULL' | 'NORMAL',
  /**
   * `storage.retentionDays`: none, every event is kept. Set, the events stamped more than this many days ago are
   * deleted from the start of the chain, at start-up and every `retentionIntervalMillis` (docs/configuration.md).
   */
  retentionDays: undefined as number | undefined,
  /**
   * `storage.alertRetentionDays`: the value of `storage.retentionDays` (none when that is unset). Set, resolved alerts
   * with their history and notifications, decisions and silences that ended more than this many days ago are deleted,
   * at the same times as events.
   */
  alertRetentionDays: undefined as number | undefined,
  /** How often retention runs when either retention key is set (fixed: no configuration key). */
  retentionIntervalMillis: 3_600_000,
  /**
   * `enrich.geo.enabled`: add country, AS number and organisation, and the hosting flag, to public client addresses
   * (built-in open data, or `enrich.geo.mmdb` files). `enrich.geo.mmdb` and `enrich.trustedProxies` default to none.
   */
  geoEnabled: true,
  /** `detection.bruteForce.threshold` / `.windowMillis`: failed logins per user or per source that raise an alert. */
  bruteForceThreshold: 5,
  bruteForceWindowMillis: 60_000,
  /**
   * `detection.latenessMillis`: how late (in event time) an event may arrive and still be put in order before
   * detection. Live, detection waits at most this long behind the wall clock.
   */
  latenessMillis: 500,
  /** `detection.maxBufferedEvents`: bound on events held for ordering; the oldest are released early beyond it. */
  maxBufferedEvents: 100_000,
  /**
   * `detection.maxBufferedBytes`: bound on the size of the events held for ordering (the characters of their names
   * and values); the oldest are released early beyond it. Events stamped ahead of the clock are held until it reaches
   * them, up to `ingest.maxFutureSkewMillis`: without it, big ones would hold gigabytes well within the event bound.
   */
  maxBufferedBytes: 64 * 1024 * 1024,
  /** `detection.rules.builtin`: load the built-in Sigma rule pack. */
  builtinRules: true,
  /** `detection.snapshotIntervalMillis`: how often detection state is saved, so a restart keeps open windows. */
  snapshotIntervalMillis: 30_000,
  /** `detection.watchRules`: reload rule files when they change (also on SIGHUP). */
  watchRules: true,
  /** `detection.baselines.enabled`: learn what normal looks like and alert on deviations (docs/baselines.md). */
  baselines: true,
  /** `detection.baselines.learningMillis`: event time learned before any baseline alert. */
  baselineLearningMillis: 86_400_000,
  /** `detection.maxKeysPerRule`: per-rule bound on tracked group keys; the oldest key is evicted beyond it. */
  maxKeysPerRule: 100_000,
  /** `alerting.resolveAfterMillis`: an alert with no new evidence for this long (event time) resolves. */
  resolveAfterMillis: 15 * 60_000,
  /** `alerting.maxEvidence`: event ids kept on an alert (the count goes on beyond it). */
  maxEvidence: 100,
  /**
   * `alerting.maxOpenAlerts`: bound on alerts open at once (about a kilobyte of memory each, and every one is looked
   * at by the repeat and escalation timers each second); beyond it the least recently seen is resolved early.
   */
  maxOpenAlerts: 10_000,
  /** `notify.receivers[].timeoutMillis`: per-attempt timeout of a webhook delivery. */
  webhookTimeoutMillis: 5000,
  /** `notify.receivers[].maxAttempts`: attempts before a notification becomes a dead letter. */
  webhookMaxAttempts: 8,
  /** `notify.retryBaseMillis`: first retry delay; doubles per attempt (with jitter) up to retryMaxMillis. */
  retryBaseMillis: 1000,
  retryMaxMillis: 5 * 60_000,
  /** `response.enabled`: decisions (flag, throttle, block) are opt-in; off, alerts never lead to one. */
  responseEnabled: false,
  /**
   * `response.rules` when none are configured: high and critical alerts about a client address, on the `ip` scope,
   * with the default ladder.
   */
  responseRules: [{ matchers: ['severity=~"high|critical"', 'client.address!=""'], scope: 'ip' }] as const,
  /**
   * `response.ladder`: the steps repeat offenders climb, one per prior decision on the same scope and value within
   * `response.repeatWindow`: flag first (record only), then throttle 5 min, block 15 min, block 4 h.
   */
  responseLadder: [
    { action: 'flag', duration: '15m' },
    { action: 'throttle', duration: '5m' },
    { action: 'block', duration: '15m' },
    { action: 'block', duration: '4h' },
  ] as const,
  /** `response.repeatWindow`: how far back prior decisions count as repeat offences. */
  responseRepeatWindowMillis: 24 * 3_600_000,
  /** `response.throttleRatePerMinute`: requests per minute a throttled client may still make. */
  responseThrottleRatePerMinute: 60,
  /** `response.stream.maxWaitMillis`: how long `GET /v1/decisions/stream` holds a request when nothing is new. */
  decisionStreamMaxWaitMillis: 25_000,
  /** `response.stream.maxWaiters`: held stream requests at once; beyond it, requests are answered at once. */
  decisionStreamMaxWaiters: 1000,
  /** The largest `limit` of the API's list routes, and the page size without one (fixed: no configuration key). */
  maxPageSize: 1000,
  defaultPageSize: 100,
  /**
   * The most a page of a list route holds, in characters of the stored JSON of its items (fixed: no configuration key).
   * An event may hold 200 fields of `ingest.maxStringLength` characters, about 1.6 MB: a thousand such events in one
   * answer would be a string past what the JavaScript engine can build, and held the main thread, ingest included, for
   * a minute. A page ends at the item that reaches this bound (always holding at least one), and `nextCursor` goes on.
   */
  maxPageChars: 8 * 1024 * 1024,
  /**
   * `dashboard.sessionIdleMillis`: a dashboard session unused for this long ends (the alerts page refreshes every 15 s
   * while it is shown, which counts as use).
   */
  sessionIdleMillis: 3_600_000,
  /** `dashboard.sessionLifetimeMillis`: a dashboard session ends this long after sign-in, used or not. */
  sessionLifetimeMillis: 12 * 3_600_000,
  /** `dashboard.maxSessions`: sessions held at once (in memory); signing in beyond it ends the oldest. */
  maxSessions: 1000,
} as const;
