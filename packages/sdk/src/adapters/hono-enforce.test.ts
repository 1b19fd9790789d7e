/**
 * `vigilHonoEnforce` in a Hono app on @hono/node-server, through the suite every enforcement middleware runs
 * (testing/enforce-suite.ts): `vigilHono`, then authentication (`c.set('user', ...)`), then the enforcement.
 */
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import type { Vigil } from '../index.js';
import { enforcementSuite, listenOnLoopback } from '../testing/enforce-suite.js';
import type { VigilEnforceOptions } from './enforcement.js';
import { vigilHono, vigilHonoEnforce } from './hono.js';

enforcementSuite({
  name: 'hono',
  async start(vigil: Vigil | undefined, options: VigilEnforceOptions) {
    const app = new Hono<{ Variables: { user: { id: string } } }>();
    if (vigil) app.use(vigilHono(vigil));
    app.use(async (c, next) => {
      const user = c.req.header('x-user');
      if (user) c.set('user', { id: user });
      await next();
    });
    const enforce = vigil ? vigilHonoEnforce(vigil, options) : vigilHonoEnforce(options);
    app.use(enforce);
    app.post('/login', (c) => {
      vigil?.authn.loginFail(c.req.header('x-login-user'), { reason: 'bad_password' });
      return c.json({ error: 'bad credentials' }, 401);
    });
    app.get('/orders', (c) => c.json({ orders: [] }));
    const server = createAdaptorServer({ fetch: app.fetch });
    return {
      url: await listenOnLoopback(server as import('node:http').Server),
      controls: enforce,
      close: async () => {
        enforce.close();
        server.close();
      },
    };
  },
});
