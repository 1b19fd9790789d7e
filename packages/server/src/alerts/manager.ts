/**
 * Turns detections into alerts: one alert per fingerprint while it is open (firing or acknowledged), updated
 * with each new piece of evidence; resolved once no evidence arrived for `resolveAfterMillis` of event time.
 * Every change is saved before anything is notified, so a restart never loses an alert; an opening, acknowledgement
 * or resolve is saved with its announcement, which stays stored until every listener has taken it, so a restart
 * never loses a notification either.
 */
import { createHash } from 'node:crypto';
import type { Detection } from '@vigil/engine';
import { VigilError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { AlertAction, AlertAnnouncement, AnnouncedChange, Store } from '../store/store.js';

/** What the alert manager needs of a store (a replay keeps alerts in memory only). */
export type AlertStore = Pick<
  Store,
  'saveAlerts' | 'openAlerts' | 'recordAlertAction' | 'getAlert' | 'pendingAnnouncements' | 'announced'
>;

import { type Alert, type AlertJson, alertToJson, fingerprint } from './alert.js';
import type { OpenAlerts } from './routing.js';

export type AlertChange = 'opened' | 'updated' | 'acknowledged' | 'resolved';

/** Who acts on an alert through the API. */
export interface Actor {
  readonly name: string;
  readonly tokenId: string;
  readonly comment?: string;
}

/**
 * Hears of alert changes. A change that some listener failed on (it threw) is told again, to every listener, until
 * all take it, and so is one a crash interrupted: a listener takes a change it has already taken as a no-op.
 * `retold` is true for those: only then can the listener have taken it already.
 */
export type AlertListener = (alert: Alert, change: AlertChange, retold: boolean) => void | Promise<void>;

interface Telling {
  readonly alert: Alert;
  readonly change: AlertChange;
  /** Told before (a listener failed on it), or stored before a restart. */
  readonly retold?: boolean;
}

const ANNOUNCED: ReadonlySet<AlertChange> = new Set<AnnouncedChange>(['opened', 'acknowledged', 'resolved']);

export interface AlertManagerOptions {
  readonly store: AlertStore;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly resolveAfterMillis: number;
  readonly maxEvidence: number;
  /**
   * Most alerts open at once. Detections keyed by what a sender controls (a new address or user on every event) would
   * otherwise open alerts without end; beyond it, the alert seen least recently is resolved early (counted).
   */
  readonly maxOpenAlerts?: number;
  /** Evidence ids remembered over all open alerts for de-duplication (default `MAX_REMEMBERED_EVIDENCE_TOTAL`). */
  readonly maxRememberedEvidence?: number;
  readonly now?: () => number;
}

/** Ids of evidence remembered per alert for de-duplication; beyond it new ids are assumed new. */
const MAX_REMEMBERED_EVIDENCE = 10_000;
/**
 * Ids remembered over all open alerts (~90 bytes each, so ~45 MB). Without it a flood of alerts, each fed its own
 * stream of events, would hold `maxOpenAlerts` × 10 000 ids; beyond it new ids are assumed new, as above.
 */
export const MAX_REMEMBERED_EVIDENCE_TOTAL = 500_000;

export class AlertManager {
  /**
   * True while the server catches up on events stored after its last detection snapshot (a restart): detections of
   * evidence an alert already counted, or a resolved alert already closed, change nothing.
   */
  replaying = false;
  /** Open alerts by fingerprint, the least recently seen first (an update moves its alert to the end). */
  private readonly open = new CountedMap<string, Alert>();
  private readonly seen = new Map<string, Set<string>>();
  /** Ids in all of `seen`'s sets. */
  private remembered = 0;
  private warnedAtEvidenceBound = false;
  private readonly listeners: AlertListener[] = [];
  private readonly now: () => number;
  private warnedAtBound = false;
  /** Changes to tell the listeners, in order. */
  private readonly toTell: Telling[] = [];
  /** Announced changes some listener failed on (or stored before a restart), in order: told again later. */
  private untold: Telling[] = [];
  /** One telling at a time, so that the listeners hear of each alert's changes in order. */
  private telling: Promise<void> = Promise.resolve();

  constructor(private readonly options: AlertManagerOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Restore open alerts after a restart, and the changes whose announcement a crash interrupted: `announcePending`
   * tells them, once the listeners are in place.
   */
  async restore(): Promise<number> {
    for (const alert of await this.options.store.openAlerts()) {
      this.open.set(alert.fingerprint, alert);
      this.remember(alert.id, alert.evidence);
    }
    this.untold = (await this.options.store.pendingAnnouncements()).map((a) => ({ ...a, retold: true }));
    return this.open.size;
  }

  /** Announced changes not yet taken by every listener (a listener failed, or a crash came first). */
  get unannounced(): number {
    return this.untold.length;
  }

  /** Tell the listeners again of the changes they have not all taken yet; at start-up, and then now and then. */
  async announcePending(): Promise<void> {
    if (this.untold.length === 0) return;
    await this.tell([]);
  }

  onChange(listener: AlertListener): void {
    this.listeners.push(listener);
  }

  /** Number of open alerts, without copying them. */
  get openCount(): number {
    return this.open.size;
  }

  openAlerts(): Alert[] {
    return [...this.open.values()];
  }

  /**
   * The open alerts as they are when iterated, without copying them (each alert change looks at them), with the
   * generation of the set: it changes whenever an alert opens, is resolved or is moved to the back.
   */
  readonly openView: OpenAlerts = viewOf(this.open);

  /**
   * Apply a batch of detections. Each changed alert is saved once per batch, all in one transaction, before any
   * listener (notification) hears of it.
   */
  async handle(detections: readonly Detection[]): Promise<void> {
    // Detections that would open an alert: the id it would take may belong to a stored, resolved one.
    const openings = new Map<string, string | undefined>();
    for (const d of detections) {
      const fp = fingerprint(labelsOf(d));
      if (!this.open.has(fp) && !openings.has(fp)) openings.set(fp, await this.openingId(d, fp));
    }
    const changes = new Map<string, { alert: Alert; change: AlertChange }>();
    for (const d of detections) {
      const fp = fingerprint(labelsOf(d));
      if (!this.open.has(fp) && openings.get(fp) !== undefined) {
        for (const evicted of this.makeRoomToOpen(changes))
          changes.set(evicted.id, { alert: evicted, change: 'resolved' });
      }
      const result = this.apply(d, openings);
      if (!result) continue;
      const previous = changes.get(result.alert.id);
      // An alert opened and updated in the same batch is still "opened" for the listeners.
      changes.set(result.alert.id, previous?.change === 'opened' ? previous : result);
    }
    if (changes.size === 0) return;
    // An announced change is told as it was: a later change of the shared object must not show in it.
    const list = [...changes.values()].map(({ alert, change }) => ({
      alert: ANNOUNCED.has(change) ? snapshot(alert) : alert,
      change,
    }));
    await this.options.store.saveAlerts(
      list.map((c) => c.alert),
      list.filter(isAnnounced),
    );
    for (const { alert, change } of list) {
      if (change === 'opened') {
        this.options.metrics.alertsRaised.inc({ rule: alert.rule.id, severity: alert.severity });
        this.options.log.warn('alert firing', { alert: alertToJson(alert) });
      }
      if (change === 'resolved') this.options.metrics.alertsResolved.inc({ rule: alert.rule.id });
    }
    await this.tell(list);
  }

  /**
   * Before an alert opens at the bound: resolve the open alert seen least recently, as if it had gone quiet. An
   * incident still under way keeps being seen, so it is not the one that goes; a flood of one-event alerts pushes out
   * its own oldest. An alert opened in this batch stays until the next (its opening is told first), so a batch that
   * opens more than the bound goes over it until then. Counted in `vigil_alerts_evicted_total`, and logged the first
   * time, so the operator can raise the bound.
   */
  private makeRoomToOpen(batch: ReadonlyMap<string, { change: AlertChange }>): Alert[] {
    const max = this.options.maxOpenAlerts ?? Number.POSITIVE_INFINITY;
    const evicted: Alert[] = [];
    for (const [fp, alert] of this.open) {
      if (this.open.size < max) break;
      if (batch.get(alert.id)?.change === 'opened') continue;
      alert.status = 'resolved';
      // In event time, as a quiet alert's end is, so a replay (vigil analyze) ends it at the same moment: its last
      // evidence, the last time the incident was seen.
      alert.endsAt = alert.lastSeenAt;
      alert.updatedAt = this.now();
      this.open.delete(fp);
      this.forget(alert.id);
      this.options.metrics.alertsEvicted.inc({ rule: alert.rule.id });
      evicted.push(alert);
    }
    if (evicted.length > 0 && !this.warnedAtBound) {
      this.warnedAtBound = true;
      this.options.log.warn('open alerts reached alerting.maxOpenAlerts; the least recently seen are resolved early', {
        maxOpenAlerts: max,
      });
    }
    return evicted;
  }

  /** Remember evidence ids of an open alert for de-duplication, within the per-alert and overall bounds. */
  private remember(alertId: string, ids: readonly string[]): void {
    let seen = this.seen.get(alertId);
    for (const id of ids) {
      if (seen?.has(id)) continue;
      if (seen && seen.size >= MAX_REMEMBERED_EVIDENCE) return;
      if (this.remembered >= (this.options.maxRememberedEvidence ?? MAX_REMEMBERED_EVIDENCE_TOTAL)) {
        if (!this.warnedAtEvidenceBound) {
          this.warnedAtEvidenceBound = true;
          this.options.log.warn('open alerts remember the most evidence ids they may; later ones are assumed new', {
            remembered: this.remembered,
          });
        }
        return;
      }
      if (!seen) {
        seen = new Set();
        this.seen.set(alertId, seen);
      }
      seen.add(id);
      this.remembered++;
    }
  }

  private forget(alertId: string): void {
    this.remembered -= this.seen.get(alertId)?.size ?? 0;
    this.seen.delete(alertId);
  }

  /** Evidence ids remembered over all open alerts. */
  get rememberedEvidence(): number {
    return this.remembered;
  }

  /**
   * The id a detection opens its alert under, or undefined when it must not open one. The id is derived from the
   * fingerprint and the first event time, so the same incident has the same id in a replay. One already stored is a
   * resolved incident (open ones are in memory): its own evidence detected again (replayed after a crash, or late)
   * opens nothing, or people would be paged again for what they closed; new evidence starting at the same moment (a
   * second-resolution log) is a new incident, under an id of its own, which must not overwrite the closed one.
   */
  private async openingId(d: Detection, fp: string): Promise<string | undefined> {
    let id = alertId(fp, d.firstTime);
    for (let tries = 0; tries < 4; tries++) {
      const stored = await this.options.store.getAlert(id);
      if (!stored) return id;
      if (this.replaying && d.lastTime <= stored.lastSeenAt) return undefined;
      const known = new Set(stored.evidence);
      const fresh = d.eventIds.find((e) => !known.has(e));
      if (fresh === undefined) return undefined;
      id = alertId(`${fp}\u0000${fresh}`, d.firstTime);
    }
    return id;
  }

  private apply(
    d: Detection,
    openings: ReadonlyMap<string, string | undefined>,
  ): { alert: Alert; change: AlertChange } | undefined {
    const labels = labelsOf(d);
    const fp = fingerprint(labels);
    const existing = this.open.get(fp);
    if (existing) {
      // Catching up after a restart: what the alert already counted before it is not counted again (its evidence
      // list, all the memory has of it, holds only the first maxEvidence ids).
      if (this.replaying && d.lastTime <= existing.lastSeenAt) return undefined;
      const seen = this.seen.get(existing.id);
      const fresh = seen ? d.eventIds.filter((id) => !seen.has(id)) : d.eventIds;
      if (fresh.length === 0 && d.lastTime <= existing.lastSeenAt) return undefined;
      this.remember(existing.id, fresh);
      for (const id of fresh) {
        if (existing.evidence.length >= this.options.maxEvidence) break;
        existing.evidence.push(id);
      }
      existing.eventCount += fresh.length;
      existing.startsAt = Math.min(existing.startsAt, d.firstTime);
      existing.lastSeenAt = Math.max(existing.lastSeenAt, d.lastTime);
      existing.updatedAt = this.now();
      // Seen now: to the end of the eviction order.
      this.open.delete(fp);
      this.open.set(fp, existing);
      return { alert: existing, change: 'updated' };
    }
    const id = openings.get(fp);
    if (id === undefined) return undefined;
    const alert: Alert = {
      id,
      fingerprint: fp,
      status: 'firing',
      rule: { id: d.ruleId, title: d.ruleTitle },
      severity: d.severity,
      labels,
      tags: [...d.tags],
      startsAt: d.firstTime,
      lastSeenAt: d.lastTime,
      eventCount: d.eventCount,
      summary: d.summary,
      evidence: d.eventIds.slice(0, this.options.maxEvidence),
      updatedAt: this.now(),
      createdAt: this.now(),
    };
    this.open.set(fp, alert);
    this.remember(alert.id, d.eventIds);
    return { alert, change: 'opened' };
  }

  /** A person takes an open alert: it stays open (new evidence still lands on it) but is no longer unattended. */
  async acknowledge(id: string, actor: Actor): Promise<AlertJson> {
    const alert = await this.openById(id, 'acknowledge');
    if (alert.status === 'acknowledged') return alertToJson(alert);
    const before = alert.updatedAt;
    // Changed in memory before it is stored, so that evidence saved meanwhile stores it acknowledged too.
    alert.status = 'acknowledged';
    alert.updatedAt = this.now();
    // The alert as acknowledged: a resolve landing while this is stored changes the shared object, and the answer
    // and the receivers' "acknowledged" must not say "resolved" (Alertmanager and PagerDuty would act on it twice).
    const acknowledged = snapshot(alert);
    try {
      await this.options.store.recordAlertAction(acknowledged, this.action(alert, 'acknowledge', actor), {
        alert: acknowledged,
        change: 'acknowledged',
      });
    } catch (error) {
      // Not stored, so not done: asked again, the acknowledgement is tried again instead of answered from memory.
      if (alert.status === 'acknowledged' && alert.updatedAt === acknowledged.updatedAt) {
        alert.status = 'firing';
        alert.updatedAt = before;
      }
      throw error;
    }
    this.options.log.info('alert acknowledged', { id, actor: actor.name });
    await this.tell([{ alert: acknowledged, change: 'acknowledged' }]);
    return alertToJson(acknowledged);
  }

  /** A person closes an alert; more evidence for the same labels later opens a new one. */
  async resolve(id: string, actor: Actor, as: 'resolve' | 'false_positive' = 'resolve'): Promise<AlertJson> {
    const alert = await this.openById(id, 'resolve');
    const { status, updatedAt } = alert;
    alert.status = 'resolved';
    alert.endsAt = this.now();
    alert.updatedAt = alert.endsAt;
    this.open.delete(alert.fingerprint);
    try {
      await this.options.store.recordAlertAction(alert, this.action(alert, as, actor), { alert, change: 'resolved' });
    } catch (error) {
      // Not stored, so not done: the alert stays open (unless evidence opened another for its labels meanwhile).
      if (!this.open.has(alert.fingerprint)) {
        alert.status = status;
        alert.updatedAt = updatedAt;
        delete alert.endsAt;
        this.open.set(alert.fingerprint, alert);
      }
      throw error;
    }
    this.forget(alert.id);
    this.options.metrics.alertsResolved.inc({ rule: alert.rule.id });
    this.options.log.info('alert resolved by hand', { id, actor: actor.name });
    await this.tell([{ alert, change: 'resolved' }]);
    return alertToJson(alert);
  }

  /** The open alert `id`; a 409 when it is resolved, a 404 when there is no such alert (as GET answers). */
  private async openById(id: string, what: string): Promise<Alert> {
    for (const alert of this.open.values()) if (alert.id === id) return alert;
    const stored = await this.options.store.getAlert(id);
    if (!stored) throw new VigilError('not_found', `no alert with id ${JSON.stringify(id)}`);
    throw new VigilError('conflict', `cannot ${what} alert ${JSON.stringify(id)}: it is ${stored.status}`);
  }

  private action(alert: Alert, action: AlertAction['action'], actor: Actor): AlertAction {
    return {
      alertId: alert.id,
      action,
      actor: actor.name,
      tokenId: actor.tokenId,
      ...(actor.comment ? { comment: actor.comment } : {}),
      at: this.now(),
    };
  }

  /**
   * Resolve alerts whose latest evidence is older than `resolveAfterMillis` before `watermark` (event time: the
   * server passes the later of the newest event time and the wall clock; a replay passes the newest event time).
   */
  async resolveQuiet(watermark: number): Promise<Alert[]> {
    const resolved: Alert[] = [];
    for (const [fp, alert] of this.open) {
      if (watermark - alert.lastSeenAt < this.options.resolveAfterMillis) continue;
      alert.status = 'resolved';
      alert.endsAt = alert.lastSeenAt + this.options.resolveAfterMillis;
      alert.updatedAt = this.now();
      this.open.delete(fp);
      this.forget(alert.id);
      resolved.push(alert);
    }
    if (resolved.length === 0) return resolved;
    // One transaction (one fsync) for all of them, with their announcements, before any listener hears of one.
    const told = resolved.map((alert) => ({ alert, change: 'resolved' as const }));
    await this.options.store.saveAlerts(resolved, told);
    for (const alert of resolved) {
      this.options.metrics.alertsResolved.inc({ rule: alert.rule.id });
      this.options.log.info('alert resolved', { id: alert.id, rule: alert.rule.id, fingerprint: alert.fingerprint });
    }
    await this.tell(told);
    return resolved;
  }

  /**
   * Tell the listeners of `changes` (after the ones waiting before them), in order, one telling at a time. An
   * announced change that every listener took is removed from the store; one that a listener failed on is kept and
   * told again by `announcePending`, and the later changes of its alert wait behind it, so that a receiver never
   * hears of an acknowledgement before the opening.
   */
  private tell(changes: readonly Telling[]): Promise<void> {
    this.toTell.push(...changes);
    const run = this.telling.then(() => this.tellWaiting());
    this.telling = run.catch(() => {});
    return run;
  }

  private async tellWaiting(): Promise<void> {
    const queue = [...this.untold, ...this.toTell.splice(0)];
    this.untold = [];
    // Alerts with a change not taken: their later changes wait.
    const held = new Set<string>();
    const told: AlertAnnouncement[] = [];
    for (const item of queue) {
      if (!ANNOUNCED.has(item.change)) {
        if (!held.has(item.alert.id)) await this.emit(item);
        continue;
      }
      if (held.has(item.alert.id) || !(await this.emit(item))) {
        held.add(item.alert.id);
        this.untold.push({ ...item, retold: true });
        continue;
      }
      told.push(item as AlertAnnouncement);
    }
    if (told.length === 0) return;
    try {
      // One write for all of them: an alert flood must not cost a commit per alert.
      await this.options.store.announced(told);
    } catch (error) {
      // Told, and still stored: the next start tells them again, which the listeners take as a no-op.
      this.options.log.error('announced alert changes could not be marked as told', {
        changes: told.length,
        error: (error as Error).message,
      });
    }
  }

  /**
   * Tell every listener (notifications, decisions), each on its own: one that fails is logged and counted, and the
   * next still hears of the change. The alert is already saved, and so are the events that raised it, so a failure
   * here must not reach the sender, who would resend events that are then skipped as duplicates. True when every
   * listener took the change.
   */
  private async emit({ alert, change, retold = false }: Telling): Promise<boolean> {
    let ok = true;
    for (const [index, listener] of this.listeners.entries()) {
      try {
        await listener(alert, change, retold);
      } catch (error) {
        ok = false;
        this.options.metrics.alertListenerFailures.inc({ change });
        this.options.log.error('acting on an alert change failed', {
          alert: alert.id,
          change,
          listener: index,
          error: (error as Error).message,
        });
      }
    }
    return ok;
  }
}

/** A copy of an alert that later changes of the original leave alone. */
function snapshot(alert: Alert): Alert {
  return {
    ...alert,
    labels: { ...alert.labels },
    tags: [...alert.tags],
    evidence: [...alert.evidence],
    ...(alert.escalated ? { escalated: [...alert.escalated] } : {}),
  };
}

function isAnnounced(item: Telling): item is AlertAnnouncement {
  return ANNOUNCED.has(item.change);
}

/**
 * An alert's id is derived from its fingerprint and the event time it starts at: one incident has one id, the
 * same in a replay as in the live run.
 */
function labelsOf(d: Detection): Record<string, string> {
  return { rule: d.ruleId, severity: d.severity, ...d.groupLabels };
}

export function alertId(fp: string, startsAt: number): string {
  const h = createHash('sha256').update(`${fp}@${startsAt}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** A Map that counts its changes: `generation` moves on every `set`, `delete` and `clear`. */
class CountedMap<K, V> extends Map<K, V> {
  generation = 0;

  override set(key: K, value: V): this {
    this.generation++;
    return super.set(key, value);
  }

  override delete(key: K): boolean {
    this.generation++;
    return super.delete(key);
  }

  override clear(): void {
    this.generation++;
    super.clear();
  }
}

function viewOf(open: CountedMap<string, Alert>): OpenAlerts {
  return {
    [Symbol.iterator]: () => open.values(),
    get generation() {
      return open.generation;
    },
  };
}
