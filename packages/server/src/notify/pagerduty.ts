/**
 * PagerDuty Events API v2: `trigger` when an alert opens, `acknowledge` when someone acknowledges it in Vigil,
 * `resolve` when it resolves.
 *
 * `dedup_key` is the Vigil **alert id**, not the fingerprint. The fingerprint names a label set that comes back
 * episode after episode; the id names one episode. The dispatcher retries each notification on its own, so a
 * resolve of yesterday's episode can still be in flight when today's episode of the same fingerprint triggers:
 * keyed by fingerprint, that late resolve would close today's incident. Keyed by id, it can only close its own.
 * Retries of one notification reuse the key, and PagerDuty drops a repeated trigger for an open incident, so a
 * retry after a lost answer never pages twice. The fingerprint travels in `custom_details`.
 */
import type { Severity } from '@vigil/engine';
import { ConfigError } from '../errors.js';
import { alertLink, truncate } from './format.js';
import { HttpSender } from './http.js';
import { type NotificationPayload, perAlertPayloads, type SendResult } from './notifier.js';
import { COMMON_KEYS, type CommonReceiverOptions, OptionReader, type Secret, type UnsetSecrets } from './options.js';
import { type HealthResult, probe, type ReceiverNotifier, testPayload } from './provider.js';

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

export interface PagerDutyOptions {
  /** The integration key of an Events API v2 integration (32 characters): a secret. */
  readonly routingKey: Secret;
  /** Events API endpoint; change it only for an EU account proxy or a test. */
  readonly url: URL;
  /** `payload.source`: the affected system as PagerDuty shows it. */
  readonly source: string;
  readonly component?: string;
  readonly group?: string;
  readonly dashboardUrl?: URL;
}

export type PagerDutyReceiverConfig = CommonReceiverOptions & PagerDutyOptions;

/**
 * Validate the PagerDuty options of one receiver.
 * @example parsePagerDutyOptions({ routingKey: { env: 'PD_ROUTING_KEY' }, source: 'payments-api' }, 'notify.receivers[3]')
 */
export function parsePagerDutyOptions(
  raw: unknown,
  key: string,
  env: NodeJS.ProcessEnv = process.env,
  unsetSecrets: UnsetSecrets = 'refuse',
): PagerDutyOptions {
  const r = new OptionReader(raw, key, env, COMMON_KEYS, unsetSecrets);
  const routingKey = r.requiredSecret('routingKey');
  if (routingKey.resolved && !/^[A-Za-z0-9]{32}$/.test(routingKey.reveal())) {
    throw new ConfigError(
      r.keyOf('routingKey'),
      'must be the 32-character integration key of an Events API v2 integration',
    );
  }
  const url = r.optionalUrl('url') ?? new URL(PAGERDUTY_EVENTS_URL);
  const source = r.string('source', 'vigil', 255);
  const component = r.optionalString('component', 255);
  const group = r.optionalString('group', 255);
  const dashboardUrl = r.optionalUrl('dashboardUrl');
  r.done();
  return {
    routingKey,
    url,
    source,
    ...(component ? { component } : {}),
    ...(group ? { group } : {}),
    ...(dashboardUrl ? { dashboardUrl } : {}),
  };
}

/** Vigil's five severities onto PagerDuty's four. */
export const PAGERDUTY_SEVERITY: Readonly<Record<Severity, 'critical' | 'error' | 'warning' | 'info'>> = {
  critical: 'critical',
  high: 'error',
  medium: 'warning',
  low: 'info',
  info: 'info',
};

export type PagerDutyAction = 'trigger' | 'acknowledge' | 'resolve';

export function pagerDutyAction(payload: NotificationPayload): PagerDutyAction {
  if (payload.change === 'resolved' || payload.alert.status === 'resolved') return 'resolve';
  if (payload.change === 'acknowledged' || payload.alert.status === 'acknowledged') return 'acknowledge';
  return 'trigger';
}

/** The Events API v2 body for one notification (routing key included: it goes only on the wire). */
export function pagerDutyEvent(payload: NotificationPayload, options: PagerDutyOptions): Record<string, unknown> {
  const { alert } = payload;
  const action = pagerDutyAction(payload);
  const event: Record<string, unknown> = {
    routing_key: options.routingKey.reveal(),
    event_action: action,
    dedup_key: alert.id,
  };
  if (action !== 'trigger') return event; // acknowledge and resolve take only the key
  const link = alertLink(options.dashboardUrl, alert.id);
  return {
    ...event,
    payload: {
      summary: truncate(`${alert.rule.title}: ${alert.summary}`, 1024),
      source: options.source,
      severity: PAGERDUTY_SEVERITY[alert.severity],
      timestamp: alert.startsAt,
      ...(options.component ? { component: options.component } : {}),
      ...(options.group ? { group: options.group } : {}),
      class: alert.rule.id,
      custom_details: {
        summary: alert.summary,
        rule: alert.rule,
        severity: alert.severity,
        labels: alert.labels,
        tags: alert.tags,
        fingerprint: alert.fingerprint,
        alertId: alert.id,
        eventCount: alert.eventCount,
        startsAt: alert.startsAt,
        lastSeenAt: alert.lastSeenAt,
        evidence: alert.evidence,
      },
    },
    client: 'Vigil',
    ...(link ? { client_url: link, links: [{ href: link, text: 'View alert in Vigil' }] } : {}),
  };
}

export class PagerDutyNotifier implements ReceiverNotifier {
  readonly type = 'pagerduty' as const;
  readonly name: string;
  private readonly http: HttpSender;

  constructor(
    private readonly config: PagerDutyReceiverConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.name = config.name;
    this.http = new HttpSender({
      allowPrivateNetwork: config.allowPrivateNetwork,
      timeoutMillis: config.timeoutMillis,
      secrets: [config.routingKey],
      userAgent: 'vigil-pagerduty/1',
      now,
    });
  }

  /**
   * One event per alert: a grouped notification triggers, acknowledges or resolves the incident of each alert of its
   * group. A retry sends them all again, which PagerDuty takes as the same events (same `dedup_key`).
   */
  async send(payload: NotificationPayload, _idempotencyKey: string): Promise<SendResult> {
    for (const one of perAlertPayloads(payload)) {
      const body = JSON.stringify(pagerDutyEvent(one, this.config));
      await this.http.post(this.config.url, body, { 'content-type': 'application/json' });
    }
    return {};
  }

  healthCheck(): Promise<HealthResult> {
    // The Events API has no health endpoint that does not create an event.
    return probe(() => this.http.reachable(this.config.url), [this.config.routingKey]);
  }

  /** A test incident is triggered and resolved at once, so nobody is left with an open page. */
  async sendTest(): Promise<SendResult> {
    const opened = testPayload(this.name, this.now());
    await this.send(opened, `test_${opened.alert.id}`);
    const endsAt = new Date(this.now()).toISOString();
    const resolved: NotificationPayload = {
      ...opened,
      change: 'resolved',
      alert: { ...opened.alert, status: 'resolved', endsAt },
    };
    return this.send(resolved, `test_${opened.alert.id}_resolved`);
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
