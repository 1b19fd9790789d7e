/**
 * Silences: the active ones unless the filter says otherwise, each ended in two steps; and, for the alert page, the
 * form that silences what an alert matched (its rule and labels, each removable) for a chosen time. The server records
 * the signed-in name as a silence's author and as whoever ends it.
 */
import { type AlertJson, actionFailed, api, type SilenceJson } from './api.js';
import { button, confirmStep, h, replace, routeHref, routeLink, select, table, valueText } from './dom.js';
import { count, localTime } from './format.js';
import type { ViewContext } from './view.js';

const STATES = [
  ['active', 'active'],
  ['pending', 'pending (not started)'],
  ['expired', 'expired'],
  ['all', 'all'],
] as const;
const COLUMNS = ['Matchers', 'Comment', 'Author', 'Starts', 'Ends', 'State', 'Ended by', ''];

const HOUR_MILLIS = 3_600_000;
const DURATIONS = [
  [String(HOUR_MILLIS / 4), '15 minutes'],
  [String(HOUR_MILLIS), '1 hour'],
  [String(4 * HOUR_MILLIS), '4 hours'],
  [String(24 * HOUR_MILLIS), '1 day'],
  [String(7 * 24 * HOUR_MILLIS), '1 week'],
] as const;
const DEFAULT_DURATION = String(HOUR_MILLIS);

/** Labels left out of a silence made from an alert: the severity would stop it matching a later, graver alert. */
const NOT_MATCHED = new Set(['rule', 'severity']);

function matchersList(matchers: readonly string[]): HTMLElement {
  return h('ul', { class: 'plain matchers' }, ...matchers.map((m) => h('li', {}, valueText(m, 120))));
}

function silenceRow(s: SilenceJson, ctx: ViewContext, changed: () => void): HTMLElement {
  const end =
    s.state === 'expired'
      ? undefined
      : confirmStep({
          label: 'End',
          confirmLabel: 'Confirm end',
          act: async () => {
            try {
              await api.delete(`/api/v1/silences/${encodeURIComponent(s.id)}`, {});
            } catch (error) {
              ctx.fail(actionFailed('Ending the silence', error));
              throw error;
            }
            changed();
          },
        });
  return h(
    'tr',
    { class: `silence ${s.state}`, attrs: { 'data-id': s.id } },
    h('td', {}, matchersList(s.matchers)),
    h('td', { class: 'comment' }, valueText(s.comment, 400)),
    h('td', { class: 'actor' }, valueText(s.createdBy, 128)),
    h('td', { class: 'time', title: s.startsAt }, localTime(s.startsAt)),
    h('td', { class: 'time', title: s.endsAt }, localTime(s.endsAt)),
    h('td', { class: 'status' }, s.state),
    h('td', { class: 'actor' }, valueText(s.expiredBy ?? '', 128)),
    h('td', {}, end),
  );
}

export async function renderSilences(ctx: ViewContext): Promise<void> {
  const state = STATES.some(([v]) => v === ctx.params.get('state')) ? ctx.params.get('state')! : 'active';
  const stateSelect = select('state', STATES, state);
  const form = h('form', { class: 'filters' }, h('label', {}, 'State ', stateSelect));
  stateSelect.addEventListener('change', () => {
    location.hash = routeHref(['silences'], { state: stateSelect.value === 'active' ? undefined : stateSelect.value });
  });
  form.addEventListener('submit', (e) => e.preventDefault());
  const list = table('silences', COLUMNS);
  const info = h('p', { class: 'muted' });
  replace(
    ctx.main,
    h('h1', {}, 'Silences'),
    h(
      'div',
      { class: 'toolbar' },
      form,
      button('Refresh', () => void load()),
    ),
    h(
      'p',
      { class: 'muted' },
      'While a silence is active, the alerts it matches are still raised and listed, but nobody is notified of them. ' +
        'A silence is made from an alert, on its page.',
    ),
    info,
    list,
  );
  async function load(): Promise<void> {
    try {
      const { silences } = await api.get<{ silences: SilenceJson[] }>(
        `/api/v1/silences${state === 'all' ? '' : `?state=${state}`}`,
      );
      if (!ctx.current()) return;
      list.tBodies[0]!.replaceChildren(...silences.map((s) => silenceRow(s, ctx, () => void load())));
      info.textContent =
        silences.length === 0
          ? `No ${state === 'all' ? '' : `${state} `}silences.`
          : `${count(silences.length, 'silence')}, latest start first.`;
    } catch (error) {
      ctx.fail(error);
    }
  }
  await load();
}

/** A matcher on a label's exact value, in the API's syntax: `client.address="203.0.113.9"`. */
const equal = (name: string, value: string) => `${name}=${JSON.stringify(value)}`;

/**
 * The alert page's **Silence** button: a form pre-filled with the alert's rule and labels as equal matchers (each can
 * be removed), a duration and a comment; it creates the silence and says until when it holds.
 */
export function silenceButton(ctx: ViewContext, alert: AlertJson): HTMLElement {
  const box = h('div', { class: 'silence-form' });
  const closed = () => replace(box, button('Silence', open));
  function open(): void {
    const matchers = [
      equal('rule', alert.rule.id),
      ...Object.keys(alert.labels)
        .filter((k) => !NOT_MATCHED.has(k))
        .sort()
        .map((k) => equal(k, alert.labels[k]!)),
    ];
    const items = h('ul', { class: 'plain matchers', id: 'silence-matchers' });
    for (const matcher of matchers) {
      const item = h('li', { attrs: { 'data-matcher': matcher } }, valueText(matcher, 160), ' ');
      item.append(
        button(
          'remove',
          () => {
            item.remove();
            create.disabled = items.childElementCount === 0;
          },
          'link',
        ),
      );
      items.append(item);
    }
    const duration = select('duration', DURATIONS, DEFAULT_DURATION, 'silence-duration');
    const comment = h('textarea', {
      id: 'silence-comment',
      attrs: { name: 'comment', rows: '2', maxlength: '2000', required: '' },
    });
    const create = h('button', { attrs: { type: 'submit' } }, 'Create silence');
    const form = h(
      'form',
      { class: 'actions' },
      h('h3', {}, 'Silence alerts matching all of'),
      items,
      h('label', {}, 'For ', duration),
      h('label', { attrs: { for: 'silence-comment' } }, `Why (required; the silence is recorded as ${ctx.actor}'s)`),
      comment,
      h('div', {}, create, button('Cancel', closed)),
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      create.disabled = true;
      const chosen = Array.from(items.children, (li) => li.getAttribute('data-matcher') ?? '');
      api
        .post<SilenceJson>('/api/v1/silences', {
          matchers: chosen,
          durationMillis: Number(duration.value),
          comment: comment.value.trim(),
        })
        .then((silence) => {
          if (!ctx.current()) return;
          replace(
            box,
            h(
              'p',
              { class: 'done', id: 'silence-created' },
              `Silenced until ${localTime(silence.endsAt)} by ${silence.createdBy}. `,
              routeLink(['silences'], {}, 'Silences'),
            ),
          );
        })
        .catch((error: unknown) => {
          create.disabled = false;
          ctx.fail(actionFailed('Creating the silence', error));
        });
    });
    replace(box, form);
    comment.focus();
  }
  closed();
  return box;
}
