/**
 * Generic webhook receiver, signed per the Standard Webhooks convention: headers `webhook-id`,
 * `webhook-timestamp` (seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, the
 * key being the base64 part of the `whsec_` secret. The id is the notification id, stable across retries, so a
 * receiver can drop duplicates.
 */
import { createHmac } from 'node:crypto';
import { fetch } from 'undici';
import type { WebhookConfig } from '../config.js';
import { DeliveryError, type NotificationPayload, type Notifier, retryAfter, type SendResult } from './notifier.js';
import { checkLiteralTarget, guardedAgent } from './ssrf.js';

export function signStandardWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

export class WebhookNotifier implements Notifier {
  readonly name: string;
  private readonly agent;
  private readonly url: URL;

  constructor(
    private readonly config: WebhookConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.name = config.name;
    this.url = new URL(config.url);
    this.agent = guardedAgent({ allowPrivateNetwork: config.allowPrivateNetwork, timeoutMillis: config.timeoutMillis });
  }

  async send(payload: NotificationPayload, idempotencyKey: string): Promise<SendResult> {
    checkLiteralTarget(this.url, this.config.allowPrivateNetwork);
    const body = JSON.stringify(payload);
    const timestamp = Math.floor(this.now() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'vigil-webhook/1',
      'webhook-id': idempotencyKey,
      'webhook-timestamp': String(timestamp),
    };
    if (this.config.secret)
      headers['webhook-signature'] = signStandardWebhook(this.config.secret, idempotencyKey, timestamp, body);
    let response: Awaited<ReturnType<typeof fetch>>;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers,
        body,
        dispatcher: this.agent,
        redirect: 'manual', // a redirect could point anywhere, including inside the network
        signal: AbortSignal.timeout(this.config.timeoutMillis),
      });
    } catch (error) {
      const cause = (error as { cause?: Error }).cause;
      throw new DeliveryError(cause?.message ?? (error as Error).message);
    }
    await response.body?.cancel().catch(() => {});
    if (response.status >= 200 && response.status < 300) return {};
    throw new DeliveryError(`HTTP ${response.status}`, retryAfter(response.headers.get('retry-after'), this.now()));
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
