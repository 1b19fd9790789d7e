import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { activeSpanIds, parseTraceparent } from './trace-context.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('parseTraceparent', () => {
  test('a valid header gives its trace and parent span ids', () => {
    assert.deepEqual(parseTraceparent(`00-${TRACE}-${SPAN}-01`), { traceId: TRACE, spanId: SPAN });
    assert.deepEqual(parseTraceparent(` 00-${TRACE}-${SPAN}-00 `), { traceId: TRACE, spanId: SPAN });
  });

  test('a later version may carry more fields after its flags', () => {
    assert.deepEqual(parseTraceparent(`01-${TRACE}-${SPAN}-01-what-comes-next`), { traceId: TRACE, spanId: SPAN });
    assert.deepEqual(parseTraceparent(`cc-${TRACE}-${SPAN}-01`), { traceId: TRACE, spanId: SPAN });
  });

  const invalid: Record<string, string | undefined> = {
    absent: undefined,
    empty: '',
    'upper-case hex': `00-${TRACE.toUpperCase()}-${SPAN}-01`,
    'version ff': `ff-${TRACE}-${SPAN}-01`,
    'version 00 with more after its flags': `00-${TRACE}-${SPAN}-01-extra`,
    'a later version with no dash after its flags': `01-${TRACE}-${SPAN}-01x`,
    'all-zero trace id': `00-${'0'.repeat(32)}-${SPAN}-01`,
    'all-zero span id': `00-${TRACE}-${'0'.repeat(16)}-01`,
    'short trace id': `00-${TRACE.slice(1)}-${SPAN}-01`,
    'no flags': `00-${TRACE}-${SPAN}`,
    'not hex': `00-${TRACE.replace('4', 'g')}-${SPAN}-01`,
  };
  for (const [name, value] of Object.entries(invalid)) {
    test(`invalid: ${name}`, () => {
      assert.equal(parseTraceparent(value), undefined);
    });
  }
});

describe('activeSpanIds', () => {
  const SPAN_KEY = Symbol.for('OpenTelemetry Context Key SPAN');
  const contextWith = (span: unknown) => ({
    context: { active: () => ({ getValue: (k: symbol) => (k === SPAN_KEY ? span : undefined) }) },
  });

  test('without OpenTelemetry, none', () => {
    assert.equal(activeSpanIds(), undefined);
    assert.equal(activeSpanIds(undefined), undefined);
  });

  test('the active span of the registered context manager', () => {
    const api = contextWith({ spanContext: () => ({ traceId: TRACE, spanId: SPAN, traceFlags: 1 }) });
    assert.deepEqual(activeSpanIds(api), { traceId: TRACE, spanId: SPAN });
  });

  test('no span, an invalid span (all zeros, as OpenTelemetry gives outside a trace), or a context manager that throws: none', () => {
    assert.equal(activeSpanIds(contextWith(undefined)), undefined);
    const zeros = contextWith({ spanContext: () => ({ traceId: '0'.repeat(32), spanId: '0'.repeat(16) }) });
    assert.equal(activeSpanIds(zeros), undefined);
    const upper = contextWith({ spanContext: () => ({ traceId: TRACE.toUpperCase(), spanId: SPAN }) });
    assert.equal(activeSpanIds(upper), undefined);
    const broken = {
      context: {
        active: () => {
          throw new Error('broken context manager');
        },
      },
    };
    assert.equal(activeSpanIds(broken), undefined);
    assert.equal(activeSpanIds({}), undefined);
  });
});
