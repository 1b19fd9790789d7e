/**
 * Decisions: what the response stage asked the apps' SDKs to do (flag, throttle, block) and about whom, newest first,
 * those in force unless the filter says all; each active one can be revoked, with a comment, in two steps. The alert
 * page lists the decisions its alert caused through `alertDecisions`.
 */
import { type AlertJson, actionFailed, api, type DecisionJson, withQuery } from './api.js';
import { button, confirmStep, h, replace, routeHref, routeLink, select, table, valueText } from './dom.js';
import { count, localTime } from './format.js';
import type { ViewContext } from './view.js';

const PAGE_SIZE = 100;
const SHOW = [
  ['active', 'active (in force)'],
  ['all', 'all'],
] as const;
const COLUMNS = ['Action', 'Scope', 'Value', 'Step', 'Status', 'Alert', 'Created', 'Expires', 'Revoked', ''];

function actionText(d: DecisionJson): string {
  return d.action === 'throttle' && d.ratePerMinute !== undefined ? `throttle (${d.ratePerMinute}/min)` : d.action;
}

function revokedCell(d: DecisionJson): HTMLElement {
  if (d.status !== 'revoked') return h('td');
  return h(
    'td',
    { class: 'revoked' },
    h('div', { class: 'actor' }, valueText(d.revokedBy ?? '', 128)),
    d.revokedAt ? h('div', { class: 'time', title: d.revokedAt }, localTime(d.revokedAt)) : undefined,
    d.revokeComment ? h('div', { class: 'comment' }, valueText(d.revokeComment, 400)) : undefined,
  );
}

function revokeStep(d: DecisionJson, ctx: ViewContext, changed: () => void): HTMLElement {
  return confirmStep({
    label: 'Revoke',
    confirmLabel: 'Confirm revoke',
    commentLabel: `Why (recorded with your name, ${ctx.actor})`,
    act: async (comment) => {
      try {
        await api.delete(`/api/v1/decisions/${encodeURIComponent(d.id)}`, comment ? { comment } : {});
      } catch (error) {
        ctx.fail(actionFailed('Revoking', error));
        throw error;
      }
      changed();
    },
  });
}

function decisionRow(d: DecisionJson, ctx: ViewContext, changed: () => void): HTMLElement {
  const step = h('td', {}, String(d.level));
  step.title = 'the step on the response ladder: 0 for a first offence';
  return h(
    'tr',
    { class: `decision ${d.status}`, attrs: { 'data-id': d.id } },
    h('td', {}, h('span', { class: `decision-action ${d.action}` }, actionText(d))),
    h('td', {}, d.scope),
    h('td', {}, valueText(d.value, 80)),
    step,
    h('td', { class: 'status' }, d.status),
    h('td', {}, routeLink(['alerts', d.reason.alertId], {}, valueText(d.reason.ruleId, 60))),
    h('td', { class: 'time', title: d.createdAt }, localTime(d.createdAt)),
    h('td', { class: 'time', title: d.expiresAt }, localTime(d.expiresAt)),
    revokedCell(d),
    h('td', {}, d.status === 'active' ? revokeStep(d, ctx, changed) : undefined),
  );
}

/** A decisions table; `changed` runs after a revocation, to show the list again. */
function decisionsTable(
  ctx: ViewContext,
  changed: () => void,
): { element: HTMLTableElement; show(decisions: readonly DecisionJson[], first: boolean): void } {
  const element = table('decisions', COLUMNS);
  const body = element.tBodies[0]!;
  return {
    element,
    show(decisions, first) {
      if (first) body.replaceChildren();
      for (const d of decisions) body.append(decisionRow(d, ctx, changed));
    },
  };
}

export async function renderDecisions(ctx: ViewContext): Promise<void> {
  const show = ctx.params.get('show') === 'all' ? 'all' : 'active';
  const showSelect = select('show', SHOW, show);
  const form = h('form', { class: 'filters' }, h('label', {}, 'Show ', showSelect));
  showSelect.addEventListener('change', () => {
    location.hash = routeHref(['decisions'], { show: showSelect.value === 'all' ? 'all' : undefined });
  });
  form.addEventListener('submit', (e) => e.preventDefault());

  const list = decisionsTable(ctx, () => void load(true));
  const info = h('p', { class: 'muted' });
  const more = button('More decisions', () => void load(false));
  more.hidden = true;
  replace(
    ctx.main,
    h('h1', {}, 'Decisions'),
    h(
      'div',
      { class: 'toolbar' },
      form,
      button('Refresh', () => void load(true)),
    ),
    h(
      'p',
      { class: 'muted' },
      'What Vigil asked the apps to do. An app enforces a decision, or only records what it would have done, as its ' +
        "middleware's mode says (dry-run unless set to enforce).",
    ),
    info,
    list.element,
    more,
  );

  let cursor: string | undefined;
  let shown = 0;
  let loading = false;
  async function load(first: boolean): Promise<void> {
    if (loading) return;
    loading = true;
    try {
      const page = await api.get<{ decisions: DecisionJson[]; nextCursor?: string }>(
        withQuery('/api/v1/decisions', {
          active: show === 'active' ? 'true' : undefined,
          limit: String(PAGE_SIZE),
          cursor: first ? undefined : cursor,
        }),
      );
      if (!ctx.current()) return;
      if (first) shown = 0;
      list.show(page.decisions, first);
      shown += page.decisions.length;
      cursor = page.nextCursor;
      more.hidden = cursor === undefined;
      info.textContent =
        shown === 0
          ? show === 'active'
            ? 'No decision is in force.'
            : 'No decisions.'
          : `${count(shown, 'decision')}, newest first.`;
    } catch (error) {
      ctx.fail(error);
    } finally {
      loading = false;
    }
  }
  await load(true);
}

/**
 * The decisions an alert caused, for its page. The API filters decisions by scope and value, not by alert: this reads
 * the newest decisions back to the alert's opening (its decisions are made as it opens, never before), at most
 * ALERT_SEARCH_PAGES pages, and keeps the alert's own.
 */
export function alertDecisions(ctx: ViewContext, alert: AlertJson): HTMLElement {
  const info = h('p', { class: 'muted' }, 'Loading decisions…');
  const list = decisionsTable(ctx, () => void load());
  list.element.hidden = true;
  async function load(): Promise<void> {
    let found: readonly DecisionJson[];
    let more = false;
    try {
      // An alert makes at most one decision per response rule: one page holds them.
      const answer = await api.get<{ decisions: DecisionJson[]; nextCursor?: string }>(
        withQuery('/api/v1/decisions', { alert: alert.id, limit: String(PAGE_SIZE) }),
      );
      found = answer.decisions;
      more = answer.nextCursor !== undefined;
    } catch (error) {
      info.textContent = 'The decisions could not be loaded.';
      ctx.fail(error);
      return;
    }
    if (!ctx.current()) return;
    list.show(found, true);
    list.element.hidden = found.length === 0;
    info.textContent =
      found.length === 0
        ? 'This alert caused no decision.'
        : `${count(found.length, 'decision')} caused by this alert${more ? ' (the newest; see Decisions)' : ''}.`;
  }
  void load();
  return h('div', {}, info, list.element);
}
