/**
 * `vigilNodeEnforce` in a plain node:http listener wrapped by `wrap`, through the suite every enforcement middleware
 * runs (testing/enforce-suite.ts): the listener authenticates (`req.user`), then asks `check(req, res)`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Vigil } from '../index.js';
import { enforcementSuite, listenOnLoopback } from '../testing/enforce-suite.js';
import type { VigilEnforceOptions } from './enforcement.js';
import { vigilNodeEnforce, wrap } from './node.js';

enforcementSuite({
  name: 'node:http',
  async start(vigil: Vigil | undefined, options: VigilEnforceOptions) {
    const enforce = vigil ? vigilNodeEnforce(vigil, options) : vigilNodeEnforce(options);
    const listener = (req: IncomingMessage & { user?: unknown }, res: ServerResponse) => {
      const user = req.headers['x-user'];
      if (typeof user === 'string') req.user = { id: user };
      if (enforce.check(req, res)) return;
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST' && req.url === '/login') {
        const login = req.headers['x-login-user'];
        vigil?.authn.loginFail(typeof login === 'string' ? login : undefined, { reason: 'bad_password' });
        res.statusCode = 401;
        res.end('{"error":"bad credentials"}');
        return;
      }
      res.end('{"orders":[]}');
    };
    const server = createServer(vigil ? wrap(vigil, listener) : listener);
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
