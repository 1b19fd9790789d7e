/**
 * Small text helpers shared by the receivers that render an alert for people (Slack, Teams, e-mail).
 */
import type { Severity } from '@vigil/engine';
import type { AlertJson } from '../alerts/alert.js';
import type { NotificationPayload } from './notifier.js';

/** Cut `text` to at most `max` characters, marking the cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** Cut a UTF-8 string to at most `maxBytes` bytes without splitting a character. */
export function truncateBytes(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--; // back off continuation bytes
  return bytes.subarray(0, end).toString('utf8');
}

/**
 * One word for what happened, for titles. A `repeat` (reminder of a still-firing alert) reads as FIRING; an
 * `escalated` notification says so, since it reaches people who have not seen the alert yet.
 */
export type StateWord = 'RESOLVED' | 'ACKNOWLEDGED' | 'ESCALATED' | 'FIRING';

export function stateWord(payload: NotificationPayload): StateWord {
  if (payload.change === 'resolved' || payload.alert.status === 'resolved') return 'RESOLVED';
  if (payload.alert.status === 'acknowledged') return 'ACKNOWLEDGED';
  if (payload.change === 'escalated') return 'ESCALATED';
  return 'FIRING';
}

export const SEVERITY_MARK: Readonly<Record<Severity, string>> = {
  critical: '🟥',
  high: '🟧',
  medium: '🟨',
  low: '🟦',
  info: '⬜',
};

/** Link to the alert in the dashboard, when the receiver was told where the dashboard is. */
export function alertLink(dashboardUrl: URL | undefined, alertId: string): string | undefined {
  if (!dashboardUrl) return undefined;
  const base = dashboardUrl.href.endsWith('/') ? dashboardUrl.href : `${dashboardUrl.href}/`;
  return new URL(`alerts/${encodeURIComponent(alertId)}`, base).href;
}

/** Most alerts of a group listed by name in a chat message or mail; the count of the rest follows. */
export const GROUP_LISTED = 10;

/** One line naming another alert of the group: its status, severity, rule and summary. */
export function groupLine(alert: AlertJson): string {
  return truncate(
    `${alert.status.toUpperCase()} · ${alert.severity.toUpperCase()} · ${alert.rule.title}: ${alert.summary}`,
    280,
  );
}

/** The heading over the group's other alerts, e.g. "Also in this group (3)". */
export function groupHeading(others: readonly AlertJson[]): string {
  return `Also in this group (${others.length})`;
}

/** What is left unlisted past `GROUP_LISTED`, e.g. "… and 4 more", or nothing. */
export function groupRest(others: readonly AlertJson[]): string | undefined {
  return others.length > GROUP_LISTED ? `… and ${others.length - GROUP_LISTED} more` : undefined;
}
