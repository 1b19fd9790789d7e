/**
 * Route templates through routers mounted on a pattern, for Express 4 and 5.
 *
 * `req.baseUrl` is the text a router was reached by. For a static mount path (`app.use('/api', router)`) that text is
 * the pattern, but for `app.use('/tenants/:tid', router)` it holds the parameter's value (`/tenants/acme`), and so
 * would the route template built from it. Express keeps no record of the patterns a request went through, so this
 * module keeps one:
 *
 * - every layer mounted on a pattern (a parameter, a wildcard, a regular expression, an array holding one of those)
 *   gets wrappers of its own, as own properties of that layer (its `handle` stays the app's function, for the tools
 *   that list routes): `match` notes the text it matched, `handle_request` / `handle_error` (Express 4) or
 *   `handleRequest` / `handleError` (Express 5's `router`) record, while the request is inside the mount, the pair
 *   (raw `baseUrl` → template), and drop it when the request leaves through `next`;
 * - the template of the base is then the innermost pair's template plus what static mounts added after it.
 *
 * Layers mounted on a static path are left alone: they cost nothing per request. The pairs are kept per request in a
 * `WeakMap` keyed by Express's request object, not stored on it (a property store on Express's request is slow: see
 * express-tracking.ts), and not on the client's request state: several clients share them, and they do not depend on
 * the async context surviving the app's middleware.
 *
 * Layers are found without importing Express: on the first request the middleware sees, through `req.app`, its app's
 * router. The prototype of that router is patched once: `use` wraps the layers it adds from then on, and `handle`
 * wraps the layers a router already has the first time it handles a request (then sets the router's own `handle`
 * back to Express's, so later requests go straight to it). That covers routers and sub-apps built before the
 * middleware was created, as well as those added later.
 */

/** Express's `next`. */
type Next = (error?: unknown) => unknown;

/** A template of the text one pattern matched entirely, or undefined when the pattern does not match all of it. */
type Pattern = (text: string) => string | undefined;

/** One layer mounted on a pattern. */
interface Mount {
  readonly pattern: Pattern;
  /** The template used when the text the layer matched cannot be told: the pattern as written. */
  readonly fallback: string;
  /** The text the layer's `match` matched last (the router enters the layer right after, unless param callbacks wait). */
  matched: string | undefined;
}

/** A mount a request is inside: the `baseUrl` Express gave it, and the template of that base. */
interface Frame {
  readonly raw: string;
  readonly template: string;
}

/** Express 4's `Layer` (express/lib/router/layer.js) and Express 5's (router/lib/layer.js), as far as used here. */
interface LayerLike {
  route?: unknown;
  handle?: unknown;
  /** Express 4: the compiled pattern, its parameters, and the fast path for `/`. */
  regexp?: unknown;
  keys?: unknown;
  /** Express 5: one matcher per path; router 2.3+ keeps the paths as given in `rawPath`. */
  matchers?: unknown;
  rawPath?: unknown;
  /** Express 4 and router before 2.3: the text matched last (router 2.0–2.2: the path as given, until a match). */
  path?: unknown;
  params?: unknown;
  slash?: unknown;
  [method: string]: unknown;
}

interface RouterLike {
  stack: unknown[];
}

/** Requests inside mounts on a pattern: their frames, innermost last. */
const active = new WeakMap<object, Frame[]>();
/** Set when a first layer on a pattern is wrapped: until then, no request can have a frame. */
let patternMounts = false;
const examined = new WeakSet<object>();
const patchedPrototypes = new WeakSet<object>();

/**
 * The template of an Express request's `baseUrl` (trailing slashes removed): the raw text of mounts on patterns
 * replaced by their pattern (`/tenants/acme/admin` → `/tenants/:tid/admin`).
 */
export function baseTemplate(req: object, baseUrl: string): string {
  if (patternMounts) {
    const frames = active.get(req);
    if (frames !== undefined) {
      for (let i = frames.length - 1; i >= 0; i--) {
        const frame = frames[i]!;
        if (startsAtSegment(baseUrl, frame.raw)) {
          return frame.template + trimSlashes(baseUrl.slice(frame.raw.length));
        }
      }
    }
  }
  return trimSlashes(baseUrl);
}

/**
 * Prepare an Express app (the request's `req.app`) so that mounts on patterns are known. Safe to call more than once;
 * never throws. Without it, templates are what `req.baseUrl` says.
 */
export function instrumentMounts(app: unknown, req?: object): void {
  if (req !== undefined) noteSubAppBase(app, req);
  instrumentApps(app);
}

/**
 * The first request a middleware in a sub-app sees came through its parents' mounts before they were prepared, so no
 * frame says what pattern its `baseUrl` matched. Express keeps the pattern a sub-app was mounted on (`mountpath`):
 * the chain of them, when each is one string, is the template of the base, noted for this request.
 */
function noteSubAppBase(app: unknown, req: object): void {
  try {
    const raw = (req as { baseUrl?: unknown }).baseUrl;
    if (typeof raw !== 'string' || raw === '' || active.has(req)) return;
    let template = '';
    let current = app as { mountpath?: unknown; parent?: unknown } | undefined;
    for (let depth = 0; depth < 16 && typeof current?.parent !== 'undefined'; depth++) {
      const mountpath = current?.mountpath;
      if (typeof mountpath !== 'string') return;
      template = trimSlashes(mountpath === '/' ? '' : mountpath) + template;
      current = current?.parent as typeof current;
    }
    // Only when the chain has as many segments as the base: the parents' own static mounts are in it then.
    if (template === '' || template.split('/').length !== trimSlashes(raw).split('/').length) return;
    active.set(req, [{ raw: trimSlashes(raw), template }]);
    patternMounts = true;
  } catch {
    // templates stay what req.baseUrl says
  }
}

function instrumentApps(app: unknown): void {
  // A sub-app (`parent.use('/tenants/:tid', sub)`) that holds the middleware is reached through its parents' mounts:
  // those are prepared too, or the first request would not know the pattern it came through.
  let current = app;
  for (let depth = 0; depth < 16; depth++) {
    if ((typeof current !== 'function' && typeof current !== 'object') || current === null) return;
    try {
      // Express 4 keeps its router in `_router` (its `router` getter throws); Express 5 in `router`.
      const express = current as { _router?: unknown; router?: unknown; parent?: unknown };
      const router = express._router ?? express.router;
      if (isRouter(router)) {
        patchRouterPrototype(router);
        wrapLayers(router.stack, 0);
      }
      current = express.parent;
    } catch {
      return; // templates stay what req.baseUrl says
    }
  }
}

function isRouter(value: unknown): value is RouterLike {
  return (
    (typeof value === 'function' || (typeof value === 'object' && value !== null)) &&
    Array.isArray((value as Partial<RouterLike>).stack)
  );
}

/** Patch `use` and `handle` on the router prototype (Express 4's `proto`, or `Router.prototype` of `router`). */
function patchRouterPrototype(router: RouterLike): void {
  let owner = Object.getPrototypeOf(router) as Record<string, unknown> | null;
  while (owner !== null && !(Object.hasOwn(owner, 'use') && Object.hasOwn(owner, 'handle'))) {
    owner = Object.getPrototypeOf(owner) as Record<string, unknown> | null;
  }
  if (owner === null || patchedPrototypes.has(owner)) return;
  const use = owner.use;
  const handle = owner.handle;
  if (typeof use !== 'function' || typeof handle !== 'function') return;
  patchedPrototypes.add(owner);
  owner.use = function vigilUse(this: unknown, ...args: unknown[]) {
    const before = isRouter(this) ? this.stack.length : 0;
    const result = use.apply(this, args);
    if (isRouter(this)) wrapLayers(this.stack, before);
    return result;
  };
  owner.handle = function vigilHandle(this: unknown, ...args: unknown[]) {
    // The first request this router handles since the patch: its layers may predate it. From now on its own
    // `handle` is Express's again, so the following requests pay nothing for this.
    if (isRouter(this)) {
      wrapLayers(this.stack, 0);
      try {
        Object.defineProperty(this, 'handle', { value: handle, writable: true, configurable: true });
      } catch {
        // a frozen router is examined again on each request, which finds nothing new
      }
    }
    return handle.apply(this, args);
  };
}

function wrapLayers(stack: unknown[], from: number): void {
  for (let i = from; i < stack.length; i++) {
    const layer = stack[i];
    if (typeof layer !== 'object' || layer === null || examined.has(layer)) continue;
    examined.add(layer);
    try {
      const mount = mountOf(layer as LayerLike);
      if (mount !== undefined) wrapLayer(layer as LayerLike, mount);
      else if ((layer as LayerLike).route !== undefined) wrapRouteLayer(layer as LayerLike);
    } catch {
      // a layer of an unknown shape is left as it is
    }
  }
}

/** The mount a `use` layer stands for, when its path is a pattern; undefined for static paths and routes. */
function mountOf(layer: LayerLike): Mount | undefined {
  if (layer.route !== undefined) return undefined;
  if (Array.isArray(layer.matchers)) {
    // Express 5. Router 2.0–2.2 keep the path as given in `path` only until the layer first matched.
    const given = layer.rawPath ?? (layer.params === undefined ? layer.path : undefined);
    if (layer.slash === true || !isPatternPath(given)) return undefined;
    const paths = Array.isArray(given) ? (given as unknown[]) : [given];
    const matchers = layer.matchers as unknown[];
    if (paths.length !== matchers.length) return undefined;
    const patterns = paths.map((path, i) => givenPattern(path, matchers[i]));
    return {
      pattern: (text) => {
        for (const pattern of patterns) {
          const template = pattern(text);
          if (template !== undefined) return template;
        }
        return undefined;
      },
      fallback: paths.map(writtenTemplate).join('|'),
      matched: undefined,
    };
  }
  const regexp = layer.regexp;
  if (!(regexp instanceof RegExp)) return undefined;
  // Express 4 keeps only the compiled pattern; a static one is `^` + literal text + the end of a segment.
  const keys = Array.isArray(layer.keys) ? (layer.keys as Array<{ name?: unknown }>) : [];
  if ((regexp as { fast_slash?: unknown }).fast_slash === true) return undefined;
  if (keys.length === 0 && STATIC_EXPRESS4.test(regexp.source)) return undefined;
  const names = keys.map((key) => key?.name);
  return {
    pattern: regexpPattern(regexp, names),
    fallback: String(regexp),
    matched: undefined,
  };
}

/** Express 4's compiled form of one static path (`^\/api\/?(?=\/|$)`), or of an array of them. */
const STATIC_PART = String.raw`\^(?:\\[./-]|[\w~%!&',;=@-])*\\/\?\(\?=\\/\|\$\)`;
const STATIC_EXPRESS4 = new RegExp(String.raw`^${STATIC_PART}(?:\|${STATIC_PART})*$`);

/** Characters that make an Express 5 path (path-to-regexp 8) a pattern rather than literal text. */
const PATTERN_CHARACTERS = /[:*?+(){}[\]!\\]/;

function isPatternPath(path: unknown): boolean {
  if (typeof path === 'string') return PATTERN_CHARACTERS.test(path);
  if (path instanceof RegExp) return true;
  return Array.isArray(path) && path.some(isPatternPath);
}

/** A path as written, as a template: a string without trailing slashes, a regular expression as JavaScript writes it. */
function writtenTemplate(path: unknown): string {
  if (typeof path !== 'string') return String(path);
  const trimmed = trimSlashes(path);
  return trimmed === '' || trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

/** An Express 5 path with its matcher: a string stands for itself, a regular expression as in `regexpPattern`. */
function givenPattern(path: unknown, matcher: unknown): Pattern {
  if (path instanceof RegExp) return regexpPattern(path, groupNames(path.source));
  const template = writtenTemplate(path);
  return (text) => {
    if (typeof matcher !== 'function') return undefined;
    try {
      const found = (matcher as (path: string) => { path?: unknown } | false)(text || '/');
      const matchedText = found ? found.path : undefined;
      return typeof matchedText === 'string' && trimSlashes(matchedText) === text ? template : undefined;
    } catch {
      return undefined; // a parameter that does not decode
    }
  };
}

/** Names of a regular expression's capture groups, as Express names them: the group's name, else its number. */
function groupNames(source: string): Array<string | number> {
  const names: Array<string | number> = [];
  let unnamed = 0;
  for (const group of source.matchAll(/\\.|\((?:\?<([^>]*)>)?(?!\?)/g)) {
    if (group[0][0] === '\\') continue;
    names.push(group[1] ?? unnamed++);
  }
  return names;
}

/**
 * A regular expression's template of the text it matched: that text with each capture group replaced by `:name`
 * (a named group, or a parameter of an Express 4 path) or `*` (an unnamed group, a wildcard), provided what is left
 * is literal text of the expression (then taken as the expression writes it). Otherwise the expression itself. Either
 * way a template is made of the expression's own text: a request cannot add one.
 */
function regexpPattern(regexp: RegExp, names: ReadonlyArray<unknown>): Pattern {
  const indexed = new RegExp(regexp.source, `${regexp.flags.replace(/[dgy]/g, '')}d`);
  const literal = literalText(regexp.source);
  const folded = literal.toLowerCase();
  const fold = regexp.flags.includes('i') && folded.length === literal.length;
  const whole = String(regexp);
  /** `text` as the expression writes it, when it is literal text of the expression. */
  const written = (text: string): string | undefined => {
    if (text === '') return '';
    const key = fold ? text.toLowerCase() : text;
    const at = key.length === text.length ? (fold ? folded : literal).indexOf(key) : -1;
    return at === -1 ? undefined : literal.slice(at, at + text.length);
  };
  return (text) => {
    const input = text || '/';
    const found = indexed.exec(input);
    if (found === null || found.index !== 0 || trimSlashes(found[0]) !== text) return undefined;
    const spans = found.indices ?? [];
    let template = '';
    let cursor = 0;
    for (let group = 1; group < spans.length; group++) {
      const span = spans[group];
      if (span === undefined || span[0] < cursor) continue; // unmatched, or inside a group already replaced
      const before = written(input.slice(cursor, span[0]));
      if (before === undefined) return whole;
      const name = names[group - 1];
      template += `${before}${typeof name === 'string' && name !== '' ? `:${name}` : '*'}`;
      cursor = span[1];
    }
    const rest = written(input.slice(cursor, found[0].length));
    return rest === undefined ? whole : trimSlashes(template + rest);
  };
}

/**
 * The text a regular expression's source spells out, loosely: escaped punctuation as itself, without the brackets of
 * groups and lookaheads, anchors and `?`. `^\/t(?:\/([^/]+?))` gives `/t/[/]+`, in which the `/t/` before Express 4's
 * parameter is found. A class escape (`\d`) breaks the text. Loose is safe: whatever is found in it is the expression's.
 */
function literalText(source: string): string {
  return source.replace(/\\([^A-Za-z0-9])|\\.|\(\?(?:[:=!]|<[^>]*>)|[()^$?]/g, (token, escaped?: string) =>
    escaped !== undefined ? escaped : token.startsWith('\\') ? '\u0000' : '',
  );
}

/** Install the wrappers of a mount on its layer. */
function wrapLayer(layer: LayerLike, mount: Mount): void {
  const express5 = typeof layer.handleRequest === 'function';
  const requestMethod = express5 ? 'handleRequest' : 'handle_request';
  const errorMethod = express5 ? 'handleError' : 'handle_error';
  const match = layer.match;
  const handleRequest = layer[requestMethod];
  const handleError = layer[errorMethod];
  if (typeof match !== 'function' || typeof handleRequest !== 'function' || typeof handleError !== 'function') return;
  layer.match = function vigilMatch(this: LayerLike, path: unknown) {
    const found = match.call(this, path);
    // Router 2.3+ returns what matched; Express 4 and earlier routers keep it on the layer.
    const text = typeof found === 'object' && found !== null ? (found as { path?: unknown }).path : this.path;
    mount.matched = found && typeof text === 'string' ? text : undefined;
    return found;
  };
  layer[requestMethod] = function vigilHandleRequest(this: unknown, req: unknown, res: unknown, next: Next) {
    return handleRequest.call(this, req, res, enter(req, mount, next));
  };
  layer[errorMethod] = function vigilHandleError(
    this: unknown,
    error: unknown,
    req: unknown,
    res: unknown,
    next: Next,
  ) {
    return handleError.call(this, error, req, res, enter(req, mount, next));
  };
  patternMounts = true;
}

/** A request dispatched to a route: the route, the template of its base then, and the path of the route it matched. */
interface Dispatch {
  readonly route: unknown;
  readonly base: string;
  /** For a route on an array of paths, the one that matched (a string or a regular expression). */
  readonly path: unknown;
}

/** Per request: the route it was last dispatched to. */
const dispatched = new WeakMap<object, Dispatch>();

/**
 * What was noted when `req` was dispatched to `route`, if that is the route it was last dispatched to. An error thrown
 * in a route of a mounted router and answered by the app's own error handler reaches it after Express put `baseUrl`
 * back to the outer value, while `req.route` is still the inner route: the base at dispatch is the route's.
 */
export function dispatchedTo(req: object, route: unknown): Dispatch | undefined {
  const noted = dispatched.get(req);
  return noted !== undefined && noted.route === route ? noted : undefined;
}

/**
 * Wrap a route layer's request handling (an own property) to note the base its requests are dispatched with, and,
 * for a route on an array of paths, which of them the request matched: one template of them all (`/a/:token|/b/:token`)
 * fits no request's path, and a secret parameter in it could not be told in the path.
 */
function wrapRouteLayer(layer: LayerLike): void {
  const method = typeof layer.handleRequest === 'function' ? 'handleRequest' : 'handle_request';
  const handle = layer[method];
  if (typeof handle !== 'function') return;
  const route = layer.route;
  const matchedPath = pathMatcher(layer);
  layer[method] = function vigilHandleRoute(this: unknown, req: unknown, res: unknown, next: Next) {
    try {
      const baseUrl = (req as { baseUrl?: unknown }).baseUrl;
      if (typeof req === 'object' && req !== null && typeof baseUrl === 'string') {
        const path = matchedPath?.((req as { url?: unknown }).url);
        dispatched.set(req, { route, base: baseTemplate(req, baseUrl), path });
      }
    } catch {
      // the template is told from baseUrl at the end, as without this
    }
    return handle.call(this, req, res, next);
  };
}

/**
 * For a route layer on an array of paths: the path of it a request URL (relative to the router, as the layer matched
 * it) matches, the first as Express tries them. Express 5 keeps one matcher per path; Express 4 one expression for
 * them all, so each path gets one of its own, made by Express's `Layer` as the route's was (case sensitivity read
 * from that expression).
 */
function pathMatcher(layer: LayerLike): ((url: unknown) => unknown) | undefined {
  const given = (layer.route as { path?: unknown } | null)?.path;
  if (!Array.isArray(given)) return undefined;
  const paths = given.flat(Number.POSITIVE_INFINITY) as unknown[];
  let matchers: Array<(path: string) => unknown>;
  if (Array.isArray(layer.matchers)) {
    if (layer.matchers.length !== paths.length) return undefined;
    matchers = layer.matchers as Array<(path: string) => unknown>;
  } else if (layer.regexp instanceof RegExp && typeof layer.constructor === 'function') {
    const Layer = layer.constructor as new (path: unknown, options: object, fn: () => void) => { regexp?: unknown };
    const sensitive = !layer.regexp.flags.includes('i');
    try {
      matchers = paths.map((path) => {
        const regexp = new Layer(path, { sensitive, strict: false, end: true }, () => {}).regexp;
        return (text) => regexp instanceof RegExp && regexp.test(text);
      });
    } catch {
      return undefined;
    }
  } else {
    return undefined;
  }
  return (url) => {
    if (typeof url !== 'string') return undefined;
    const query = url.indexOf('?');
    let text = query === -1 ? url : url.slice(0, query);
    if (!text.startsWith('/')) {
      // An absolute-form target (as sent to a proxy): Express routes its path.
      try {
        text = new URL(text).pathname;
      } catch {
        return undefined;
      }
    }
    for (let i = 0; i < matchers.length; i++) {
      try {
        if (matchers[i]!(text)) return paths[i];
      } catch {
        // a parameter that does not decode: not this path
      }
    }
    return undefined;
  };
}

/** The request enters a mount: note its frame, and return the `next` that drops it when the request leaves. */
function enter(req: unknown, mount: Mount, next: Next): Next {
  let frames: Frame[] | undefined;
  let frame: Frame | undefined;
  try {
    const raw = (req as { baseUrl?: unknown }).baseUrl;
    if (typeof req !== 'object' || req === null || typeof raw !== 'string') return next;
    frames = active.get(req);
    frame = { raw, template: frameTemplate(mount, raw, frames) };
    if (frames === undefined) {
      frames = [];
      active.set(req, frames);
    }
    frames.push(frame);
  } catch {
    return next;
  }
  const own = frames;
  const mine = frame;
  return function vigilLeaveMount(error?: unknown) {
    const index = own.lastIndexOf(mine);
    if (index !== -1) own.splice(index, 1);
    return next(error);
  };
}

/**
 * The template of `raw`, the `baseUrl` a mount was entered with: the template of the mount it is inside (the
 * innermost frame whose base starts it), the static text mounted between, and the layer's own template.
 */
function frameTemplate(mount: Mount, raw: string, frames: Frame[] | undefined): string {
  let outer: Frame | undefined;
  for (let i = (frames?.length ?? 0) - 1; i >= 0 && outer === undefined; i--) {
    if (startsAtSegment(raw, frames![i]!.raw)) outer = frames![i];
  }
  const from = outer?.raw.length ?? 0;
  const prefix = outer?.template ?? '';
  const own = ownPart(mount, raw, from);
  // Where the layer's part cannot be told, what lies between the outer mount and this one is left out, never shown.
  if (own === undefined) return prefix + mount.fallback;
  return prefix + raw.slice(from, own.start) + own.template;
}

/**
 * Where in `raw` the layer's own part starts, and its template. The text the layer just matched tells, when it ends
 * `raw`; otherwise (param callbacks let another request match the layer in between) the first segment boundary after
 * the outer mount from which the layer's pattern matches the rest.
 */
function ownPart(mount: Mount, raw: string, from: number): { start: number; template: string } | undefined {
  if (mount.matched !== undefined) {
    // Express drops one trailing slash of the matched text from baseUrl.
    const text = mount.matched.endsWith('/') ? mount.matched.slice(0, -1) : mount.matched;
    const start = raw.length - text.length;
    if (start >= from && raw.endsWith(text)) {
      const template = mount.pattern(text);
      if (template !== undefined) return { start, template };
    }
  }
  for (let start = from; start <= raw.length; start++) {
    if (start < raw.length && raw[start] !== '/') continue;
    const template = mount.pattern(raw.slice(start));
    if (template !== undefined) return { start, template };
  }
  return undefined;
}

/** `text` starts with `prefix` and the prefix ends a segment there. */
function startsAtSegment(text: string, prefix: string): boolean {
  if (!text.startsWith(prefix)) return false;
  return text.length === prefix.length || prefix === '' || text[prefix.length] === '/' || prefix.endsWith('/');
}

function trimSlashes(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 47) end--;
  return end === text.length ? text : text.slice(0, end);
}
