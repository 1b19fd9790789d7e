/**
 * The API inventory: every endpoint the baselines have seen, with its status against the imported OpenAPI document.
 * Shadow endpoints (called, not documented) and zombie ones (called, documented as deprecated) are the findings of
 * OWASP API9 (improper inventory management) and stand out. The filter and the order are in the URL
 * (`#/inventory?status=shadow&sort=lastSeen`).
 */
import { api, type InventoryItemJson } from './api.js';
import { endpointLink, operationText } from './baseline-links.js';
import { h, replace, routeHref, routeLink, select, table, valueText } from './dom.js';
import { amount, count, FIELD, localTime, percent } from './format.js';
import { showUnavailable, type ViewContext } from './view.js';

const STATUSES = [
  ['', 'all'],
  ['findings', 'shadow or zombie'],
  ['shadow', 'shadow: called, not documented'],
  ['zombie', 'zombie: called, documented as deprecated'],
  ['unused', 'unused: documented, never called'],
  ['documented', 'documented'],
  ['new', 'new: first seen within a day'],
] as const;
const SORTS = [
  ['requests', 'most requests'],
  ['lastSeen', 'last seen'],
] as const;
const COLUMNS = ['Status', 'Method', 'Endpoint', 'Requests', 'First seen', 'Last seen', 'Recent', 'Signed in', ''];

/** What each status says, for the row's hover. */
const MEANING: Readonly<Record<InventoryItemJson['status'], string>> = {
  documented: 'called, and in the OpenAPI document',
  shadow: 'called, and not in the OpenAPI document (OWASP API9)',
  zombie: 'called, and documented as deprecated (OWASP API9)',
  unused: 'in the OpenAPI document, never called',
  'undocumented-spec-missing': 'no OpenAPI document imported: not compared',
};

function matches(item: InventoryItemJson, status: string): boolean {
  if (status === '') return true;
  if (status === 'new') return item.new;
  if (status === 'findings') return item.status === 'shadow' || item.status === 'zombie';
  return item.status === status;
}

function statusCell(item: InventoryItemJson): HTMLElement {
  const label = item.status === 'undocumented-spec-missing' ? 'not compared' : item.status;
  return h(
    'td',
    { title: MEANING[item.status] },
    h('span', { class: `inventory-status ${item.status}` }, label),
    item.new ? h('span', { class: 'badge new' }, 'new') : undefined,
  );
}

function endpointCell(item: InventoryItemJson): HTMLElement {
  const operation = item.operation ? operationText(item.operation) : undefined;
  const text = valueText(`${item.route}${operation ? ` (${operation})` : ''}`, 120);
  return h(
    'td',
    { class: 'endpoint' },
    // An unused endpoint was never called: nothing learned to show.
    item.requests > 0 ? endpointLink({ route: item.route, method: item.method, operation }, text) : text,
    item.documentedAs && item.documentedAs !== item.route
      ? h('div', { class: 'muted' }, 'documented as ', valueText(item.documentedAs, 120))
      : undefined,
  );
}

function recentText(item: InventoryItemJson): string {
  if (!item.recent) return '';
  const r = item.recent;
  return `${amount(r.requests)} (${amount(r.errors4xx)} 4xx, ${amount(r.errors5xx)} 5xx)`;
}

function inventoryRow(item: InventoryItemJson): HTMLElement {
  return h(
    'tr',
    { class: `inventory ${item.status}`, attrs: { 'data-route': item.route, 'data-method': item.method } },
    statusCell(item),
    h('td', {}, valueText(item.method, 16)),
    endpointCell(item),
    h('td', { class: 'number requests' }, amount(item.requests)),
    h('td', { class: 'time', title: item.firstSeen ?? '' }, localTime(item.firstSeen)),
    h('td', { class: 'time', title: item.lastSeen ?? '' }, localTime(item.lastSeen)),
    h(
      'td',
      { class: 'number', title: 'requests in the recent one-minute buckets, and their errors' },
      recentText(item),
    ),
    h('td', { class: 'number' }, item.authenticatedShare === undefined ? '' : percent(item.authenticatedShare)),
    h('td', {}, item.requests > 0 ? routeLink(['events'], { [FIELD.route]: item.route }, 'events') : undefined),
  );
}

export async function renderInventory(ctx: ViewContext): Promise<void> {
  const status = ctx.params.get('status') ?? '';
  const sort = ctx.params.get('sort') === 'lastSeen' ? 'lastSeen' : 'requests';
  const heading = h('h1', {}, 'API inventory');
  let inventory: { openapi: boolean; endpoints: InventoryItemJson[] };
  try {
    inventory = await api.get('/api/v1/inventory');
  } catch (error) {
    showUnavailable(ctx, heading, error);
    return;
  }
  if (!ctx.current()) return;

  const statusSelect = select('status', STATUSES, status);
  const sortSelect = select('sort', SORTS, sort);
  const go = () => {
    location.hash = routeHref(['inventory'], {
      status: statusSelect.value || undefined,
      sort: sortSelect.value === 'requests' ? undefined : sortSelect.value,
    });
  };
  statusSelect.addEventListener('change', go);
  sortSelect.addEventListener('change', go);
  const form = h(
    'form',
    { class: 'filters' },
    h('label', {}, 'Status ', statusSelect),
    h('label', {}, 'Sort by ', sortSelect),
  );
  form.addEventListener('submit', (e) => e.preventDefault());

  const all = inventory.endpoints;
  const shown = all
    .filter((item) => matches(item, status))
    .sort((a, b) =>
      sort === 'lastSeen' ? (b.lastSeen ?? '').localeCompare(a.lastSeen ?? '') : b.requests - a.requests,
    );
  const tally = (s: InventoryItemJson['status']) => all.filter((item) => item.status === s).length;
  const summary = inventory.openapi
    ? `${count(all.length, 'endpoint')}: ${tally('shadow')} shadow, ${tally('zombie')} zombie, ${tally('unused')} unused, ${tally('documented')} documented; ${all.filter((i) => i.new).length} new.`
    : `${count(all.length, 'endpoint')} seen. No OpenAPI document is imported (enrich.openapi), so none is compared with one: shadow and zombie endpoints cannot be told.`;
  replace(
    ctx.main,
    heading,
    h(
      'p',
      { class: 'muted' },
      'Every endpoint the baselines have seen, against the OpenAPI document. Shadow (called, not documented) and ' +
        'zombie (called, documented as deprecated) endpoints are attack surface nobody reviews (OWASP API9).',
    ),
    form,
    h('p', { id: 'inventory-summary' }, summary),
    shown.length === 0
      ? h('p', { class: 'muted' }, 'No endpoint matches.')
      : table('inventory', COLUMNS, ...shown.map(inventoryRow)),
  );
}
