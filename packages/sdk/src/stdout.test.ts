import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { StdoutSink } from './stdout.js';

const entry = new URL('./index.js', import.meta.url).href;

/** A real Writable that keeps every chunk written; `stall` holds back the completion of writes (a blocked pipe). */
function collector() {
  const chunks: string[] = [];
  let stalled: Array<() => void> | undefined;
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      if (stalled) stalled.push(done);
      else done();
    },
  });
  return {
    stream,
    chunks,
    stall: () => {
      stalled = [];
    },
    release: () => {
      const waiting = stalled ?? [];
      stalled = undefined;
      for (const done of waiting) done();
    },
  };
}

/** Resolves once `ready()` holds, checked every 20 ms; fails after 10 s. */
async function until(ready: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 10_000; !ready(); ) {
    assert.ok(Date.now() < deadline, 'not within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const dropLine = (reason: string, count: number) =>
  `{"type":"sdk_drops","vigil.drop.reason":"${reason}","count":${count}}`;

describe('StdoutSink', () => {
  test('the lines of one event-loop turn go out in one write, in order', async () => {
    const out = collector();
    const sink = new StdoutSink(dropLine, out.stream);
    for (let i = 0; i < 100; i++) sink.enqueue(`{"n":${i}}`);
    assert.equal(out.chunks.length, 0);
    assert.equal(sink.stats().queued, 100);
    await nextTurn();
    assert.equal(out.chunks.length, 1);
    assert.deepEqual(
      out.chunks[0]!.trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).n),
      Array.from({ length: 100 }, (_, i) => i),
    );
    assert.equal(sink.stats().queued, 0);
    assert.equal(sink.stats().sent, 100);
  });

  test('a turn with more than 64 KiB of lines writes as it goes; flush() and close() write at once', async () => {
    const out = collector();
    const sink = new StdoutSink(dropLine, out.stream);
    const line = `{"pad":"${'x'.repeat(1000)}"}`;
    for (let i = 0; i < 100; i++) sink.enqueue(line);
    assert.ok(out.chunks.length >= 1 && out.chunks.length <= 2, String(out.chunks.length));
    sink.enqueue('{"last":1}');
    await sink.flush();
    assert.ok(out.chunks.at(-1)!.endsWith('{"last":1}\n'));
    sink.enqueue('{"closing":1}');
    await sink.close();
    assert.ok(out.chunks.at(-1)!.endsWith('{"closing":1}\n'));
    sink.enqueue('{"late":1}');
    assert.equal(sink.stats().dropped.shutdown, 1);
    assert.equal(out.chunks.join('').split('\n').length - 1, 102);
  });

  test('a blocked stream: lines past the bound are dropped and counted, then reported when it drains', async () => {
    const out = collector();
    const sink = new StdoutSink(dropLine, out.stream);
    out.stall();
    sink.enqueue(`{"big":"${'y'.repeat(17 * 1024 * 1024)}"}`);
    await sink.flush();
    sink.enqueue('{"lost":1}');
    sink.enqueue('{"lost":2}');
    assert.equal(sink.stats().dropped.queue_full, 2);
    out.release();
    await nextTurn();
    sink.enqueue('{"after":1}');
    await sink.flush();
    const last = out.chunks.at(-1)!.trimEnd().split('\n');
    assert.deepEqual(last, [dropLine('queue_full', 2), '{"after":1}']);
    assert.ok(!out.chunks.join('').includes('"lost"'));
  });

  test('every drop reason is reported, at the next line or at flush() and close()', async () => {
    const out = collector();
    const sink = new StdoutSink(dropLine, out.stream);
    sink.countDrop('rejected');
    sink.countDrop('internal');
    sink.enqueue('{"next":1}');
    sink.countDrop('too_large');
    await sink.flush();
    sink.countDrop('rejected');
    await sink.close();
    assert.deepEqual(out.chunks.join('').trimEnd().split('\n'), [
      dropLine('rejected', 1),
      dropLine('internal', 1),
      '{"next":1}',
      dropLine('too_large', 1),
      dropLine('rejected', 1),
    ]);
  });

  test('drops with no line to follow are reported on their own, once the stream is no longer blocked', async () => {
    const out = collector();
    const sink = new StdoutSink(dropLine, out.stream);
    sink.countDrop('rejected');
    await until(() => out.chunks.join('').includes(dropLine('rejected', 1)));

    out.stall();
    sink.enqueue(`{"big":"${'y'.repeat(17 * 1024 * 1024)}"}`);
    await sink.flush();
    sink.enqueue('{"lost":1}');
    // Blocked for longer than the report's delay: the report waits rather than add to what is pending.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.ok(!out.chunks.join('').includes('queue_full'));
    out.release();
    await until(() => out.chunks.join('').includes(dropLine('queue_full', 1)));
    assert.equal(sink.stats().dropped.queue_full, 1);
    await sink.close();
  });

  test('a nearly blocked stream keeps its last tenth for security events: routine lines are dropped first', async () => {
    const out = collector();
    const sink = new StdoutSink(dropLine, out.stream);
    out.stall();
    sink.enqueue(`{"big":"${'y'.repeat(15 * 1024 * 1024)}"}`); // past 90 % of the 16 MiB bound, below the bound
    await sink.flush();
    sink.enqueue('{"type":"http_request"}', true);
    sink.enqueue('{"type":"authn_login_fail"}');
    assert.equal(sink.stats().dropped.queue_full, 1);
    await sink.flush();
    out.release();
    await nextTurn();
    const written = out.chunks.join('');
    assert.ok(written.includes('authn_login_fail'));
    assert.ok(!written.includes('http_request'));
  });

  test('sinks made and closed one after another share one error listener on their stream, and a failure', async () => {
    const out = collector();
    const sinks: StdoutSink[] = [];
    for (let i = 0; i < 30; i++) {
      const sink = new StdoutSink(dropLine, out.stream);
      sink.enqueue(`{"type":"x_test","n":${i}}`);
      await sink.close();
      sinks.push(sink);
    }
    assert.equal(out.stream.listenerCount('error'), 1);
    assert.equal(out.chunks.join('').match(/x_test/g)?.length, 30);
    const open = new StdoutSink(dropLine, out.stream);
    out.stream.emit('error', new Error('EPIPE'));
    open.enqueue('{"type":"x_test","n":"after"}');
    assert.equal(open.stats().dropped.queue_full, 1, 'a line after the stream failed is dropped');
    assert.equal(new StdoutSink(dropLine, out.stream).stats().dropped.queue_full, 0);
  });

  test('a standard output whose reader went away (EPIPE) does not end the app; later lines count as dropped', async () => {
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
        import { createVigil } from ${JSON.stringify(entry)};
        const vigil = createVigil({ mode: 'stdout', service: 'piped' });
        let i = 0;
        const timer = setInterval(() => vigil.data.export('u' + i++, 1), 5);
        setTimeout(() => {
          clearInterval(timer);
          process.stderr.write(JSON.stringify(vigil.stats().dropped));
        }, 600);
        `,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    await once(child.stdout, 'data');
    child.stdout.destroy(); // the log shipper reading the pipe died
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 0, stderr);
    assert.ok((JSON.parse(stderr) as { queue_full: number }).queue_full > 0, stderr);
  });
});
