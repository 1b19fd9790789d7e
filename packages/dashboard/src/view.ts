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
