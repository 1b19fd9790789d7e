/**
 * Splunk HTTP Event Collector: `POST /services/collector/event` with `Authorization: Splunk <token>` and
 * `{time, host, source, sourcetype, index?, event}`. HEC has no deduplication of its own, so the event carries
 * the alert id and the notification id (the same on every retry): `| dedup notification_id` in a search drops
 * the copy a retry after a lost answer may leave.
 */
import { hostname } from 'node:os';
import { HttpSender } from './http.js';
import { type NotificationPayload, perAlertPayloads, type SendResult } from './notifier.js';
import { COMMON_KEYS, type CommonReceiverOptions, OptionReader, type Secret, type UnsetSecrets } from './options.js';
import { type HealthResult, probe, type ReceiverNotifier, testPayload } from './provider.js';

export interface SplunkOptions {
  /** Base URL of the collector, e.g. `https://splunk.example.com:8088` (a path prefix is kept). */
  readonly url: URL;
  /** The HEC token: a secret. */
  readonly token: Secret;
  /** Target index; without it the token's default index. */
  readonly index?: string;
  readonly source: string;
  readonly sourcetype: string;
  /** `host` of the event; the machine Vigil runs on by default. */
  readonly host: string;
}

export type SplunkReceiverConfig = CommonReceiverOptions & SplunkOptions;

/**
 * Validate the Splunk HEC options of one receiver.
 * @example parseSplunkOptions({ url: 'https://splunk:8088', token: { env: 'SPLUNK_HEC_TOKEN' }, index: 'security' }, 'notify.receivers[6]')
 */
export function parseSplunkOptions(
  raw: unknown,
  key: string,
  env: NodeJS.ProcessEnv = process.env,
  unsetSecrets: UnsetSecrets = 'refuse',
): SplunkOptions {
  const r = new OptionReader(raw, key, env, COMMON_KEYS, unsetSecrets);
  const url = r.requiredUrl('url');
  const token = r.requiredSecret('token');
  const index = r.optionalString('index', 80);
  const source = r.string('source', 'vigil', 255);
  const sourcetype = r.string('sourcetype', 'vigil:alert', 255);
  const host = r.string('host', hostname(), 255);
  r.done();
  return { url, token, ...(index ? { index } : {}), source, sourcetype, host };
}

/** The HEC event for one notification. `time` is when the alert last changed, in epoch seconds. */
export function splunkEvent(
  payload: NotificationPayload,
  notificationId: string,
  options: Pick<SplunkOptions, 'index' | 'source' | 'sourcetype' | 'host'>,
): Record<string, unknown> {
  const { alert } = payload;
  return {
    time: Date.parse(alert.updatedAt) / 1000,
    host: options.host,
    source: options.source,
    sourcetype: options.sourcetype,
    ...(options.index ? { index: options.index } : {}),
    event: { change: payload.change, notification_id: notificationId, alert_id: alert.id, alert },
  };
}

export class SplunkNotifier implements ReceiverNotifier {
  readonly type = 'splunk' as const;
  readonly name: string;
  private readonly http: HttpSender;
  private readonly base: string;

  constructor(
    private readonly config: SplunkReceiverConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.name = config.name;
    this.base = config.url.href.endsWith('/') ? config.url.href : `${config.url.href}/`;
    this.http = new HttpSender({
      allowPrivateNetwork: config.allowPrivateNetwork,
      timeoutMillis: config.timeoutMillis,
      secrets: [config.token],
      userAgent: 'vigil-splunk/1',
      now,
    });
  }

  /** One HEC event per alert (a grouped notification gives its whole group), all in one request. */
  send(payload: NotificationPayload, idempotencyKey: string): Promise<SendResult> {
    const body = perAlertPayloads(payload)
      .map((one) => JSON.stringify(splunkEvent(one, idempotencyKey, this.config)))
      .join('\n');
    return this.http.post(new URL('services/collector/event', this.base), body, {
      'content-type': 'application/json',
      authorization: `Splunk ${this.config.token.reveal()}`,
    });
  }

  /** HEC's health endpoint: 200 when the collector accepts events (it needs no token). */
  healthCheck(): Promise<HealthResult> {
    return probe(async () => {
      const url = new URL('services/collector/health', this.base);
      const answer = await this.http.request(url, { method: 'GET' });
      if (answer.status !== 200) throw this.http.failure(url, answer);
      return `${url.host}: HEC is healthy`;
    }, [this.config.token]);
  }

  sendTest(): Promise<SendResult> {
    const payload = testPayload(this.name, this.now());
    return this.send(payload, `test_${payload.alert.id}`);
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
