/**
 * The dashboard's entry: asks the server whether this browser is signed in, then shows the view the URL's hash names
 * (`#/alerts`, `#/alerts/<id>`, `#/events?…`, `#/decisions`, `#/silences`, `#/inventory`, `#/endpoint?…`,
 * `#/principal?…`), and again on every change of the hash.
 */

import { renderAlert } from './alert-view.js';
import { renderAlerts } from './alerts-view.js';
import { ApiError, api } from './api.js';
import { renderDecisions } from './decisions-view.js';
import { button, h, replace, routeLink } from './dom.js';
import { renderEndpoint } from './endpoint-view.js';
import { renderEvents } from './events-view.js';
import { renderInventory } from './inventory-view.js';
import { renderPrincipal } from './principal-view.js';
import { renderSignIn } from './sign-in.js';
import { renderSilences } from './silences-view.js';
import type { ViewContext } from './view.js';

const main = document.getElementById('view')!;
const nav = document.getElementById('nav')!;
const messageBox = document.getElementById('message')!;

let actor: string | undefined;
/** Counts views shown: a view's late answers are dropped once another is shown. */
let generation = 0;
let leaving: (() => void)[] = [];

function showMessage(text: string, kind: 'error' | 'info' = 'error'): void {
  messageBox.className = kind;
  messageBox.textContent = text;
  messageBox.hidden = false;
}

function clearMessage(): void {
  messageBox.hidden = true;
  messageBox.textContent = '';
}

/** The view's route: path segments and query of the hash. */
function route(): { segments: string[]; params: URLSearchParams } {
  const hash = location.hash.replace(/^#\/?/, '');
  const q = hash.indexOf('?');
  const path = q < 0 ? hash : hash.slice(0, q);
  const segments = path
    .split('/')
    .filter(Boolean)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  return { segments, params: new URLSearchParams(q < 0 ? '' : hash.slice(q + 1)) };
}

function showNav(): void {
  if (!actor) {
    nav.hidden = true;
    replace(nav);
    return;
  }
  nav.hidden = false;
  replace(
    nav,
    routeLink(['alerts'], {}, 'Alerts'),
    routeLink(['events'], {}, 'Events'),
    routeLink(['decisions'], {}, 'Decisions'),
    routeLink(['silences'], {}, 'Silences'),
    routeLink(['inventory'], {}, 'Inventory'),
    h('span', { class: 'who' }, `signed in as ${actor}`),
    button('Sign out', () => void signOut()),
  );
}

async function signOut(): Promise<void> {
  try {
    await api.delete('/api/v1/session');
  } catch (error) {
    showMessage(error instanceof Error ? error.message : String(error));
    return;
  }
  actor = undefined;
  render();
  showMessage('Signed out.', 'info');
}

/** A failure of a view: the API's message; a 401 (session expired or signed out elsewhere) goes to sign-in. */
function fail(error: unknown): void {
  if (error instanceof ApiError && error.status === 401) {
    actor = undefined;
    render();
    showMessage('Your session has expired: sign in again.');
    return;
  }
  showMessage(error instanceof Error ? error.message : String(error));
}

function render(): void {
  for (const fn of leaving) fn();
  leaving = [];
  const mine = ++generation;
  clearMessage();
  showNav();
  if (!actor) {
    renderSignIn(main, (name) => {
      actor = name;
      if (route().segments.length === 0) location.hash = '#/alerts';
      else render();
    });
    return;
  }
  const { segments, params } = route();
  const ctx: ViewContext = {
    main,
    params,
    actor,
    current: () => mine === generation,
    fail: (error) => {
      if (mine === generation) fail(error);
    },
    onLeave: (fn) => leaving.push(fn),
  };
  replace(main, h('p', { class: 'muted' }, 'Loading…'));
  if (segments[0] === 'alerts' && segments[1]) void renderAlert(ctx, segments[1]);
  else if (segments[0] === 'events') void renderEvents(ctx);
  else if (segments[0] === 'decisions') void renderDecisions(ctx);
  else if (segments[0] === 'silences') void renderSilences(ctx);
  else if (segments[0] === 'inventory') void renderInventory(ctx);
  else if (segments[0] === 'endpoint') void renderEndpoint(ctx);
  else if (segments[0] === 'principal') void renderPrincipal(ctx);
  else void renderAlerts(ctx);
}

async function start(): Promise<void> {
  try {
    const session = await api.get<{ signedIn: boolean; actor?: string }>('/api/v1/session');
    actor = session.signedIn ? session.actor : undefined;
  } catch (error) {
    showMessage(error instanceof Error ? error.message : String(error));
  }
  window.addEventListener('hashchange', render);
  render();
}

void start();
