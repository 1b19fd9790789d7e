/**
 * Response decisions in the app: a `DecisionCache` kept current by long-polling Vigil's decision stream, and an
 * `Enforcer` that turns a request's subject (client address, user, API key) into a verdict: pass, flag, throttle
 * (a local token bucket per decision) or block. Framework-neutral; adapters map the verdict to a response.
 *
 * Nothing here awaits on the request path: `check` is a map lookup. Vigil unreachable, or no answer for
 * `staleAfterMillis`, means fail-open: every request passes, and each one that does so is counted.
 */

import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { isIP } from 'node:net';
import { caCertificates } from './options.js';
import { agentFor, type OutboundRoute, proxyFor } from './outbound.js';

export type DecisionAction = 'flag' | 'throttle' | 'block';
export type DecisionScope = 'ip' | 'prefix' | 'user' | 'api_key';
export type EnforceMode = 'dry-run' | 'enforce';

/** A decision as the stream delivers it, with its times parsed. */
export interface CachedDecision {
  readonly id: string;
  readonly action: DecisionAction;
  readonly scope: DecisionScope;
  readonly value: string;
  /** Epoch ms. */
  readonly expiresAt: number;
  readonly ratePerMinute?: number;
}

/** Who a request comes from, as far as the app knows. */
export interface DecisionSubject {
  readonly clientAddress?: string | undefined;
  readonly userId?: string | undefined;
  readonly apiKeyId?: string | undefined;
}

export interface DecisionHit {
  readonly action: DecisionAction;
  readonly decision: CachedDecision;
}

export interface DecisionCacheOptions {
  /** Vigil's base URL. Env `VIGIL_ENDPOINT`. */
  endpoint?: string;
  /** The ingest token. Env `VIGIL_INGEST_TOKEN`. */
  token?: string;
  /** How long the server may hold a poll when nothing is new. Default 25 000. */
  waitMillis?: number;
  /** Shortest gap between two polls, so a server that answers at once is not hammered. Default 1000. */
  minPollIntervalMillis?: number;
  /** Backoff after a failed poll: first delay, doubling up to the maximum. Defaults 1000 and 60 000. */
  initialBackoffMillis?: number;
  maxBackoffMillis?: number;
  /** With no successful poll for this long, the cache is stale and every request passes. Default 60 000. */
  staleAfterMillis?: number;
  /** Bound on decisions held; beyond it new ones are ignored (and counted). Default 100 000. */
  maxDecisions?: number;
  /** Called with each problem (unreachable, refused token...). Default: one process warning per kind. */
  onError?: (error: Error) => void;
  /**
   * PEM certificate(s) to trust for an `https://` endpoint besides Node.js's bundled roots, as the client's `ca`
   * option. Default none.
   */
  ca?: string | readonly string[];
  /**
   * The HTTP proxy to reach Vigil through, or `false` for none, as the client's `proxy` option. Default:
   * `HTTPS_PROXY` / `HTTP_PROXY` by the endpoint's scheme, unless `NO_PROXY` names its host or it is loopback.
   */
  proxy?: string | false;
}

export interface DecisionCacheStats {
  readonly decisions: number;
  /** Epoch ms of the latest successful poll, 0 before the first. */
  readonly lastSyncAt: number;
  readonly stale: boolean;
  readonly pollFailures: number;
  /** Lookups answered "pass" because the cache was stale or never filled. */
  readonly failOpen: number;
  /** Decisions not held because `maxDecisions` was reached. */
  readonly dropped: number;
}

const STRENGTH: Record<DecisionAction, number> = { flag: 1, throttle: 2, block: 3 };

/**
 * A canonical key for an address: IPv4 as is, IPv6 as eight groups without leading zeros (no `::`), so that every
 * spelling of one address gives one key. For the `prefix` scope, the IPv6 key keeps the first four groups (/64).
 */
export function addressKeys(raw: string): { ip: string; prefix: string } | undefined {
  let text = raw.trim();
  if (text.startsWith('[')) text = text.slice(1, text.indexOf(']') === -1 ? undefined : text.indexOf(']'));
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  const lower = text.toLowerCase();
  if (lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4) text = lower.slice(7);
  const family = isIP(text);
  if (family === 4) return { ip: text, prefix: text };
  if (family !== 6) return undefined;
  const groups = expandIpv6(text.toLowerCase());
  // An IPv4-mapped address however it is spelled (`0:0:0:0:0:ffff:cb00:7109`): the IPv4 address it maps.
  if (groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff') {
    const high = Number.parseInt(groups[6]!, 16);
    const low = Number.parseInt(groups[7]!, 16);
    const ipv4 = `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
    return { ip: ipv4, prefix: ipv4 };
  }
  return { ip: groups.join(':'), prefix: `${groups.slice(0, 4).join(':')}/64` };
}

function expandIpv6(text: string): string[] {
  let full = text;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    // An embedded IPv4 tail (::ffff:1.2.3.4 has been handled; 64:ff9b::1.2.3.4 remains) becomes two groups.
    const o = text
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    full = `${text.slice(0, lastColon + 1)}${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [left, right] = full.includes('::') ? full.split('::') : [full, undefined];
  const l = left ? left.split(':') : [];
  const r = right ? right.split(':') : [];
  const groups = right === undefined ? l : [...l, ...Array(8 - l.length - r.length).fill('0'), ...r];
  return groups.map((g) => Number.parseInt(g || '0', 16).toString(16));
}

/** The key a decision is filed under in the cache. */
function decisionKey(scope: DecisionScope, value: string): string | undefined {
  if (scope === 'user' || scope === 'api_key') return `${scope}\u0000${value}`;
  if (scope === 'ip') {
    const keys = addressKeys(value);
    return keys ? `ip\u0000${keys.ip}` : undefined;
  }
  const slash = value.indexOf('/');
  const keys = addressKeys(slash === -1 ? value : value.slice(0, slash));
  return keys ? `prefix\u0000${keys.prefix}` : undefined;
}

/** A throttle's tokens per minute. */
function rateOf(d: CachedDecision): number {
  return d.ratePerMinute ?? 60;
}

/** A throttle's bucket size: ten seconds' worth of tokens, at least one. */
function burstOf(d: CachedDecision): number {
  return Math.max(1, Math.ceil(rateOf(d) / 6));
}

/** The longest hold a poll asks for (the server's own limit is shorter; it holds for at most that). */
const MAX_WAIT_MILLIS = 600_000;
/** A decision stream answer is a few hundred bytes per decision; more than this is not one. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * GET a JSON answer, with `node:http(s)` rather than `fetch`: the poll is held by the server for up to `waitMillis`,
 * and its socket is unref()ed so that a process with nothing else to do can end while it waits. The body is bounded.
 */
/** How a poll reaches Vigil: the agent (trusted CAs, proxy tunnel), and for an `http://` endpoint behind a proxy, the
 * request in absolute form. */
type Route = OutboundRoute | { readonly agent: undefined; readonly forward: undefined };

function getJson(
  url: URL,
  headers: Record<string, string>,
  signal: AbortSignal,
  route: Route,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const { agent, forward } = route;
    const target = forward?.url ?? url;
    const send = target.protocol === 'https:' ? httpsGet : httpGet;
    const options = {
      headers: { ...headers, ...forward?.headers },
      signal,
      ...(agent ? { agent } : {}),
      ...(forward ? { path: `${url.href}`, servername: forward.servername } : {}),
    };
    const request = send(target, options, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) {
          request.destroy(new Error('the decision stream answer is too large'));
          return;
        }
        chunks.push(chunk);
      });
      response.on('error', reject);
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        if (status < 200 || status > 299) return resolve({ status, body: undefined });
        try {
          resolve({ status, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
        } catch {
          resolve({ status, body: undefined });
        }
      });
    });
    // Neither the held poll nor, through a proxy, the tunnel under it keeps the process alive.
    request.on('socket', (socket) => socket.unref());
    request.on('error', reject);
  });
}

function positive(value: unknown, fallback: number, min = 0): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= min ? value : fallback;
}

/**
 * Decisions in force, kept current from `GET /v1/decisions/stream`.
 *
 * @example
 * const cache = new DecisionCache({ endpoint: 'http://127.0.0.1:7070', token: process.env.VIGIL_INGEST_TOKEN });
 * cache.start();
 * cache.check({ clientAddress: '203.0.113.9' }); // { action: 'block', decision: {...} } or undefined
 */
export class DecisionCache {
  private readonly byId = new Map<string, CachedDecision>();
  private readonly byKey = new Map<string, Set<string>>();
  private readonly endpoint: string | undefined;
  private readonly token: string | undefined;
  private readonly waitMillis: number;
  private readonly minPollIntervalMillis: number;
  private readonly initialBackoffMillis: number;
  private readonly maxBackoffMillis: number;
  private readonly staleAfterMillis: number;
  private readonly maxDecisions: number;
  private cursor: string | undefined;
  private lastSyncAt = 0;
  private pollFailures = 0;
  private failOpen = 0;
  private dropped = 0;
  private running = false;
  /** Raised by each `start()`: a poll of an earlier run (stopped by `close()`) schedules nothing more. */
  private generation = 0;
  /** Set when the endpoint given is not a URL: reported at `start()`, and nothing is polled. */
  private readonly invalidEndpoint: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: AbortController | undefined;
  private readonly warned = new Set<string>();
  private readonly syncListeners = new Set<() => void>();
  private readonly route: Route = { agent: undefined, forward: undefined };

  constructor(private readonly options: DecisionCacheOptions = {}) {
    const endpoint = options.endpoint ?? process.env.VIGIL_ENDPOINT;
    const token = options.token ?? process.env.VIGIL_INGEST_TOKEN;
    this.endpoint = endpoint ? endpoint.replace(/\/+$/, '') : undefined;
    if (this.endpoint !== undefined && !isHttpUrl(this.endpoint)) {
      this.invalidEndpoint = this.endpoint;
      this.endpoint = undefined;
    }
    this.token = token || undefined;
    // Whole milliseconds, and no more than the server takes (it holds a poll for at most its own maximum anyway).
    this.waitMillis = Math.min(MAX_WAIT_MILLIS, Math.floor(positive(options.waitMillis, 25_000)));
    this.minPollIntervalMillis = positive(options.minPollIntervalMillis, 1000);
    this.initialBackoffMillis = positive(options.initialBackoffMillis, 1000, 1);
    this.maxBackoffMillis = Math.max(positive(options.maxBackoffMillis, 60_000, 1), this.initialBackoffMillis);
    this.staleAfterMillis = positive(options.staleAfterMillis, 60_000, 1);
    this.maxDecisions = Math.floor(positive(options.maxDecisions, 100_000, 1));
    if (this.endpoint !== undefined) this.route = this.routeTo(new URL(this.endpoint), options);
  }

  /** The agent for the endpoint, with the trusted CAs and the proxy, as the client's transport has them. */
  private routeTo(target: URL, options: DecisionCacheOptions): Route {
    const { certificates, problem } = caCertificates(options.ca);
    if (problem !== undefined) this.problem('config_invalid', new Error(problem));
    const option = options.proxy === false || typeof options.proxy === 'string' ? options.proxy : undefined;
    if (options.proxy !== undefined && option === undefined) {
      this.problem('config_invalid', new Error('option proxy must be a proxy URL or false; no proxy is used'));
    }
    const { proxy, invalid } = proxyFor(target, option, process.env);
    if (invalid !== undefined) {
      this.problem('config_invalid', new Error(`cannot use the proxy of ${invalid}; Vigil is reached without one`));
    }
    return agentFor(target, proxy, { ca: certificates, connectTimeoutMillis: 10_000, unrefTunnels: true });
  }

  /** False when no endpoint or token was given: the cache then never holds anything (every request passes). */
  get configured(): boolean {
    return this.endpoint !== undefined && this.token !== undefined;
  }

  /** Start polling. Idempotent; the timers never keep the process alive. */
  start(): void {
    if (this.running) return;
    if (this.invalidEndpoint !== undefined) {
      this.problem(
        'config_invalid',
        new Error(
          `decision enforcement is off: the endpoint ${JSON.stringify(this.invalidEndpoint)} is not an http(s) URL`,
        ),
      );
      return;
    }
    if (!this.configured) {
      this.problem('config_missing', new Error('decision enforcement is off: no endpoint or token was given'));
      return;
    }
    this.running = true;
    this.generation++;
    this.schedule(0);
  }

  /** Stop polling and abort the poll in flight. */
  close(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.inFlight?.abort();
    // Kept-alive connections are closed; a later start() opens new ones.
    this.route.agent?.destroy();
  }

  /** The decision held under `id`, if any. */
  get(id: string): CachedDecision | undefined {
    return this.byId.get(id);
  }

  /** True while the latest successful poll is recent enough to trust. */
  fresh(now = Date.now()): boolean {
    return this.lastSyncAt > 0 && now - this.lastSyncAt <= this.staleAfterMillis;
  }

  /**
   * The strongest decision in force for the subject (block over throttle over flag), or undefined. Stale or never
   * filled, it answers undefined: fail-open.
   */
  check(subject: DecisionSubject, now = Date.now()): DecisionHit | undefined {
    if (!this.fresh(now)) {
      this.failOpen++;
      return undefined;
    }
    if (this.byId.size === 0) return undefined;
    let best: CachedDecision | undefined;
    const consider = (key: string | undefined) => {
      const ids = key === undefined ? undefined : this.byKey.get(key);
      if (!ids) return;
      for (const id of ids) {
        const d = this.byId.get(id);
        if (!d) continue;
        if (d.expiresAt <= now) {
          this.remove(id);
          continue;
        }
        if (!best || STRENGTH[d.action] > STRENGTH[best.action]) best = d;
        // Two throttles (the user's and the address's): the stricter one applies.
        else if (d.action === 'throttle' && best.action === 'throttle' && rateOf(d) < rateOf(best)) best = d;
      }
    };
    if (subject.clientAddress) {
      const keys = addressKeys(subject.clientAddress);
      if (keys) {
        consider(`ip\u0000${keys.ip}`);
        consider(`prefix\u0000${keys.prefix}`);
      }
    }
    if (subject.userId) consider(`user\u0000${subject.userId}`);
    if (subject.apiKeyId) consider(`api_key\u0000${subject.apiKeyId}`);
    return best ? { action: best.action, decision: best } : undefined;
  }

  stats(now = Date.now()): DecisionCacheStats {
    return {
      decisions: this.byId.size,
      lastSyncAt: this.lastSyncAt,
      stale: !this.fresh(now),
      pollFailures: this.pollFailures,
      failOpen: this.failOpen,
      dropped: this.dropped,
    };
  }

  /** Resolves after the next successful poll (for tests and start-up checks); never rejects. */
  synced(timeoutMillis = 30_000): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.syncListeners.delete(listener);
        resolve(ok);
      };
      const listener = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMillis);
      timer.unref();
      this.syncListeners.add(listener);
    });
  }

  /** Apply one stream answer: active decisions are held, expired and revoked ones dropped. */
  apply(decisions: readonly unknown[], now = Date.now()): void {
    for (const raw of decisions) {
      const d = parseDecision(raw);
      if (!d) continue;
      this.remove(d.id);
      if (d.status !== 'active' || d.decision.expiresAt <= now) continue;
      const key = decisionKey(d.decision.scope, d.decision.value);
      if (key === undefined) continue;
      if (this.byId.size >= this.maxDecisions) this.sweep(now);
      if (this.byId.size >= this.maxDecisions) {
        this.dropped++;
        continue;
      }
      this.byId.set(d.id, d.decision);
      const ids = this.byKey.get(key);
      if (ids) ids.add(d.id);
      else this.byKey.set(key, new Set([d.id]));
    }
  }

  private remove(id: string): void {
    const d = this.byId.get(id);
    if (!d) return;
    this.byId.delete(id);
    const key = decisionKey(d.scope, d.value);
    const ids = key === undefined ? undefined : this.byKey.get(key);
    ids?.delete(id);
    if (key !== undefined && ids?.size === 0) this.byKey.delete(key);
  }

  private sweep(now: number): void {
    for (const [id, d] of this.byId) if (d.expiresAt <= now) this.remove(id);
  }

  private schedule(delayMillis: number, generation = this.generation): void {
    if (!this.running || generation !== this.generation) return;
    this.timer = setTimeout(() => {
      this.poll(generation).catch(() => {});
    }, delayMillis);
    this.timer.unref();
  }

  private async poll(generation: number): Promise<void> {
    if (!this.running || generation !== this.generation) return;
    const started = Date.now();
    const controller = new AbortController();
    this.inFlight = controller;
    // The server answers within waitMillis; give it that plus a margin before calling it unreachable.
    const timeout = setTimeout(() => controller.abort(), this.waitMillis + 10_000);
    timeout.unref();
    try {
      const url = new URL(`${this.endpoint}/v1/decisions/stream`);
      if (this.cursor) url.searchParams.set('since', this.cursor);
      url.searchParams.set('waitMillis', String(this.waitMillis));
      const response = await getJson(
        url,
        { authorization: `Bearer ${this.token}`, accept: 'application/json' },
        controller.signal,
        this.route,
      );
      if (response.status < 200 || response.status > 299) {
        if (response.status === 400) this.cursor = undefined; // a cursor from another server, or ahead: start over
        throw new Error(`the decision stream answered ${response.status}`);
      }
      const body = response.body as { decisions?: unknown; cursor?: unknown } | undefined;
      if (body === undefined || body === null)
        throw new Error('the decision stream answered something that is not JSON');
      if (!Array.isArray(body.decisions) || typeof body.cursor !== 'string') {
        throw new Error('the decision stream answered something that is not a decision list');
      }
      // A first answer (no cursor) is the full set in force: replace what was held.
      if (this.cursor === undefined) {
        this.byId.clear();
        this.byKey.clear();
      }
      this.apply(body.decisions);
      this.cursor = body.cursor;
      this.lastSyncAt = Date.now();
      this.pollFailures = 0;
      for (const l of [...this.syncListeners]) l();
      this.schedule(Math.max(0, this.minPollIntervalMillis - (Date.now() - started)), generation);
    } catch (error) {
      if (!this.running || generation !== this.generation) return;
      this.pollFailures++;
      this.problem('unreachable', error as Error);
      const backoff = Math.min(
        this.maxBackoffMillis,
        this.initialBackoffMillis * 2 ** Math.min(this.pollFailures - 1, 20),
      );
      this.schedule(backoff / 2 + Math.random() * (backoff / 2), generation);
    } finally {
      clearTimeout(timeout);
      if (this.inFlight === controller) this.inFlight = undefined;
    }
  }

  private problem(kind: string, error: Error): void {
    if (this.options.onError) {
      try {
        this.options.onError(error);
      } catch {
        // the host's hook must not break polling
      }
      return;
    }
    if (this.warned.has(kind)) return;
    this.warned.add(kind);
    try {
      process.emitWarning(`Vigil decisions: ${error.message}`, { type: 'VigilWarning', code: 'VIGIL_DECISIONS' });
    } catch {
      // nowhere to warn
    }
  }
}

function parseDecision(raw: unknown): { id: string; status: string; decision: CachedDecision } | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.id !== 'string' || typeof r.value !== 'string' || typeof r.status !== 'string') return undefined;
  if (r.action !== 'flag' && r.action !== 'throttle' && r.action !== 'block') return undefined;
  if (r.scope !== 'ip' && r.scope !== 'prefix' && r.scope !== 'user' && r.scope !== 'api_key') return undefined;
  const expiresAt = typeof r.expiresAt === 'string' ? Date.parse(r.expiresAt) : Number.NaN;
  if (Number.isNaN(expiresAt)) return undefined;
  const rate = typeof r.ratePerMinute === 'number' && r.ratePerMinute > 0 ? r.ratePerMinute : undefined;
  return {
    id: r.id,
    status: r.status,
    decision: {
      id: r.id,
      action: r.action,
      scope: r.scope,
      value: r.value,
      expiresAt,
      ...(rate !== undefined ? { ratePerMinute: rate } : {}),
    },
  };
}

/** What to do with one request. */
export type Verdict =
  | { readonly kind: 'pass' }
  | { readonly kind: 'flag'; readonly decision: CachedDecision }
  | { readonly kind: 'block'; readonly decision: CachedDecision }
  | { readonly kind: 'throttle'; readonly decision: CachedDecision; readonly retryAfterSeconds: number };

export interface EnforcerStats extends DecisionCacheStats {
  readonly mode: EnforceMode;
  readonly blocked: number;
  readonly throttled: number;
  readonly flagged: number;
  /** In dry-run: requests that would have been blocked / throttled. */
  readonly wouldBlock: number;
  readonly wouldThrottle: number;
}

export interface EnforcerOptions {
  /** `dry-run` (default) only records what it would do; `enforce` answers 403 / 429. */
  mode?: EnforceMode;
  /** Record at most one `decision_enforced` event per decision per this interval. Default 10 000. */
  recordIntervalMillis?: number;
  /** Bound on throttle buckets held (one per throttle decision). Default 10 000. */
  maxBuckets?: number;
  /** Records a `decision_enforced` event (the adapter passes the Vigil client's `event`). */
  record?: (decision: CachedDecision, mode: EnforceMode) => void;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * Decisions → verdicts. Throttles use a token bucket per decision: `ratePerMinute` tokens a minute, with a burst of
 * ten seconds' worth.
 */
export class Enforcer {
  readonly mode: EnforceMode;
  private readonly recordIntervalMillis: number;
  private readonly maxBuckets: number;
  private readonly buckets = new Map<string, Bucket>();
  private lastBucketSweep = 0;
  private readonly lastRecorded = new Map<string, number>();
  private counts = { blocked: 0, throttled: 0, flagged: 0, wouldBlock: 0, wouldThrottle: 0 };

  constructor(
    readonly cache: DecisionCache,
    private readonly options: EnforcerOptions = {},
  ) {
    this.mode = options.mode === 'enforce' ? 'enforce' : 'dry-run';
    this.recordIntervalMillis = positive(options.recordIntervalMillis, 10_000);
    this.maxBuckets = Math.floor(positive(options.maxBuckets, 10_000, 1));
  }

  evaluate(subject: DecisionSubject, now = Date.now()): Verdict {
    const hit = this.cache.check(subject, now);
    if (!hit) return { kind: 'pass' };
    const d = hit.decision;
    if (d.action === 'flag') {
      this.counts.flagged++;
      this.record(d, now);
      return { kind: 'flag', decision: d };
    }
    if (d.action === 'block') {
      this.record(d, now);
      if (this.mode === 'dry-run') {
        this.counts.wouldBlock++;
        return { kind: 'pass' };
      }
      this.counts.blocked++;
      return { kind: 'block', decision: d };
    }
    const retryAfterSeconds = this.take(d, now);
    if (retryAfterSeconds === 0) return { kind: 'pass' };
    this.record(d, now);
    if (this.mode === 'dry-run') {
      this.counts.wouldThrottle++;
      return { kind: 'pass' };
    }
    this.counts.throttled++;
    return { kind: 'throttle', decision: d, retryAfterSeconds };
  }

  stats(now = Date.now()): EnforcerStats {
    return { ...this.cache.stats(now), mode: this.mode, ...this.counts };
  }

  /** 0 when a token was taken; otherwise the seconds until the next one. */
  private take(d: CachedDecision, now: number): number {
    const perMilli = rateOf(d) / 60_000;
    const burst = burstOf(d);
    let bucket = this.buckets.get(d.id);
    if (!bucket) {
      let tokens = burst;
      if (this.buckets.size >= this.maxBuckets) {
        // Full: first the buckets that lose nothing by going (refilled, or their decision gone), at most once a
        // second. Past that the oldest goes, and the new bucket starts empty: starting full, every request of an
        // attack spread over more subjects than there are buckets would land on a fresh burst and pass.
        if (now - this.lastBucketSweep >= 1000) this.sweepBuckets(now);
        if (this.buckets.size >= this.maxBuckets) {
          this.buckets.delete(this.buckets.keys().next().value!);
          tokens = 0;
        }
      }
      bucket = { tokens, updatedAt: now };
      this.buckets.set(d.id, bucket);
    }
    bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.updatedAt) * perMilli);
    bucket.updatedAt = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / perMilli / 1000));
  }

  private sweepBuckets(now: number): void {
    this.lastBucketSweep = now;
    for (const [id, bucket] of this.buckets) {
      const d = this.cache.get(id);
      if (d === undefined) {
        this.buckets.delete(id);
        continue;
      }
      if (bucket.tokens + ((now - bucket.updatedAt) * rateOf(d)) / 60_000 >= burstOf(d)) this.buckets.delete(id);
    }
  }

  private record(d: CachedDecision, now: number): void {
    const last = this.lastRecorded.get(d.id);
    if (last !== undefined && now - last < this.recordIntervalMillis) return;
    if (this.lastRecorded.size >= this.maxBuckets) this.lastRecorded.delete(this.lastRecorded.keys().next().value!);
    this.lastRecorded.set(d.id, now);
    try {
      this.options.record?.(d, this.mode);
    } catch {
      // recording is best effort; it never changes the verdict
    }
  }
}
