import { ApiError } from './api.js';
import { h, replace, visible } from './dom.js';

/** What a view is given: where to draw, its URL parameters, and how to report failures. */
export interface ViewContext {
  readonly main: HTMLElement;
  readonly params: URLSearchParams;
  /** Who is signed in: recorded as the actor of what they do. */
  readonly actor: string;
  /** False once another view is shown: an answer that arrives later is dropped. */
  current(): boolean;
  /** Show an API failure as a message; a 401 goes back to sign-in. */
  fail(error: unknown): void;
  /** Run when the view is left (timers). */
  onLeave(fn: () => void): void;
}

/**
 * A view whose data the API cannot give: a `404` (baselines off, nothing learned yet about this endpoint or
 * principal) is the page's content, said plainly; anything else is a failure.
 */
export function showUnavailable(ctx: ViewContext, heading: Node, error: unknown): void {
  if (!ctx.current()) return;
  replace(ctx.main, heading);
  if (error instanceof ApiError && error.status === 404)
    ctx.main.append(h('p', { class: 'notice', id: 'unavailable' }, visible(error.message)));
  else ctx.fail(error);
}
