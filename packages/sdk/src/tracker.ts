/**
 * The seam between a client and its framework adapters. Adapters need to start and finish requests, which is not
 * part of the public `Vigil` surface; they reach it through `trackerOf(vigil)` instead of a public property.
 */
import { processWide } from './process-wide.js';
import type { VigilErrorCode } from './report.js';
import type { RequestState, RequestView, ResponseView } from './request.js';

export interface RequestTracker {
  /** Start tracking a request; undefined when the client records nothing (disabled). Never throws. */
  start(view: RequestView, raw: unknown, routeResolver?: () => string | undefined): RequestState | undefined;
  /** True with `inspect: 'params'`: adapters that must do work to see the parsed body do it only then. */
  readonly inspectsParams: boolean;
  /** True when route parameters are used (`inspect: 'params'`, `accessParams`). */
  readonly readsParams: boolean;
  /** The response ended; records the request's events. Never throws. */
  finish(state: RequestState, response: ResponseView): void;
  /** Tell the app once about a problem an adapter found in how it is set up. */
  warnOnce(code: VigilErrorCode, message: string): void;
}

// Process-wide, so that a client made by one build of the SDK works with the adapters of the other.
const trackers = processWide('trackers.v1', () => new WeakMap<object, RequestTracker>());

export function attachTracker(vigil: object, tracker: RequestTracker): void {
  trackers.set(vigil, tracker);
}

/** The tracker of a client, or undefined for anything that is not a client from `createVigil`. */
export function trackerOf(vigil: unknown): RequestTracker | undefined {
  return typeof vigil === 'object' && vigil !== null ? trackers.get(vigil) : undefined;
}
