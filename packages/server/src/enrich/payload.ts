/**
 * Payload detection as an enrichment stage: finds attack payloads (SQL injection, XSS, path traversal, command
 * injection, SSRF, JNDI lookups, NoSQL operators, prototype pollution, CRLF injection) in what an event shows of its
 * request, and records which classes were found and where, so that Sigma rules can match on
 * `vigil.payload.classes|contains: sqli`. Detection itself lives in `@vigil/engine` (pure); this stage only gathers
 * the inputs.
 *
 * Looked at: `url.path`, `url.query` (split into keys and values), `http.request.referrer` and
 * `user_agent.original` (as headers), and every attribute under `vigil.inspect.` — the size-capped, redacted
 * parameter values the SDK reports (`vigil.inspect.query.q`, `vigil.inspect.body.user.name`,
 * `vigil.inspect.header.x-forwarded-host`). The stage runs on `http_request` events and on any event that carries
 * inspected parameters; it adds `vigil.payload.classes` and `vigil.payload.locations` only when something is found,
 * and leaves events that already have them alone (an SDK or an earlier run may have set them).
 */
import { type InspectedParam, inspectRequest, type PayloadClass, type PayloadLocation } from '@vigil/engine';
import { Field, type SecurityEvent } from '@vigil/schema';
import { type EnrichmentStage, withAttributes } from './stage.js';

/** Prefix of the attributes that carry inspected request parameters. */
export const INSPECT_PREFIX = 'vigil.inspect.';

const LOCATIONS: readonly PayloadLocation[] = ['query', 'body', 'header', 'path'];

export interface PayloadStageOptions {
  /** Report only these classes (default: all). */
  readonly classes?: readonly PayloadClass[];
  /** Ignore findings below this confidence, 0..1 (default 0: every finding the detectors report). */
  readonly minConfidence?: number;
  /** Most inspected parameters looked at per event (default 128); the rest are ignored. */
  readonly maxParams?: number;
}

const DEFAULT_MAX_PARAMS = 128;

/**
 * Create the payload-detection stage.
 *
 * @example
 * const stage = createPayloadStage();
 * stage.apply(event).attributes['vigil.payload.classes']; // ['sqli']
 */
export function createPayloadStage(options: PayloadStageOptions = {}): EnrichmentStage {
  const only = options.classes === undefined ? undefined : new Set<string>(options.classes);
  const minConfidence = options.minConfidence ?? 0;
  const maxParams = options.maxParams ?? DEFAULT_MAX_PARAMS;
  return {
    name: 'payload',
    apply(event: SecurityEvent): SecurityEvent {
      const attributes = event.attributes;
      if (attributes[Field.payloadClasses] !== undefined) return event;
      const params: InspectedParam[] = [];
      for (const [name, value] of Object.entries(attributes)) {
        if (params.length >= maxParams) break;
        if (!name.startsWith(INSPECT_PREFIX)) continue;
        const rest = name.slice(INSPECT_PREFIX.length);
        const dot = rest.indexOf('.');
        const location = LOCATIONS.find((l) => l === rest.slice(0, dot));
        if (dot < 0 || location === undefined) continue;
        const key = rest.slice(dot + 1);
        const values = Array.isArray(value) ? value : [value];
        for (const v of values) if (typeof v === 'string') params.push({ location, key, value: v });
      }
      if (event.type !== 'http_request' && params.length === 0) return event;
      const path = attributes[Field.urlPath];
      const query = attributes[Field.urlQuery];
      const userAgent = attributes[Field.userAgentOriginal];
      const referrer = attributes[Field.httpRequestReferrer];
      const inspectedHeaders = new Set(params.filter((p) => p.location === 'header').map((p) => p.key));
      if (typeof userAgent === 'string' && !inspectedHeaders.has('user-agent')) {
        params.push({ location: 'header', key: 'user-agent', value: userAgent });
      }
      if (typeof referrer === 'string' && !inspectedHeaders.has('referer')) {
        params.push({ location: 'header', key: 'referer', value: referrer });
      }
      const result = inspectRequest({
        ...(typeof path === 'string' ? { path } : {}),
        ...(typeof query === 'string' ? { query } : {}),
        params,
      });
      const kept = result.findings.filter(
        (f) => f.confidence >= minConfidence && (only === undefined || only.has(f.class)),
      );
      if (kept.length === 0) return event;
      return withAttributes(event, {
        [Field.payloadClasses]: [...new Set(kept.map((f) => f.class))].sort(),
        [Field.payloadLocations]: [...new Set(kept.map((f) => f.location))].sort(),
      });
    },
  };
}
