/**
 * `vigilEnforce` through the suite every enforcement middleware runs (testing/enforce-suite.ts): `vigilExpress`, then
 * authentication (`req.user`), then the enforcement.
 */
import { createServer } from 'node:http';
import express from 'express';
import type { Vigil } from '../index.js';
import { enforcementSuite, listenOnLoopback } from '../testing/enforce-suite.js';
import type { VigilEnforceOptions } from './enforcement.js';
import { vigilExpress } from './express.js';
import { vigilEnforce } from './express-enforce.js';

enforcementSuite({
  name: 'express',
  async start(vigil: Vigil | undefined, options: VigilEnforceOptions) {
    const app = express();
    if (vigil) app.use(vigilExpress(vigil));
    app.use((req, _res, next) => {
      const user = req.get('x-user');
      if (user) (req as express.Request & { user?: unknown }).user = { id: user };
      next();
    });
    const enforce = vigil ? vigilEnforce(vigil, options) : vigilEnforce(options);
    app.use(enforce);
    app.post('/login', (req, res) => {
      vigil?.authn.loginFail(req.get('x-login-user'), { reason: 'bad_password' });
      res.status(401).json({ error: 'bad credentials' });
    });
    app.get('/orders', (_req, res) => {
      res.json({ orders: [] });
    });
    const server = createServer(app);
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
