/**
 * Decoding the body of `POST /v1/events`: a JSON array of events, a single JSON event, or NDJSON (one event per
 * line). A malformed JSON document is refused whole (400); a malformed NDJSON line is rejected on its own, by
 * index, and the other lines go on.
 */
import type { ValidationIssue } from '@vigil/schema';
import { jsonSyntaxProblem, VigilError } from '../errors.js';

export interface DecodedBatch {
  /** Wire objects by position; `undefined` where the line could not be parsed (see `rejected`). */
  readonly items: unknown[];
  readonly rejected: { index: number; issues: ValidationIssue[] }[];
}

const NDJSON_TYPES = new Set([
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
]);

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

export function decodeEventsBody(body: Buffer, contentType: string | undefined, maxEvents: number): DecodedBatch {
  const type = mediaType(contentType);
  const text = body.toString('utf8');
  if (text.trim() === '') throw new VigilError('empty_body', 'the request body is empty: send a JSON array or NDJSON');
  if (NDJSON_TYPES.has(type)) return decodeNdjson(text, maxEvents);
  if (type !== 'application/json' && type !== '') {
    throw new VigilError(
      'unsupported_media_type',
      `Content-Type "${type}" is not accepted: use application/json (array or object) or application/x-ndjson`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new VigilError(
      'malformed_json',
      `malformed JSON: ${jsonSyntaxProblem(error)}; for one event per line use Content-Type: application/x-ndjson`,
    );
  }
  const items = Array.isArray(parsed) ? parsed : [parsed];
  if (items.length > maxEvents) {
    throw new VigilError('too_many_events', `${items.length} events in one request; the limit is ${maxEvents}`);
  }
  return { items, rejected: [] };
}

function decodeNdjson(text: string, maxEvents: number): DecodedBatch {
  const items: unknown[] = [];
  const rejected: DecodedBatch['rejected'] = [];
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '') continue;
    if (items.length >= maxEvents) {
      throw new VigilError(
        'too_many_events',
        `more than ${maxEvents} events in one request (ingest.maxEventsPerRequest)`,
      );
    }
    try {
      items.push(JSON.parse(line));
    } catch (error) {
      rejected.push({
        index: items.length,
        issues: [
          { field: '(event)', code: 'malformed_json', message: `line is not valid JSON: ${jsonSyntaxProblem(error)}` },
        ],
      });
      items.push(undefined);
    }
  }
  return { items, rejected };
}
