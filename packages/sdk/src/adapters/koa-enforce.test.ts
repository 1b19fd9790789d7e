/**
 * `vigilKoaEnforce` in a Koa app with @koa/router, through the suite every enforcement middleware runs
 * (testing/enforce-suite.ts): `vigilKoa`, then authentication (`ctx.state.user`), then the enforcement, then the
 * router.
 */
import { createServer } from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import type { Vigil } from '../index.js';
import { enforcementSuite, listenOnLoopback } from '../testing/enforce-suite.js';
import type { VigilEnforceOptions } from './enforcement.js';
import { vigilKoa, vigilKoaEnforce } from './koa.js';

enforcementSuite({
  name: 'koa',
  async start(vigil: Vigil | undefined, options: VigilEnforceOptions) {
    const app = new Koa();
    if (vigil) app.use(vigilKoa(vigil));
    app.use(async (ctx, next) => {
      const user = ctx.get('x-user');
      if (user) ctx.state.user = { id: user };
      await next();
    });
    const enforce = vigil ? vigilKoaEnforce(vigil, options) : vigilKoaEnforce(options);
    app.use(enforce);
    const router = new Router();
    router.post('/login', (ctx) => {
      vigil?.authn.loginFail(ctx.get('x-login-user') || undefined, { reason: 'bad_password' });
      ctx.status = 401;
      ctx.body = { error: 'bad credentials' };
    });
    router.get('/orders', (ctx) => {
      ctx.body = { orders: [] };
    });
    app.use(router.routes());
    const server = createServer(app.callback());
    return {
      url: await listenOnLoopback(server),
      controls: enforce,
      close: async () => {
        enforce.close();
        server.close();
      },
    };
  },
});
