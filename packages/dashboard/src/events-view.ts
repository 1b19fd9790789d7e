/**
 * Events: search and timeline. The filter lives in the URL (`#/events?client.address=…&from=…`), so a link to what
 * one sees can be pasted into the incident channel. Newest first; "Older events" pages on.
 */
import { api, type EventJson, withQuery } from './api.js';
import { button, h, replace, routeHref } from './dom.js';
import { eventsTable } from './events-table.js';
import { count, FIELD, fromLocalInput, toLocalInput } from './format.js';
import type { ViewContext } from './view.js';

/** The filters the events API takes, in the order the form shows them. */
const TEXT_FILTERS = [FIELD.type, FIELD.clientAddress, FIELD.userId, FIELD.route] as const;
const PAGE_SIZE = 50;

export async function renderEvents(ctx: ViewContext): Promise<void> {
  const filter: Record<string, string | undefined> = {};
  for (const key of ['from', 'to', ...TEXT_FILTERS]) filter[key] = ctx.params.get(key) ?? undefined;

  const from = h('input', { id: 'from', attrs: { type: 'datetime-local', name: 'from', step: '1' } });
  const to = h('input', { id: 'to', attrs: { type: 'datetime-local', name: 'to', step: '1' } });
  from.value = toLocalInput(filter.from);
  to.value = toLocalInput(filter.to);
  const inputs = TEXT_FILTERS.map((key) => {
    const input = h('input', { id: `filter-${key}`, attrs: { type: 'text', name: key, spellcheck: 'false' } });
    input.value = filter[key] ?? '';
    return { key, input };
  });
  const form = h(
    'form',
    { class: 'filters' },
    h('label', {}, 'From ', from),
    h('label', {}, 'To ', to),
    ...inputs.map(({ key, input }) => h('label', {}, `${key} `, input)),
    h('button', { attrs: { type: 'submit' } }, 'Search'),
    button('Clear', () => {
      location.hash = '#/events';
    }),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next: Record<string, string | undefined> = {
      from: fromLocalInput(from.value),
      to: fromLocalInput(to.value),
    };
    for (const { key, input } of inputs) next[key] = input.value.trim() || undefined;
    location.hash = routeHref(['events'], next);
  });

  const table = eventsTable((field, value) => ({ ...filter, [field]: value }));
  const status = h('p', { class: 'muted' });
  const older = button('Older events', () => void load());
  older.hidden = true;
  replace(ctx.main, h('h1', {}, 'Events'), form, status, table.element, older);

  let cursor: string | undefined;
  let shown = 0;
  async function load(): Promise<void> {
    older.disabled = true;
    try {
      const page = await api.get<{ events: EventJson[]; nextCursor?: string }>(
        withQuery('/api/v1/events', { ...filter, limit: String(PAGE_SIZE), cursor }),
      );
      if (!ctx.current()) return;
      table.append(page.events);
      shown += page.events.length;
      cursor = page.nextCursor;
      older.hidden = cursor === undefined;
      status.textContent =
        shown === 0 ? 'No events match.' : `${count(shown, 'event')}, newest first${cursor ? '' : ' (all shown)'}.`;
    } catch (error) {
      ctx.fail(error);
    } finally {
      older.disabled = false;
    }
  }
  await load();
}
