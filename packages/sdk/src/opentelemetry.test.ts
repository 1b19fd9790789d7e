import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, test } from 'node:test';
import { context, propagation, ROOT_CONTEXT, type Span, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import express from 'express';
import { vigilErrorHandler, vigilExpress } from './adapters/express.js';
import { useTestApp } from './testing/app.js';

// A real OpenTelemetry setup (API, async-hooks context manager, the SDK's tracer, the W3C propagator), registered
// globally for this test file's process. The app's listener does what OpenTelemetry's HTTP instrumentation does for
// an incoming request: extract the caller's context, start a server span, run the request in its context.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(new BasicTracerProvider());
const tracer = trace.getTracer('vigil-sdk-test');

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

describe('OpenTelemetry: events carry the active server span', () => {
  /** The server span of each request, by its x-request-id. */
  const spans = new Map<string, Span>();
  const app = useTestApp({}, (vigil) => {
    const api = express();
    api.use(vigilExpress(vigil));
    api.get('/orders/:id', async (req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 1)); // across an await, as the context manager must carry it
      vigil.authz.fail('alice', `order:${req.params.id}`);
      res.status(403).json({ error: 'forbidden' });
    });
    api.use(vigilErrorHandler(vigil));
    return createServer((req, res) => {
      if (req.headers['x-no-span'] !== undefined) return api(req, res);
      const parent = propagation.extract(ROOT_CONTEXT, req.headers);
      const span = tracer.startSpan('GET', { kind: SpanKind.SERVER }, parent);
      spans.set(String(req.headers['x-request-id']), span);
      res.on('finish', () => span.end());
      context.with(trace.setSpan(parent, span), () => api(req, res));
    });
  });

  test('a new trace: the request and the helper event carry the server span it started', async () => {
    const events = await app.receiver.call(app.url, '/orders/7', 'otel-1');
    const ids = spans.get('otel-1')!.spanContext();
    // The helper's authz_fail stands for the 403's too (one per request).
    assert.deepEqual(events.map((e) => e.type).sort(), ['authz_fail', 'http_request']);
    for (const event of events) {
      assert.equal(event['trace.id'], ids.traceId, String(event.type));
      assert.equal(event['span.id'], ids.spanId, String(event.type));
    }
  });

  test("a caller's traceparent: the caller's trace id, the server span's id (not the caller's)", async () => {
    const events = await app.receiver.call(app.url, '/orders/8', 'otel-2', {
      headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
    });
    const request = events.find((e) => e.type === 'http_request')!;
    assert.equal(request['trace.id'], CALLER_TRACE);
    assert.equal(request['span.id'], spans.get('otel-2')!.spanContext().spanId);
    assert.notEqual(request['span.id'], CALLER_SPAN);
  });

  test('no active span (a request outside any span): the traceparent header, as without OpenTelemetry', async () => {
    const events = await app.receiver.call(app.url, '/orders/9', 'otel-3', {
      headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`, 'x-no-span': '1' },
    });
    const request = events.find((e) => e.type === 'http_request')!;
    assert.equal(request['trace.id'], CALLER_TRACE);
    assert.equal(request['span.id'], CALLER_SPAN);
  });
});
