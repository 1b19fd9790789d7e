/**
 * One alert: all it says, the decisions it caused, its evidence events (the first EVIDENCE_SHOWN, fetched by id), its
 * history, and the actions (acknowledge, resolve, mark a false positive, silence), which record the signed-in actor.
 */
import { type AlertAction, type AlertJson, ApiError, actionFailed, api, type EventJson } from './api.js';
import {
  deviatesFrom,
  type EndpointRef,
  endpointHref,
  endpointLink,
  endpointOfLabels,
  principalLink,
} from './baseline-links.js';
import { alertDecisions } from './decisions-view.js';
import { button, factsTable, h, replace, routeLink, table, valueText } from './dom.js';
import { eventsTable } from './events-table.js';
import { ENTITY_LABELS, FIELD, localTime, PRINCIPAL_FIELDS, shifted } from './format.js';
import { silenceButton } from './silences-view.js';
import type { ViewContext } from './view.js';

/** Evidence events fetched for the page; an alert keeps up to 100 ids (`alerting.maxEvidence`). */
const EVIDENCE_SHOWN = 20;
/** Evidence requests in flight at once. */
const EVIDENCE_PARALLEL = 4;
/** How far around the alert's first and last evidence a timeline link looks. */
const TIMELINE_MARGIN_MILLIS = 3_600_000;

function timelineLink(alert: AlertJson, field: string, value: string): HTMLAnchorElement {
  const link = routeLink(
    ['events'],
    {
      [field]: value,
      from: shifted(alert.startsAt, -TIMELINE_MARGIN_MILLIS),
      to: shifted(alert.lastSeenAt, TIMELINE_MARGIN_MILLIS),
    },
    'timeline',
  );
  link.className = 'timeline';
  link.title = `events of ${field} from an hour before this alert to an hour after`;
  return link;
}

/**
 * Beside a label naming an endpoint or a principal, a link to what normal looks like for it: the endpoint's baseline
 * (its method from the labels, or from the evidence once loaded) or the principal's profile.
 */
function normalLink(key: string, value: string, endpoint: EndpointRef | undefined): (Node | string)[] {
  let link: HTMLAnchorElement | undefined;
  if (key === FIELD.route && endpoint) link = endpointLink(endpoint, 'baseline');
  else if (PRINCIPAL_FIELDS.includes(key)) link = principalLink(key, value, 'profile');
  if (!link) return [];
  link.classList.add('normal', key === FIELD.route ? 'endpoint-link' : 'principal-link');
  return [' ', link];
}

function facts(alert: AlertJson): HTMLElement {
  const endpoint = endpointOfLabels(alert.labels);
  const baseline = deviatesFrom(alert);
  if (baseline) baseline.id = 'alert-baseline';
  const rows: [string, Node | string][] = [
    ['Rule', h('span', {}, valueText(alert.rule.title), ' (', valueText(alert.rule.id), ')')],
    ['Severity', h('span', { class: `severity ${alert.severity}` }, alert.severity)],
    ['Status', h('span', { id: 'alert-status' }, alert.status)],
    ['Summary', valueText(alert.summary, 400)],
    ...(baseline ? [['Deviates from', baseline] as [string, Node]] : []),
    ['Started (first evidence)', localTime(alert.startsAt)],
    ['Last seen', localTime(alert.lastSeenAt)],
  ];
  if (alert.endsAt) rows.push(['Ended', localTime(alert.endsAt)]);
  rows.push(
    ['Events', String(alert.eventCount)],
    ['Opened', localTime(alert.createdAt)],
    ['Updated', localTime(alert.updatedAt)],
  );
  if (alert.lastNotifiedAt) rows.push(['Last notified', localTime(alert.lastNotifiedAt)]);
  const labels = h('ul', { class: 'plain' });
  for (const key of Object.keys(alert.labels).sort()) {
    const value = alert.labels[key]!;
    labels.append(
      h(
        'li',
        {},
        valueText(key, 80),
        ' = ',
        valueText(value),
        ENTITY_LABELS.includes(key) ? ' ' : '',
        ENTITY_LABELS.includes(key) ? timelineLink(alert, key, value) : undefined,
        ...normalLink(key, value, endpoint),
      ),
    );
  }
  rows.push(['Labels', labels], ['Tags', valueText(alert.tags.join(', '), 400)], ['Fingerprint', alert.fingerprint]);
  rows.push(['Id', alert.id]);
  return factsTable(rows);
}

function historyTable(actions: readonly AlertAction[]): HTMLElement {
  if (actions.length === 0) return h('p', { class: 'muted' }, 'Nobody has acted on this alert yet.');
  return table(
    'history',
    ['When', 'Action', 'Who', 'Token', 'Comment'],
    ...actions.map((a) =>
      h(
        'tr',
        {},
        h('td', { class: 'time', title: a.at }, localTime(a.at)),
        h('td', {}, valueText(a.action, 40)),
        h('td', { class: 'actor' }, valueText(a.actor, 128)),
        h('td', {}, valueText(a.tokenId, 16)),
        h('td', {}, valueText(a.comment ?? '', 400)),
      ),
    ),
  );
}

/** Fetch events by id, a few at a time; an id no longer stored (retention) comes back as undefined. */
async function fetchEvents(ids: readonly string[]): Promise<(EventJson | undefined)[]> {
  const out: (EventJson | undefined)[] = new Array(ids.length);
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const i = next++;
      try {
        out[i] = await api.get<EventJson>(`/api/v1/events/${encodeURIComponent(ids[i]!)}`);
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 404)) throw error;
        out[i] = undefined;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(EVIDENCE_PARALLEL, ids.length) }, worker));
  return out;
}

/** A route label without a method: its endpoint link takes the method of an evidence event on that route. */
function methodFromEvidence(alert: AlertJson, events: readonly (EventJson | undefined)[]): void {
  const endpoint = endpointOfLabels(alert.labels);
  if (!endpoint || endpoint.method) return;
  const method = events.find((e) => e?.[FIELD.route] === endpoint.route && typeof e[FIELD.method] === 'string')?.[
    FIELD.method
  ] as string | undefined;
  if (!method) return;
  const href = endpointHref({ ...endpoint, method });
  document.querySelectorAll<HTMLAnchorElement>('a.endpoint-link').forEach((a) => {
    a.href = href;
  });
  const baseline = document.getElementById('alert-baseline') as HTMLAnchorElement | null;
  if (baseline?.getAttribute('href')?.startsWith('#/endpoint')) baseline.href = href;
}

function actionsPanel(alert: AlertJson, ctx: ViewContext, done: () => void): HTMLElement {
  const comment = h('textarea', { id: 'comment', attrs: { name: 'comment', rows: '2', maxlength: '2000' } });
  const act = (path: string, what: string) => async () => {
    for (const b of buttons) b.disabled = true;
    try {
      await api.post(`/api/v1/alerts/${encodeURIComponent(alert.id)}/${path}`, {
        ...(comment.value.trim() ? { comment: comment.value.trim() } : {}),
      });
      done();
    } catch (error) {
      for (const b of buttons) b.disabled = false;
      ctx.fail(actionFailed(what, error));
    }
  };
  const buttons: HTMLButtonElement[] = [];
  if (alert.status === 'firing') buttons.push(button('Acknowledge', act('acknowledge', 'Acknowledging')));
  if (alert.status !== 'resolved') {
    buttons.push(button('Resolve', act('resolve', 'Resolving')));
    const fp = button('Mark false positive', act('false-positive', 'Marking a false positive'));
    fp.title = 'resolves the alert and keeps the same finding about the same entity quiet for 7 days';
    buttons.push(fp);
  }
  if (buttons.length === 0) return h('p', { class: 'muted' }, 'This alert is resolved: nothing more to do on it.');
  return h(
    'div',
    { class: 'actions' },
    h('label', { attrs: { for: 'comment' } }, `Comment (recorded with your name, ${ctx.actor})`),
    comment,
    h('div', {}, ...buttons),
  );
}

export async function renderAlert(ctx: ViewContext, id: string): Promise<void> {
  let alert: AlertJson;
  let actions: readonly AlertAction[];
  try {
    const history = await api.get<{ alert: AlertJson; actions: AlertAction[] }>(
      `/api/v1/alerts/${encodeURIComponent(id)}/history`,
    );
    alert = history.alert;
    actions = history.actions;
  } catch (error) {
    if (ctx.current()) replace(ctx.main, h('p', {}, routeLink(['alerts'], {}, '← Alerts')));
    ctx.fail(error);
    return;
  }
  if (!ctx.current()) return;
  const ids = alert.evidence.slice(0, EVIDENCE_SHOWN);
  const evidenceInfo = h('p', { class: 'muted' }, 'Loading evidence…');
  const evidence = eventsTable((field, value) => ({
    [field]: value,
    from: shifted(alert.startsAt, -TIMELINE_MARGIN_MILLIS),
    to: shifted(alert.lastSeenAt, TIMELINE_MARGIN_MILLIS),
  }));
  replace(
    ctx.main,
    h('p', {}, routeLink(['alerts'], {}, '← Alerts')),
    h('h1', {}, valueText(alert.rule.title, 120)),
    facts(alert),
    h('h2', {}, 'Act'),
    actionsPanel(alert, ctx, () => void renderAlert(ctx, id)),
    silenceButton(ctx, alert),
    h('h2', {}, 'Decisions'),
    alertDecisions(ctx, alert),
    h('h2', {}, 'Evidence'),
    evidenceInfo,
    evidence.element,
    h('h2', {}, 'History'),
    historyTable(actions),
  );
  try {
    const events = await fetchEvents(ids);
    if (!ctx.current()) return;
    evidence.append(events.filter((e): e is EventJson => e !== undefined));
    methodFromEvidence(alert, events);
    const gone = events.filter((e) => e === undefined).length;
    const parts = [
      `${ids.length - gone} evidence event${ids.length - gone === 1 ? '' : 's'} shown`,
      alert.evidence.length > ids.length ? `of the ${alert.evidence.length} the alert keeps` : '',
      gone > 0 ? `(${gone} no longer stored)` : '',
      alert.eventCount > alert.evidence.length ? `; the alert counted ${alert.eventCount} events in all` : '',
    ];
    evidenceInfo.textContent = `${parts.filter(Boolean).join(' ')}.`;
  } catch (error) {
    evidenceInfo.textContent = 'The evidence could not be loaded.';
    ctx.fail(error);
  }
}
