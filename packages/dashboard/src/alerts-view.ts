/**
 * Alerts, the home view: newest first, open ones unless the filter says otherwise; refreshed every 15 seconds while
 * the tab is shown and no further page was loaded.
 */
import { type AlertJson, api, withQuery } from './api.js';
import { button, h, replace, routeHref, routeLink, select, table, valueText } from './dom.js';
import { count, ENTITY_LABELS, localTime } from './format.js';
import type { ViewContext } from './view.js';

const REFRESH_MILLIS = 15_000;
const PAGE_SIZE = 50;
const STATUSES = [
  ['open', 'open (firing or acknowledged)'],
  ['firing', 'firing'],
  ['acknowledged', 'acknowledged'],
  ['resolved', 'resolved'],
  ['all', 'all'],
] as const;
const SEVERITIES = ['', 'critical', 'high', 'medium', 'low', 'info'];

function labelsCell(alert: AlertJson): HTMLElement {
  const cell = h('td', { class: 'labels' });
  for (const key of ENTITY_LABELS) {
    const value = alert.labels[key];
    if (value !== undefined) cell.append(h('div', {}, `${key}: `, valueText(value, 48)));
  }
  return cell;
}

function alertRow(alert: AlertJson): HTMLElement {
  return h(
    'tr',
    { class: `alert ${alert.status}`, attrs: { 'data-id': alert.id } },
    h('td', {}, h('span', { class: `severity ${alert.severity}` }, alert.severity)),
    h('td', {}, routeLink(['alerts', alert.id], {}, valueText(alert.rule.title, 80))),
    h('td', {}, valueText(alert.summary, 120)),
    labelsCell(alert),
    h('td', { class: 'time', title: alert.startsAt }, localTime(alert.startsAt)),
    h('td', { class: 'time', title: alert.lastSeenAt }, localTime(alert.lastSeenAt)),
    h('td', { class: 'number' }, String(alert.eventCount)),
    h('td', {}, alert.status),
  );
}

export async function renderAlerts(ctx: ViewContext): Promise<void> {
  const status = ctx.params.get('status') ?? 'open';
  const severity = ctx.params.get('severity') ?? '';
  const rule = ctx.params.get('rule') ?? '';

  const statusSelect = select('status', STATUSES, status);
  const severitySelect = select(
    'severity',
    SEVERITIES.map((s) => [s, s || 'any'] as const),
    severity,
  );
  const ruleInput = h('input', {
    id: 'filter-rule',
    attrs: { type: 'text', name: 'rule', placeholder: 'rule id', spellcheck: 'false' },
  });
  ruleInput.value = rule;
  const form = h(
    'form',
    { class: 'filters' },
    h('label', {}, 'Status ', statusSelect),
    h('label', {}, 'Severity ', severitySelect),
    h('label', {}, 'Rule ', ruleInput),
    h('button', { attrs: { type: 'submit' } }, 'Filter'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = routeHref(['alerts'], {
      status: statusSelect.value === 'open' ? undefined : statusSelect.value,
      severity: severitySelect.value || undefined,
      rule: ruleInput.value.trim() || undefined,
    });
  });

  const list = table('alerts', ['Severity', 'Rule', 'Summary', 'Labels', 'Started', 'Last seen', 'Events', 'Status']);
  const body = list.tBodies[0]!;
  const info = h('p', { class: 'muted' });
  const more = button('More alerts', () => void load(false));
  more.hidden = true;
  const refresh = button('Refresh', () => void load(true));
  replace(ctx.main, h('h1', {}, 'Alerts'), h('div', { class: 'toolbar' }, form, refresh), info, list, more);

  let cursor: string | undefined;
  let pages = 0;
  let shown = 0;
  let loading = false;
  async function load(first: boolean): Promise<void> {
    if (loading) return;
    loading = true;
    try {
      const page = await api.get<{ alerts: AlertJson[]; nextCursor?: string }>(
        withQuery('/api/v1/alerts', {
          status: status === 'all' ? undefined : status,
          severity: severity || undefined,
          rule: rule || undefined,
          limit: String(PAGE_SIZE),
          cursor: first ? undefined : cursor,
        }),
      );
      if (!ctx.current()) return;
      if (first) {
        body.replaceChildren();
        pages = 0;
        shown = 0;
      }
      for (const alert of page.alerts) body.append(alertRow(alert));
      pages++;
      shown += page.alerts.length;
      cursor = page.nextCursor;
      more.hidden = cursor === undefined;
      info.textContent = `${shown === 0 ? 'No alerts match.' : `${count(shown, 'alert')}, newest first.`} Updated ${localTime(new Date().toISOString())}.`;
    } catch (error) {
      ctx.fail(error);
    } finally {
      loading = false;
    }
  }
  // Refreshing replaces the list with its first page: not while someone reads further pages.
  const timer = setInterval(() => {
    if (document.visibilityState === 'visible' && pages <= 1) void load(true);
  }, REFRESH_MILLIS);
  ctx.onLeave(() => clearInterval(timer));
  await load(true);
}
