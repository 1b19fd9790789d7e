/**
 * The alert model, following Prometheus Alertmanager: labels identify an alert, the fingerprint is a hash over
 * the labels, annotations describe it. Times are event times (epoch ms), so a replay gives the same alert.
 */
import { createHash } from 'node:crypto';
import type { Severity } from '@vigil/engine';

export type AlertStatus = 'firing' | 'acknowledged' | 'resolved';

export interface Alert {
  readonly id: string;
  readonly fingerprint: string;
  status: AlertStatus;
  readonly rule: { readonly id: string; readonly title: string };
  readonly severity: Severity;
  /** `rule`, `severity` and the values the rule groups by, under their field names. */
  readonly labels: Readonly<Record<string, string>>;
  readonly tags: readonly string[];
  startsAt: number;
  lastSeenAt: number;
  endsAt?: number;
  eventCount: number;
  summary: string;
  evidence: string[];
  /** Wall-clock time of the last change, epoch ms. */
  updatedAt: number;
  /** Wall-clock time the alert was opened, epoch ms (escalation timers run from it). */
  createdAt: number;
  /** Wall-clock time of the latest notification sent for it, epoch ms (repeat timers run from it). */
  lastNotifiedAt?: number;
  /** Escalation steps already taken (their receivers, joined). */
  escalated?: string[];
}

/** The alert JSON contract of PRODUCT.md: event times as RFC 3339. */
export interface AlertJson {
  id: string;
  fingerprint: string;
  status: AlertStatus;
  rule: { id: string; title: string };
  severity: Severity;
  labels: Record<string, string>;
  tags: string[];
  startsAt: string;
  lastSeenAt: string;
  endsAt?: string;
  eventCount: number;
  summary: string;
  evidence: string[];
  updatedAt: string;
  createdAt?: string;
  lastNotifiedAt?: string;
  escalated?: string[];
}

/** Stable hash over the sorted label set, as Alertmanager does: same labels, same fingerprint. */
export function fingerprint(labels: Readonly<Record<string, string>>): string {
  const hash = createHash('sha256');
  for (const k of Object.keys(labels).sort()) hash.update(`${k}\u0000${labels[k]}\u0000`);
  return hash.digest('hex').slice(0, 16);
}

export function alertToJson(alert: Alert): AlertJson {
  return {
    id: alert.id,
    fingerprint: alert.fingerprint,
    status: alert.status,
    rule: { ...alert.rule },
    severity: alert.severity,
    labels: { ...alert.labels },
    tags: [...alert.tags],
    startsAt: new Date(alert.startsAt).toISOString(),
    lastSeenAt: new Date(alert.lastSeenAt).toISOString(),
    ...(alert.endsAt !== undefined ? { endsAt: new Date(alert.endsAt).toISOString() } : {}),
    eventCount: alert.eventCount,
    summary: alert.summary,
    evidence: [...alert.evidence],
    updatedAt: new Date(alert.updatedAt).toISOString(),
    createdAt: new Date(alert.createdAt).toISOString(),
    ...(alert.lastNotifiedAt !== undefined ? { lastNotifiedAt: new Date(alert.lastNotifiedAt).toISOString() } : {}),
    ...(alert.escalated?.length ? { escalated: [...alert.escalated] } : {}),
  };
}

export function alertFromJson(json: AlertJson): Alert {
  return {
    ...json,
    labels: { ...json.labels },
    startsAt: Date.parse(json.startsAt),
    lastSeenAt: Date.parse(json.lastSeenAt),
    ...(json.endsAt ? { endsAt: Date.parse(json.endsAt) } : {}),
    updatedAt: Date.parse(json.updatedAt),
    createdAt: Date.parse(json.createdAt ?? json.updatedAt),
    ...(json.lastNotifiedAt ? { lastNotifiedAt: Date.parse(json.lastNotifiedAt) } : {}),
  } as Alert;
}
