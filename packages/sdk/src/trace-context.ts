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
