/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/), the `traceparent` header: `version-traceid-parentid-flags`,
 * lower-case hex. What a receiver must refuse, it is refused here, and the request then carries no trace ids (it
 * does not start a trace of its own: the SDK records, it does not propagate).
 */

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(-|$)/;
/** Version 00 is exactly this long; a later version may append fields after a `-`. */
const VERSION_00_LENGTH = 55;
const ALL_ZERO = /^0+$/;

export interface TraceIds {
  readonly traceId: string;
  readonly spanId: string;
}

/**
 * The trace and parent span ids of a `traceparent` value, or undefined when it is invalid: upper-case hex, version
 * `ff`, an all-zero trace or span id, or a version 00 value with anything after its flags.
 */
export function parseTraceparent(value: string | undefined): TraceIds | undefined {
  if (value === undefined) return undefined;
  const header = value.trim(); // optional whitespace around a header value is not part of it
  const m = TRACEPARENT.exec(header);
  if (m === null) return undefined;
  const [, version, traceId, spanId] = m as unknown as [string, string, string, string];
  if (version === 'ff') return undefined;
  if (version === '00' && header.length !== VERSION_00_LENGTH) return undefined;
  if (ALL_ZERO.test(traceId) || ALL_ZERO.test(spanId)) return undefined;
  return { traceId, spanId };
}

/**
 * Where `@opentelemetry/api` (every 1.x version) registers its globals, and the context key of the active span. Both
 * are `Symbol.for` names the API defines, so the SDK reads them without importing it.
 */
const OTEL_API = Symbol.for('opentelemetry.js.api.1');
const OTEL_SPAN_KEY = Symbol.for('OpenTelemetry Context Key SPAN');
const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;

interface OtelGlobals {
  readonly context?: { active?(): { getValue?(key: symbol): unknown } | undefined };
}

let otelApi: OtelGlobals | undefined;
let otelMisses = 0;

/**
 * OpenTelemetry's globals, looked up on the first request and then on every 1024th until found (a lookup on the
 * global object costs a few hundred nanoseconds here, as much as the rest of this module's work): an app that sets
 * OpenTelemetry up after its first requests is seen within a thousand more. Once found, the object is kept; the API
 * changes what it holds, never the object itself.
 */
function otelGlobals(): OtelGlobals | undefined {
  if (otelApi !== undefined) return otelApi;
  if ((otelMisses++ & 1023) !== 0) return undefined;
  otelApi = (globalThis as { [OTEL_API]?: OtelGlobals })[OTEL_API];
  return otelApi;
}

/**
 * The trace and span ids of the span OpenTelemetry has active in this context (the server span its HTTP
 * instrumentation opened for the request), or undefined without OpenTelemetry, without an active span, or with an
 * invalid one. Never throws. `api` is for tests: OpenTelemetry's globals.
 */
export function activeSpanIds(api = otelGlobals()): TraceIds | undefined {
  if (api === undefined) return undefined;
  try {
    const span = api.context?.active?.()?.getValue?.(OTEL_SPAN_KEY) as
      | { spanContext?(): Partial<TraceIds> }
      | undefined;
    const ids = span?.spanContext?.();
    const traceId = ids?.traceId;
    const spanId = ids?.spanId;
    if (typeof traceId !== 'string' || typeof spanId !== 'string') return undefined;
    if (!TRACE_ID.test(traceId) || !SPAN_ID.test(spanId) || ALL_ZERO.test(traceId) || ALL_ZERO.test(spanId)) {
      return undefined;
    }
    return { traceId, spanId };
  } catch {
    return undefined; // a context manager of another make that throws: no ids, never an error in the request
  }
}
