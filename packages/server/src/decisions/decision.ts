/**
 * The decision model: what Vigil asks the SDKs to do about one attacker (flag, throttle, block), on what scope (an
 * address, an IPv6 /64, a user, an API key), why (the response rule and the alert), and until when. Decisions are
 * made live on the wall clock, like notifications; they never feed back into detection.
 */
import { createHash } from 'node:crypto';
import { Field } from '@vigil/schema';
import { normaliseAddress } from '../enrich/client-address.js';

export type DecisionAction = 'flag' | 'throttle' | 'block';
export type DecisionScope = 'ip' | 'prefix' | 'user' | 'api_key';
export type DecisionStatus = 'active' | 'expired' | 'revoked';

export const DECISION_ACTIONS: readonly DecisionAction[] = ['flag', 'throttle', 'block'];
export const DECISION_SCOPES: readonly DecisionScope[] = ['ip', 'prefix', 'user', 'api_key'];

/** Who ended a decision early, and why. */
export interface Revocation {
  readonly at: number;
  readonly actor: string;
  /** Short hash of the API token used. */
  readonly tokenId: string;
  readonly comment?: string;
}

export interface Decision {
  readonly id: string;
  readonly action: DecisionAction;
  readonly scope: DecisionScope;
  /** The address, `/64` prefix, user id or API key id the decision is about. */
  readonly value: string;
  readonly reason: {
    readonly ruleId: string;
    readonly alertId: string;
    /** Index of the response rule (`response.rules[n]`) that asked for it. */
    readonly responseRule: number;
    readonly summary: string;
  };
  /** Wall clock, epoch ms. */
  readonly createdAt: number;
  readonly expiresAt: number;
  /** Step on the ladder: 0 for a first offence, 1 for the second... */
  readonly level: number;
  /** Requests per minute a throttle lets through. */
  readonly ratePerMinute?: number;
  revoked?: Revocation;
  /** Store's change counter: increases with every insert and revocation (the stream's cursor follows it). */
  version: number;
}

export interface DecisionJson {
  id: string;
  action: DecisionAction;
  scope: DecisionScope;
  value: string;
  status: DecisionStatus;
  level: number;
  reason: { ruleId: string; alertId: string; responseRule: number; summary: string };
  createdAt: string;
  expiresAt: string;
  ratePerMinute?: number;
  revokedAt?: string;
  revokedBy?: string;
  revokeComment?: string;
  tokenId?: string;
}

/** What an SDK receives on the decision stream: enough to enforce, nothing about who revoked what. */
export interface StreamDecisionJson {
  id: string;
  action: DecisionAction;
  scope: DecisionScope;
  value: string;
  status: DecisionStatus;
  expiresAt: string;
  ratePerMinute?: number;
  ruleId: string;
  alertId: string;
}

export function statusOf(decision: Decision, now: number): DecisionStatus {
  if (decision.revoked) return 'revoked';
  return decision.expiresAt > now ? 'active' : 'expired';
}

export function decisionToJson(d: Decision, now: number): DecisionJson {
  return {
    id: d.id,
    action: d.action,
    scope: d.scope,
    value: d.value,
    status: statusOf(d, now),
    level: d.level,
    reason: { ...d.reason },
    createdAt: new Date(d.createdAt).toISOString(),
    expiresAt: new Date(d.expiresAt).toISOString(),
    ...(d.ratePerMinute !== undefined ? { ratePerMinute: d.ratePerMinute } : {}),
    ...(d.revoked
      ? {
          revokedAt: new Date(d.revoked.at).toISOString(),
          revokedBy: d.revoked.actor,
          tokenId: d.revoked.tokenId,
          ...(d.revoked.comment ? { revokeComment: d.revoked.comment } : {}),
        }
      : {}),
  };
}

export function decisionToStreamJson(d: Decision, now: number): StreamDecisionJson {
  return {
    id: d.id,
    action: d.action,
    scope: d.scope,
    value: d.value,
    status: statusOf(d, now),
    expiresAt: new Date(d.expiresAt).toISOString(),
    ...(d.ratePerMinute !== undefined ? { ratePerMinute: d.ratePerMinute } : {}),
    ruleId: d.reason.ruleId,
    alertId: d.reason.alertId,
  };
}

/**
 * The value a scope takes from an alert's labels: the client address (canonical form) for `ip`; the `/64` of an
 * IPv6 client, or the IPv4 address itself, for `prefix`; `user.id`; `vigil.api_key.id`. Undefined when the alert
 * does not carry it (a rule grouped by user has no address to block).
 */
export function scopeValue(scope: DecisionScope, labels: Readonly<Record<string, string>>): string | undefined {
  switch (scope) {
    case 'ip': {
      const address = labels[Field.clientAddress];
      return address ? normaliseAddress(address)?.address : undefined;
    }
    case 'prefix': {
      const given = labels[Field.clientPrefix];
      if (given) return given;
      const address = labels[Field.clientAddress];
      return address ? normaliseAddress(address)?.prefix : undefined;
    }
    case 'user':
      return labels[Field.userId] || undefined;
    case 'api_key':
      return labels[Field.apiKeyId] || undefined;
  }
}

/**
 * One alert, one response rule, one scope value: one decision. The id is derived from them, so handling the same
 * opened alert twice (a retry, a restart) stores one decision, not two.
 */
export function decisionId(alertId: string, responseRule: number, scope: DecisionScope, value: string): string {
  const h = createHash('sha256').update(`${alertId}\u0000${responseRule}\u0000${scope}\u0000${value}`).digest('hex');
  return `dec_${h.slice(0, 24)}`;
}
