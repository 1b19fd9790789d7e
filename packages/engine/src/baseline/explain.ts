/**
 * Words for the explanations. Every behaviour detection says what was seen, what normal looks like, and how far
 * apart they are, in one sentence a person on call understands:
 * "user 4711 read 412 distinct /accounts/{id} in 10 min; their usual is at most 7, their peer group's
 * (user.roles=customer) at most 9 (score 45.8)".
 */
import { Field } from '@vigil/schema';
import { formatDuration } from '../threshold.js';

export { formatDuration };

/** "user 4711", "API key key_2f9a", "client 203.0.113.7". */
export function describePrincipal(field: string, value: string): string {
  if (field === Field.userId) return `user ${value}`;
  if (field === Field.apiKeyId) return `API key ${value}`;
  if (field === Field.clientAddress) return `client ${value}`;
  return `${field} ${value}`;
}

/** Integers with thousands separators, other numbers with up to 3 significant decimals: "12,345", "0.42". */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  if (Math.abs(n) >= 100) return formatNumber(Math.round(n));
  return String(Number(n.toPrecision(Math.abs(n) >= 10 ? 3 : 2)));
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? Math.round(value) : Number(value.toPrecision(value >= 100 ? 3 : 2))} ${units[unit]}`;
}

export function formatSeconds(s: number): string {
  return s >= 1 ? `${Number(s.toPrecision(3))} s` : `${Number((s * 1000).toPrecision(3))} ms`;
}

export function formatScore(score: number): string {
  return score >= 100 ? String(Math.round(score)) : score.toFixed(1);
}

/** Round a score for labels and tags (one decimal, so that it reads well and compares stably). */
export function roundScore(score: number): number {
  return Math.round(score * 10) / 10;
}

/** What kind of thing was accessed: a route template as is, a declared type as "invoice objects". */
export function describeObjects(type: string): string {
  return type.startsWith('/') ? type : `${type} objects`;
}

export function percent(part: number, whole: number): string {
  return whole === 0 ? '0 %' : `${Math.round((100 * part) / whole)} %`;
}
