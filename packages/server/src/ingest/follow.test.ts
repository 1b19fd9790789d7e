import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, readFileSync, renameSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
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
    new HttpEventSender({ endpoint, token: server.ingestToken, parser: createLineParser('combined') });

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
});
