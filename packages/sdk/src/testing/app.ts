/**
 * The set-up adapter tests share: a loopback receiver, a client sending to it (flushing every few milliseconds), and
 * the app's HTTP server, listening on a free loopback port.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';
import { createVigil, type Vigil, type VigilOptions } from '../index.js';
import { Receiver, TEST_TOKEN } from './receiver.js';

export interface TestApp {
  readonly receiver: Receiver;
  readonly vigil: Vigil;
  /** The app's base URL. */
  readonly url: string;
  close(): Promise<void>;
}

/** `server` makes the app's server (for a framework that must be made ready first, asynchronously). */
export async function startTestApp(
  options: VigilOptions,
  server: (vigil: Vigil) => Server | Promise<Server>,
): Promise<TestApp> {
  const receiver = await Receiver.start();
  const vigil = createVigil({
    endpoint: receiver.url,
    token: TEST_TOKEN,
    service: 'adapter-test',
    flushIntervalMillis: 5,
    flushOnExit: false,
    ...options,
  });
  const http = await server(vigil);
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  return {
    receiver,
    vigil,
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    async close() {
      http.closeAllConnections();
      http.close();
      await vigil.close();
      await receiver.close();
    },
  };
}

/**
 * A test app started before the suite's tests and closed after them, for `describe` blocks: its fields are there
 * from the first test on.
 */
export function useTestApp(options: VigilOptions, server: (vigil: Vigil) => Server | Promise<Server>): TestApp {
  const app = {} as { -readonly [K in keyof TestApp]: TestApp[K] };
  before(async () => {
    Object.assign(app, await startTestApp(options, server));
  });
  after(() => app.close());
  return app;
}
