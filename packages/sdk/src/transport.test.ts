import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { wrap } from './adapters/node.js';
import { createVigil, type VigilOptions } from './index.js';
import type { VigilSdkError } from './report.js';
import { fastClientOptions, Receiver, TEST_TOKEN } from './testing/receiver.js';
import { backoffMillis, parseRetryAfter } from './transport.js';

/** Options for a client that talks to `receiver` with test-sized timings. */
function fast(receiver: Receiver, extra: VigilOptions = {}): VigilOptions {
  return fastClientOptions(receiver.url, { service: 'transport-test', ...extra });
}

/** The `sdk_drops` reports `receiver` has taken, as [reason, count] pairs in the order they came. */
function dropReports(receiver: Receiver): Array<[unknown, unknown]> {
  return receiver.events
    .filter((e) => e.type === 'sdk_drops')
    .map((e): [unknown, unknown] => [e['vigil.drop.reason'], e['vigil.drop.count']]);
}

describe('transport', () => {
  let receiver: Receiver;
  before(async () => {
    receiver = await Receiver.start();
  });
  after(() => receiver.close());

  test('with gzip on, sends NDJSON batches of at most maxBatchSize, gzipped, with the bearer token', async () => {
    receiver.requests.length = 0;
    const vigil = createVigil(fast(receiver, { maxBatchSize: 3, gzip: true }));
    for (let i = 0; i < 7; i++) vigil.event('x_test', { n: i });
    await vigil.close();
    assert.deepEqual(
      receiver.requests.map((r) => r.events.length),
      [3, 3, 1],
    );
    const first = receiver.requests[0]!;
    assert.equal(first.method, 'POST');
    assert.equal(first.url, '/v1/events');
    assert.equal(first.headers['content-type'], 'application/x-ndjson');
    assert.equal(first.headers['content-encoding'], 'gzip');
    assert.equal(first.headers.authorization, `Bearer ${TEST_TOKEN}`);
    assert.equal(first.raw[0], 0x1f, 'gzip magic number');
    assert.deepEqual(
      receiver.events.map((e) => e.n),
      [0, 1, 2, 3, 4, 5, 6],
      'in order',
    );
    const e = receiver.events[0]!;
    assert.equal(e.type, 'x_test');
    assert.equal(e['service.name'], 'transport-test');
    assert.match(String(e.time), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.match(String(e.id), /^[0-9a-f-]{36}$/);
    assert.equal(vigil.stats().sent, 7);
  });

  test('sends plain NDJSON by default (gzip is off)', async () => {
    receiver.requests.length = 0;
    const vigil = createVigil(fast(receiver));
    vigil.event('x_test', { n: 1 });
    vigil.event('x_test', { n: 2 });
    await vigil.close();
    assert.equal(receiver.requests.length, 1);
    assert.equal(receiver.requests[0]!.headers['content-encoding'], undefined);
    assert.equal(receiver.requests[0]!.raw.toString().split('\n').filter(Boolean).length, 2);
  });

  test('a partial batch goes out after flushIntervalMillis without a flush', async () => {
    receiver.requests.length = 0;
    const vigil = createVigil(fast(receiver, { flushIntervalMillis: 20 }));
    vigil.event('x_test', { n: 1 });
    await receiver.waitFor(() => receiver.events.length === 1, 2000);
    await vigil.close();
  });

  test('retries 5xx with backoff and delivers', async () => {
    receiver.requests.length = 0;
    receiver.respond = (_r, i) => (i < 2 ? { status: 500 } : undefined);
    const vigil = createVigil(fast(receiver));
    vigil.event('x_test', { n: 1 });
    await vigil.flush();
    receiver.respond = () => undefined;
    assert.equal(receiver.requests.length, 3);
    assert.equal(receiver.events.length, 1);
    assert.equal(vigil.stats().retries, 2);
    await vigil.close();
  });

  test('honours Retry-After on 429 and 503 over its own shorter backoff', async () => {
    receiver.requests.length = 0;
    receiver.respond = (_r, i) => (i === 0 ? { status: 503, headers: { 'retry-after': '1' } } : undefined);
    const vigil = createVigil(fast(receiver, { maxBackoffMillis: 5000 }));
    vigil.event('x_test', { n: 1 });
    await vigil.flush();
    receiver.respond = () => undefined;
    assert.equal(receiver.requests.length, 2);
    const gap = receiver.requests[1]!.at - receiver.requests[0]!.at;
    assert.ok(gap >= 950, `waited ${gap} ms, Retry-After asked for 1000`);
    await vigil.close();
  });

  test('does not retry 401: counts the batch as auth drops and warns once', async () => {
    receiver.requests.length = 0;
    const errors: VigilSdkError[] = [];
    const vigil = createVigil(fast(receiver, { token: 'wrong', onError: (e) => errors.push(e) }));
    vigil.event('x_test', { n: 1 });
    vigil.event('x_test', { n: 2 });
    await vigil.flush();
    vigil.event('x_test', { n: 3 });
    await vigil.flush();
    assert.equal(receiver.requests.length, 2, 'one request per batch, no retries');
    assert.equal(vigil.stats().dropped.auth, 3);
    assert.equal(errors.filter((e) => e.code === 'auth_rejected').length, 1);
    await vigil.close();
  });

  test('a password in the endpoint URL is never shown in what the client reports', async () => {
    const errors: VigilSdkError[] = [];
    const notFound = createServer((req, res) => req.resume().on('end', () => res.writeHead(404).end()));
    notFound.listen(0, '127.0.0.1');
    await once(notFound, 'listening');
    const { port } = notFound.address() as AddressInfo;
    try {
      for (const endpoint of [`http://ann:s3cr3tpw@127.0.0.1:${port}/`, 'ftp://ann:s3cr3tpw@127.0.0.1/']) {
        const vigil = createVigil(fast(receiver, { endpoint, maxRetries: 0, onError: (e) => errors.push(e) }));
        vigil.event('x_test', { n: 1 });
        await vigil.flush();
        await vigil.close();
      }
    } finally {
      notFound.close();
    }
    const codes = errors.map((e) => e.code);
    assert.ok(codes.includes('config_invalid'), codes.join());
    assert.ok(
      codes.some((c) => c === 'endpoint_rejected' || c === 'delivery_failed'),
      codes.join(),
    );
    for (const e of errors) {
      assert.ok(!e.message.includes('s3cr3tpw'), e.message);
      if (e.message.includes('ann:')) assert.match(e.message, /ann:\[REDACTED\]@/);
    }
  });

  test('counts per-event rejections of a 200 and a 422 as rejected', async () => {
    receiver.requests.length = 0;
    const errors: VigilSdkError[] = [];
    const vigil = createVigil(fast(receiver, { onError: (e) => errors.push(e) }));
    // authn_login_success requires user.id: the receiver's validator rejects it.
    vigil.event('authn_login_success', {});
    vigil.event('x_test', { n: 1 });
    await vigil.flush();
    assert.equal(vigil.stats().dropped.rejected, 1);
    assert.equal(receiver.events.filter((e) => e.type === 'x_test').length, 1);
    vigil.event('authn_login_success', {});
    await vigil.flush();
    assert.equal(vigil.stats().dropped.rejected, 2, 'the 422 of a batch with only invalid events');
    assert.ok(errors.some((e) => e.code === 'events_rejected' && e.message.includes('user.id')));
    await vigil.close();
  });

  test('splits a batch on 413 and drops only an event that is too large alone', async () => {
    receiver.requests.length = 0;
    receiver.respond = (r) => (r.text.split('\n').filter(Boolean).length > 2 ? { status: 413 } : undefined);
    const vigil = createVigil(fast(receiver));
    for (let i = 0; i < 5; i++) vigil.event('x_test', { n: i });
    await vigil.flush();
    receiver.respond = () => undefined;
    assert.deepEqual(receiver.events.map((e) => e.n).sort(), [0, 1, 2, 3, 4]);
    assert.equal(vigil.stats().dropped.too_large, 0);
    await vigil.close();
  });

  test('drops events larger than maxEventBytes before sending', async () => {
    receiver.requests.length = 0;
    const heard: VigilSdkError[] = [];
    const vigil = createVigil(fast(receiver, { maxEventBytes: 1024, onError: (e) => heard.push(e) }));
    vigil.event('x_test', { big: 'x'.repeat(4000) });
    vigil.event('x_test', { small: 'y' });
    await vigil.close();
    assert.match(heard[0]?.message ?? '', /a x_test event of \d+ bytes is over maxEventBytes/);
    assert.deepEqual(
      receiver.events.map((e) => e.type),
      ['x_test', 'sdk_drops'],
    );
    assert.equal(receiver.events[1]!['vigil.drop.reason'], 'too_large');
    assert.equal(vigil.stats().dropped.too_large, 1);
  });

  test('drops counted while nothing else is queued are reported by close() and flush()', async () => {
    for (const end of ['close', 'flush'] as const) {
      receiver.requests.length = 0;
      const vigil = createVigil(fast(receiver, { maxEventBytes: 1024 }));
      vigil.event('x_test', { big: 'x'.repeat(4000) });
      await (end === 'close' ? vigil.close() : vigil.flush());
      assert.deepEqual(dropReports(receiver), [['too_large', 1]], end);
      await vigil.close();
    }
  });

  test('a drop counted while nothing else is queued is reported on its own at the next interval', async () => {
    receiver.requests.length = 0;
    const vigil = createVigil(fast(receiver, { maxEventBytes: 1024, flushIntervalMillis: 20 }));
    vigil.event('x_test', { big: 'x'.repeat(4000) });
    await receiver.waitFor(() => receiver.events.some((e) => e.type === 'sdk_drops'));
    assert.deepEqual(dropReports(receiver), [['too_large', 1]]);
    await vigil.close();
  });

  test('collector down, then back while the app is idle: the drops are reported with no new event or flush', async () => {
    const down = await Receiver.start();
    await down.stop();
    const vigil = createVigil(fast(down, { maxRetries: 1, maxBackoffMillis: 50, flushIntervalMillis: 50 }));
    for (let i = 0; i < 3; i++) vigil.event('x_test', { n: i });
    await vigil.flush();
    assert.equal(vigil.stats().dropped.retries_exhausted, 3);
    assert.equal(vigil.stats().queued, 0, 'the report waits outside the queue while the collector is down');

    await down.restart();
    await down.waitFor(() => down.events.some((e) => e.type === 'sdk_drops'));
    assert.deepEqual(
      down.events.map((e) => [e.type, e['vigil.drop.reason'], e['vigil.drop.count']]),
      [['sdk_drops', 'retries_exhausted', 3]],
    );
    // The report's own failed attempts while the collector was down are not drops of events.
    assert.deepEqual(vigil.stats().dropped.retries_exhausted, 3);
    await vigil.close();
    await down.close();
  });

  test('while the collector refuses the token, drops are not reported on their own (each report would be refused)', async () => {
    receiver.requests.length = 0;
    receiver.respond = () => ({ status: 401 });
    try {
      const vigil = createVigil(fast(receiver, { flushIntervalMillis: 10, maxBackoffMillis: 10 }));
      vigil.event('x_test', { n: 1 });
      await vigil.flush();
      assert.equal(vigil.stats().dropped.auth, 1);
      // Long enough for several report rounds at these intervals, had any been scheduled.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(receiver.requests.length, 1);
      receiver.respond = () => undefined;
      vigil.event('x_test', { n: 2 });
      await receiver.waitFor(() => receiver.events.some((e) => e.type === 'sdk_drops'));
      assert.deepEqual(dropReports(receiver), [['auth', 1]]);
      await vigil.close();
    } finally {
      receiver.respond = () => undefined;
    }
  });

  test('while the collector refuses the token, a later drop or a flush() does not spend the report on a refusal', async () => {
    receiver.requests.length = 0;
    receiver.respond = () => ({ status: 401 });
    try {
      const vigil = createVigil(fast(receiver, { maxEventBytes: 1024 }));
      vigil.event('x_test', { n: 1 });
      await vigil.flush();
      assert.equal(vigil.stats().dropped.auth, 1);
      // A drop counted now schedules a report round, and flush() runs one at once: both would be refused, and the
      // counts with them.
      vigil.event('x_test', { big: 'x'.repeat(4000) });
      await vigil.flush();
      assert.equal(receiver.requests.length, 1, 'no report is sent to a collector that refuses the token');
      receiver.respond = () => undefined;
      vigil.event('x_test', { n: 2 });
      await vigil.flush();
      await receiver.waitFor(() => receiver.events.some((e) => e.type === 'sdk_drops'));
      assert.deepEqual(dropReports(receiver), [
        ['auth', 1],
        ['too_large', 1],
      ]);
      await vigil.close();
    } finally {
      receiver.respond = () => undefined;
    }
  });

  test('with maxBackoffMillis 0, a report the collector cannot take is not tried again in a loop', async () => {
    receiver.requests.length = 0;
    receiver.respond = () => ({ status: 503 });
    const vigil = createVigil(fast(receiver, { maxRetries: 0, initialBackoffMillis: 0, maxBackoffMillis: 0 }));
    try {
      vigil.event('x_test', { n: 1 });
      await vigil.flush();
      assert.equal(vigil.stats().dropped.retries_exhausted, 1);
      // Long enough for hundreds of rounds on loopback, had the next one been scheduled with no pause; the pause is
      // at least flushIntervalMillis (10 s here), as for a batch after a failure.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(receiver.requests.length, 1);
    } finally {
      await vigil.close();
      receiver.respond = () => undefined;
    }
  });

  test('a drops report split after a 413 stays a report: its lines are not counted as dropped events', async () => {
    receiver.requests.length = 0;
    // The first batch fails (no retries); every request holding a report is refused as too large.
    receiver.respond = (request, index) =>
      request.text.includes('"type":"sdk_drops"') ? { status: 413 } : index === 0 ? { status: 503 } : undefined;
    try {
      const vigil = createVigil(fast(receiver, { maxRetries: 0, maxEventBytes: 1024 }));
      vigil.event('x_test', { n: 1 });
      await vigil.flush();
      vigil.event('x_test', { big: 'x'.repeat(4000) });
      await vigil.flush(); // the report of both reasons, refused, then each half refused on its own
      assert.equal(receiver.requests.length, 4);
      const { dropped } = vigil.stats();
      assert.deepEqual([dropped.retries_exhausted, dropped.too_large], [1, 1]);
      await vigil.close();
      assert.equal(receiver.requests.length, 4, 'a report the collector refuses as such is not sent again');
    } finally {
      receiver.respond = () => undefined;
    }
  });

  test('a drop report that cannot be delivered is reported again with the next, with its counts', async () => {
    receiver.requests.length = 0;
    // The first batch is taken; the report that follows it fails both of its attempts; then all is well.
    receiver.respond = (_request, index) => (index === 1 || index === 2 ? { status: 500 } : undefined);
    try {
      const vigil = createVigil(fast(receiver, { maxQueueSize: 5, maxRetries: 1 }));
      for (let i = 0; i < 105; i++) vigil.event('x_test', { n: i });
      assert.equal(vigil.stats().dropped.queue_full, 100);
      await vigil.flush(); // the 5 events, then the report, given up on after its retry
      vigil.event('x_test', { n: 'later' });
      await vigil.flush(); // a batch taken: the counts are reported again
      await receiver.waitFor(() => receiver.events.some((e) => e.type === 'sdk_drops'), 2000);
      await vigil.close();
      assert.deepEqual(dropReports(receiver), [['queue_full', 100]]);
      // The report's own failure is not a drop of events.
      assert.equal(vigil.stats().dropped.retries_exhausted, 0);
    } finally {
      receiver.respond = () => undefined;
    }
  });

  test('collector down, then up: delivery resumes and the drops are reported as sdk_drops', async () => {
    const down = await Receiver.start();
    await down.stop();
    const vigil = createVigil(fast(down, { maxQueueSize: 4, maxRetries: 1 }));
    for (let i = 0; i < 10; i++) vigil.event('x_test', { n: i });
    assert.equal(vigil.stats().queued, 4);
    assert.equal(vigil.stats().dropped.queue_full, 6);
    await vigil.flush();
    assert.equal(vigil.stats().dropped.retries_exhausted, 4);
    assert.equal(vigil.stats().queued, 0);

    await down.restart();
    vigil.event('x_test', { n: 'after' });
    await vigil.flush();
    await down.waitFor(() => down.events.some((e) => e.type === 'sdk_drops'), 2000);
    await vigil.flush();
    assert.deepEqual(Object.fromEntries(dropReports(down)), { queue_full: 6, retries_exhausted: 4 });
    assert.ok(down.events.some((e) => e.n === 'after'));
    await vigil.close();
    await down.close();
  });

  test('maxQueueBytes bounds the memory of the queue, also when batches are small', async () => {
    const down = await Receiver.start();
    await down.stop();
    // One event per batch: each batch's buffer is memory held, which the byte bound counts.
    const vigil = createVigil(fast(down, { maxQueueSize: 100_000, maxQueueBytes: 1 << 20, maxBatchSize: 1 }));
    const buffersBefore = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 20_000; i++) vigil.event('x_test', { n: i, payload: 'p'.repeat(200) });
    const stats = vigil.stats();
    assert.ok(stats.dropped.queue_full > 0);
    const grownMegabytes = (process.memoryUsage().arrayBuffers - buffersBefore) / 1e6;
    // About 1 MiB (the bound) plus a batch; without counting buffers, 1 MiB of lines held ~50 MB of them.
    assert.ok(grownMegabytes < 4, `buffers grew ${grownMegabytes.toFixed(1)} MB for ${stats.queued} events queued`);
    await vigil.close();
    await down.close();
  });

  test('a small maxQueueBytes still queues many small events (a batch buffer takes at most a quarter of it)', async () => {
    const down = await Receiver.start();
    await down.stop();
    const vigil = createVigil(fast(down, { maxQueueBytes: 8192, flushIntervalMillis: 60_000 }));
    for (let i = 0; i < 10; i++) vigil.event('x_test', { n: i });
    assert.equal(vigil.stats().dropped.queue_full, 0);
    assert.equal(vigil.stats().queued, 10);
    await vigil.close();
    await down.close();
  });

  test('the queue bound holds while the collector is down', async () => {
    const down = await Receiver.start();
    await down.stop();
    const vigil = createVigil(fast(down, { maxQueueSize: 1000, maxBatchSize: 100, maxRetries: 0 }));
    // What is held, not the garbage of building 20 000 events: collected before each reading.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < 20_000; i++) vigil.event('x_test', { n: i, payload: 'p'.repeat(200) });
    const stats = vigil.stats();
    assert.ok(stats.queued <= 1000, `queued ${stats.queued}`);
    assert.ok(stats.queued + stats.inFlight + stats.dropped.queue_full === 20_000);
    // 1000 queued lines of ~400 bytes: far below what 20 000 would take (about 8 MB as UTF-16 strings).
    gc();
    const grownMegabytes = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
    assert.ok(grownMegabytes < 6, `heap grew ${grownMegabytes.toFixed(1)} MB`);
    await vigil.close();
    assert.equal(vigil.stats().queued, 0);
    await down.close();
  });

  test('a flood of requests while the collector is down cannot crowd out the security events', async () => {
    const down = await Receiver.start();
    await down.stop();
    const vigil = createVigil(fast(down, { maxQueueSize: 100, maxBatchSize: 500, maxRetries: 0 }));
    const app = createServer(wrap(vigil, (_req, res) => res.end('ok')));
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    const base = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    try {
      for (let i = 0; i < 150; i++) await (await fetch(`${base}/n/${i}`)).arrayBuffer();
      // http_request events may fill 90 % of the queue; the rest is kept.
      assert.equal(vigil.stats().queued, 90);
      assert.equal(vigil.stats().dropped.queue_full, 60);
      for (let i = 0; i < 20; i++) vigil.event('x_credential_stuffing_signal', { n: i });
      assert.equal(vigil.stats().queued, 100);
      assert.equal(vigil.stats().dropped.queue_full, 70);
      await down.restart();
      await vigil.close();
      const types = down.events.map((e) => String(e.type));
      assert.equal(types.filter((t) => t === 'http_request').length, 90);
      assert.equal(types.filter((t) => t === 'x_credential_stuffing_signal').length, 10);
    } finally {
      app.close();
      await down.close();
    }
  });

  test('maxQueueBytes bounds the memory of queued events when they are large', async () => {
    const down = await Receiver.start();
    await down.stop();
    const vigil = createVigil(fast(down, { maxQueueBytes: 1024 * 1024, maxRetries: 0 }));
    const buffersBefore = process.memoryUsage().arrayBuffers;
    // 5000 events of ~8 KB (the longest string value kept): 40 MB if the count bound were the only one.
    const note = 'n'.repeat(9000);
    for (let i = 0; i < 5000; i++) vigil.event('x_test', { n: i, note });
    const stats = vigil.stats();
    assert.ok(stats.queuedBytes <= 1024 * 1024, `queued ${stats.queuedBytes} bytes`);
    assert.ok(stats.queuedBytes > 1024 * 1024 - 16 * 1024, `queued ${stats.queuedBytes} bytes`);
    assert.ok(stats.queued < 200, `queued ${stats.queued}`);
    assert.equal(stats.queued + stats.inFlight + stats.dropped.queue_full, 5000);
    const grownMegabytes = (process.memoryUsage().arrayBuffers - buffersBefore) / 1e6;
    assert.ok(grownMegabytes < 8, `buffers grew ${grownMegabytes.toFixed(1)} MB`);
    await vigil.close();
    await down.close();
  });

  test('a collector answering rejections without usable indexes: counted once, no report loop', async () => {
    for (const rejected of [[{ issues: [{ field: 'x' }] }], [null], [{ index: 'zero' }, { index: -1 }, 7, 'x']]) {
      const odd = await Receiver.start();
      odd.respond = () => ({ status: 200, body: { accepted: 0, rejected } });
      const errors: VigilSdkError[] = [];
      const vigil = createVigil(fast(odd, { onError: (e) => errors.push(e) }));
      vigil.authn.loginSuccess('ann');
      await vigil.flush();
      await vigil.flush();
      await vigil.close();
      const stats = vigil.stats();
      const label = JSON.stringify(rejected);
      assert.equal(stats.dropped.rejected, 1, label);
      assert.equal(stats.inFlight, 0, label);
      assert.equal(stats.sent, 0, label);
      // The event's batch, then one sdk_drops report whose own rejection is not counted again.
      assert.equal(odd.requests.length, 2, label);
      assert.ok(!errors.some((e) => e.code === 'internal'), label);
      await odd.close();
    }
  });

  test('a 200 whose body never ends still counts as delivered: the batch is not sent again', async () => {
    const stalled = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"accepted":'); // and never the rest
      });
    });
    stalled.listen(0, '127.0.0.1');
    await once(stalled, 'listening');
    let posts = 0;
    stalled.on('request', () => posts++);
    const port = (stalled.address() as AddressInfo).port;
    const vigil = createVigil({
      ...fast(receiver),
      endpoint: `http://127.0.0.1:${port}`,
      requestTimeoutMillis: 200,
      maxRetries: 2,
    });
    vigil.event('x_test', { n: 1 });
    await vigil.flush();
    assert.equal(posts, 1);
    assert.equal(vigil.stats().sent, 1);
    assert.equal(vigil.stats().dropped.retries_exhausted, 0);
    await vigil.close();
    stalled.closeAllConnections();
    stalled.close();
  });

  test('close() flushes, and events after close are counted as shutdown drops', async () => {
    receiver.requests.length = 0;
    const vigil = createVigil(fast(receiver));
    vigil.event('x_test', { n: 1 });
    vigil.event('x_test', { n: 2 });
    await vigil.close();
    assert.equal(receiver.events.length, 2);
    vigil.event('x_test', { n: 3 });
    assert.equal(vigil.stats().dropped.shutdown, 1);
  });

  test('a request the collector never answers is cut at requestTimeoutMillis and retried', async () => {
    receiver.requests.length = 0;
    let attempts = 0;
    // A hung request is not kept in receiver.requests, so the attempts are counted here.
    receiver.respond = () => (attempts++ === 0 ? 'hang' : undefined);
    try {
      const vigil = createVigil(fast(receiver, { requestTimeoutMillis: 150 }));
      vigil.event('x_test', { n: 1 });
      const started = Date.now();
      await vigil.flush();
      assert.ok(Date.now() - started >= 140, `the first attempt waited ${Date.now() - started} ms`);
      assert.equal(vigil.stats().sent, 1);
      assert.equal(vigil.stats().retries, 1);
      assert.deepEqual(
        receiver.events.map((e) => e.n),
        [1],
      );
      await vigil.close();
    } finally {
      receiver.respond = () => undefined;
    }
  });

  test('close() is bounded by closeTimeoutMillis when the collector hangs', async () => {
    receiver.requests.length = 0;
    receiver.respond = () => 'hang';
    const vigil = createVigil(fast(receiver, { closeTimeoutMillis: 100 }));
    vigil.event('x_test', { n: 1 });
    const started = Date.now();
    await vigil.close();
    receiver.respond = () => undefined;
    assert.ok(Date.now() - started < 1500, `close took ${Date.now() - started} ms`);
    assert.equal(vigil.stats().dropped.shutdown, 1);
  });

  test('a missing token does not throw: the client runs disabled and warns once', async () => {
    const errors: VigilSdkError[] = [];
    const saved = process.env.VIGIL_INGEST_TOKEN;
    delete process.env.VIGIL_INGEST_TOKEN;
    try {
      const vigil = createVigil({ endpoint: receiver.url, onError: (e) => errors.push(e), flushOnExit: false });
      assert.equal(vigil.enabled, false);
      assert.equal(vigil.stats().mode, 'disabled');
      vigil.authn.loginFail('ann');
      await vigil.close();
      assert.equal(errors.length, 1);
      assert.equal(errors[0]!.code, 'config_missing');
      assert.match(errors[0]!.message, /VIGIL_INGEST_TOKEN/);
    } finally {
      if (saved !== undefined) process.env.VIGIL_INGEST_TOKEN = saved;
    }
  });

  test('the token is read from VIGIL_INGEST_TOKEN', async () => {
    receiver.requests.length = 0;
    const saved = process.env.VIGIL_INGEST_TOKEN;
    process.env.VIGIL_INGEST_TOKEN = TEST_TOKEN;
    try {
      const vigil = createVigil({ endpoint: receiver.url, flushOnExit: false });
      vigil.event('x_test', {});
      await vigil.close();
      assert.equal(receiver.events.length, 1);
    } finally {
      if (saved === undefined) delete process.env.VIGIL_INGEST_TOKEN;
      else process.env.VIGIL_INGEST_TOKEN = saved;
    }
  });

  test('an async onError hook that rejects never becomes an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let calls = 0;
      const vigil = createVigil(
        fast(receiver, {
          maxQueueSize: -1, // config_invalid, reported through the hook
          onError: async () => {
            calls++;
            throw new Error('the app’s logger is down');
          },
        }),
      );
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(calls, 1);
      assert.deepEqual(unhandled, []);
      await vigil.close();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test('an invalid option warns, names the option and uses the default', () => {
    const errors: VigilSdkError[] = [];
    const vigil = createVigil(fast(receiver, { maxQueueSize: -1, onError: (e) => errors.push(e) }));
    assert.ok(errors.some((e) => e.code === 'config_invalid' && e.message.includes('maxQueueSize')));
    assert.equal(vigil.enabled, true);
    return vigil.close();
  });
});

describe('https collector with a certificate of a private CA', () => {
  const tlsFile = (name: string) => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url), 'utf8');
  const cert = tlsFile('collector.crt');
  const other = tlsFile('other-ca.crt');
  let receiver: Receiver;
  before(async () => {
    receiver = await Receiver.start({ tls: { cert, key: tlsFile('collector.key') } });
  });
  after(() => receiver.close());

  test('untrusted by default: nothing is sent, the certificate problem is named once, the drops are counted', async () => {
    receiver.requests.length = 0;
    const errors: VigilSdkError[] = [];
    const vigil = createVigil(fast(receiver, { maxRetries: 1, onError: (e) => errors.push(e) }));
    vigil.event('x_test', { n: 1 });
    await vigil.flush();
    assert.equal(receiver.requests.length, 0);
    const tls = errors.filter((e) => e.code === 'tls_untrusted');
    assert.equal(tls.length, 1, 'once, however many attempts fail');
    assert.match(tls[0]!.message, /DEPTH_ZERO_SELF_SIGNED_CERT/);
    assert.match(tls[0]!.message, /ca option/);
    assert.equal(vigil.stats().dropped.retries_exhausted, 1);
    await vigil.close();
  });

  test('with its certificate in ca: delivered, also when ca is a bundle holding another certificate first', async () => {
    for (const ca of [cert, [other, cert], `${other}\n${cert}`]) {
      receiver.requests.length = 0;
      const errors: VigilSdkError[] = [];
      const vigil = createVigil(fast(receiver, { ca, onError: (e) => errors.push(e) }));
      vigil.event('x_test', { n: 2 });
      await vigil.close();
      assert.deepEqual(errors, []);
      assert.deepEqual(
        receiver.events.map((e) => e.n),
        [2],
      );
    }
  });

  test('a CA that did not sign the certificate is still refused', async () => {
    receiver.requests.length = 0;
    const errors: VigilSdkError[] = [];
    const vigil = createVigil(fast(receiver, { ca: other, maxRetries: 0, onError: (e) => errors.push(e) }));
    vigil.event('x_test', { n: 3 });
    await vigil.close();
    assert.equal(receiver.requests.length, 0);
    assert.ok(errors.some((e) => e.code === 'tls_untrusted'));
  });

  test('ca keeps trusting the certificates NODE_EXTRA_CA_CERTS adds', async (t) => {
    // Node.js reads the variable when it starts, so setting it here adds nothing to its own roots: only the SDK's
    // reading of the file can make this delivery succeed.
    const dir = mkdtempSync(join(tmpdir(), 'vigil-extra-ca-'));
    const file = join(dir, 'extra.pem');
    writeFileSync(file, cert);
    const saved = process.env.NODE_EXTRA_CA_CERTS;
    process.env.NODE_EXTRA_CA_CERTS = file;
    t.after(() => {
      if (saved === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
      else process.env.NODE_EXTRA_CA_CERTS = saved;
      rmSync(dir, { recursive: true, force: true });
    });
    receiver.requests.length = 0;
    const errors: VigilSdkError[] = [];
    const vigil = createVigil(fast(receiver, { ca: other, maxRetries: 0, onError: (e) => errors.push(e) }));
    vigil.event('x_test', { n: 5 });
    await vigil.close();
    assert.deepEqual(errors, []);
    assert.ok(receiver.events.some((e) => e.n === 5));

    // A file that cannot be read leaves `ca` as given.
    process.env.NODE_EXTRA_CA_CERTS = join(dir, 'missing.pem');
    const refusals: VigilSdkError[] = [];
    const refused = createVigil(fast(receiver, { ca: other, maxRetries: 0, onError: (e) => refusals.push(e) }));
    refused.event('x_test', { n: 6 });
    await refused.close();
    assert.ok(refusals.some((e) => e.code === 'tls_untrusted'));
  });

  test('ca that is not PEM certificate text is reported and ignored', async () => {
    const errors: VigilSdkError[] = [];
    const vigil = createVigil(fast(receiver, { ca: ['not a certificate', cert], onError: (e) => errors.push(e) }));
    const invalid = errors.find((e) => e.code === 'config_invalid');
    assert.match(invalid?.message ?? '', /option ca must be PEM certificate text/);
    vigil.event('x_test', { n: 4 });
    await vigil.close();
    assert.ok(
      receiver.events.some((e) => e.n === 4),
      'the valid entry is still used',
    );
  });
});

describe('retry timing', () => {
  test('parseRetryAfter reads seconds and HTTP dates', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(null), undefined);
    assert.equal(parseRetryAfter('soon'), undefined);
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now), 10_000);
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now), 0);
    assert.equal(parseRetryAfter('Thursday, 01-Jan-26 00:00:20 GMT', now), 20_000, 'RFC 850');
    assert.equal(parseRetryAfter('Thu Jan  1 00:00:30 2026', now), 30_000, 'asctime, in GMT');
    // Not delay-seconds, not a date: the client's own backoff applies (Date.parse alone reads these as the past).
    for (const value of ['-5', '+5', '1.5', '5, 10', '5 minutes', 'Thu, 01 Jan 2026']) {
      assert.equal(parseRetryAfter(value, now), undefined, value);
    }
  });

  test('backoff is full jitter under an exponential, capped ceiling', () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      for (let i = 0; i < 50; i++) {
        const wait = backoffMillis(attempt, 100, 2000);
        assert.ok(wait >= 0 && wait <= Math.min(2000, 100 * 2 ** attempt));
      }
    }
  });
});
