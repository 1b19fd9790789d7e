/**
 * `vigilFastifyEnforce` in Fastify 5 and Fastify 4 (the `fastify4` alias), through the suite every enforcement
 * middleware runs (testing/enforce-suite.ts). Authentication is a `preValidation` hook registered after the plugin:
 * the `preHandler` hook of the plugin still runs after it.
 */
import Fastify5 from 'fastify';
import Fastify4 from 'fastify4';
import type { Vigil } from '../index.js';
import { type EnforceTarget, enforcementSuite } from '../testing/enforce-suite.js';
import type { VigilEnforceOptions } from './enforcement.js';
import { vigilFastify, vigilFastifyEnforce } from './fastify.js';

function fastify(version: string, Fastify: typeof Fastify5): EnforceTarget {
  return {
    name: `fastify ${version}`,
    async start(vigil: Vigil | undefined, options: VigilEnforceOptions) {
      const app = Fastify();
      if (vigil) await app.register(vigilFastify(vigil));
      const enforce = vigil ? vigilFastifyEnforce(vigil, options) : vigilFastifyEnforce(options);
      await app.register(enforce);
      app.addHook('preValidation', async (request) => {
        const user = request.headers['x-user'];
        if (typeof user === 'string') (request as unknown as { user: unknown }).user = { id: user };
      });
      app.post('/login', async (request, reply) => {
        const user = request.headers['x-login-user'];
        vigil?.authn.loginFail(typeof user === 'string' ? user : undefined, { reason: 'bad_password' });
        return reply.code(401).send({ error: 'bad credentials' });
      });
      app.get('/orders', async () => ({ orders: [] }));
      const url = await app.listen({ port: 0, host: '127.0.0.1' });
      return {
        url,
        controls: enforce,
        close: async () => {
          enforce.close();
          await app.close();
        },
      };
    },
  };
}

enforcementSuite(fastify('5', Fastify5));
enforcementSuite(fastify('4', Fastify4 as unknown as typeof Fastify5));
