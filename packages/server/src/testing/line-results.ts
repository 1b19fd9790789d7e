/** Assertions on what an access-log parser made of a line, shared by the parsers' tests. */
import assert from 'node:assert/strict';
import { parseEvent } from '@vigil/schema';
import { type AccessLogFormat, createLineParser, type LineResult, type WireEvent } from '../ingest/access-log.js';
import type { TestServer } from './harness.js';

/** The event a line gave; fails the test with the parser's reason when it gave none. */
export function event(result: LineResult): WireEvent {
  if (!result.ok) assert.fail(`expected an event, got: ${result.reason}`);
  if (result.directive) assert.fail('expected an event, got a directive');
  return result.event;
}

/** Why a line was refused; fails the test when it gave an event. */
export function reason(result: LineResult): string {
  if (result.ok)
    assert.fail(`expected a failure, got ${result.directive ? 'a directive' : JSON.stringify(result.event)}`);
  return result.reason;
}

/** The event must also pass the schema's validation unchanged: that is what the pipeline does next. */
export function assertValid(e: WireEvent): void {
  const parsed = parseEvent(e, { now: Date.UTC(2030, 0, 1) });
  assert.ok(parsed.ok, JSON.stringify(parsed));
}

/**
 * Access-log lines as `vigil ingest` ships them: parsed here in `format`, marked with `service.name` so a test can find
 * its events, and posted as NDJSON to the server's /v1/events.
 */
export async function shipLines(
  server: TestServer,
  format: AccessLogFormat,
  service: string,
  lines: readonly string[],
): Promise<void> {
  const parse = createLineParser(format);
  const body = lines.map((line) => JSON.stringify({ ...event(parse(line)), 'service.name': service })).join('\n');
  const res = await server.post('/v1/events', body, { 'content-type': 'application/x-ndjson' });
  assert.equal(res.status, 200, await res.text());
}
