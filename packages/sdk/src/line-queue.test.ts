import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LineQueue } from './line-queue.js';

const body = (lines: readonly string[]) => lines.map((l) => `${l}\n`).join('');

describe('line queue', () => {
  test('lines become the NDJSON body of their batch, UTF-8 encoded, and are read back by index', () => {
    const queue = new LineQueue(10);
    const lines = ['{"a":1}', '{"name":"Zoë → 東京 🚀"}', '{"b":"\\u0000"}'];
    for (const line of lines) assert.equal(queue.push(line), false);
    assert.equal(queue.size, 3);
    const batch = queue.shift();
    assert.ok(batch);
    assert.equal(queue.size, 0);
    assert.equal(batch.count, 3);
    assert.equal(batch.bytes().toString('utf8'), body(lines));
    assert.deepEqual(
      [0, 1, 2].map((i) => batch.line(i)),
      lines,
    );
    assert.equal(batch.line(3), undefined);
    assert.equal(batch.line(-1), undefined);
  });

  test('bytes counts the UTF-8 bytes queued, newlines included, through push, unshift, shift and clear', () => {
    const queue = new LineQueue(2);
    queue.push('{"a":1}'); // 8 bytes with its newline
    queue.push('"Zoë"'); // 7
    queue.push('12'); // 3, in a second batch
    assert.equal(queue.bytes, 18);
    queue.unshift(['{}']);
    assert.equal(queue.bytes, 21);
    queue.shift();
    queue.shift();
    assert.equal(queue.bytes, 3);
    queue.clear();
    assert.equal(queue.bytes, 0);
  });

  test('a batch closes at maxBatchSize lines; push says so, and the next line opens another', () => {
    const queue = new LineQueue(2);
    assert.equal(queue.push('1'), false);
    assert.equal(queue.firstIsFull(), false);
    assert.equal(queue.push('2'), true);
    assert.equal(queue.firstIsFull(), true);
    assert.equal(queue.push('3'), false);
    assert.equal(queue.size, 3);
    assert.equal(queue.shift()?.bytes().toString(), '1\n2\n');
    assert.equal(queue.firstIsFull(), false);
    assert.equal(queue.shift()?.bytes().toString(), '3\n');
    assert.equal(queue.shift(), undefined);
  });

  test('a batch grows past its first buffer, and closes before passing 1 MiB', () => {
    const queue = new LineQueue(100_000);
    const line = 'x'.repeat(120_000);
    for (let i = 0; i < 12; i++) queue.push(line);
    const first = queue.shift();
    assert.ok(first);
    assert.ok(first.count >= 5 && first.count < 12, `first batch holds ${first.count} lines`);
    assert.ok(first.length <= 1 << 20);
    assert.equal(first.bytes().toString(), body(Array(first.count).fill(line)));
    const second = queue.shift();
    assert.equal((second?.count ?? 0) + first.count, 12);
  });

  test('unshift puts lines ahead of the queue in a batch of their own', () => {
    const queue = new LineQueue(10);
    queue.push('event');
    queue.unshift(['report-1', 'report-2']);
    assert.equal(queue.size, 3);
    assert.equal(queue.firstIsFull(), true);
    assert.equal(queue.shift()?.bytes().toString(), 'report-1\nreport-2\n');
    assert.equal(queue.shift()?.bytes().toString(), 'event\n');
  });

  test('split halves a batch into two bodies that together are the original', () => {
    const queue = new LineQueue(10);
    const lines = ['a', 'bb', 'ccc', 'dddd', 'eeeee'];
    for (const line of lines) queue.push(line);
    const batch = queue.shift();
    assert.ok(batch);
    const [first, second] = batch.split();
    assert.equal(first.bytes().toString(), body(lines.slice(0, 3)));
    assert.equal(second.bytes().toString(), body(lines.slice(3)));
    assert.equal(second.line(1), 'eeeee');
  });

  test('a released buffer serves the next batch, and what it held before never shows through', () => {
    const queue = new LineQueue(10);
    queue.push('a long first line that fills part of the buffer');
    const first = queue.shift();
    assert.ok(first);
    queue.release(first);
    queue.push('short');
    const second = queue.shift();
    assert.equal(second?.buffer, first.buffer);
    assert.equal(second?.bytes().toString(), 'short\n');
  });

  test('clear drops everything and says how much', () => {
    const queue = new LineQueue(2);
    for (let i = 0; i < 5; i++) queue.push(String(i));
    assert.equal(queue.clear(), 5);
    assert.equal(queue.size, 0);
    assert.equal(queue.shift(), undefined);
  });

  test('reserved counts the memory the batches hold; small batches get small buffers', () => {
    const line = 'x'.repeat(300);
    const small = new LineQueue(1);
    for (let i = 0; i < 100; i++) small.push(line);
    // One line per batch: a buffer planned for one line each, not 16 KiB each.
    assert.equal(small.reserved, 100 * 1024);
    assert.equal(small.bytes, 100 * 301);
    for (let batch = small.shift(); batch !== undefined; batch = small.shift()) small.release(batch);
    assert.equal(small.reserved, 0);

    const large = new LineQueue(500);
    for (let i = 0; i < 200; i++) large.push(line); // 60 KB in a batch whose buffer doubled from 16 KiB
    assert.equal(large.reserved, 64 * 1024);
    large.unshift(['{"type":"sdk_drops"}']);
    assert.ok(large.reserved > 64 * 1024);
    assert.equal(large.clear(), 201);
    assert.equal(large.reserved, 0);
  });
});
