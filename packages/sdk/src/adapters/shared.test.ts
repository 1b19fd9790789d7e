import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { RequestState, ResponseView } from '../request.js';
import type { RequestTracker } from '../tracker.js';
import { type ResponseHooks, trackedState, trackResponse } from './shared.js';

/** Hooks whose tracker hands every finished response to `finish` (the states are stand-ins: nothing reads them). */
function hooksCalling(finish: (response: ResponseView) => void, ended: () => void = () => {}): ResponseHooks<null> {
  const tracker: RequestTracker = {
    start: () => undefined,
    inspectsParams: false,
    readsParams: false,
    finish: (_state, response) => finish(response),
    warnOnce: () => {},
  };
  return { tracker, ended };
}

const aState = () => ({}) as RequestState;

/** Serve one request with `handle`, and return what the client received. */
async function serveOnce(handle: (res: ServerResponse) => void): Promise<string> {
  const server = createServer((_req, res) => handle(res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    return await response.text();
  } finally {
    server.close();
  }
}

test('a response tracked twice, with another wrapper in between, is counted once per tracking and ends once', async () => {
  const counts: number[] = [];
  let ends = 0;
  const done: Array<Promise<void>> = [];
  const body = await serveOnce((res) => {
    const track = () => {
      let resolve!: () => void;
      done.push(new Promise<void>((r) => (resolve = r)));
      const hooks = hooksCalling(
        (response) => {
          counts.push(response.bodySize!);
          resolve();
        },
        () => ends++,
      );
      const state = aState();
      trackResponse(res, state, null, hooks);
      assert.equal(trackedState(res, hooks), state);
    };
    track();
    // A compression-style wrapper between the two trackings: it calls the write and end it found.
    const innerWrite = res.write;
    const innerEnd = res.end;
    res.write = function (this: ServerResponse, ...args: unknown[]) {
      return (innerWrite as (...a: unknown[]) => boolean).apply(this, args);
    } as typeof res.write;
    res.end = function (this: ServerResponse, ...args: unknown[]) {
      return (innerEnd as (...a: unknown[]) => ServerResponse).apply(this, args);
    } as typeof res.end;
    track();
    res.write('héllo ');
    res.end(Buffer.from('world'));
  });
  await Promise.all(done);
  assert.equal(body, 'héllo world');
  assert.deepEqual(counts, [12, 12]);
  assert.equal(ends, 2);
});

test('the shared write and end still work when called on another response', async () => {
  let tracked: ServerResponse | undefined;
  await serveOnce((res) => {
    trackResponse(
      res,
      aState(),
      null,
      hooksCalling(() => {}),
    );
    tracked = res;
    res.end('a');
  });
  const body = await serveOnce((res) => {
    const { write, end } = tracked as unknown as {
      write: (...a: unknown[]) => unknown;
      end: (...a: unknown[]) => unknown;
    };
    write.call(res, 'b');
    end.call(res, 'c');
  });
  assert.equal(body, 'bc');
});
