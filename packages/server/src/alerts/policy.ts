/**
 * The notification policy: for each alert change, which receivers hear of it — routing, silences, inhibition —
 * and, as time passes, repeat notifications for firing alerts nobody acknowledged and escalation to the next
 * receiver. The dispatcher then delivers durably.
 */
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/store.js';
import type { Alert } from './alert.js';
import type { AlertChange } from './manager.js';
import {
  InhibitionIndex,
  type InhibitRule,
  type OpenAlerts,
  type RouteConfig,
  type RouteDecision,
  type RouteTarget,
  route,
  targetsFor,
} from './routing.js';
import type { Silences } from './silences.js';

export type NotificationChange = AlertChange | 'repeat' | 'escalated';

export interface PolicyOptions {
  readonly root: RouteConfig;
  readonly inhibitRules: readonly InhibitRule[];
  readonly silences: Silences;
  readonly store: Pick<Store, 'notifiedReceivers' | 'saveAlerts'>;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly now?: () => number;
}

export interface Delivery {
  readonly alert: Alert;
  readonly change: NotificationChange;
  readonly targets: readonly RouteTarget[];
  /**
   * Which repeat or escalation step this is (the time the repeat counts from, or the step's receivers): the same
   * step computed again after a crash gets the same notification ids, and is recorded once.
   */
  readonly occurrence: string;
}

export class NotificationPolicy {
  private readonly now: () => number;
  private root: RouteConfig;
  private inhibitRules: readonly InhibitRule[];
  /**
   * Each alert's routing decision under the current tree: the timers look at every open alert each second, and an
   * alert's labels do not change while it is open. A new routing tree is a new key.
   */
  private decisions = new WeakMap<Alert, RouteDecision>();
  /** The inhibition index of the open alerts' latest generation, under the current rules (see inhibitionOf). */
  private inhibition:
    | {
        readonly open: OpenAlerts;
        readonly generation: number;
        readonly rules: readonly InhibitRule[];
        readonly index: InhibitionIndex;
      }
    | undefined;

  constructor(private readonly options: PolicyOptions) {
    this.now = options.now ?? Date.now;
    this.root = options.root;
    this.inhibitRules = options.inhibitRules;
  }

  /** Routing changed at run time (a new version through the API): applies to every change from now on. */
  setRouting(routing: { route: RouteConfig; inhibitRules: readonly InhibitRule[] }): void {
    this.root = routing.route;
    this.inhibitRules = routing.inhibitRules;
    this.decisions = new WeakMap();
  }

  private decisionFor(alert: Alert): RouteDecision {
    let decision = this.decisions.get(alert);
    if (!decision) {
      decision = route(this.root, alert);
      this.decisions.set(alert, decision);
    }
    return decision;
  }

  /** Receivers (with their grouping) for an alert change; empty when silenced or inhibited (counted). */
  async targetsFor(alert: Alert, change: NotificationChange, open: OpenAlerts): Promise<RouteTarget[]> {
    if (change === 'updated') return [];
    // Acknowledgements and resolutions go to whoever was told the alert was firing, and only to them.
    if (change === 'acknowledged' || change === 'resolved') {
      return targetsFor(this.root, alert, await this.options.store.notifiedReceivers(alert.id));
    }
    return this.unlessMuted(alert, this.inhibitionOf(open));
  }

  /** The routed targets of a firing alert; none when it is silenced or inhibited (counted). */
  private unlessMuted(alert: Alert, inhibition: InhibitionIndex): RouteTarget[] {
    const silence = this.options.silences.silencing(alert);
    if (silence) {
      this.options.metrics.notificationsSuppressed.inc({ reason: 'silenced' });
      this.options.log.info('notification silenced', { alert: alert.id, silence: silence.id });
      return [];
    }
    if (inhibition.inhibits(alert)) {
      this.options.metrics.notificationsSuppressed.inc({ reason: 'inhibited' });
      return [];
    }
    return this.decisionFor(alert).targets;
  }

  /**
   * The inhibition index of `open`, kept while its generation and the rules stay the same: the alerts of one batch
   * of detections are checked against one index, made once.
   */
  private inhibitionOf(open: OpenAlerts): InhibitionIndex {
    const cached = this.inhibition;
    if (
      cached !== undefined &&
      cached.open === open &&
      cached.generation === open.generation &&
      cached.rules === this.inhibitRules
    ) {
      return cached.index;
    }
    const index = new InhibitionIndex(this.inhibitRules, open);
    this.inhibition =
      open.generation === undefined
        ? undefined
        : { open, generation: open.generation, rules: this.inhibitRules, index };
    return index;
  }

  /**
   * Timers: repeat notifications for firing alerts past their repeat interval, and escalations for alerts still
   * unacknowledged past their escalation delay. Each alert's are handed to `deliver` (which records them) before its
   * timer fields are changed and saved: a crash in between computes the same steps again after the restart, under the
   * same notification ids, so they are recorded once and never skipped. An alert whose deliveries fail keeps its
   * fields, and is tried again on the next pass. Returns what was delivered.
   */
  async due(
    open: readonly Alert[],
    deliver: (delivery: Delivery) => Promise<void> = async () => {},
  ): Promise<Delivery[]> {
    const now = this.now();
    const out: Delivery[] = [];
    const changed: Alert[] = [];
    // One index for the whole pass: `open` does not change during it.
    const inhibition = new InhibitionIndex(this.inhibitRules, open);
    for (const alert of open) {
      if (alert.status !== 'firing') continue;
      const decision = this.decisionFor(alert);
      const deliveries: Delivery[] = [];
      let repeated = false;
      const escalated: string[] = [];
      // Repeats count from the latest notification, or from the opening when none was sent (silenced, inhibited).
      const last = alert.lastNotifiedAt ?? alert.createdAt;
      if (decision.repeatIntervalMillis > 0 && now - last >= decision.repeatIntervalMillis) {
        const targets = this.unlessMuted(alert, inhibition);
        repeated = true;
        if (targets.length > 0) deliveries.push({ alert, change: 'repeat', targets, occurrence: String(last) });
      }
      for (const step of decision.escalations) {
        const key = step.receivers.join(',');
        if (now - alert.createdAt < step.afterMillis || alert.escalated?.includes(key)) continue;
        escalated.push(key);
        // Muted as its openings and repeats are: silenced, or inhibited by another open alert.
        if (this.options.silences.silencing(alert)) continue;
        if (inhibition.inhibits(alert)) {
          this.options.metrics.notificationsSuppressed.inc({ reason: 'inhibited' });
          continue;
        }
        deliveries.push({
          alert,
          change: 'escalated',
          targets: targetsFor(this.root, alert, step.receivers),
          occurrence: key,
        });
      }
      if (!repeated && escalated.length === 0) continue;
      try {
        for (const delivery of deliveries) await deliver(delivery);
      } catch (error) {
        this.options.log.error('a repeat or escalation could not be recorded; it is tried again', {
          alert: alert.id,
          error: (error as Error).message,
        });
        continue;
      }
      if (repeated) alert.lastNotifiedAt = now;
      if (escalated.length > 0) alert.escalated = [...(alert.escalated ?? []), ...escalated];
      for (const d of deliveries) {
        if (d.change === 'escalated') {
          this.options.log.warn('alert escalated', { alert: alert.id, to: d.targets.map((t) => t.receiver) });
        }
      }
      changed.push(alert);
      out.push(...deliveries);
    }
    if (changed.length > 0) await this.options.store.saveAlerts(changed);
    return out;
  }
}
