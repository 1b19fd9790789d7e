/**
 * Microsoft Teams receiver: a Power Automate "Workflows" webhook (the successor of Office 365 connectors) that
 * posts an Adaptive Card 1.4 to a channel or chat. The workflow URL carries its signature (`sig=`), so it is
 * handled as a secret. Workflows answer 202 Accepted; 429 carries `Retry-After`.
 */
import { alertLink, GROUP_LISTED, groupHeading, groupLine, groupRest, stateWord, truncate } from './format.js';
import { IncomingWebhookNotifier } from './incoming-webhook.js';
import { type NotificationPayload, otherGroupAlerts } from './notifier.js';
import {
  type CommonReceiverOptions,
  type IncomingWebhookOptions,
  parseIncomingWebhookOptions,
  type UnsetSecrets,
} from './options.js';

export type TeamsOptions = IncomingWebhookOptions;

export type TeamsReceiverConfig = CommonReceiverOptions & TeamsOptions;

/**
 * Validate the Teams options of one receiver.
 * @example parseTeamsOptions({ url: { env: 'TEAMS_WORKFLOW_URL' } }, 'notify.receivers[2]')
 */
export function parseTeamsOptions(
  raw: unknown,
  key: string,
  env: NodeJS.ProcessEnv = process.env,
  unsetSecrets: UnsetSecrets = 'refuse',
): TeamsOptions {
  return parseIncomingWebhookOptions(raw, key, env, unsetSecrets);
}

/**
 * Adaptive Card TextBlocks render a Markdown subset: brackets and emphasis characters from an attacker's input
 * (a user name, a route) must not become links or formatting, so they are escaped with a backslash.
 */
export function teamsEscape(text: string): string {
  return text.replace(/[\\`*_[\]()~]/g, (c) => `\\${c}`);
}

const COLOR = { critical: 'Attention', high: 'Attention', medium: 'Warning', low: 'Accent', info: 'Default' } as const;

/** The Workflows message with its Adaptive Card for one notification. */
export function teamsMessage(payload: NotificationPayload, dashboardUrl?: URL): Record<string, unknown> {
  const { alert } = payload;
  const state = stateWord(payload);
  const body: Record<string, unknown>[] = [
    {
      type: 'TextBlock',
      size: 'Large',
      weight: 'Bolder',
      wrap: true,
      color: state === 'RESOLVED' ? 'Good' : COLOR[alert.severity],
      text: teamsEscape(truncate(`${state} · ${alert.severity.toUpperCase()} · ${alert.rule.title}`, 200)),
    },
    { type: 'TextBlock', wrap: true, text: teamsEscape(truncate(alert.summary, 2000)) },
    ...groupBlocks(payload),
    {
      type: 'FactSet',
      facts: Object.entries(alert.labels)
        .slice(0, 40)
        .map(([k, v]) => ({ title: teamsEscape(truncate(k, 100)), value: teamsEscape(truncate(v, 500)) })),
    },
    {
      type: 'FactSet',
      separator: true,
      facts: [
        { title: 'Status', value: state === 'RESOLVED' ? 'resolved' : alert.status },
        { title: 'Events', value: String(alert.eventCount) },
        { title: 'Started', value: alert.startsAt },
        { title: 'Last seen', value: alert.lastSeenAt },
        ...(alert.endsAt ? [{ title: 'Resolved', value: alert.endsAt }] : []),
      ],
    },
    {
      type: 'TextBlock',
      isSubtle: true,
      size: 'Small',
      wrap: true,
      text: teamsEscape(`Vigil alert ${alert.id} · fingerprint ${alert.fingerprint} · rule ${alert.rule.id}`),
    },
  ];
  const link = alertLink(dashboardUrl, alert.id);
  const content = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    msteams: { width: 'Full' },
    body,
    ...(link ? { actions: [{ type: 'Action.OpenUrl', title: 'View alert', url: link }] } : {}),
  };
  return {
    type: 'message',
    attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content }],
  };
}

/** A grouped notification names the group's other alerts under the latest one, one line each. */
function groupBlocks(payload: NotificationPayload): Record<string, unknown>[] {
  const others = otherGroupAlerts(payload);
  if (others.length === 0) return [];
  const rest = groupRest(others);
  return [
    { type: 'TextBlock', wrap: true, weight: 'Bolder', separator: true, text: groupHeading(others) },
    ...others
      .slice(0, GROUP_LISTED)
      .map((a) => ({ type: 'TextBlock', wrap: true, spacing: 'None', text: `• ${teamsEscape(groupLine(a))}` })),
    ...(rest ? [{ type: 'TextBlock', wrap: true, spacing: 'None', isSubtle: true, text: rest }] : []),
  ];
}

export class TeamsNotifier extends IncomingWebhookNotifier {
  constructor(config: TeamsReceiverConfig, now: () => number = Date.now) {
    super(
      { type: 'teams', userAgent: 'vigil-teams/1', secretPart: (url) => url.search.slice(1), message: teamsMessage },
      config,
      now,
    );
  }
}
