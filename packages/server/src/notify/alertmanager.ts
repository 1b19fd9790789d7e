/**
 * Forwarding to a Prometheus Alertmanager: `POST /api/v2/alerts` with `[{labels, annotations, startsAt, endsAt,
 * generatorURL}]`, so teams that already route with Alertmanager keep doing so.
 *
 * Label names: Alertmanager (before its UTF-8 mode) accepts only `[a-zA-Z_][a-zA-Z0-9_]*`, so `client.address`
 * becomes `client_address`; `alertname` is the rule id, as Prometheus sets it. Vigil's labels keep their
 * meaning, so Alertmanager's own fingerprint identifies the same alert as Vigil's.
 *
 * `endsAt`: Alertmanager resolves an alert on its own when `endsAt` passes, and with no `endsAt` after its
 * `resolve_timeout` (5 minutes by default) — Prometheus re-sends every evaluation to keep it alive. Vigil sends
 * on changes only, so a firing alert carries `endsAt = now + firingTimeoutMillis` (default 24 h): it stays
 * firing until Vigil's resolve (which the durable dispatcher delivers), yet does not fire forever if Vigil is
 * gone. A resolved alert carries its own `endsAt`.
 */
import { alertLink } from './format.js';
import { HttpSender } from './http.js';
import { type NotificationPayload, perAlertPayloads, type SendResult } from './notifier.js';
import { COMMON_KEYS, type CommonReceiverOptions, OptionReader, type Secret, type UnsetSecrets } from './options.js';
import { type HealthResult, isTestAlert, probe, type ReceiverNotifier, testPayload } from './provider.js';

export interface AlertmanagerOptions {
  /** Base URL of the Alertmanager, e.g. `http://alertmanager:9093` (a path prefix is kept). */
  readonly url: URL;
  /** Sent as `Authorization: Bearer …` when the Alertmanager sits behind an authenticating proxy: a secret. */
  readonly bearerToken?: Secret;
  /** Base URL of the Vigil dashboard: `generatorURL` points at the alert there. */
  readonly dashboardUrl?: URL;
  /** How long a firing alert stays firing in Alertmanager without news from Vigil. */
  readonly firingTimeoutMillis: number;
}

export type AlertmanagerReceiverConfig = CommonReceiverOptions & AlertmanagerOptions;

/**
 * Validate the Alertmanager options of one receiver.
 * @example parseAlertmanagerOptions({ url: 'http://alertmanager:9093' }, 'notify.receivers[4]')
 */
export function parseAlertmanagerOptions(
  raw: unknown,
  key: string,
  env: NodeJS.ProcessEnv = process.env,
  unsetSecrets: UnsetSecrets = 'refuse',
): AlertmanagerOptions {
  const r = new OptionReader(raw, key, env, COMMON_KEYS, unsetSecrets);
  const url = r.requiredUrl('url');
  const bearerToken = r.optionalSecret('bearerToken');
  const dashboardUrl = r.optionalUrl('dashboardUrl');
  const firingTimeoutMillis = r.integer('firingTimeoutMillis', 24 * 3_600_000, 60_000, 30 * 86_400_000);
  r.done();
  return {
    url,
    ...(bearerToken ? { bearerToken } : {}),
    ...(dashboardUrl ? { dashboardUrl } : {}),
    firingTimeoutMillis,
  };
}

/** A label name Alertmanager accepts: every other character becomes `_`, and a leading digit gets a `_`. */
export function alertmanagerLabelName(name: string): string {
  const safe = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(safe) || safe === '' ? `_${safe}` : safe;
}

export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

/** The posted alert for one notification; `now` is the wall clock (epoch ms). */
export function alertmanagerAlert(
  payload: NotificationPayload,
  options: Pick<AlertmanagerOptions, 'dashboardUrl' | 'firingTimeoutMillis'>,
  now: number,
): AlertmanagerAlert {
  const { alert } = payload;
  const labels: Record<string, string> = {};
  // Sorted, so that when two names map to the same safe name the outcome does not depend on insertion order.
  for (const k of Object.keys(alert.labels).sort()) {
    const safe = alertmanagerLabelName(k);
    if (!(safe in labels) && alert.labels[k] !== '') labels[safe] = alert.labels[k]!;
  }
  labels.alertname = alert.rule.id;
  labels.severity = alert.severity;
  const resolved = payload.change === 'resolved' || alert.status === 'resolved';
  const lastSeen = Date.parse(alert.lastSeenAt);
  // A test alert fires for five minutes only; a real one until Vigil resolves it (bounded, see above).
  const firingFor = isTestAlert(payload) ? 5 * 60_000 : options.firingTimeoutMillis;
  const endsAt = resolved
    ? (alert.endsAt ?? new Date(Math.max(now, lastSeen)).toISOString())
    : new Date(Math.max(now, lastSeen) + firingFor).toISOString();
  const link = alertLink(options.dashboardUrl, alert.id);
  return {
    labels,
    annotations: {
      summary: alert.summary,
      description: alert.rule.title,
      vigil_alert_id: alert.id,
      vigil_fingerprint: alert.fingerprint,
      vigil_status: resolved ? 'resolved' : alert.status,
      event_count: String(alert.eventCount),
      last_seen_at: alert.lastSeenAt,
      ...(alert.tags.length ? { tags: alert.tags.join(',') } : {}),
      ...(alert.evidence.length ? { evidence: alert.evidence.slice(0, 20).join(',') } : {}),
    },
    startsAt: alert.startsAt,
    endsAt,
    ...(link ? { generatorURL: link } : {}),
  };
}

export class AlertmanagerNotifier implements ReceiverNotifier {
  readonly type = 'alertmanager' as const;
  readonly name: string;
  private readonly http: HttpSender;
  private readonly base: string;

  constructor(
    private readonly config: AlertmanagerReceiverConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.name = config.name;
    this.base = config.url.href.endsWith('/') ? config.url.href : `${config.url.href}/`;
    this.http = new HttpSender({
      allowPrivateNetwork: config.allowPrivateNetwork,
      timeoutMillis: config.timeoutMillis,
      secrets: [config.bearerToken],
      userAgent: 'vigil-alertmanager/1',
      now,
    });
  }

  private headers(): Record<string, string> {
    return this.config.bearerToken ? { authorization: `Bearer ${this.config.bearerToken.reveal()}` } : {};
  }

  send(payload: NotificationPayload, _idempotencyKey: string): Promise<SendResult> {
    // Idempotent by nature: Alertmanager merges a re-posted alert with the same labels.
    // A grouped notification carries every alert of the group: Alertmanager gets them all in one post.
    // The group's change is its latest alert's: every other alert is firing or resolved by its own status.
    const body = JSON.stringify(
      perAlertPayloads(payload).map((one) => alertmanagerAlert(one, this.config, this.now())),
    );
    return this.http.post(new URL('api/v2/alerts', this.base), body, {
      'content-type': 'application/json',
      ...this.headers(),
    });
  }

  /** Alertmanager's own readiness endpoint. */
  healthCheck(): Promise<HealthResult> {
    return probe(async () => {
      const url = new URL('-/ready', this.base);
      const answer = await this.http.request(url, { method: 'GET', headers: this.headers() });
      if (answer.status !== 200) throw this.http.failure(url, answer);
      return `${url.host} is ready`;
    }, [this.config.bearerToken]);
  }

  sendTest(): Promise<SendResult> {
    const payload = testPayload(this.name, this.now());
    return this.send(payload, `test_${payload.alert.id}`);
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
