/**
 * A receiver that posts one JSON message to a secret incoming-webhook URL (Slack, Teams): the URL is the only
 * credential, there is no idempotency key (a retry after a lost answer can post twice), and reachability is the
 * only cheap, silent health check. Each receiver supplies its message and which part of its URL is the secret.
 */
import { HttpSender } from './http.js';
import type { NotificationPayload, SendResult } from './notifier.js';
import type { CommonReceiverOptions, IncomingWebhookOptions } from './options.js';
import { type HealthResult, probe, type ReceiverNotifier, type ReceiverType, testPayload } from './provider.js';

export interface IncomingWebhookKind {
  readonly type: ReceiverType;
  /** The `User-Agent` product, e.g. `vigil-slack/1`. */
  readonly userAgent: string;
  /** The part of the URL that must never reach a log (the token in the path, the signature in the query). */
  readonly secretPart: (url: URL) => string;
  readonly message: (payload: NotificationPayload, dashboardUrl: URL | undefined) => unknown;
}

export class IncomingWebhookNotifier implements ReceiverNotifier {
  readonly type: ReceiverType;
  readonly name: string;
  private readonly http: HttpSender;
  private readonly url: URL;

  constructor(
    private readonly kind: IncomingWebhookKind,
    private readonly config: CommonReceiverOptions & IncomingWebhookOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.type = kind.type;
    this.name = config.name;
    this.url = new URL(config.url.reveal());
    this.http = new HttpSender({
      allowPrivateNetwork: config.allowPrivateNetwork,
      timeoutMillis: config.timeoutMillis,
      secrets: [config.url, kind.secretPart(this.url)],
      userAgent: kind.userAgent,
      now,
    });
  }

  send(payload: NotificationPayload, _idempotencyKey: string): Promise<SendResult> {
    const body = JSON.stringify(this.kind.message(payload, this.config.dashboardUrl));
    return this.http.post(this.url, body, { 'content-type': 'application/json; charset=utf-8' });
  }

  healthCheck(): Promise<HealthResult> {
    return probe(() => this.http.reachable(this.url), [this.config.url]);
  }

  sendTest(): Promise<SendResult> {
    const payload = testPayload(this.name, this.now());
    return this.send(payload, `test_${payload.alert.id}`);
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
