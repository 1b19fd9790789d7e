/**
 * Decisions: opened alerts that match a response rule become decisions on the rule's scope, climbing the ladder for
 * repeat offenders, never against the allow-list. They are stored, listed and revoked through the API, and streamed
 * to SDKs by long polling (a bounded number of held requests, woken by any change or the next expiry).
 */
import type { Alert } from '../alerts/alert.js';
import type { Actor } from '../alerts/manager.js';
import { allMatch } from '../alerts/matchers.js';
import { VigilError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { type Cidr, cidrContains, parseCidr, unmapIpv4 } from '../net/ip.js';
import type { Page, Store } from '../store/store.js';
import type { ResponseConfig } from './config.js';
import {
  type Decision,
  type DecisionScope,
  decisionId,
  decisionToStreamJson,
  type StreamDecisionJson,
  scopeValue,
  statusOf,
} from './decision.js';

export type DecisionStore = Pick<
  Store,
  | 'insertDecision'
  | 'revokeDecision'
  | 'getDecision'
  | 'listDecisions'
  | 'decisionChanges'
  | 'activeDecisions'
  | 'decisionClock'
>;

export interface DecisionServiceOptions {
  readonly store: DecisionStore;
  readonly config: ResponseConfig;
  readonly log: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => number;
}

export interface StreamAnswer {
  readonly decisions: StreamDecisionJson[];
  readonly cursor: string;
}

/** Most decisions one stream answer carries; an SDK asks again with the new cursor for the rest. */
const MAX_STREAM_BATCH = 5000;

interface Waiter {
  wake(): void;
}

export class DecisionService {
  private readonly now: () => number;
  private readonly waiters = new Set<Waiter>();
  private closed = false;

  constructor(private readonly options: DecisionServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * An alert opened: one decision per matching response rule and scope (the first matching rule of a scope wins).
   * Never throws: a failure here must not stop alerting.
   */
  async onAlertOpened(alert: Alert): Promise<Decision[]> {
    const made: Decision[] = [];
    const scopesDone = new Set<DecisionScope>();
    try {
      for (const [index, rule] of this.options.config.rules.entries()) {
        if (scopesDone.has(rule.scope) || !allMatch(rule.matchers, alertLabels(alert))) continue;
        scopesDone.add(rule.scope);
        const value = scopeValue(rule.scope, alert.labels);
        if (value === undefined) {
          this.options.metrics?.decisionsSkipped.inc({ reason: 'no_value' });
          continue;
        }
        if (this.allowed(rule.scope, value)) {
          this.options.metrics?.decisionsSkipped.inc({ reason: 'allow_list' });
          this.options.log.info('decision skipped: allow-listed', { alert: alert.id, scope: rule.scope, value });
          continue;
        }
        const now = this.now();
        const prior = await this.options.store.listDecisions({
          scope: rule.scope,
          value,
          createdSince: now - this.options.config.repeatWindowMillis,
          excludeRevoked: true,
          limit: rule.ladder.length,
        });
        const level = Math.min(prior.items.length, rule.ladder.length - 1);
        const step = rule.ladder[level]!;
        const decision: Decision = {
          id: decisionId(alert.id, index, rule.scope, value),
          action: step.action,
          scope: rule.scope,
          value,
          reason: { ruleId: alert.rule.id, alertId: alert.id, responseRule: index, summary: alert.summary },
          createdAt: now,
          expiresAt: now + step.durationMillis,
          level,
          ...(step.action === 'throttle'
            ? { ratePerMinute: step.ratePerMinute ?? this.options.config.throttleRatePerMinute }
            : {}),
          version: 0,
        };
        if (!(await this.options.store.insertDecision(decision))) continue;
        this.options.metrics?.decisionsTotal.inc({ action: decision.action, scope: decision.scope });
        this.options.log.warn('decision made', {
          id: decision.id,
          action: decision.action,
          scope: decision.scope,
          value,
          step: level,
          alert: alert.id,
          expiresAt: new Date(decision.expiresAt).toISOString(),
        });
        made.push(decision);
      }
    } catch (error) {
      this.options.metrics?.decisionsSkipped.inc({ reason: 'store_error' });
      this.options.log.error('making a decision failed', { alert: alert.id, error: (error as Error).message });
    }
    if (made.length > 0) this.wakeAll();
    return made;
  }

  /** True when the scope's value is on the allow-list: an address in a listed range, a prefix overlapping one, an id. */
  allowed(scope: DecisionScope, value: string): boolean {
    const { allowCidrs, allowIds } = this.options.config;
    if (scope === 'user' || scope === 'api_key') return allowIds.has(value);
    const parsed = parseCidr(value);
    if (!parsed) return false;
    const range = unmapIpv4(parsed);
    return allowCidrs.some((c) => overlaps(c, range));
  }

  async list(query: {
    active?: boolean;
    scope?: DecisionScope;
    value?: string;
    alertId?: string;
    limit: number;
    cursor?: string;
  }): Promise<Page<Decision>> {
    return this.options.store.listDecisions({
      ...(query.scope ? { scope: query.scope } : {}),
      ...(query.value ? { value: query.value } : {}),
      ...(query.alertId ? { alertId: query.alertId } : {}),
      ...(query.active ? { activeAt: this.now() } : {}),
      ...(query.cursor ? { cursor: query.cursor } : {}),
      limit: query.limit,
    });
  }

  async get(id: string): Promise<Decision> {
    const decision = await this.options.store.getDecision(id);
    if (!decision) throw new VigilError('not_found', `no decision with id ${JSON.stringify(id)}`);
    return decision;
  }

  /** A person ends a decision early; recorded with who, when and why. SDKs drop it at their next poll. */
  async revoke(id: string, actor: Actor): Promise<Decision> {
    const decision = await this.get(id);
    const status = statusOf(decision, this.now());
    const notActive = (state: string) =>
      new VigilError('conflict', `decision ${JSON.stringify(id)} is ${state}; only an active one can be revoked`);
    if (status !== 'active') throw notActive(status);
    decision.revoked = {
      at: this.now(),
      actor: actor.name,
      tokenId: actor.tokenId,
      ...(actor.comment ? { comment: actor.comment } : {}),
    };
    // Another revocation can land between the read and this write: the first one stands.
    if (!(await this.options.store.revokeDecision(decision))) throw notActive('revoked');
    this.options.metrics?.decisionsRevoked.inc({ action: decision.action, scope: decision.scope });
    this.options.log.info('decision revoked', { id, actor: actor.name });
    this.wakeAll();
    return decision;
  }

  /**
   * The decision stream. Without a cursor: every decision in force, answered at once, even when there is none (an
   * app starting up learns that nothing is in force, and its cursor, without waiting). With one: decisions created
   * or revoked since, and those that expired since; when there is nothing new, the request is held up to
   * `waitMillis` (capped by `response.stream.maxWaitMillis`) unless `maxWaiters` are already held.
   */
  async stream(since: string | undefined, waitMillis: number, aborted?: AbortSignal): Promise<StreamAnswer> {
    const cursor = decodeStreamCursor(since);
    let answer = await this.changes(cursor);
    const wait = Math.min(waitMillis, this.options.config.stream.maxWaitMillis);
    if (cursor === undefined || answer.decisions.length > 0 || wait <= 0 || this.closed) return answer;
    if (this.waiters.size >= this.options.config.stream.maxWaiters) {
      this.options.metrics?.decisionStreamRefused.inc();
      return answer;
    }
    const { nextExpiry } = await this.options.store.decisionClock(this.now());
    const untilExpiry = nextExpiry === undefined ? wait : Math.max(1, nextExpiry - this.now() + 1);
    await this.hold(Math.min(wait, untilExpiry), aborted);
    answer = await this.changes(decodeStreamCursor(answer.cursor, cursor));
    return answer;
  }

  /** True once `close()` was called: stream answers then close their connection. */
  get closing(): boolean {
    return this.closed;
  }

  /** Answer every held stream request now (server shutdown). */
  close(): void {
    this.closed = true;
    this.wakeAll();
  }

  private async changes(cursor: StreamCursor | undefined): Promise<StreamAnswer> {
    const now = this.now();
    const { version, deletedBefore } = await this.options.store.decisionClock(now);
    // A cursor ahead of the store (a data directory started afresh): the SDK's decisions are not this store's. It
    // is refused, and an SDK that is refused its cursor drops what it holds and starts over without one.
    if (cursor && cursor.version > version) {
      throw new VigilError(
        'invalid_parameter',
        'cursor: ahead of this server (its store was started afresh); start over',
      );
    }
    // A cursor issued before retention's cutoff (an SDK that has not asked for longer than the window): a decision
    // it holds may have been revoked, and the revocation deleted since, so it starts over from those in force.
    if (cursor && deletedBefore !== undefined && cursor.time < deletedBefore) {
      throw new VigilError('invalid_parameter', 'cursor: older than the retention window of decisions; start over');
    }
    if (!cursor) {
      // Every decision in force, by version: a set larger than one answer is continued as changes after the last
      // version sent (those include the rest of it).
      const active = await this.options.store.activeDecisions(0, now, MAX_STREAM_BATCH);
      const truncated = active.length >= MAX_STREAM_BATCH;
      return {
        decisions: active.map((d) => decisionToStreamJson(d, now)),
        cursor: encodeStreamCursor({ version: truncated ? active[active.length - 1]!.version : version, time: now }),
      };
    }
    const { changed, expired } = await this.options.store.decisionChanges(
      cursor.version,
      cursor.time,
      now,
      MAX_STREAM_BATCH,
    );
    // The cursor moves only as far as the answer goes: a truncated answer is continued by the next request. Expiries
    // past a full page move on to the last one sent (SDKs expire decisions themselves too: a notice for another
    // decision expiring at that very moment may be skipped, never the same page sent forever).
    const changedTruncated = changed.length >= MAX_STREAM_BATCH;
    const expiredTruncated = expired.length >= MAX_STREAM_BATCH;
    const nextVersion = changedTruncated ? changed[changed.length - 1]!.version : version;
    const nextTime = changedTruncated ? cursor.time : expiredTruncated ? expired[expired.length - 1]!.expiresAt : now;
    return {
      decisions: [...changed, ...expired].map((d) => decisionToStreamJson(d, now)),
      cursor: encodeStreamCursor({ version: nextVersion, time: nextTime }),
    };
  }

  private hold(millis: number, aborted?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        wake: () => {
          clearTimeout(timer);
          aborted?.removeEventListener('abort', waiter.wake);
          this.waiters.delete(waiter);
          this.options.metrics?.decisionStreamWaiters.set(this.waiters.size);
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, millis);
      timer.unref();
      aborted?.addEventListener('abort', waiter.wake, { once: true });
      this.waiters.add(waiter);
      this.options.metrics?.decisionStreamWaiters.set(this.waiters.size);
    });
  }

  private wakeAll(): void {
    for (const w of [...this.waiters]) w.wake();
  }
}

/** Matchers see the labels plus `tags`, the rule's tags joined by commas, as routing does. */
function alertLabels(alert: Alert): Record<string, string> {
  return { ...alert.labels, tags: alert.tags.join(',') };
}

function overlaps(a: Cidr, b: Cidr): boolean {
  if (a.version !== b.version) return false;
  const wider = a.bits <= b.bits ? a : b;
  const narrower = wider === a ? b : a;
  return cidrContains(wider, { version: narrower.version, value: narrower.base });
}

interface StreamCursor {
  readonly version: number;
  readonly time: number;
}

function encodeStreamCursor(c: StreamCursor): string {
  return Buffer.from(JSON.stringify([c.version, c.time])).toString('base64url');
}

function decodeStreamCursor(text: string | undefined, fallback?: StreamCursor): StreamCursor | undefined {
  if (text === undefined || text === '') return fallback;
  try {
    const parts = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(parts) && Number.isSafeInteger(parts[0]) && Number.isSafeInteger(parts[1])) {
      return { version: parts[0], time: parts[1] };
    }
  } catch {
    // fall through
  }
  throw new VigilError('invalid_parameter', 'since: not a cursor this server issued; start again without one');
}
