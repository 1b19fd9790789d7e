import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, readFileSync, renameSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { eventually, startTestServer, type TestServer, tempDir } from '../testing/harness.js';
import { createLineParser } from './access-log.js';
import { type FollowerOptions, type LineBatch, type LineSink, LogFollower } from './follow.js';
import { HttpEventSender } from './follow-sender.js';
import { FollowStateStore } from './follow-state.js';
import { ingestCommand } from './ingest-command.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const start = Date.now() - 3_600_000;

/** A combined-log line for request `n`: its path `/items/<tag>-<n>` tells lines apart in the store. */
function line(tag: string, n: number): string {
  const d = new Date(start + n * 1000);
  const p = (x: number) => String(x).padStart(2, '0');
  const time = `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
  return `203.0.113.${(n % 200) + 1} - - [${time}] "GET /items/${tag}-${n} HTTP/1.1" 200 12 "-" "curl/8.5.0"\n`;
}

function lines(tag: string, from: number, to: number): string {
  let out = '';
  for (let n = from; n <= to; n++) out += line(tag, n);
  return out;
}

/** Every stored event whose path starts with `/items/<tag>-`, by path, with how many times each was stored. */
async function stored(server: TestServer, tag: string): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  let cursor: string | undefined;
  do {
    const res = await server.get(`/api/v1/events?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    const page = (await res.json()) as { events: Record<string, unknown>[]; nextCursor?: string };
    for (const e of page.events) {
      const path = e['url.path'];
      if (typeof path === 'string' && path.startsWith(`/items/${tag}-`)) seen.set(path, (seen.get(path) ?? 0) + 1);
    }
    cursor = page.nextCursor;
  } while (cursor);
  return seen;
}

/** Exactly the requests `from`..`to` of `tag`, each stored once. */
async function expectStored(server: TestServer, tag: string, from: number, to: number, timeoutMillis = 8000) {
  await eventually(async () => {
    const seen = await stored(server, tag);
    const expected = new Map<string, number>();
    for (let n = from; n <= to; n++) expected.set(`/items/${tag}-${n}`, 1);
    assert.deepEqual(seen, expected);
  }, timeoutMillis);
}

/** A plain HTTP server on loopback (a gateway, or a service that is not Vigil); `url` has no trailing slash. */
async function httpServer(
  handle: (req: IncomingMessage, body: Buffer, res: ServerResponse) => void | Promise<void>,
): Promise<{ url: string; paths: string[]; close(): Promise<void> }> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(String(req.url));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void handle(req, Buffer.concat(chunks), res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    paths,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const CLI = fileURLToPath(new URL('../../bin/vigil.js', import.meta.url));

/** A line of a CRI container log (Kubernetes: containerd, CRI-O); a newline ending `content` is its own. */
function criLine(stream: 'stdout' | 'stderr', tag: 'F' | 'P', content: string): string {
  return `2026-11-28T10:00:00.123456789Z ${stream} ${tag} ${content.replace(/\n$/, '')}\n`;
}

/** A record of Docker's json-file log driver: `log` without a trailing newline is a piece of a longer line. */
function dockerRecord(log: string, stream = 'stdout'): string {
  return `${JSON.stringify({ log, stream, time: '2026-11-28T10:00:00.123456789Z' })}\n`;
}

describe('vigil ingest --follow', () => {
  let server: TestServer;
  let dir: string;
  before(async () => {
    server = await startTestServer();
    dir = tempDir('vigil-follow-');
  });
  after(async () => {
    await server.stop();
  });

  const sender = (endpoint = server.url) =>
    new HttpEventSender({ endpoint, token: server.ingestToken, createParser: () => createLineParser('combined') });

  /** `vigil ingest ARGS --endpoint <server>` running until `abort()` (as SIGTERM stops it); its stderr goes to `err`. */
  function shipInBackground(args: readonly string[], err: string[]) {
    const controller = new AbortController();
    const exit = ingestCommand([...args, '--endpoint', server.url], {
      env: { VIGIL_INGEST_TOKEN: server.ingestToken },
      signal: controller.signal,
      stderr: { write: (t: string) => err.push(t) },
      pollIntervalMillis: 20,
    });
    return { exit, abort: () => controller.abort() };
  }

  function follow(options: Partial<FollowerOptions> & { path: string }) {
    const notices: string[] = [];
    const sink = options.sink ?? sender();
    const follower = new LogFollower({
      follow: true,
      pollIntervalMillis: 20,
      rotationGraceMillis: 300,
      retry: { baseMillis: 20, maxMillis: 200 },
      onNotice: (m) => notices.push(m),
      ...options,
      sink,
    });
    const controller = new AbortController();
    const done = follower.run(controller.signal);
    return {
      follower,
      sink,
      notices,
      stop: async () => {
        controller.abort();
        return done;
      },
    };
  }

  test('reads lines as the file grows, and waits for a last line to be finished', async () => {
    const path = join(dir, 'growth.log');
    writeFileSync(path, lines('g', 1, 3));
    const states = new FollowStateStore(join(dir, 'state'));
    const f = follow({ path, states });
    await expectStored(server, 'g', 1, 3);
    const partial = line('g', 6);
    appendFileSync(path, lines('g', 4, 5) + partial.slice(0, 30));
    await expectStored(server, 'g', 1, 5);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal((await stored(server, 'g')).has('/items/g-6'), false, 'a line without its newline is not sent yet');
    appendFileSync(path, partial.slice(30));
    await expectStored(server, 'g', 1, 6);
    // Stored (visible to queries) comes a moment before the answer reaches the follower, which then saves its state.
    await eventually(async () => {
      const state = await states.load(f.follower.source);
      assert.equal(state?.offset, statSync(path).size, 'the state is at the end of the acknowledged lines');
      assert.equal(state?.line, 6);
    }, 8000);
    await f.stop();
  });

  test('follows a rename rotation: the old file to its end, then the new one from the start', async () => {
    const path = join(dir, 'rename.log');
    writeFileSync(path, lines('r', 1, 3));
    const f = follow({ path, states: new FollowStateStore(join(dir, 'state')) });
    await expectStored(server, 'r', 1, 3);
    renameSync(path, `${path}.1`);
    appendFileSync(`${path}.1`, line('r', 4)); // the writer has not reopened its log yet
    writeFileSync(path, lines('r', 5, 6));
    await expectStored(server, 'r', 1, 6);
    appendFileSync(path, line('r', 7));
    await expectStored(server, 'r', 1, 7);
    await f.stop();
    assert.equal(f.follower.stats.rotations, 1);
  });

  test('follows copytruncate: a file shorter than the offset is read again from the start', async () => {
    const path = join(dir, 'copytruncate.log');
    writeFileSync(path, lines('c', 1, 3));
    const f = follow({ path, states: new FollowStateStore(join(dir, 'state')) });
    await expectStored(server, 'c', 1, 3);
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    appendFileSync(path, line('c', 4));
    await expectStored(server, 'c', 1, 4);
    appendFileSync(path, line('c', 5));
    await expectStored(server, 'c', 1, 5);
    await f.stop();
    assert.equal(f.follower.stats.truncations, 1);
  });

  test('a restart resumes at the acknowledged offset: every line stored once', async () => {
    const path = join(dir, 'restart.log');
    const states = new FollowStateStore(join(dir, 'state'));
    writeFileSync(path, lines('s', 1, 10));
    // Stop the follower right after its second batch was acknowledged, in the middle of the file.
    const inner = sender();
    const controller = new AbortController();
    let batches = 0;
    const stopping: LineSink = {
      async deliver(batch: LineBatch, attempt: number, signal: AbortSignal) {
        await inner.deliver(batch, attempt, signal);
        if (++batches === 2) controller.abort();
      },
    };
    const first = new LogFollower({
      path,
      sink: stopping,
      follow: true,
      states,
      maxBatchLines: 2,
      pollIntervalMillis: 20,
    });
    await first.run(controller.signal);
    await expectStored(server, 's', 1, 4);
    assert.equal((await states.load(first.source))?.line, 4);

    appendFileSync(path, lines('s', 11, 12));
    const second = follow({ path, states, maxBatchLines: 2 });
    await expectStored(server, 's', 1, 12);
    await second.stop();
    assert.equal((second.sink as HttpEventSender).stats.duplicates, 0, 'nothing acknowledged was sent again');

    // A crash between the acknowledgement and the state write: the old state comes back, the lines are sent again,
    // and the server skips them by id.
    const stateFile = states.fileFor(first.source);
    const saved = readFileSync(stateFile, 'utf8');
    const old = { ...JSON.parse(saved), offset: 0, line: 0, tail: 'e3b0c44298fc1c14' }; // tail of no bytes
    writeFileSync(stateFile, JSON.stringify(old));
    const third = follow({ path, states });
    await eventually(async () => assert.equal((third.sink as HttpEventSender).stats.duplicates, 12));
    await third.stop();
    await expectStored(server, 's', 1, 12);
  });

  test('vigil ingest --follow --format iis resumes after a restart with the #Fields: line written before the offset', async () => {
    const path = join(dir, 'u_ex261102.log');
    const stateDir = join(dir, 'state-iis');
    const stamp = (n: number) => new Date(start + n * 1000).toISOString().slice(0, 19).replace('T', ' ');
    const before = (n: number) => `${stamp(n)} 198.51.100.7 GET /items/iis-${n} 200\n`;
    // After a restart of the server, IIS writes its header again, here with other fields in another order.
    const after = (n: number) => `${stamp(n)} POST 401 /items/iis-${n} 203.0.113.9 python-requests/2.32.3\n`;
    writeFileSync(
      path,
      '#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n' +
        '#Fields: date time c-ip cs-method cs-uri-stem sc-status\n' +
        before(1) +
        before(2) +
        '#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n' +
        '#Fields: date time cs-method sc-status cs-uri-stem c-ip cs(User-Agent)\n' +
        after(3),
    );
    const err: string[] = [];
    const args = [path, '--format', 'iis', '--follow', '--state-dir', stateDir, '--batch-size', '2'];
    const states = new FollowStateStore(stateDir);
    const first = shipInBackground(args, err);
    await expectStored(server, 'iis', 1, 3);
    await eventually(async () => assert.equal((await states.load(path))?.offset, statSync(path).size), 8000);
    first.abort();
    assert.equal(await first.exit, 0, err.join(''));

    appendFileSync(path, after(4) + after(5));
    const second = shipInBackground(args, err);
    await expectStored(server, 'iis', 1, 5);
    second.abort();
    assert.equal(await second.exit, 0, err.join(''));
    assert.doesNotMatch(
      err.join(''),
      /u_ex261102\.log:\d+:/,
      'no bad lines: directives are none, and the columns are known',
    );

    const res = await server.get('/api/v1/events?limit=1000');
    const { events } = (await res.json()) as { events: Record<string, unknown>[] };
    const resumed = events.find((e) => e['url.path'] === '/items/iis-5')!;
    assert.deepEqual(
      [resumed['http.request.method'], resumed['http.response.status_code'], resumed['client.address']],
      ['POST', 401, '203.0.113.9'],
    );
    assert.equal(resumed['user_agent.original'], 'python-requests/2.32.3');
    assert.equal(resumed['vigil.source.name'], 'iis');
  });

  test('a batch sent again after a failure is not parsed again: a #Fields: line in it changes only the lines after it', async () => {
    const path = join(dir, 'retry-fields.log');
    writeFileSync(
      path,
      '#Fields: date time cs-method cs-uri-stem sc-status\n2026-11-02 10:00:01 GET /first 200\n' +
        '2026-11-02 10:00:02 GET /second 200\n' +
        '#Fields: date time cs-uri-stem cs-method sc-status\n2026-11-02 10:00:03 /third POST 201\n',
    );
    // Batches of two lines: [#Fields, /first], [/second, #Fields], [/third]. The second one fails once.
    let requests = 0;
    const received: Record<string, unknown>[] = [];
    const flaky = await httpServer((_req, body, res) => {
      if (++requests === 2) {
        res.writeHead(503).end();
        return;
      }
      const events = gunzipSync(body)
        .toString('utf8')
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      received.push(...events);
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ accepted: events.length, duplicates: 0, rejected: [] }));
    });
    const bad: string[] = [];
    const sink = new HttpEventSender({
      endpoint: flaky.url,
      token: 't',
      createParser: () => createLineParser('iis'),
      onBadLine: (b) => bad.push(b.reason),
    });
    const follower = new LogFollower({
      path,
      sink,
      follow: false,
      maxBatchLines: 2,
      retry: { baseMillis: 1, maxMillis: 5 },
    });
    const stats = await follower.run();
    await flaky.close();
    assert.equal(stats.retries, 1);
    assert.deepEqual(bad, []);
    assert.deepEqual(
      received.map((e) => [e['http.request.method'], e['url.path'], e['http.response.status_code']]),
      [
        ['GET', '/first', 200],
        ['GET', '/second', 200],
        ['POST', '/third', 201],
      ],
    );
  });

  test('a rotation while stopped: the rotated file is found by inode and finished first', async () => {
    const path = join(dir, 'stopped.log');
    const states = new FollowStateStore(join(dir, 'state'));
    writeFileSync(path, lines('w', 1, 3));
    const first = follow({ path, states });
    await expectStored(server, 'w', 1, 3);
    await first.stop();
    appendFileSync(path, lines('w', 4, 5)); // written while the shipper was down
    renameSync(path, `${path}.1`);
    writeFileSync(path, lines('w', 6, 7));
    const second = follow({ path, states });
    await expectStored(server, 'w', 1, 7);
    appendFileSync(path, line('w', 8));
    await expectStored(server, 'w', 1, 8);
    await second.stop();
    assert.ok(
      second.notices.some((n) => /rotated while stopped/.test(n)),
      second.notices.join('\n'),
    );
  });

  test('a server that is down, then loses an answer, then is back: no line lost, none stored twice', async () => {
    let mode: 'down' | 'lose-answer' | 'up' = 'down';
    const proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        if (mode === 'down') {
          res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"message":"down"}}');
          return;
        }
        const answer = await fetch(`${server.url}${req.url}`, {
          method: 'POST',
          body: Buffer.concat(chunks),
          headers: {
            authorization: String(req.headers.authorization),
            'content-type': String(req.headers['content-type']),
            'content-encoding': String(req.headers['content-encoding']),
          },
        });
        const text = await answer.text();
        if (mode === 'lose-answer') {
          mode = 'up';
          req.socket.destroy(); // stored, but the shipper never hears so
          return;
        }
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(text);
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const path = join(dir, 'outage.log');
      writeFileSync(path, lines('o', 1, 5));
      const f = follow({ path, states: new FollowStateStore(join(dir, 'state')), sink: sender(endpoint) });
      await eventually(async () => assert.ok(f.follower.stats.retries >= 3));
      assert.equal((await stored(server, 'o')).size, 0);
      mode = 'lose-answer';
      await expectStored(server, 'o', 1, 5);
      await eventually(async () => assert.equal(f.follower.stats.acknowledgedLines, 5));
      assert.equal((f.sink as HttpEventSender).stats.duplicates, 5, 'the re-sent batch was skipped by id');
      appendFileSync(path, lines('o', 6, 7));
      await expectStored(server, 'o', 1, 7);
      await f.stop();
      assert.ok(f.notices.some((n) => /HTTP 503/.test(n)));
    } finally {
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });

  test('vigil ingest FILE: sends once, reports bad lines with their numbers, never stops on them', async () => {
    const path = join(dir, 'once.log');
    writeFileSync(path, `${lines('i', 1, 2)}not a log line\n\n${line('i', 3)}`);
    const err: string[] = [];
    const args = [path, '--format', 'combined', '--endpoint', server.url];
    const code = await ingestCommand(args, {
      env: { VIGIL_INGEST_TOKEN: server.ingestToken },
      stderr: { write: (t: string) => err.push(t) },
    });
    assert.equal(code, 0, err.join(''));
    await expectStored(server, 'i', 1, 3);
    assert.match(err.join(''), /once\.log:3: /);
    assert.match(err.join(''), /3 events stored, 0 already stored, 1 bad lines/);
    const again = await ingestCommand(args, {
      env: { VIGIL_INGEST_TOKEN: server.ingestToken },
      stderr: { write: (t: string) => err.push(t) },
    });
    assert.equal(again, 0);
    assert.match(err.join(''), /0 events stored, 3 already stored/);
    const refused = await ingestCommand(args, {
      env: { VIGIL_INGEST_TOKEN: 'not-the-right-token-0123' },
      stderr: { write: (t: string) => err.push(t) },
    });
    assert.equal(refused, 1);
    assert.match(err.join(''), /refused the ingest token/);
  });

  test('vigil ingest FILE --state-dir (one-shot): an unfinished last line is left for the next run, stored once', async () => {
    const path = join(dir, 'cron.log');
    const states = join(dir, 'cron-state');
    const third = line('k', 3);
    // The writer is in the middle of line 3: what is there already parses (a common-format line), but is not all.
    const partial = third.slice(0, third.indexOf(' "-"'));
    writeFileSync(path, lines('k', 1, 2) + partial);
    const err: string[] = [];
    const run = () =>
      ingestCommand([path, '--state-dir', states, '--endpoint', server.url], {
        env: { VIGIL_INGEST_TOKEN: server.ingestToken },
        stderr: { write: (t: string) => err.push(t) },
      });
    assert.equal(await run(), 0, err.join(''));
    await expectStored(server, 'k', 1, 2);
    assert.match(err.join(''), /the last line \(line 3\) has no newline yet; it is left for the next run/);
    appendFileSync(path, third.slice(partial.length)); // the writer finishes the line
    assert.equal(await run(), 0, err.join(''));
    await expectStored(server, 'k', 1, 3);
    assert.equal((await new FollowStateStore(states).load(join(dir, 'cron.log')))?.offset, statSync(path).size);
  });

  test('vigil ingest FILE without a state: a last line without newline is sent', async () => {
    const path = join(dir, 'no-final-newline.log');
    writeFileSync(path, lines('n', 1, 2) + line('n', 3).trimEnd());
    const err: string[] = [];
    const code = await ingestCommand([path, '--endpoint', server.url], {
      env: { VIGIL_INGEST_TOKEN: server.ingestToken },
      stderr: { write: (t: string) => err.push(t) },
    });
    assert.equal(code, 0, err.join(''));
    await expectStored(server, 'n', 1, 3);
  });

  test('vigil ingest --follow --container cri: pieces joined across batches, stderr skipped, through rotation and a restart', async () => {
    const path = join(dir, 'ingress-nginx-controller-abc12_ingress-nginx_controller-0123.log');
    const states = join(dir, 'cri-state');
    const cri = (stream: string, tag: string, content: string) =>
      `2026-11-28T10:00:00.123456789Z ${stream} ${tag} ${content}\n`;
    const full = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => cri('stdout', 'F', line('cri', from + i).trimEnd())).join('');
    const fourth = line('cri', 4).trimEnd();
    const err: string[] = [];
    const args = [path, '--container', 'cri', '--follow', '--state-dir', states];
    writeFileSync(
      path,
      `${full(1, 3)}${cri('stderr', 'F', '2026/11/28 10:00:00 [error] 7#7: *1 connect() failed')}` +
        cri('stdout', 'P', fourth.slice(0, 40)),
    );
    const first = shipInBackground(args, err);
    let resumed: ReturnType<typeof shipInBackground> | undefined;
    try {
      await expectStored(server, 'cri', 1, 3);
      // The line's last piece comes in a later read: the pieces held from the earlier batch complete it.
      appendFileSync(
        path,
        cri('stdout', 'P', fourth.slice(40, 80)) + cri('stdout', 'F', fourth.slice(80)) + full(5, 5),
      );
      await expectStored(server, 'cri', 1, 5);
      // The kubelet rotates by rename: the new file is read from its start.
      renameSync(path, `${path}.20261128-100000`);
      writeFileSync(path, full(6, 7));
      await expectStored(server, 'cri', 1, 7);
      first.abort();
      assert.equal(await first.exit, 0, err.join(''));
      // Written while stopped: read from the saved offset on restart.
      appendFileSync(path, full(8, 9));
      resumed = shipInBackground(args, err);
      await expectStored(server, 'cri', 1, 9);
    } finally {
      first.abort();
      resumed?.abort();
    }
    assert.equal(await resumed.exit, 0, err.join(''));
    const out = err.join('');
    assert.doesNotMatch(out, /\.log:\d+: /, 'no bad lines: the stderr line is none');
    assert.match(out, /ingested \d+ lines: 2 events stored, 0 already stored, 0 bad lines \(stopped\)/);
  });

  test('vigil ingest FILE --container docker: split records joined, stderr skipped, a last partial record sent', async () => {
    const path = join(dir, '0123456789abcdef-json.log');
    const record = (log: string, stream = 'stdout') =>
      `${JSON.stringify({ log, stream, time: '2026-11-28T10:00:00.123456789Z' })}\n`;
    const second = line('dock', 2);
    const third = line('dock', 3).trimEnd();
    writeFileSync(
      path,
      record(line('dock', 1)) +
        record(second.slice(0, 30)) +
        record('2026/11/28 10:00:00 [error] 7#7: *1 upstream timed out\n', 'stderr') +
        record(second.slice(30)) +
        record('{"not":"a log"}\n') +
        JSON.stringify({ stream: 'stdout' }) +
        '\n' +
        record(third),
    );
    const err: string[] = [];
    const code = await ingestCommand([path, '--container', 'docker', '--endpoint', server.url], {
      env: { VIGIL_INGEST_TOKEN: server.ingestToken },
      stderr: { write: (t: string) => err.push(t) },
    });
    assert.equal(code, 0, err.join(''));
    await expectStored(server, 'dock', 1, 3);
    const out = err.join('');
    assert.match(out, /-json\.log:5: /);
    assert.match(out, /-json\.log:6: not a Docker json-file record: no "log" string/);
    assert.match(out, /3 events stored, 0 already stored, 2 bad lines/);
  });

  /** `vigil ingest ARGS` as a process of its own, which a test can signal or kill. */
  function spawnIngest(args: string[]) {
    const child = spawn(process.execPath, [CLI, 'ingest', ...args], {
      env: { ...process.env, VIGIL_INGEST_TOKEN: server.ingestToken },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    return { child, exited, stderr: () => stderr };
  }

  test('vigil ingest --follow --container cri killed between the pieces of a line: the restart reads it whole, stored once', async () => {
    const path = join(dir, 'api-5c7d9_shop_nginx-0123.log');
    const stateDir = join(dir, 'killed-state');
    const states = new FollowStateStore(stateDir);
    const third = line('kill', 3).trimEnd();
    const before = criLine('stdout', 'F', line('kill', 1)) + criLine('stdout', 'F', line('kill', 2));
    // The runtime wrote two pieces of line 3; its last piece comes after the shipper crashed.
    writeFileSync(
      path,
      before + criLine('stdout', 'P', third.slice(0, 40)) + criLine('stdout', 'P', third.slice(40, 90)),
    );
    const args = [path, '--container', 'cri', '--follow', '--state-dir', stateDir, '--endpoint', server.url];
    const first = spawnIngest(args);
    try {
      await expectStored(server, 'kill', 1, 2, 15_000);
      // The batch that held the two pieces was acknowledged and its offset saved.
      await eventually(async () => assert.ok(((await states.load(path))?.offset ?? 0) >= before.length), 15_000);
    } finally {
      first.child.kill('SIGKILL');
    }
    await first.exited;
    const crashed = readFileSync(states.fileFor(path), 'utf8');

    appendFileSync(path, criLine('stdout', 'F', third.slice(90)) + criLine('stdout', 'F', line('kill', 4)));
    const second = spawnIngest(args);
    try {
      await expectStored(server, 'kill', 1, 4, 15_000);
      await eventually(async () => assert.equal((await states.load(path))?.offset, statSync(path).size), 15_000);
    } finally {
      second.child.kill('SIGTERM');
    }
    assert.equal(await second.exited, 0, second.stderr());
    assert.doesNotMatch(second.stderr(), /\.log:\d+: /, 'no bad line: the last piece is not read alone');
    assert.match(
      second.stderr(),
      /ingested 4 lines: 2 events stored, 0 already stored, 0 bad lines, 3 pieces joined into 1 lines \(stopped\)/,
    );
    assert.deepEqual(
      [JSON.parse(crashed).offset, JSON.parse(crashed).line],
      [before.length, 2],
      'the offset saved before the crash is the first piece of the unfinished line',
    );

    // A crash between the server's answer and the state write: the line is read again from its first piece and
    // gets the id it was sent with, so the server skips it.
    writeFileSync(states.fileFor(path), crashed);
    const err: string[] = [];
    const again = await ingestCommand([path, '--container', 'cri', '--state-dir', stateDir, '--endpoint', server.url], {
      env: { VIGIL_INGEST_TOKEN: server.ingestToken },
      stderr: { write: (t: string) => err.push(t) },
    });
    assert.equal(again, 0, err.join(''));
    assert.match(err.join(''), /0 events stored, 2 already stored, 0 bad lines/);
    await expectStored(server, 'kill', 1, 4);
  });

  test('vigil ingest --follow --container docker stopped inside a line, rotated while stopped: the line is read whole', async () => {
    const path = join(dir, '0123456789abcdef-rotated-json.log');
    const stateDir = join(dir, 'docker-rotated-state');
    const second = line('drot', 2);
    writeFileSync(path, dockerRecord(line('drot', 1)) + dockerRecord(second.slice(0, 30)));
    const err: string[] = [];
    const args = [path, '--container', 'docker', '--follow', '--state-dir', stateDir];
    const states = new FollowStateStore(stateDir);
    const first = shipInBackground(args, err);
    try {
      await expectStored(server, 'drot', 1, 1);
      await eventually(async () => assert.ok((await states.load(path)) !== undefined));
    } finally {
      first.abort(); // as SIGTERM does
    }
    assert.equal(await first.exit, 0, err.join(''));
    // While the shipper is stopped: another piece, then Docker rotates the file, and the line ends in the new one.
    appendFileSync(path, dockerRecord(second.slice(30, 60)));
    renameSync(path, `${path}.1`);
    writeFileSync(path, dockerRecord(second.slice(60)) + dockerRecord(line('drot', 3)));
    const resumed = shipInBackground(args, err);
    try {
      await expectStored(server, 'drot', 1, 3);
    } finally {
      resumed.abort();
    }
    assert.equal(await resumed.exit, 0, err.join(''));
    assert.doesNotMatch(err.join(''), /json\.log(\.1)?:\d+: /, 'no bad line');
    assert.match(err.join(''), /rotated while stopped/);
  });

  test('a rotation while a line is in pieces, then a stop: the state stays on its first piece in the rotated file', async () => {
    const path = join(dir, 'web-0_shop_envoy-4567.log');
    const states = new FollowStateStore(join(dir, 'carried-state'));
    const second = line('carry', 2).trimEnd();
    writeFileSync(path, criLine('stdout', 'F', line('carry', 1)) + criLine('stdout', 'P', second.slice(0, 50)));
    const bad: string[] = [];
    const criSender = () =>
      new HttpEventSender({
        endpoint: server.url,
        token: server.ingestToken,
        createParser: () => createLineParser('combined'),
        container: 'cri',
        onBadLine: (b) => bad.push(`${b.lineNumber}: ${b.reason}`),
      });
    const first = follow({ path, states, sink: criSender() });
    await expectStored(server, 'carry', 1, 1);
    // The kubelet rotates; the new file starts with a line of the error log, and the line's last piece is not
    // written yet when the shipper stops.
    renameSync(path, `${path}.20261128-100000`);
    writeFileSync(path, criLine('stderr', 'F', '[warning] upstream is slow'));
    await eventually(async () =>
      assert.ok(
        first.notices.some((n) => /was rotated/.test(n)),
        first.notices.join(),
      ),
    );
    await first.stop();
    appendFileSync(path, criLine('stdout', 'F', second.slice(50)) + criLine('stdout', 'F', line('carry', 3)));
    const restarted = follow({ path, states, sink: criSender() });
    try {
      await expectStored(server, 'carry', 1, 3);
    } finally {
      await restarted.stop();
    }
    assert.deepEqual(bad, []);
    assert.ok(
      restarted.notices.some((n) => /rotated while stopped: finishing .*20261128-100000/.test(n)),
      restarted.notices.join('\n'),
    );
  });

  test('vigil ingest FILE --container cri --state-dir (one-shot) ending inside a line: left for the next run, sent whole once', async () => {
    const path = join(dir, 'cron-container.log');
    const states = join(dir, 'cron-container-state');
    const third = line('cronc', 3).trimEnd();
    // What the first piece holds reads as a line of its own (the common format): sent now, it would be stored twice.
    const cut = third.indexOf(' "-"');
    writeFileSync(
      path,
      criLine('stdout', 'F', line('cronc', 1)) +
        criLine('stderr', 'F', '[notice] signal process started') +
        criLine('stdout', 'F', line('cronc', 2)) +
        criLine('stdout', 'P', third.slice(0, cut)),
    );
    const err: string[] = [];
    const run = () =>
      ingestCommand([path, '--container', 'cri', '--state-dir', states, '--endpoint', server.url], {
        env: { VIGIL_INGEST_TOKEN: server.ingestToken },
        stderr: { write: (t: string) => err.push(t) },
      });
    assert.equal(await run(), 0, err.join(''));
    await expectStored(server, 'cronc', 1, 2);
    assert.match(err.join(''), /the line in pieces from line 4 has no last piece yet; it is left for the next run/);
    assert.match(
      err.join(''),
      /ingested 4 lines: 2 events stored, 0 already stored, 0 bad lines, 1 stderr lines skipped\n/,
    );
    appendFileSync(path, criLine('stdout', 'F', third.slice(cut)));
    assert.equal(await run(), 0, err.join(''));
    await expectStored(server, 'cronc', 1, 3);
    assert.match(
      err.join(''),
      /ingested 2 lines: 1 events stored, 0 already stored, 0 bad lines, 2 pieces joined into 1 lines\n/,
    );
    assert.doesNotMatch(err.join(''), /\.log:\d+: /, 'no bad line');
    const res = await server.get('/api/v1/events?limit=1000');
    const { events } = (await res.json()) as { events: Record<string, unknown>[] };
    const whole = events.filter((e) => e['url.path'] === '/items/cronc-3');
    assert.deepEqual(
      whole.map((e) => e['user_agent.original']),
      ['curl/8.5.0'],
      'the line is stored once, whole',
    );
  });

  test('vigil ingest --follow --container cri --format iis resumes with the #Fields: line inside the wrapper', async () => {
    const path = join(dir, 'iis-0_web_w3svc-89ab.log');
    const stateDir = join(dir, 'state-iis-cri');
    const stamp = (n: number) => new Date(start + n * 1000).toISOString().slice(0, 19).replace('T', ' ');
    const entry = (n: number) => criLine('stdout', 'F', `${stamp(n)} POST 401 /items/iisc-${n} 203.0.113.9`);
    writeFileSync(
      path,
      criLine('stdout', 'F', '#Software: Microsoft Internet Information Services 10.0') +
        criLine('stdout', 'F', '#Fields: date time cs-method sc-status cs-uri-stem c-ip') +
        entry(1) +
        entry(2),
    );
    const err: string[] = [];
    const args = [path, '--format', 'iis', '--container', 'cri', '--follow', '--state-dir', stateDir];
    const states = new FollowStateStore(stateDir);
    const first = shipInBackground(args, err);
    await expectStored(server, 'iisc', 1, 2);
    await eventually(async () => assert.equal((await states.load(path))?.offset, statSync(path).size), 8000);
    first.abort();
    assert.equal(await first.exit, 0, err.join(''));
    appendFileSync(path, entry(3));
    const second = shipInBackground(args, err);
    try {
      await expectStored(server, 'iisc', 1, 3);
    } finally {
      second.abort();
    }
    assert.equal(await second.exit, 0, err.join(''));
    assert.doesNotMatch(err.join(''), /\.log:\d+:/, 'no bad line: the columns are known after the restart');
  });

  test('vigil ingest FILE.gz is refused, saying how to send it, instead of read as lines of binary', async () => {
    const path = join(dir, 'access.log.2.gz');
    writeFileSync(path, gzipSync(lines('z', 1, 3)));
    const err: string[] = [];
    const code = await ingestCommand([path, '--endpoint', server.url], {
      env: { VIGIL_INGEST_TOKEN: server.ingestToken },
      stderr: { write: (t: string) => err.push(t) },
    });
    assert.equal(code, 1);
    assert.match(err.join(''), /access\.log\.2\.gz is gzip-compressed; .* zcat .*access\.log\.2\.gz \| vigil ingest -/);
  });

  test('a line of exactly 64 KiB ending in CRLF is not marked truncated', async () => {
    const path = join(dir, 'crlf-64k.log');
    const head = line('x', 1).trimEnd();
    // Fields after the user agent are ignored by the parser: pad the line with one to exactly 65 536 bytes.
    const padded = `${head} "${'p'.repeat(64 * 1024 - Buffer.byteLength(head) - 3)}"`;
    assert.equal(Buffer.byteLength(padded), 64 * 1024);
    writeFileSync(path, `${padded}\r\n`);
    const err: string[] = [];
    const code = await ingestCommand([path, '--endpoint', server.url], {
      env: { VIGIL_INGEST_TOKEN: server.ingestToken },
      stderr: { write: (t: string) => err.push(t) },
    });
    assert.equal(code, 0, err.join(''));
    await expectStored(server, 'x', 1, 1);
    const { events } = (await (await server.get('/api/v1/events?limit=1000')).json()) as {
      events: Record<string, unknown>[];
    };
    const event = events.find((e) => e['url.path'] === '/items/x-1');
    assert.equal(event?.['vigil.truncated'], undefined, JSON.stringify(event));
  });

  test('--endpoint with a path (Vigil behind a gateway prefix): events go to <endpoint>/v1/events, as from the SDK', async () => {
    const gateway = await httpServer(async (req, body, res) => {
      if (req.url !== '/vigil/v1/events') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"no such route"}}');
        return;
      }
      const answer = await fetch(`${server.url}/v1/events`, {
        method: 'POST',
        body,
        headers: {
          authorization: String(req.headers.authorization),
          'content-type': String(req.headers['content-type']),
          'content-encoding': String(req.headers['content-encoding']),
        },
      });
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(await answer.text());
    });
    try {
      const path = join(dir, 'gateway.log');
      writeFileSync(path, lines('p', 1, 2));
      const err: string[] = [];
      for (const endpoint of [`${gateway.url}/vigil`, `${gateway.url}/vigil/`]) {
        const code = await ingestCommand([path, '--endpoint', endpoint], {
          env: { VIGIL_INGEST_TOKEN: server.ingestToken },
          stderr: { write: (t: string) => err.push(t) },
        });
        assert.equal(code, 0, err.join(''));
      }
      await expectStored(server, 'p', 1, 2);
      assert.deepEqual(gateway.paths, ['/vigil/v1/events', '/vigil/v1/events']);
    } finally {
      await gateway.close();
    }
  });

  test("a 200 that is not Vigil's answer (a login page, a count that misses events) stops the shipper, offset kept", async () => {
    const answers: { type: string; body: string }[] = [
      { type: 'text/html', body: '<html><body>Sign in</body></html>' },
      { type: 'application/json', body: '{"accepted":1,"duplicates":0,"rejected":[]}' },
    ];
    const problems = [/is not the JSON answer of Vigil/, /accounts for 1 of the 3 events sent/];
    for (const [i, answer] of answers.entries()) {
      const impostor = await httpServer((_req, _body, res) => {
        res.writeHead(200, { 'content-type': answer.type }).end(answer.body);
      });
      try {
        const path = join(dir, `impostor-${i}.log`);
        writeFileSync(path, lines(`h${i}`, 1, 3));
        const states = new FollowStateStore(join(dir, `impostor-state-${i}`));
        const err: string[] = [];
        const code = await ingestCommand([path, '--state-dir', states.dir, '--endpoint', impostor.url], {
          env: { VIGIL_INGEST_TOKEN: server.ingestToken },
          stderr: { write: (t: string) => err.push(t) },
        });
        assert.equal(code, 1, err.join(''));
        assert.match(err.join(''), /giving up: .* answered HTTP 200 .*not a Vigil server's ingest route/);
        assert.match(err.join(''), problems[i]!);
        assert.equal(impostor.paths.length, 1, 'not retried: the endpoint is wrong, not down');
        assert.equal((await states.load(join(dir, `impostor-${i}.log`)))?.offset ?? 0, 0, 'the offset did not move');
      } finally {
        await impostor.close();
      }
    }
  });

  test('an endless 200 answer stops the shipper once past the answer bound, unread beyond it, offset kept', async () => {
    const cap = 64 * 1024 * 1024;
    let written = 0;
    const endless = await httpServer(async (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, ' ');
      // Bounded so the test ends whatever the shipper does: the old shipper read all 64 MiB.
      while (written < cap && !res.destroyed) {
        written += chunk.length;
        if (res.write(chunk)) continue;
        await new Promise<void>((resolve) => {
          const go = () => {
            res.off('drain', go).off('close', go);
            resolve();
          };
          res.on('drain', go).on('close', go);
        });
      }
      res.end();
    });
    try {
      const path = join(dir, 'endless.log');
      writeFileSync(path, lines('e', 1, 2));
      const states = new FollowStateStore(join(dir, 'endless-state'));
      const err: string[] = [];
      const code = await ingestCommand([path, '--state-dir', states.dir, '--endpoint', endless.url], {
        env: { VIGIL_INGEST_TOKEN: server.ingestToken },
        stderr: { write: (t: string) => err.push(t) },
      });
      assert.equal(code, 1, err.join(''));
      assert.match(
        err.join(''),
        /answered HTTP 200 with a body longer than 1572864 bytes, which Vigil's answer to 2 events never is, so it is not a Vigil server's/,
      );
      assert.ok(written < cap, `the shipper stopped reading (server wrote ${written} bytes)`);
      assert.equal(endless.paths.length, 1, 'not retried');
      assert.equal((await states.load(path))?.offset ?? 0, 0, 'the offset did not move');
    } finally {
      await endless.close();
    }
  });

  test('vigil ingest - stops promptly on SIGTERM while stdin stays open, and sends the lines it read', async () => {
    const child = spawn(process.execPath, [CLI, 'ingest', '-', '--endpoint', server.url, '--batch-size', '2'], {
      env: { ...process.env, VIGIL_INGEST_TOKEN: server.ingestToken },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      // One write (atomic on a pipe): once lines 1-2 are stored, line 3 was read too and waits for a fuller batch.
      child.stdin.write(lines('e', 1, 3));
      await expectStored(server, 'e', 1, 2, 15_000);
      const signalledAt = Date.now();
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 5000))]);
      assert.notEqual(code, 'hung', `still running 5 s after SIGTERM; stderr: ${stderr}`);
      assert.equal(code, 0, stderr);
      assert.ok(Date.now() - signalledAt < 5000);
      assert.match(stderr, /ingested 3 lines: 3 events stored, 0 already stored, 0 bad lines \(stopped\)/);
      await expectStored(server, 'e', 1, 3);
    } finally {
      child.stdin.end();
      child.kill('SIGKILL');
    }
  });

  test('vigil ingest - reads gzip as it comes; damaged gzip sends what it read and exits 1 saying so', async () => {
    const ship = async (input: Buffer) => {
      const child = spawn(process.execPath, [CLI, 'ingest', '-', '--endpoint', server.url], {
        env: { ...process.env, VIGIL_INGEST_TOKEN: server.ingestToken },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      const code = new Promise<number | null>((resolve) => child.on('close', resolve));
      child.stdin.end(input);
      return { code: await code, stderr };
    };
    // Two members, as `cat access.log.3.gz access.log.2.gz` gives.
    const whole = await ship(Buffer.concat([gzipSync(lines('gz', 1, 2)), gzipSync(lines('gz', 3, 4))]));
    assert.equal(whole.code, 0, whole.stderr);
    assert.match(whole.stderr, /ingested 4 lines: 4 events stored/);
    await expectStored(server, 'gz', 1, 4);
    // Cut short in the second member: the first member's lines are sent.
    const first = gzipSync(lines('cut', 1, 2));
    const second = gzipSync(lines('cut', 3, 40));
    const cut = await ship(Buffer.concat([first, second.subarray(0, second.length - 12)]));
    assert.equal(cut.code, 1, cut.stderr);
    assert.match(cut.stderr, /vigil ingest: \(stdin\): the gzip data is damaged or cut short \(.+\)/);
    const sent = await stored(server, 'cut');
    assert.ok(sent.has('/items/cut-1') && sent.has('/items/cut-2'), [...sent.keys()].join(' '));
  });

  test('vigil ingest --format json --mapping FILE ships a JSON log that matches no preset', async () => {
    const path = join(dir, 'custom.jsonl');
    const rows = [1, 2].map((n) =>
      JSON.stringify({ at: new Date(start + n * 1000).toISOString(), m: 'GET', u: `/items/m-${n}`, s: 200 }),
    );
    writeFileSync(path, `${rows.join('\n')}\n`);
    const mapping = join(dir, 'custom-mapping.json');
    writeFileSync(mapping, JSON.stringify({ source: 'custom', time: 'at', method: 'm', path: 'u', status: 's' }));
    const err: string[] = [];
    const run = (args: string[]) =>
      ingestCommand([path, '--format', 'json', ...args, '--endpoint', server.url], {
        env: { VIGIL_INGEST_TOKEN: server.ingestToken },
        stderr: { write: (t: string) => err.push(t) },
      });
    assert.equal(await run(['--mapping', mapping]), 0, err.join(''));
    await expectStored(server, 'm', 1, 2);
    writeFileSync(mapping, JSON.stringify({ time: 'at', colour: 'c' }));
    await assert.rejects(run(['--mapping', mapping]), /--mapping .*custom-mapping\.json: colour: unknown mapping key/);
  });
});
