/**
 * What an endpoint's learned baseline says (`#/endpoint?route=…&method=…[&operation=…]`): its recent one-minute
 * buckets against the limits the detectors use, and per metric the typical value, deviation and limit of each
 * seasonal slot, per minute and per ten minutes, as `GET /api/v1/baselines/endpoint` gives them (docs/baselines.md).
 */
import { api, type BucketJson, type EndpointBaselineJson, type SlotJson, withQuery } from './api.js';
import { type EndpointRef, endpointLink, endpointName, operationText } from './baseline-links.js';
import { disclosure, factsTable, h, replace, routeHref, routeLink, select, svg, table, valueText } from './dom.js';
import { amount, count, duration, FIELD, localTime, per, percent } from './format.js';
import { showUnavailable, type ViewContext } from './view.js';

/** The metrics the API gives, with their unit as shown (latency is given in seconds and shown in milliseconds). */
const METRICS = [
  ['requests', 'requests'],
  ['errors4xx', '4xx responses'],
  ['errors5xx', '5xx responses'],
  ['callers', 'distinct callers'],
  ['latency', 'mean latency (ms)'],
  ['bytes', 'mean response size (bytes)'],
] as const;
const SLOT_COLUMNS = ['Slot', 'Samples', 'Typical', 'Deviation', 'Limit'];
const BUCKET_COLUMNS = ['Minute', 'Requests', '4xx', '5xx', 'Callers', 'Latency (ms)', 'Size (bytes)'];
/** Samples a slot needs before it is compared with (the default `endpointMinSamples`). */
const SLOT_MIN_SAMPLES = 30;

const scale = (metric: string) => (metric === 'latency' ? 1000 : 1);
const hours = (hour: number) => `${String(hour).padStart(2, '0')}:00–${String(hour).padStart(2, '0')}:59`;

function slotName(slot: SlotJson): string {
  if (slot.hour === null) return 'any time';
  if (slot.weekend === null) return `${hours(slot.hour)}, any day`;
  return `${hours(slot.hour)} on ${slot.weekend ? 'weekends' : 'weekdays'}`;
}

/** Any time first, then by hour: the hour's own slot, its weekdays, its weekends. */
function slotOrder(a: SlotJson, b: SlotJson): number {
  const rank = (s: SlotJson) => (s.hour === null ? -1 : s.hour * 3 + (s.weekend === null ? 0 : s.weekend ? 2 : 1));
  return rank(a) - rank(b);
}

const anyTime = (slots: readonly SlotJson[] | undefined) => slots?.find((s) => s.hour === null);

function slotsTable(slots: readonly SlotJson[] | undefined, metric: string, id: string): HTMLElement {
  if (!slots || slots.length === 0) return h('p', { class: 'muted' }, 'Nothing learned yet.');
  const k = scale(metric);
  const list = table(
    'slots',
    SLOT_COLUMNS,
    ...[...slots]
      .sort(slotOrder)
      .map((s) =>
        h(
          'tr',
          { class: s.samples < SLOT_MIN_SAMPLES ? 'slot learning' : 'slot' },
          h('td', {}, slotName(s)),
          h('td', { class: 'number' }, amount(s.samples)),
          h('td', { class: 'number center' }, amount(s.center * k)),
          h('td', { class: 'number' }, amount(s.spread * k)),
          h('td', { class: 'number upper' }, amount(s.upper * k)),
        ),
      ),
  );
  list.id = id;
  return list;
}

/** In words: the endpoint's usual level at any time, and where the detectors start to look. */
function normalText(view: EndpointBaselineJson): string {
  const minute = anyTime(view.bucket.requests);
  const window = anyTime(view.window.requests);
  if (!minute || !window) return 'Not enough traffic learned yet to say what is usual.';
  return (
    `Typically ${amount(minute.center)} requests a ${per(view.bucketMillis)} and ${amount(window.center)} in ` +
    `${duration(view.windowMillis)}, at any time of day; the deviation limits are ${amount(minute.upper)} a ${per(view.bucketMillis)} ` +
    `and ${amount(window.upper)} in ${duration(view.windowMillis)}.`
  );
}

function recentText(view: EndpointBaselineJson): string {
  const b = view.recentBuckets;
  if (b.length === 0) return 'No recent buckets.';
  const sum = (f: (x: BucketJson) => number) => b.reduce((acc, x) => acc + f(x), 0);
  const requests = sum((x) => x.requests);
  const e4 = sum((x) => x.errors4xx);
  const e5 = sum((x) => x.errors5xx);
  const share = (n: number) => (requests > 0 ? ` (${percent(n / requests)})` : '');
  return (
    `In its latest ${count(b.length, 'one-minute bucket')}: ${count(requests, 'request')}, ` +
    `${amount(e4)} answered 4xx${share(e4)} and ${amount(e5)} answered 5xx${share(e5)}; ` +
    `at most ${count(Math.max(...b.map((x) => x.callers)), 'distinct caller')} in a minute.`
  );
}

/** Recent buckets' requests as bars (errors darker), with the any-time typical value and limit as lines. */
function chart(view: EndpointBaselineJson): SVGSVGElement | undefined {
  const buckets = view.recentBuckets;
  if (buckets.length === 0) return undefined;
  const slot = anyTime(view.bucket.requests);
  const width = 600;
  const height = 120;
  const top = Math.max(1, ...buckets.map((b) => b.requests), slot?.upper ?? 0) * 1.1;
  const first = buckets[0]!.start;
  const span = Math.max(1, (buckets.at(-1)!.start - first) / view.bucketMillis + 1);
  const barWidth = width / span;
  const y = (v: number) => height - (v / top) * height;
  const bars = buckets.map((b) => {
    const x = ((b.start - first) / view.bucketMillis) * barWidth;
    const errors = b.errors4xx + b.errors5xx;
    return svg(
      'g',
      {},
      undefined,
      svg(
        'title',
        {},
        undefined,
        `${localTime(new Date(b.start).toISOString())}: ${count(b.requests, 'request')}, ${errors} errors`,
      ),
      svg(
        'rect',
        { x, y: y(b.requests), width: Math.max(1, barWidth - 1), height: height - y(b.requests) },
        'chart-requests',
      ),
      errors > 0
        ? svg('rect', { x, y: y(errors), width: Math.max(1, barWidth - 1), height: height - y(errors) }, 'chart-errors')
        : undefined,
    );
  });
  const line = (value: number, className: string, label: string) =>
    svg(
      'g',
      {},
      undefined,
      svg('title', {}, undefined, label),
      svg('line', { x1: 0, x2: width, y1: y(value), y2: y(value) }, className),
    );
  return svg(
    'svg',
    {
      viewBox: `0 0 ${width} ${height}`,
      preserveAspectRatio: 'none',
      role: 'img',
      'aria-label': 'recent requests a minute',
    },
    'chart',
    ...bars,
    slot ? line(slot.center, 'chart-typical', `typical: ${amount(slot.center)} a minute`) : undefined,
    slot ? line(slot.upper, 'chart-limit', `limit: ${amount(slot.upper)} a minute`) : undefined,
  );
}

function bucketsTable(view: EndpointBaselineJson): HTMLElement {
  const limit = anyTime(view.bucket.requests)?.upper;
  return table(
    'buckets',
    BUCKET_COLUMNS,
    ...[...view.recentBuckets].reverse().map((b) => {
      const over = limit !== undefined && b.requests > limit;
      const at = new Date(b.start).toISOString();
      return h(
        'tr',
        { class: over ? 'bucket over' : 'bucket' },
        h('td', { class: 'time', title: at }, localTime(at)),
        h('td', { class: 'number', ...(over ? { title: 'above the any-time limit' } : {}) }, amount(b.requests)),
        h('td', { class: 'number' }, amount(b.errors4xx)),
        h('td', { class: 'number' }, amount(b.errors5xx)),
        h('td', { class: 'number' }, amount(b.callers)),
        h('td', { class: 'number' }, b.latencyMeanSeconds === null ? '' : amount(b.latencyMeanSeconds * 1000)),
        h('td', { class: 'number' }, b.bytesMean === null ? '' : amount(b.bytesMean)),
      );
    }),
  );
}

/** A route named without a method (an alert's label): the methods the baselines know for it, one link each. */
async function chooseMethod(ctx: ViewContext, route: string, heading: HTMLElement): Promise<void> {
  let known: { route: string; method: string; operation?: EndpointBaselineJson['operation']; requests: number }[];
  try {
    known = (await api.get<{ endpoints: typeof known }>('/api/v1/baselines/endpoints')).endpoints;
  } catch (error) {
    showUnavailable(ctx, heading, error);
    return;
  }
  if (!ctx.current()) return;
  const mine = known.filter((e) => e.route === route);
  replace(
    ctx.main,
    heading,
    mine.length === 0
      ? h('p', { class: 'notice', id: 'unavailable' }, 'The baselines have not seen this route yet.')
      : h(
          'ul',
          { class: 'plain' },
          ...mine.map((e) => {
            const ref = { route, method: e.method, operation: e.operation ? operationText(e.operation) : undefined };
            return h(
              'li',
              {},
              endpointLink(ref, valueText(endpointName(ref), 160)),
              ` (${count(e.requests, 'request')})`,
            );
          }),
        ),
  );
}

export async function renderEndpoint(ctx: ViewContext): Promise<void> {
  const route = ctx.params.get('route') ?? '';
  const method = ctx.params.get('method') ?? undefined;
  const operation = ctx.params.get('operation') ?? undefined;
  const ref: EndpointRef = { route, method, operation };
  const heading = h('h1', {}, valueText(endpointName(ref), 160));
  const back = h('p', {}, routeLink(['inventory'], {}, '← Inventory'));
  if (!method) {
    await chooseMethod(ctx, route, h('div', {}, back, heading));
    return;
  }
  let view: EndpointBaselineJson;
  try {
    view = await api.get(withQuery('/api/v1/baselines/endpoint', { route, method, operation }));
  } catch (error) {
    showUnavailable(ctx, h('div', {}, back, heading), error);
    return;
  }
  if (!ctx.current()) return;
  const metric = METRICS.some(([m]) => m === ctx.params.get('metric')) ? ctx.params.get('metric')! : 'requests';
  const metricSelect = select('metric', METRICS, metric);
  metricSelect.addEventListener('change', () => {
    location.hash = routeHref(['endpoint'], {
      route,
      method,
      operation,
      metric: metricSelect.value === 'requests' ? undefined : metricSelect.value,
    });
  });
  const metricForm = h('form', { class: 'filters' }, h('label', {}, 'Metric ', metricSelect));
  metricForm.addEventListener('submit', (e) => e.preventDefault());
  const at = (millis: number) => new Date(millis).toISOString();
  replace(
    ctx.main,
    back,
    heading,
    h('p', { id: 'endpoint-normal' }, normalText(view)),
    factsTable(
      [
        ['First seen', localTime(at(view.firstSeen))],
        ['Last seen', localTime(at(view.lastSeen))],
        ['Requests learned', h('span', { id: 'endpoint-requests' }, amount(view.requests))],
        ['Signed in', `${percent(view.authenticatedShare)} of requests carried a user or API key`],
        ['Bucket, window', `${duration(view.bucketMillis)}, ${duration(view.windowMillis)} (sliding)`],
        ['Events', routeLink(['events'], { [FIELD.route]: view.route }, 'events of this route')],
      ],
      'endpoint-facts',
    ),
    h('h2', {}, 'Recent traffic'),
    h('p', { id: 'endpoint-recent' }, recentText(view)),
    chart(view),
    h(
      'p',
      { class: 'muted' },
      'Bars: requests a minute, errors darker; lines: the typical value and the limit at any time. A minute above ' +
        'that limit is marked; the detectors compare each minute with the slot of its hour once that slot has ' +
        `${SLOT_MIN_SAMPLES} samples.`,
    ),
    disclosure(`The ${count(view.recentBuckets.length, 'bucket')} as a table`, bucketsTable(view)),
    h('h2', {}, 'What is normal, by time slot'),
    h(
      'p',
      { class: 'muted' },
      'Typical: the learned centre; deviation: the learned mean absolute deviation; limit: centre plus 6 ' +
        'deviations, where an endpoint detector starts to report (it also needs twice the typical value and its ' +
        `minimum count). Hours are those of the baselines' time zone (UTC unless detection.baselines.timeZone is set); ` +
        `a slot with fewer than ${SLOT_MIN_SAMPLES} samples is still learning, greyed.`,
    ),
    metricForm,
    metric in view.bucket
      ? disclosure(`Per ${per(view.bucketMillis)}`, slotsTable(view.bucket[metric], metric, 'slots-bucket'), true)
      : h('p', { class: 'muted' }, `Learned per ${duration(view.windowMillis)} only.`),
    disclosure(`Per ${duration(view.windowMillis)}`, slotsTable(view.window[metric], metric, 'slots-window')),
  );
}
