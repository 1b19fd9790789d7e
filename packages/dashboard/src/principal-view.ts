/**
 * What the behaviour detectors keep of a principal (`#/principal?user.id=…`, or `vigil.api_key.id=` /
 * `client.address=`), in words: the usual maximum of each metric in a ten-minute window beside the peer group's, the
 * endpoints and object types used, where from, with what, and when, as `GET /api/v1/baselines/principal` gives them.
 */
import { api, type ProfileJson, withQuery } from './api.js';
import { endpointLink, endpointOfKey } from './baseline-links.js';
import { factsTable, h, replace, routeLink, table, valueText } from './dom.js';
import { amount, count, duration, FIELD, localTime, PRINCIPAL_FIELDS } from './format.js';
import { showUnavailable, type ViewContext } from './view.js';

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
/** Fields the events view filters by: a principal known by one of them has a link to their events. */
const EVENT_FILTERS: readonly string[] = [FIELD.userId, FIELD.clientAddress];

/** `09:00–11:59, 14:00–14:59`: active hours as runs. */
function hourRuns(hours: readonly number[]): string {
  const runs: string[] = [];
  const sorted = [...hours].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    const pad = (n: number) => String(n).padStart(2, '0');
    runs.push(`${pad(sorted[i]!)}:00–${pad(sorted[j]!)}:59`);
    i = j + 1;
  }
  return runs.join(', ');
}

const list = (values: readonly string[], none: string) =>
  values.length === 0 ? h('span', { class: 'muted' }, none) : valueText(values.join(', '), 400);

function learnedText(p: ProfileJson): string {
  return p.learned
    ? `Learned: ${count(p.windowsLearned, 'window')} of their own since ${localTime(new Date(p.firstSeen).toISOString())}; ` +
        'the detectors compare them with their own usual and their peer group’s.'
    : `Still learning (${count(p.windowsLearned, 'window')} learned): until a principal is a day old with 4 ` +
        'learned windows, the detectors compare them with their peer group only, and a new country, network or ' +
        'device is not reported.';
}

/** A usual maximum beside the peer group's: `usual at most 20, peer group at most 35` in a window. */
function usualRow(label: string, usual: number, peer: number | null): readonly [string, string] {
  return [
    label,
    `${amount(usual)} (peer group: ${peer === null ? 'not enough windows yet' : `at most ${amount(peer)}`})`,
  ];
}

export async function renderPrincipal(ctx: ViewContext): Promise<void> {
  const field = PRINCIPAL_FIELDS.find((f) => ctx.params.get(f)) ?? FIELD.userId;
  const value = ctx.params.get(field) ?? '';
  const heading = h('h1', {}, `${field} `, valueText(value, 160));
  let p: ProfileJson;
  try {
    p = await api.get(withQuery('/api/v1/baselines/principal', { [field]: value }));
  } catch (error) {
    showUnavailable(ctx, heading, error);
    return;
  }
  if (!ctx.current()) return;
  const window = duration(p.windowMillis);
  const at = (millis: number) => localTime(new Date(millis).toISOString());
  const endpoints = p.usual.endpoints.length
    ? table(
        'profile-endpoints',
        ['Endpoint', `Usual at most in ${window}`, 'Peer group at most'],
        ...p.usual.endpoints.map((e) =>
          h(
            'tr',
            {},
            h('td', {}, endpointLink(endpointOfKey(e.endpoint), valueText(e.endpoint, 160))),
            h('td', { class: 'number' }, amount(e.maxPerWindow)),
            h('td', { class: 'number' }, amount(e.peerAtMost)),
          ),
        ),
      )
    : h('p', { class: 'muted' }, 'No endpoint used successfully yet.');
  const objects = p.usual.objects.length
    ? table(
        'profile-objects',
        ['Object type', `Distinct objects at most in ${window}`, 'Peer group at most'],
        ...p.usual.objects.map((o) =>
          h(
            'tr',
            {},
            h('td', {}, valueText(o.type, 160)),
            h('td', { class: 'number' }, amount(o.maxPerWindow)),
            h('td', { class: 'number' }, amount(o.peerAtMost)),
          ),
        ),
      )
    : h('p', { class: 'muted' }, 'No objects counted yet.');
  const current = p.currentWindow;
  replace(
    ctx.main,
    heading,
    h('p', { id: 'profile-learned' }, learnedText(p)),
    factsTable(
      [
        ['Known as', `${p.principal.kind} (${p.principal.field})`],
        ['Peer group', h('span', {}, valueText(p.peerGroup, 160), ` (${count(p.peerGroupMembers, 'member')})`)],
        ['First seen', at(p.firstSeen)],
        ['Last seen', at(p.lastSeen)],
        ['Requests seen', amount(p.events)],
        ['Countries', list(p.countries, 'none known')],
        [
          'Networks',
          list(
            p.asns.map((a) => `AS ${a}`),
            'none known',
          ),
        ],
        ['Devices', list(p.devices, 'none known')],
        ['Active hours', p.activeHours.length ? hourRuns(p.activeHours) : 'none yet'],
        ['Active days', p.activeWeekdays.map((d) => WEEKDAYS[d] ?? String(d)).join(', ') || 'none yet'],
        [
          'Events',
          EVENT_FILTERS.includes(field)
            ? routeLink(['events'], { [field]: value }, `events of this ${field}`)
            : h('span', { class: 'muted' }, 'the events view searches by user or client address'),
        ],
      ],
      'profile-facts',
    ),
    h('h2', {}, `Usual in ${window}`),
    h(
      'p',
      { class: 'muted' },
      `The largest value of a learned ${window} window, beside the peer group's 99.9th percentile. The detectors ` +
        'report a window above 3 times the larger of the two (and above their minimum count).',
    ),
    factsTable(
      [
        usualRow('Requests', p.usual.requests, p.peerAtMost.requests),
        usualRow('Bytes received', p.usual.bytes, p.peerAtMost.bytes),
        usualRow('Client errors (4xx)', p.usual.clientErrors, p.peerAtMost.clientErrors),
      ],
      'profile-usual',
    ),
    h('h3', {}, 'Endpoints used'),
    endpoints,
    h('h3', {}, 'Objects read'),
    objects,
    h('h2', {}, 'The window now open'),
    current
      ? h(
          'p',
          { id: 'profile-current' },
          `Since ${at(current.start)}: ${count(current.requests, 'request')}, ${amount(current.bytes)} bytes, ` +
            `${count(current.clientErrors, 'client error')}` +
            Object.entries(current.objects)
              .map(([type, n]) => `, ${amount(n)} distinct ${type}`)
              .join('') +
            '.',
        )
      : h('p', { class: 'muted' }, 'No window open.'),
  );
}
