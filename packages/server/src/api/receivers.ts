/**
 * HTTP routes of the configured receivers (API token): `GET /api/v1/receivers` lists them,
 * `POST /api/v1/receivers/:name/health` checks that one is reachable, and `POST /api/v1/receivers/:name/test` sends
 * it a notification marked as a test (docs/receivers.md). Neither goes through the notification log: a test is not
 * an alert, and its outcome is the answer.
 */
import { VigilError } from '../errors.js';
import type { TokenChecker } from '../http/auth.js';
import { readActionBody, sendJson } from '../http/body.js';
import type { RouteDefinition } from '../http/router.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { ReceiverNotifier } from '../notify/provider.js';
import { actorOf } from './routes.js';

export interface ReceiverRouteDeps {
  readonly receivers: readonly ReceiverNotifier[];
  readonly tokens: TokenChecker;
  readonly metrics: Metrics;
  readonly log: Logger;
}

type Check = 'health' | 'test';

export function receiverRoutes({ receivers, tokens, metrics, log }: ReceiverRouteDeps): RouteDefinition[] {
  const byName = new Map(receivers.map((r) => [r.name, r]));
  // One check of each kind per receiver at a time: a client repeating its request cannot flood a receiver.
  const running = new Set<string>();

  const receiverOf = (name: string): ReceiverNotifier => {
    const receiver = byName.get(name);
    if (!receiver) throw new VigilError('not_found', `no receiver named "${name.slice(0, 128)}"`);
    return receiver;
  };

  /** Run one check of `receiver`, counted by outcome; refused while the same check of it still runs. */
  const check = async <T>(receiver: ReceiverNotifier, kind: Check, run: () => Promise<T>): Promise<T> => {
    const key = `${kind} ${receiver.name}`;
    if (running.has(key)) {
      throw new VigilError('conflict', `a ${kind} check of receiver "${receiver.name}" is already running`);
    }
    running.add(key);
    try {
      return await run();
    } finally {
      running.delete(key);
    }
  };

  return [
    {
      method: 'GET',
      path: '/api/v1/receivers',
      handler: async (req, res) => {
        tokens.require(req, 'api');
        sendJson(res, 200, { receivers: receivers.map((r) => ({ name: r.name, type: r.type })) });
      },
    },
    {
      method: 'POST',
      path: '/api/v1/receivers/:name/health',
      handler: async (req, res, _url, params) => {
        tokens.require(req, 'api');
        const receiver = receiverOf(params.name!);
        const result = await check(receiver, 'health', () => receiver.healthCheck());
        metrics.receiverChecks.inc({ receiver: receiver.name, check: 'health', outcome: result.ok ? 'ok' : 'failed' });
        sendJson(res, 200, { receiver: receiver.name, type: receiver.type, ...result });
      },
    },
    {
      method: 'POST',
      path: '/api/v1/receivers/:name/test',
      handler: async (req, res, _url, params) => {
        tokens.require(req, 'api');
        const receiver = receiverOf(params.name!);
        const who = actorOf(await readActionBody(req), req);
        const outcome = await check(receiver, 'test', async () => {
          const started = performance.now();
          try {
            await receiver.sendTest();
            return { delivered: true as const, latencyMillis: Math.round(performance.now() - started) };
          } catch (error) {
            // What a send throws is free of the receiver's secrets: it is what the log and the notification log keep.
            const message = error instanceof Error ? error.message : String(error);
            return { delivered: false as const, message, latencyMillis: Math.round(performance.now() - started) };
          }
        });
        metrics.receiverChecks.inc({
          receiver: receiver.name,
          check: 'test',
          outcome: outcome.delivered ? 'ok' : 'failed',
        });
        const fields = { receiver: receiver.name, by: who.name, token: who.tokenId };
        if (outcome.delivered) log.info('test notification delivered', fields);
        else log.warn('test notification failed', { ...fields, error: outcome.message });
        sendJson(res, 200, { receiver: receiver.name, type: receiver.type, ...outcome });
      },
    },
  ];
}
