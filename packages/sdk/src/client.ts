/**
 * `createVigil`: the client. It owns the event builder (envelope, request metadata, redaction, serialisation), the
 * sink the events go to, the request handler the adapters call, and the vocabulary helpers.
 *
 * Nothing here throws into the host: every public method is guarded, and problems go to `onError` (or a single
 * warning per kind of problem).
 */
import {
  EVENT_TYPES_BY_NAME,
  Field,
  type FieldValue,
  isKnownEventType,
  isoTime,
  PARSE_DEFAULTS,
  uuidv7,
} from '@vigil/schema';
import { type WrapOptions, wrap as wrapNodeHandler } from './adapters/node.js';
import type { NodeRequestLike, NodeResponseLike } from './adapters/shared.js';
import { currentRequest, requestThrownFrom } from './context.js';
import type { DropReason } from './drops.js';
import { FieldEncoder, jsonString, jsonValue, quote } from './encode.js';
import type { ExitJob } from './exit-delivery.js';
import { idHasher } from './fingerprint.js';
import { type ResolvedOptions, reportInvalid, resolveOptions, type VigilOptions } from './options.js';
import { createTrustedProxies } from './proxy.js';
import { createRedactor, type Redactor } from './redact.js';
import { Reporter } from './report.js';
import { RequestHandler, type RequestState } from './request.js';
import { registerForShutdown, unregisterForShutdown } from './shutdown.js';
import { DisabledSink, StdoutSink } from './stdout.js';
import { attachTracker } from './tracker.js';
import { HttpTransport, type Sink, type SinkStats } from './transport.js';
import { createVocabularyHelpers, type ExtraFields, errorFields, type VocabularyHelpers } from './vocabulary.js';

export interface VigilStats extends SinkStats {
  /** `disabled` when endpoint or token was missing in http mode; `memory` for the test kit's client. */
  readonly mode: 'http' | 'stdout' | 'disabled' | 'memory';
}

export interface Vigil extends VocabularyHelpers {
  /** False when the client runs disabled (see `stats().mode`). */
  readonly enabled: boolean;
  /**
   * Record any event type of the catalogue, or a custom `x_` type, with fields under their dotted names.
   *
   * @example
   * vigil.event('x_coupon_redeemed', { 'user.id': '4711', coupon: 'SPRING' });
   */
  event(type: string, fields?: ExtraFields): void;
  /** Queue, delivery and drop counters. */
  stats(): VigilStats;
  /** Send what is queued now. Never rejects. */
  flush(): Promise<void>;
  /** Flush and stop, bounded by `closeTimeoutMillis`. Events recorded afterwards are dropped (`shutdown`). */
  close(): Promise<void>;
  /** Wrap a node:http request listener (same as `wrap` from `@vigil/sdk/node`). */
  wrap<Req extends NodeRequestLike, Res extends NodeResponseLike, R>(
    handler: (req: Req, res: Res) => R,
    options?: WrapOptions<Req>,
  ): (req: Req, res: Res) => R;
}

/** The fields every line carries, outside the event's own fields. */
const ENVELOPE = new Set(['id', 'time', 'type']);

/**
 * Create a client. Never throws: a missing endpoint or token warns once and returns a disabled client.
 *
 * @example
 * const vigil = createVigil({ endpoint: 'http://127.0.0.1:7070', service: 'checkout-api' }); // token from VIGIL_INGEST_TOKEN
 * app.use(vigilExpress(vigil));
 * vigil.authn.loginFail(username, { reason: 'bad_password', userExists: true });
 */
export function createVigil(options: VigilOptions = {}): Vigil {
  const reporter = reporterFor(options);
  try {
    return new VigilClient(resolveOptions(options ?? {}, reporter), options ?? {}, reporter);
  } catch (error) {
    reporter.error('internal', 'could not create the client; Vigil is disabled', error);
    return new VigilClient(
      resolveOptions({ mode: 'http', endpoint: '', token: '' }, new Reporter(() => {}, false)),
      {},
      reporter,
    );
  }
}

/** Where a client reports its problems: the options' `onError` and `debug`, read defensively (options may be anything). */
function reporterFor(options: VigilOptions | null | undefined): Reporter {
  return new Reporter(typeof options?.onError === 'function' ? options.onError : undefined, options?.debug === true);
}

/**
 * A client whose events go to the sink `makeSink` returns, for the test kit (test-kit.ts); not exported by index.ts.
 * Options resolve as in stdout mode (no endpoint or token needed), and events are encoded as for the collector.
 */
export function createVigilWithSink(
  options: VigilOptions,
  makeSink: (reporter: Reporter, resolved: ResolvedOptions) => Sink,
): Vigil {
  const reporter = reporterFor(options);
  const resolved: ResolvedOptions = { ...resolveOptions({ ...options, mode: 'stdout' }, reporter), mode: 'memory' };
  return new VigilClient(resolved, options, reporter, makeSink(reporter, resolved));
}

class VigilClient implements Vigil {
  readonly enabled: boolean;
  readonly authn!: VocabularyHelpers['authn'];
  readonly authz!: VocabularyHelpers['authz'];
  readonly excess!: VocabularyHelpers['excess'];
  readonly upload!: VocabularyHelpers['upload'];
  readonly input!: VocabularyHelpers['input'];
  readonly malicious!: VocabularyHelpers['malicious'];
  readonly privilege!: VocabularyHelpers['privilege'];
  readonly sensitive!: VocabularyHelpers['sensitive'];
  readonly sequence!: VocabularyHelpers['sequence'];
  readonly session!: VocabularyHelpers['session'];
  readonly sys!: VocabularyHelpers['sys'];
  readonly user!: VocabularyHelpers['user'];
  readonly payment!: VocabularyHelpers['payment'];
  readonly account!: VocabularyHelpers['account'];
  readonly data!: VocabularyHelpers['data'];
  readonly app!: VocabularyHelpers['app'];
  readonly access!: VocabularyHelpers['access'];

  private readonly sink: Sink;
  private readonly redactor: Redactor;
  private readonly requests: RequestHandler;
  private readonly envelope: Record<string, FieldValue>;
  /** `envelope` as a JSON fragment, written into every line. */
  private readonly envelopeJson: string;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly options: ResolvedOptions,
    raw: VigilOptions,
    private readonly reporter: Reporter,
    sink?: Sink,
  ) {
    this.enabled = options.mode !== 'disabled';
    this.redactor = createRedactor({ keys: options.redact });
    this.envelope = { [Field.serviceName]: options.service };
    if (options.serviceVersion) this.envelope[Field.serviceVersion] = options.serviceVersion;
    if (options.environment) this.envelope[Field.deploymentEnvironmentName] = options.environment;
    this.envelopeJson = new FieldEncoder(this.redactor).fields(this.envelope);

    const { proxies, invalid } = createTrustedProxies(options.trustedProxies, options.forwardedHeader);
    if (invalid.length > 0) {
      reportInvalid(
        reporter,
        'trustedProxies',
        `trustedProxies: ignoring entries that are not IPs or CIDRs: ${invalid.join(', ')}`,
      );
    }
    const hashId = idHasher(options.hashKey);
    this.requests = new RequestHandler({
      proxies,
      noTrustedProxies: options.trustedProxies.length === 0,
      redactor: this.redactor,
      reporter,
      identify: typeof raw.identify === 'function' ? raw.identify : undefined,
      sessionCookies: options.sessionCookies,
      loginRoutes: options.loginRoutes,
      automaticEvents: options.automaticEvents,
      recordRequests: options.recordRequests,
      skipPaths: options.skipPaths,
      graphqlPaths: options.graphqlPaths,
      accessParams: options.accessParams,
      hashObjectIds: options.hashObjectIds,
      hashId,
      inspect: options.inspect,
      inspectLimits: {
        headers: options.inspectHeaders,
        maxValueChars: options.inspectMaxValueChars,
        maxRequestChars: options.inspectMaxRequestChars,
        maxFields: options.inspectMaxFields,
      },
      emit: (type, fields, state) => this.record(type, fields, state),
      emitRequest: (state, fields) => this.recordRequest(state, fields),
    });

    const dropEvent = (reason: DropReason, count: number) =>
      this.serialise('sdk_drops', { [Field.dropReason]: reason, [Field.dropCount]: count }) ?? '';
    if (sink !== undefined) {
      this.sink = sink;
    } else if (options.mode === 'http' && options.endpoint && options.token) {
      this.sink = new HttpTransport({
        ...options,
        endpoint: options.endpoint,
        token: options.token,
        dropEvent,
        reporter,
      });
    } else if (options.mode === 'stdout') {
      this.sink = new StdoutSink(dropEvent);
    } else {
      this.sink = new DisabledSink();
    }

    const helpers = createVocabularyHelpers((type, fields, extra) => this.record(type, fields, undefined, extra), {
      hashObjectIds: options.hashObjectIds,
      hashId,
    });
    Object.assign(
      this,
      guard(helpers, reporter, () => this.sink.countDrop('internal')),
    );

    if (this.enabled) {
      attachTracker(this, {
        inspectsParams: options.inspect === 'params',
        readsParams: options.inspect === 'params' || options.accessParams !== false,
        start: (view, request, resolver) => {
          try {
            if (this.closing) return undefined;
            // Mounted twice (on an app and its sub-app, a plugin registered twice): the request is tracked once.
            const current = currentRequest();
            if (current !== undefined && current.raw === request && current.trackedBy(this.requests)) return undefined;
            return this.requests.start(view, request, resolver);
          } catch (error) {
            reporter.error('internal', 'could not start tracking a request', error);
            return undefined;
          }
        },
        finish: (state, response) => {
          try {
            this.requests.finish(state, response);
          } catch (error) {
            this.sink.countDrop('internal');
            reporter.error('internal', 'could not record a request', error);
          }
        },
        warnOnce: (code, message) => reporter.warnOnce(code, message),
      });
      if (options.flushOnExit) registerForShutdown(this);
    }
  }

  event(type: string, fields: ExtraFields = {}): void {
    try {
      if (typeof type !== 'string' || !isKnownEventType(type)) {
        // The collector would refuse it (code `unknown_type`): counted and told like an event missing an argument.
        this.sink.countDrop('rejected');
        this.reporter.error(
          'events_rejected',
          `vigil.event(): unknown event type ${JSON.stringify(String(type).slice(0, 64))} was not sent; use a type ` +
            'of the vocabulary (docs/events.md) or a custom type starting with "x_"; it is dropped (counted as ' +
            'rejected)',
        );
        return;
      }
      this.record(type, {}, undefined, typeof fields === 'object' && fields !== null ? fields : {});
    } catch (error) {
      this.sink.countDrop('internal');
      this.reporter.error('internal', 'could not record an event', error);
    }
  }

  stats(): VigilStats {
    return { mode: this.options.mode, ...this.sink.stats() };
  }

  flush(): Promise<void> {
    try {
      return this.sink.flush().catch(() => {});
    } catch {
      return Promise.resolve();
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      unregisterForShutdown(this);
      try {
        await this.sink.close(this.options.closeTimeoutMillis);
      } catch (error) {
        this.reporter.error('internal', 'could not close the transport', error);
      }
    })();
    return this.closing;
  }

  wrap<Req extends NodeRequestLike, Res extends NodeResponseLike, R>(
    handler: (req: Req, res: Res) => R,
    options?: WrapOptions<Req>,
  ): (req: Req, res: Res) => R {
    return wrapNodeHandler(this, handler, options);
  }

  /** For shutdown.ts, when the process exits without `close()`: stop, and hand over what is left to send. */
  exitJob(): ExitJob | undefined {
    if (this.closing) return undefined;
    this.closing = Promise.resolve();
    return this.sink.exitJob?.(this.options.closeTimeoutMillis);
  }

  /**
   * For shutdown.ts: an error nothing handled is ending the process. Recorded as `sys_crash`, attached to the request
   * it was thrown in when there is one (the class and a fingerprint of its stack, never its message).
   */
  recordCrash(error: unknown, origin: string): void {
    this.record(
      'sys_crash',
      {
        [Field.eventReason]: origin === 'unhandledRejection' ? 'unhandled_rejection' : 'uncaught_exception',
        [Field.eventOutcome]: 'failure',
        ...errorFields(error),
      },
      currentRequest() ?? requestThrownFrom(error),
    );
  }

  /**
   * Build, redact and queue one event, attached to the current request (or the one given). `fields` are the event's
   * own (a helper's arguments); `extra` are the caller's further fields, which never replace them and are the first
   * to go when the event would carry more fields than the collector takes.
   */
  private record(
    type: string,
    fields: Record<string, unknown>,
    state: RequestState | undefined = currentRequest(),
    extra?: Readonly<Record<string, unknown>>,
  ) {
    if (!this.enabled) return;
    try {
      // The request's start fields were redacted when it started; only what is new is redacted here. The call's
      // fields, flattened (`{ user: { id } }` is `user.id`), win over the request's route and principal.
      const own = this.redactor.fields(fields);
      const added: string[] = [];
      if (extra !== undefined) {
        const more = this.redactor.fields(extra);
        for (const key of Object.keys(more)) {
          if (key in own) continue;
          own[key] = more[key]!;
          added.push(key);
        }
      }
      if (state) {
        const late = this.redactor.fields(state.lateMetadata());
        for (const key of Object.keys(late)) if (!(key in own)) own[key] = late[key]!;
      }
      if (added.length > 0) this.fitFields(own, added, state?.fields);
      // Checked on what will be sent: a value redaction drops (NaN, a function) is as missing as no value.
      const missing = missingArgument(type, own, state?.fields);
      if (missing !== undefined) {
        // The collector would refuse it (code `missing`); in stdout mode nothing would.
        this.sink.countDrop('rejected');
        this.reporter.error(
          'events_rejected',
          `a ${type} event needs ${missing.field} (argument "${missing.name}"), and ` +
            (state ? 'neither the call nor its request gave it' : 'was recorded outside a request without it') +
            '; it is dropped (counted as rejected)',
        );
        return;
      }
      const line = this.serialiseSafe(type, own, state?.fields);
      if (line !== undefined) this.sink.enqueue(line);
      state?.noteRecorded(type);
    } catch (error) {
      this.sink.countDrop('internal');
      this.reporter.error('internal', `could not record a ${type} event`, error);
    }
  }

  /**
   * Drop the caller's fields (`added`, the last first) until the event has no more fields than the collector takes
   * (`PARSE_DEFAULTS.maxFields`, the request's and the client's own counted), marking it `vigil.truncated`: an event
   * with one field too many would be refused whole.
   */
  private fitFields(
    own: Record<string, FieldValue>,
    added: string[],
    base: Readonly<Record<string, FieldValue>> | undefined,
  ): void {
    let count = 0;
    for (const key in own) if (!ENVELOPE.has(key) && !(key in this.envelope)) count++;
    for (const key in base) if (!(key in own) && !ENVELOPE.has(key) && !(key in this.envelope)) count++;
    for (const key in this.envelope) if (!(key in own)) count++;
    const limit = PARSE_DEFAULTS.maxFields - (Field.truncated in own ? 0 : 1);
    if (count <= PARSE_DEFAULTS.maxFields) return;
    while (count > limit && added.length > 0) {
      const key = added.pop()!;
      delete own[key];
      // A field that replaced one of the request's is not one fewer.
      if (!(base !== undefined && key in base)) count--;
    }
    own[Field.truncated] = true;
  }

  /**
   * Queue a request's `http_request` event: the request path's one event, so it is written straight from the
   * fragments the request handler encoded (start fields, route and principal, the response's fields).
   */
  private recordRequest(state: RequestState, fields: string): void {
    try {
      const line = this.line('http_request', `${state.startJson}${this.requests.lateJson(state)}${fields}`);
      this.sink.enqueue(line, true);
      state.noteRecorded('http_request');
    } catch (error) {
      this.sink.countDrop('internal');
      this.reporter.error('internal', 'could not record a http_request event', error);
    }
  }

  /**
   * One event as a JSON line. `fields` are redacted here; `base` holds fields this client already redacted (the
   * request's start fields), which `fields` override.
   */
  private serialise(
    type: string,
    fields: Record<string, unknown>,
    base?: Readonly<Record<string, FieldValue>>,
  ): string | undefined {
    return this.serialiseSafe(type, this.redactor.fields(fields), base);
  }

  /** `serialise` for fields already redacted and flattened. */
  private serialiseSafe(
    type: string,
    safe: Readonly<Record<string, FieldValue>>,
    base?: Readonly<Record<string, FieldValue>>,
  ): string | undefined {
    let json = '';
    for (const key in base) {
      if (!(key in safe) && !(key in this.envelope) && !ENVELOPE.has(key))
        json += `,${quote(key)}:${jsonValue(base[key])}`;
    }
    for (const key in safe) {
      if (!ENVELOPE.has(key) && !(key in this.envelope)) json += `,${quote(key)}:${jsonValue(safe[key])}`;
    }
    return this.line(type, json, safe);
  }

  /**
   * The line of an event: its id, time and type, the client's envelope (unless `own` sets those fields) and the
   * fields' fragment. In stdout mode, the OWASP envelope is added.
   */
  private line(type: string, fields: string, own?: Readonly<Record<string, FieldValue>>): string {
    let envelope = this.envelopeJson;
    if (own !== undefined) {
      envelope = '';
      for (const key in this.envelope)
        envelope += `,${quote(key)}:${jsonValue((key in own ? own : this.envelope)[key])}`;
    }
    const json = `{"id":"${uuidv7()}","time":"${isoTime(Date.now())}","type":${quote(type)}${envelope}${fields}}`;
    if (this.options.mode !== 'stdout') return json;
    // The OWASP envelope's `event` repeats field values as the line has them (redacted): read back once, and the
    // envelope appended as text. An event with a field of an envelope name has it replaced, as the catalogue says.
    const event = JSON.parse(json) as Record<string, unknown>;
    const owasp = owaspEnvelope(type, event, this.options.service);
    if (!OWASP_ENVELOPE.some((name) => name in event)) return `${json.slice(0, -1)}${owasp}}`;
    for (const name of OWASP_ENVELOPE) delete event[name];
    return `${JSON.stringify(event).slice(0, -1)}${owasp}}`;
  }
}

/** The required arguments of each catalogue type (none for custom `x_` types). */
const requiredArguments = new Map(
  [...EVENT_TYPES_BY_NAME].map(([type, definition]) => [type, definition.args.filter((a) => a.required)]),
);

/**
 * The first required argument of `type` that neither the event's fields nor its request's carry: checked before
 * queueing, so that a helper called without what its event needs (`authz.admin(null, ...)` outside a request) is
 * reported where it happened, in stdout mode too.
 */
function missingArgument(
  type: string,
  fields: Readonly<Record<string, unknown>>,
  base: Readonly<Record<string, unknown>> | undefined,
): { readonly name: string; readonly field: string } | undefined {
  for (const a of requiredArguments.get(type) ?? []) {
    if ((fields[a.field] ?? base?.[a.field]) == null) return a;
  }
  return undefined;
}

/** The fields of the OWASP Logging Vocabulary envelope, as `owaspEnvelope` writes them. */
const OWASP_ENVELOPE = ['datetime', 'appid', 'event', 'level', 'description'] as const;

/**
 * Per event type: the fields of each argument position of the catalogue's pattern (`userid|ip` is one position, either
 * field), and the envelope's constant end (`level`, `description`).
 */
interface EnvelopeParts {
  /** Per position of the pattern, the fields that may fill it (`userid|ip`: either). */
  readonly slots: ReadonlyArray<readonly string[]>;
  /** Between positions: `,`, or `:` where the pattern pairs two. */
  readonly separators: readonly string[];
  /** `level` and `description`, and the `level` of a failure where the type has one of its own. */
  readonly tail: string;
  readonly failureTail: string | undefined;
}

const envelopeParts = new Map<string, EnvelopeParts>();
const MAX_ENVELOPE_TYPES = 1024;

/** What would make `type:a,b` ambiguous inside one argument: its separators, spaces (list items) and `%` itself. */
const ENVELOPE_SPECIAL = /[%,:\s]/g;

/** One argument of `event`, percent-encoded where it holds a separator: `ann,admin:x` → `ann%2Cadmin%3Ax`. */
function envelopeArg(value: unknown): string {
  return String(value).replace(ENVELOPE_SPECIAL, encodeURIComponent);
}

/**
 * The envelope of the OWASP Logging Vocabulary cheat sheet, for stdout lines, as a JSON fragment (`,"datetime":…`):
 * `event` is `type:arg1,arg2` with one position per argument of the catalogue's pattern, in its order. A missing
 * argument leaves its position empty (`authz_fail:,GET%20/admin`), so the others keep theirs; empty positions at the
 * end are left out.
 */
function owaspEnvelope(type: string, event: Record<string, unknown>, service: string): string {
  let parts = envelopeParts.get(type);
  if (parts === undefined) {
    const definition = EVENT_TYPES_BY_NAME.get(type);
    const fieldOf = new Map((definition?.args ?? []).map((a) => [a.name, a.field]));
    const pattern = definition?.pattern ?? '';
    const colon = pattern.indexOf(':');
    // Positions are separated by `,`, and by `:` where the cheat sheet pairs two (`validator:result`).
    const tokens = colon === -1 ? [] : pattern.slice(colon + 1).split(/([,:])/);
    const description = `,"description":${jsonString(definition?.description ?? type)}`;
    parts = {
      slots: tokens
        .filter((_, i) => i % 2 === 0)
        .map((slot) => slot.split('|').flatMap((name) => fieldOf.get(name) ?? [])),
      separators: tokens.filter((_, i) => i % 2 === 1),
      tail: `,"level":${jsonString(definition?.level ?? 'INFO')}${description}`,
      failureTail:
        definition?.levelOnFailure === undefined
          ? undefined
          : `,"level":${jsonString(definition.levelOnFailure)}${description}`,
    };
    // Custom `x_` types are the app's to name: remembered up to a bound.
    if (envelopeParts.size < MAX_ENVELOPE_TYPES) envelopeParts.set(type, parts);
  }
  const args: string[] = [];
  for (const fields of parts.slots) {
    const field = fields.find((f) => event[f] !== undefined);
    const value = field === undefined ? undefined : event[field];
    args.push(value === undefined ? '' : Array.isArray(value) ? value.map(envelopeArg).join(' ') : envelopeArg(value));
  }
  while (args.length > 0 && args[args.length - 1] === '') args.pop();
  let name = type;
  for (let i = 0; i < args.length; i++) name += `${i === 0 ? ':' : parts.separators[i - 1]}${args[i]}`;
  const tail =
    parts.failureTail !== undefined && event[Field.eventOutcome] === 'failure' ? parts.failureTail : parts.tail;
  return `,"datetime":${jsonValue(event.time as string)},"appid":${jsonString(service)},"event":${jsonString(name)}${tail}`;
}

/**
 * Wrap every function of a helper tree so that nothing a caller passes can make it throw; an event lost that way is
 * reported and counted (`lost`).
 */
function guard<T extends object>(tree: T, reporter: Reporter, lost: () => void, prefix = 'vigil'): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(tree)) {
    if (typeof value === 'function') {
      out[key] = (...args: unknown[]) => {
        try {
          (value as (...a: unknown[]) => unknown)(...args);
        } catch (error) {
          lost();
          reporter.error('internal', `${prefix}.${key}() could not record its event`, error);
        }
      };
    } else if (typeof value === 'object' && value !== null) {
      out[key] = guard(value, reporter, lost, `${prefix}.${key}`);
    }
  }
  return out as T;
}
