/**
 * Slack receiver: an incoming webhook carrying a Block Kit message. Slack answers 429 with `Retry-After` when a
 * webhook posts too fast (about one message per second); that time goes back to the dispatcher through
 * `DeliveryError.retryAt`. The webhook URL embeds its token, so it is handled as a secret.
 *
 * Block Kit limits honoured here: header ≤ 150 characters, section text ≤ 3000, at most 10 fields per section
 * (each ≤ 2000), at most 50 blocks.
 */

import {
  alertLink,
  GROUP_LISTED,
  groupHeading,
  groupLine,
  groupRest,
  SEVERITY_MARK,
  stateWord,
  truncate,
} from './format.js';
import { IncomingWebhookNotifier } from './incoming-webhook.js';
import { type NotificationPayload, otherGroupAlerts } from './notifier.js';
import {
  type CommonReceiverOptions,
  type IncomingWebhookOptions,
  parseIncomingWebhookOptions,
  type UnsetSecrets,
} from './options.js';

export type SlackOptions = IncomingWebhookOptions;

export type SlackReceiverConfig = CommonReceiverOptions & SlackOptions;

/**
 * Validate the Slack options of one receiver.
 * @example parseSlackOptions({ url: { env: 'SLACK_WEBHOOK_URL' } }, 'notify.receivers[1]')
 */
export function parseSlackOptions(
  raw: unknown,
  key: string,
  env: NodeJS.ProcessEnv = process.env,
  unsetSecrets: UnsetSecrets = 'refuse',
): SlackOptions {
  return parseIncomingWebhookOptions(raw, key, env, unsetSecrets);
}

/** Escape text for Slack `mrkdwn`: `&`, `<`, `>` are control characters there (links, mentions). */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Slack renders `<!date^…>` in each reader's own time zone; the text after `|` is the fallback. */
function slackDate(iso: string): string {
  const seconds = Math.floor(Date.parse(iso) / 1000);
  return `<!date^${seconds}^{date_short_pretty} {time_secs}|${iso}>`;
}

type Block = Record<string, unknown>;
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });

/** The Block Kit message for one notification. */
export function slackMessage(payload: NotificationPayload, dashboardUrl?: URL): { text: string; blocks: Block[] } {
  const { alert } = payload;
  const state = stateWord(payload);
  const mark =
    state === 'RESOLVED'
      ? '✅ RESOLVED'
      : state === 'FIRING'
        ? SEVERITY_MARK[alert.severity]
        : `${SEVERITY_MARK[alert.severity]} ${state}`;
  const headline = `${mark} ${alert.severity.toUpperCase()} · ${alert.rule.title}`;
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(headline, 150), emoji: true } },
    { type: 'section', text: mrkdwn(truncate(slackEscape(alert.summary), 3000)) },
  ];
  // A grouped notification names the group's other alerts under the latest one.
  const others = otherGroupAlerts(payload);
  if (others.length > 0) {
    const lines = others.slice(0, GROUP_LISTED).map((a) => `• ${slackEscape(groupLine(a))}`);
    const rest = groupRest(others);
    if (rest) lines.push(rest);
    blocks.push({ type: 'section', text: mrkdwn(truncate(`*${groupHeading(others)}*\n${lines.join('\n')}`, 3000)) });
  }
  const labelFields = Object.entries(alert.labels).map(([k, v]) =>
    mrkdwn(truncate(`*${slackEscape(k)}*\n${slackEscape(v)}`, 2000)),
  );
  // Ten fields per section; beyond 40 labels the rest are in the alert JSON and the dashboard.
  for (let i = 0; i < Math.min(labelFields.length, 40); i += 10) {
    blocks.push({ type: 'section', fields: labelFields.slice(i, i + 10) });
  }
  const timeFields = [
    mrkdwn(`*Status*\n${state === 'RESOLVED' ? 'resolved' : alert.status}`),
    mrkdwn(`*Events*\n${alert.eventCount}`),
    mrkdwn(`*Started*\n${slackDate(alert.startsAt)}`),
    mrkdwn(`*Last seen*\n${slackDate(alert.lastSeenAt)}`),
  ];
  if (alert.endsAt) timeFields.push(mrkdwn(`*Resolved*\n${slackDate(alert.endsAt)}`));
  blocks.push({ type: 'section', fields: timeFields });
  const link = alertLink(dashboardUrl, alert.id);
  if (link) {
    blocks.push({
      type: 'actions',
      elements: [{ type: 'button', text: { type: 'plain_text', text: 'View alert' }, url: link }],
    });
  }
  blocks.push({
    type: 'context',
    elements: [
      mrkdwn(
        `Vigil alert \`${slackEscape(alert.id)}\` · fingerprint \`${alert.fingerprint}\` · rule \`${slackEscape(alert.rule.id)}\``,
      ),
    ],
  });
  // `text` is the notification preview and the fallback for clients without Block Kit.
  const more = others.length > 0 ? ` (+${others.length} more in this group)` : '';
  const text = truncate(
    `[${state}] ${alert.severity.toUpperCase()} ${alert.rule.title}: ${slackEscape(alert.summary)}${more}`,
    3000,
  );
  return { text, blocks };
}

export class SlackNotifier extends IncomingWebhookNotifier {
  constructor(config: SlackReceiverConfig, now: () => number = Date.now) {
    super(
      { type: 'slack', userAgent: 'vigil-slack/1', secretPart: (url) => url.pathname, message: slackMessage },
      config,
      now,
    );
  }
}
