/**
 * ArcSight Common Event Format (CEF rev. 25) for one alert notification, the lingua franca of SIEMs:
 * `CEF:0|Vendor|Product|Version|Signature ID|Name|Severity|Extension`.
 *
 * Escaping (the spec's "Character encoding"): in the header `\` and `|` are escaped with a backslash; in
 * extension values `\` and `=` are, and line breaks become the two characters `\n` / `\r`. A header cannot hold a
 * line break at all, so one becomes a space there.
 */

import { isIP } from 'node:net';
import type { Severity } from '@vigil/engine';
import { Field } from '@vigil/schema';
import { truncate } from './format.js';
import type { NotificationPayload } from './notifier.js';

export function cefHeaderEscape(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ');
}

export function cefValueEscape(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/=/g, '\\=')
    .replace(/\r\n|\n/g, '\\n')
    .replace(/\r/g, '\\r');
}

/** Vigil severity on CEF's 0–10 scale (Low 0–3, Medium 4–6, High 7–8, Very-High 9–10). */
export const CEF_SEVERITY: Readonly<Record<Severity, number>> = { info: 1, low: 3, medium: 5, high: 8, critical: 10 };

/** One CEF record. `productVersion` is Vigil's version. */
export function cefRecord(payload: NotificationPayload, productVersion: string): string {
  const { alert } = payload;
  const labels = alert.labels;
  const header = [
    'CEF:0',
    'Vigil',
    'Vigil',
    productVersion,
    alert.rule.id,
    truncate(alert.rule.title, 512),
    String(CEF_SEVERITY[alert.severity]),
  ]
    .map((part, i) => (i === 0 ? part : cefHeaderEscape(part)))
    .join('|');
  const ext: [string, string | number | undefined][] = [
    ['rt', Date.parse(alert.lastSeenAt)],
    ['start', Date.parse(alert.startsAt)],
    ['end', alert.endsAt ? Date.parse(alert.endsAt) : undefined],
    ['cnt', alert.eventCount],
    ['act', payload.change],
    ['cat', 'vigil/alert'],
    ['externalId', alert.id],
    ['msg', truncate(alert.summary, 1023)],
    // `src` is typed as an IP address in CEF: anything else would break the consumer's parser.
    ['src', isIP(labels[Field.clientAddress] ?? '') ? labels[Field.clientAddress] : undefined],
    ['suser', labels[Field.userId] ?? labels[Field.userName]],
    ['request', labels[Field.urlFull] ?? labels[Field.httpRoute]],
    ['requestMethod', labels[Field.httpRequestMethod]],
    ['cs1Label', 'fingerprint'],
    ['cs1', alert.fingerprint],
    ['cs2Label', 'status'],
    ['cs2', payload.change === 'resolved' ? 'resolved' : alert.status],
    ['cs3Label', 'labels'],
    ['cs3', truncate(JSON.stringify(labels), 4000)],
    ['cs4Label', 'tags'],
    ['cs4', alert.tags.join(',') || undefined],
  ];
  const extension = ext
    .filter(([k, v]) => v !== undefined && v !== '' && !(k === 'cs4Label' && alert.tags.length === 0))
    .map(([k, v]) => `${k}=${cefValueEscape(String(v))}`)
    .join(' ');
  return `${header}|${extension}`;
}
