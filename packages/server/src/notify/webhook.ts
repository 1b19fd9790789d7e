/**
 * Generic webhook receiver, signed per the Standard Webhooks convention: headers `webhook-id`,
 * `webhook-timestamp` (seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, the
 * key being the base64 part of the `whsec_` secret. The id is the notification id, stable across retries, so a
 * receiver can drop duplicates.
 */
import { createHmac } from 'node:crypto';
import { ConfigError } from '../errors.js';
import { HttpSender } from './http.js';
import type { NotificationPayload, SendResult } from './notifier.js';
import { COMMON_KEYS, type CommonReceiverOptions, OptionReader, Secret, type UnsetSecrets } from './options.js';
import { type HealthResult, probe, type ReceiverNotifier, testPayload } from './provider.js';

export interface WebhookOptions {
  readonly url: string;
  /** Standard Webhooks signing secret (`whsec_` + base64). Without it, deliveries are unsigned. */
  readonly secret?: string | Secret;
}

export type WebhookReceiverConfig = CommonReceiverOptions & WebhookOptions;

/** `whsec_` and at least 24 bytes in base64 (32 characters), as docs/receivers.md says. */
const SECRET_FORMAT = /^whsec_[A-Za-z0-9+/]{32,}={0,2}$/;

/**
 * Validate the webhook options of one receiver.
 * @example parseWebhookOptions({ url: 'https://hooks.example.com/vigil', secret: { env: 'HOOK_SECRET' } }, 'notify.receivers[0]')
 */
export function parseWebhookOptions(
  raw: unknown,
  key: string,
  env: NodeJS.ProcessEnv = process.env,
  unsetSecrets: UnsetSecrets = 'refuse',
): WebhookOptions {
  const r = new OptionReader(raw, key, env, COMMON_KEYS, unsetSecrets);
  const url = r.requiredUrl('url');
  const secret = r.optionalSecret('secret');
  // An unresolved secret (a command that sends nothing, its variable not set) has no value to check.
  if (secret?.resolved && !SECRET_FORMAT.test(secret.reveal())) {
    throw new ConfigError(
      r.keyOf('secret'),
      'must be a Standard Webhooks secret: "whsec_" followed by base64 (24+ bytes)',
    );
  }
  r.done();
  return { url: url.href, ...(secret ? { secret } : {}) };
}

export function signStandardWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

export class WebhookNotifier implements ReceiverNotifier {
  readonly type = 'webhook' as const;
  readonly name: string;
  private readonly http: HttpSender;
  private readonly url: URL;
  private readonly secret: string | undefined;

  constructor(
    config: WebhookReceiverConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.name = config.name;
    this.url = new URL(config.url);
    this.secret = config.secret instanceof Secret ? config.secret.reveal() : config.secret;
    this.http = new HttpSender({
      allowPrivateNetwork: config.allowPrivateNetwork,
      timeoutMillis: config.timeoutMillis,
      secrets: [this.secret],
      userAgent: 'vigil-webhook/1',
      now,
    });
  }

  async send(payload: NotificationPayload, idempotencyKey: string): Promise<SendResult> {
    const body = JSON.stringify(payload);
    const timestamp = Math.floor(this.now() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'webhook-id': idempotencyKey,
      'webhook-timestamp': String(timestamp),
    };
    if (this.secret) headers['webhook-signature'] = signStandardWebhook(this.secret, idempotencyKey, timestamp, body);
    return this.http.post(this.url, body, headers);
  }

  healthCheck(): Promise<HealthResult> {
    return probe(() => this.http.reachable(this.url), [this.secret]);
  }

  sendTest(): Promise<SendResult> {
    const payload = testPayload(this.name, this.now());
    return this.send(payload, `test_${payload.alert.id}`);
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
