/**
 * A table of events: time, type, client, user, method and route (or path), status. A click on a row shows every field
 * of its event below it; the client address and user id link to the events of that client or user, and a user id to
 * their profile.
 */
import type { EventJson } from './api.js';
import { principalLink } from './baseline-links.js';
import { h, routeLink, table, valueText } from './dom.js';
import { FIELD, localTime } from './format.js';

/** The filter a client or user link adds its value to (the events view keeps its time range). */
export type EntityFilter = (field: string, value: string) => Readonly<Record<string, string | undefined>>;

const COLUMNS = ['Time', 'Type', 'Client', 'User', 'Request', 'Status'];

const text = (value: unknown): string | undefined =>
  typeof value === 'string'
    ? value
    : typeof value === 'number' || typeof value === 'boolean'
      ? String(value)
      : undefined;

function entityCell(event: EventJson, field: string, filter: EntityFilter): HTMLElement {
  const value = text(event[field]);
  if (value === undefined) return h('td');
  const link = routeLink(['events'], filter(field, value), valueText(value, 48));
  link.title = `events of ${field} ${value}`;
  link.addEventListener('click', (e) => e.stopPropagation());
  if (field !== FIELD.userId) return h('td', {}, link);
  const profile = principalLink(field, value, 'profile');
  profile.className = 'profile';
  profile.addEventListener('click', (e) => e.stopPropagation());
  return h('td', {}, link, ' ', profile);
}

function requestText(event: EventJson): string {
  const method = text(event[FIELD.method]);
  const where = text(event[FIELD.route]) ?? text(event[FIELD.path]);
  return [method, where].filter(Boolean).join(' ');
}

/** Every field of an event, one per line, in a table under its row. */
function fieldsTable(event: EventJson): HTMLElement {
  const rows = Object.keys(event)
    .sort()
    .map((key) => h('tr', {}, h('th', {}, valueText(key, 80)), h('td', {}, valueText(event[key], 400))));
  return h('table', { class: 'fields' }, h('tbody', {}, ...rows));
}

export interface EventsTable {
  readonly element: HTMLTableElement;
  append(events: readonly EventJson[]): void;
}

export function eventsTable(filter: EntityFilter): EventsTable {
  const element = table('events', COLUMNS);
  const body = element.tBodies[0]!;
  return {
    element,
    append(events) {
      for (const event of events) {
        const row = h(
          'tr',
          { class: 'event', title: 'show every field' },
          h('td', { class: 'time', title: String(event.time) }, localTime(event.time)),
          h('td', {}, valueText(event[FIELD.type], 48)),
          entityCell(event, FIELD.clientAddress, filter),
          entityCell(event, FIELD.userId, filter),
          h('td', {}, valueText(requestText(event), 80)),
          h('td', {}, valueText(text(event[FIELD.status]) ?? '', 8)),
        );
        let details: HTMLElement | undefined;
        row.addEventListener('click', (e) => {
          // A click on a "show all" button or a link acts on that; selecting text is not a click on the row either.
          if ((e.target as Element).closest('a, button') || window.getSelection()?.toString()) return;
          if (details) {
            details.remove();
            details = undefined;
            row.classList.remove('open');
            return;
          }
          details = h(
            'tr',
            { class: 'details' },
            h('td', { attrs: { colspan: String(COLUMNS.length) } }, fieldsTable(event)),
          );
          row.after(details);
          row.classList.add('open');
        });
        body.append(row);
      }
    },
  };
}
