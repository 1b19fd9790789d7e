/**
 * Building the page. Everything shown comes from events an attacker may have written, so the DOM is built from
 * elements and text nodes only: no HTML is ever parsed from a string, and no link takes its address from data (links
 * are made by `routeLink`, to this page's own `#/...` views, with every value percent-encoded).
 */

type Child = Node | string | undefined | false;

export interface Props {
  readonly class?: string;
  readonly title?: string;
  readonly id?: string;
  /** Other attributes, by name: never `href`, `src`, `style` or an event handler (see `SAFE_ATTRIBUTE`). */
  readonly attrs?: Readonly<Record<string, string>>;
}

/** The attributes `h` sets: none that loads, navigates or runs anything. */
const SAFE_ATTRIBUTE =
  /^(?:type|name|value|placeholder|autocomplete|required|for|role|aria-[a-z]+|colspan|min|max|step|rows|maxlength|spellcheck|data-[a-z-]+)$/;

/** An element with properties and children; a string child becomes a text node. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.class) element.className = props.class;
  if (props.title !== undefined) element.title = props.title;
  if (props.id) element.id = props.id;
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    if (!SAFE_ATTRIBUTE.test(name)) throw new Error(`attribute ${name} is not set through h()`);
    element.setAttribute(name, value);
  }
  for (const child of children) if (child !== undefined && child !== false) element.append(child);
  return element;
}

/**
 * A link to one of the dashboard's own views: `#/<path>?<params>`, each path segment and parameter percent-encoded, so
 * a value can neither leave the page nor choose a scheme (`javascript:`).
 */
export function routeLink(
  segments: readonly string[],
  params: Readonly<Record<string, string | undefined>>,
  ...children: Child[]
): HTMLAnchorElement {
  const a = h('a', {}, ...children);
  a.href = routeHref(segments, params);
  return a;
}

export function routeHref(
  segments: readonly string[],
  params: Readonly<Record<string, string | undefined>> = {},
): string {
  const query = Object.entries(params)
    .filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  return `#/${segments.map(encodeURIComponent).join('/')}${query ? `?${query}` : ''}`;
}

/**
 * Text as it can be read safely: control characters, invisible ones and those that reorder text (bidirectional
 * overrides, which can make `evil.example` read as `elpmaxe.live`) are shown as `\uXXXX` escapes instead of acting.
 * The server escapes most of them as it stores events, in the same notation; this covers the rest.
 */
export function visible(text: string): string {
  return text.replace(
    /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Characters of a value shown before it is cut; the rest is one click away. */
const SHOWN_CHARS = 160;

/** A value as text, cut to `max` characters with a button that shows it whole (and cuts it again). */
export function valueText(value: unknown, max = SHOWN_CHARS): HTMLElement {
  const full = visible(typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value)));
  const span = h('span', { class: 'value' });
  if (full.length <= max) {
    span.textContent = full;
    return span;
  }
  const text = document.createTextNode(`${full.slice(0, max)}…`);
  const toggle = h('button', { class: 'link', attrs: { type: 'button' } }, `show all ${full.length} characters`);
  let whole = false;
  toggle.addEventListener('click', (e) => {
    e.stopPropagation();
    whole = !whole;
    text.data = whole ? full : `${full.slice(0, max)}…`;
    toggle.textContent = whole ? 'show less' : `show all ${full.length} characters`;
  });
  span.append(text, ' ', toggle);
  return span;
}

/** Replace an element's children. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren(...children.filter((c): c is Node | string => c !== undefined && c !== false));
}

/** A button that runs `action` on click. */
export function button(label: string, action: () => void, className?: string): HTMLButtonElement {
  const b = h('button', { attrs: { type: 'button' }, ...(className ? { class: className } : {}) }, label);
  b.addEventListener('click', action);
  return b;
}

/** A table of rows under a header of column names; rows are added to its `tBodies[0]`. */
export function table(className: string, columns: readonly string[], ...rows: Node[]): HTMLTableElement {
  return h(
    'table',
    { class: className },
    h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', {}, c)))),
    h('tbody', {}, ...rows),
  );
}

/** A two-column table of facts: a name in each row's header cell, its value beside it. */
export function factsTable(rows: readonly (readonly [string, Node | string])[], id?: string): HTMLTableElement {
  return h(
    'table',
    { class: 'facts', ...(id ? { id } : {}) },
    h('tbody', {}, ...rows.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v)))),
  );
}

const SVG_NS = 'http://www.w3.org/2000/svg';
/** The SVG elements a chart is drawn with: shapes and text, nothing that links, loads or runs. */
type ChartTag = 'svg' | 'g' | 'rect' | 'line' | 'polyline' | 'text' | 'title';
/** The attributes `svg` sets: geometry only. Colours come from classes of the style sheet (CSP: no `style=`). */
const SVG_ATTRIBUTE =
  /^(?:x|y|x1|y1|x2|y2|width|height|points|viewBox|preserveAspectRatio|text-anchor|role|aria-label)$/;

/** An SVG element for a chart, with geometry attributes and a class; a string child becomes a text node. */
export function svg<K extends ChartTag>(
  tag: K,
  attrs: Readonly<Record<string, string | number>>,
  className?: string,
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (!SVG_ATTRIBUTE.test(name)) throw new Error(`attribute ${name} is not set through svg()`);
    element.setAttribute(name, String(value));
  }
  if (className) element.setAttribute('class', className);
  for (const child of children) if (child !== undefined && child !== false) element.append(child);
  return element;
}

/** Content behind a summary line that opens it: long tables that only some readers need. */
export function disclosure(summary: string, content: Node, open = false): HTMLDetailsElement {
  const details = h('details', {}, h('summary', {}, summary), content);
  details.open = open;
  return details;
}

/** A select of `[value, label]` options, `value` chosen. */
export function select(
  name: string,
  options: readonly (readonly [string, string])[],
  value: string,
  id = `filter-${name}`,
): HTMLSelectElement {
  const s = h('select', { id, attrs: { name } });
  for (const [v, label] of options) {
    const o = h('option', {}, label);
    o.value = v;
    s.append(o);
  }
  s.value = value;
  return s;
}

export interface ConfirmStep {
  /** The button that opens the step. */
  readonly label: string;
  /** What the confirming button says: `Revoke`, `End`. */
  readonly confirmLabel: string;
  /** Asks for an optional comment, with this label. */
  readonly commentLabel?: string;
  /** The change; the step's buttons are enabled again if it throws (it reports its own failure). */
  act(comment: string | undefined): Promise<void>;
}

/**
 * A change made in two steps, so that one stray click changes nothing: a button opens a small form (a comment, when
 * asked for) with the confirming button and Cancel.
 */
export function confirmStep(step: ConfirmStep): HTMLElement {
  const box = h('div', { class: 'confirm' });
  const open = () => {
    const comment = step.commentLabel
      ? h('textarea', { class: 'comment', attrs: { name: 'comment', rows: '2', maxlength: '2000' } })
      : undefined;
    const confirm = button(step.confirmLabel, () => {
      confirm.disabled = true;
      cancel.disabled = true;
      step
        .act(comment?.value.trim() || undefined)
        .catch(() => undefined)
        .finally(() => {
          confirm.disabled = false;
          cancel.disabled = false;
        });
    });
    confirm.classList.add('confirm-action');
    const cancel = button('Cancel', closed);
    replace(
      box,
      step.commentLabel && comment ? h('label', {}, step.commentLabel, comment) : undefined,
      h('div', {}, confirm, cancel),
    );
    comment?.focus();
  };
  const closed = () => replace(box, button(step.label, open));
  closed();
  return box;
}
