/**
 * A small Prometheus registry: counters and gauges with labels, rendered in the text exposition format 0.0.4.
 * Label sets are bounded by construction (callers pass enumerated reasons, rule ids and receiver names).
 */
type Labels = Record<string, string>;

function key(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');
}

abstract class Metric {
  protected readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly kind: 'counter' | 'gauge',
  ) {}
  get(labels: Labels = {}): number {
    return this.values.get(key(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.kind}`];
    if (this.values.size === 0 && this.kind === 'counter') lines.push(`${this.name} 0`);
    for (const [k, v] of this.values) lines.push(k ? `${this.name}{${k}} ${v}` : `${this.name} ${v}`);
    return lines.join('\n');
  }
}

export class Counter extends Metric {
  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  /** Mirror a monotonic total kept elsewhere (e.g. a rule's eviction count), read at scrape time. */
  setTotal(value: number, labels: Labels = {}): void {
    this.values.set(key(labels), value);
  }
}

export class Gauge extends Metric {
  constructor(name: string, help: string) {
    super(name, help, 'gauge');
  }
  set(value: number, labels: Labels = {}): void {
    this.values.set(key(labels), value);
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];
  private readonly collectors: Array<() => void> = [];
  counter(name: string, help: string): Counter {
    const m = new Counter(name, help);
    this.metrics.push(m);
    return m;
  }
  gauge(name: string, help: string): Gauge {
    const m = new Gauge(name, help);
    this.metrics.push(m);
    return m;
  }
  /** Run before each scrape, to refresh gauges read from elsewhere (queue sizes, state sizes). */
  onCollect(collect: () => void): void {
    this.collectors.push(collect);
  }
  render(): string {
    for (const c of this.collectors) c();
    return `${this.metrics.map((m) => m.render()).join('\n')}\n`;
  }
}

/** The server's metrics, created once per server instance. */
export function createMetrics() {
  const registry = new Registry();
  return {
    registry,
    ingestRequests: registry.counter('vigil_ingest_requests_total', 'Ingest HTTP requests by route and status code.'),
    ingestRequestsRejected: registry.counter(
      'vigil_ingest_requests_rejected_total',
      'Ingest requests refused as a whole, by reason.',
    ),
    eventsAccepted: registry.counter('vigil_events_accepted_total', 'Events durably stored, by source.'),
    eventsRejected: registry.counter('vigil_events_rejected_total', 'Events refused at validation, by reason.'),
    eventsDuplicate: registry.counter('vigil_events_duplicate_total', 'Events ignored because their id was stored.'),
    eventsDeleted: registry.counter(
      'vigil_events_deleted_total',
      'Events deleted by retention (storage.retentionDays), stamped before the retention window.',
    ),
    logLinesSuppressed: registry.counter(
      'vigil_log_lines_suppressed_total',
      'Lines of the server log left out because one message was written too often.',
    ),
    alertsDeleted: registry.counter(
      'vigil_alerts_deleted_total',
      'Resolved alerts deleted by retention (storage.alertRetentionDays), with their history and notifications.',
    ),
    decisionsDeleted: registry.counter(
      'vigil_decisions_deleted_total',
      'Expired or revoked decisions deleted by retention (storage.alertRetentionDays).',
    ),
    alertsRaised: registry.counter('vigil_alerts_raised_total', 'Alerts opened, by rule and severity.'),
    alertsResolved: registry.counter('vigil_alerts_resolved_total', 'Alerts resolved, by rule.'),
    alertsEvicted: registry.counter(
      'vigil_alerts_evicted_total',
      'Open alerts resolved early to keep within alerting.maxOpenAlerts (also counted as resolved), by rule.',
    ),
    alertsOpen: registry.gauge('vigil_alerts_open', 'Alerts open (firing or acknowledged).'),
    notifications: registry.counter(
      'vigil_notifications_total',
      'Notification attempts by receiver and outcome (delivered, failed, dead, refused).',
    ),
    receiverChecks: registry.counter(
      'vigil_receiver_checks_total',
      'Health checks and test notifications asked for through the API, by receiver, check and outcome (ok, failed).',
    ),
    notificationsSuppressed: registry.counter(
      'vigil_notifications_suppressed_total',
      'Notifications not sent because a silence or an inhibition rule muted the alert, by reason.',
    ),
    notificationsPending: registry.gauge('vigil_notifications_pending', 'Notifications waiting for (re)delivery.'),
    otlpSkipped: registry.counter(
      'vigil_otlp_skipped_total',
      'OTLP log records and spans that carried no security event, by signal.',
    ),
    otlpFieldsDropped: registry.counter(
      'vigil_otlp_fields_dropped_total',
      'Attributes left out of OTLP events that had more fields than an event may hold, by signal.',
    ),
    apiRequests: registry.counter('vigil_api_requests_total', 'Read/admin API requests by status code.'),
    authFailures: registry.counter('vigil_auth_failures_total', 'Requests refused for a missing or wrong token.'),
    decisionsTotal: registry.counter('vigil_decisions_total', 'Response decisions made, by action and scope.'),
    decisionsSkipped: registry.counter(
      'vigil_decisions_skipped_total',
      'Decisions a response rule asked for but did not get, by reason (allow_list, no_value, store_error).',
    ),
    alertListenerFailures: registry.counter(
      'vigil_alert_listener_failures_total',
      'Alert changes a follow-up (notifying, making a decision) failed on, by change.',
    ),
    alertChangesPending: registry.gauge(
      'vigil_alert_changes_pending',
      'Alert changes stored whose follow-ups (notifying, making a decision) have not all been done; tried again each second.',
    ),
    decisionsRevoked: registry.counter('vigil_decisions_revoked_total', 'Decisions revoked by a person.'),
    decisionStreamWaiters: registry.gauge('vigil_decision_stream_waiters', 'Decision stream requests held open.'),
    decisionStreamRefused: registry.counter(
      'vigil_decision_stream_unheld_total',
      'Decision stream requests answered at once because response.stream.maxWaiters were already held.',
    ),
    engineKeys: registry.gauge('vigil_engine_tracked_keys', 'Group keys held in detection state, by rule.'),
    engineEvictions: registry.counter('vigil_engine_evictions_total', 'Group keys evicted from detection state.'),
    orderingLate: registry.counter(
      'vigil_ordering_late_events_total',
      'Events that arrived after their moment was released to detection, and were detected out of order.',
    ),
    orderingForced: registry.counter(
      'vigil_ordering_forced_releases_total',
      'Events released to detection early because the ordering buffer was full (detection.maxBufferedEvents or maxBufferedBytes).',
    ),
    orderingBuffered: registry.gauge('vigil_ordering_buffered_events', 'Events held for ordering before detection.'),
    orderingBufferedBytes: registry.gauge(
      'vigil_ordering_buffered_bytes',
      'Approximate size of the events held for ordering (the characters of their names and values).',
    ),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
