import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type HonoContextLike, honoRoute } from './hono.js';

function context(routes: Array<[string, string]>, routeIndex: number): HonoContextLike {
  return {
    req: {
      method: 'GET',
      url: 'http://x/',
      raw: { headers: { forEach() {} } },
      matchedRoutes: routes.map(([method, path]) => ({ method, path })),
      routeIndex,
    },
  };
}

describe('honoRoute', () => {
  const routes: Array<[string, string]> = [
    ['ALL', '/*'], // Vigil
    ['ALL', '/api/*'], // authentication middleware
    ['GET', '/api/users/me'],
    ['GET', '/api/users/:id'],
  ];

  test('the route that answered', () => {
    assert.equal(honoRoute(context(routes, 2), 0), '/api/users/me');
    assert.equal(honoRoute(context(routes, 3), 0), '/api/users/:id');
  });

  test('middleware answered (a 401): the first route after it that would have', () => {
    assert.equal(honoRoute(context(routes, 1), 0), '/api/users/me');
  });

  test('only middleware matched (a 404): no route, never the raw path', () => {
    assert.equal(honoRoute(context([['ALL', '/*']], 0), 0), undefined);
    assert.equal(
      honoRoute(
        context(
          [
            ['ALL', '/*'],
            ['ALL', '/api/*'],
          ],
          1,
        ),
        0,
      ),
      undefined,
    );
  });

  test('an app.all() endpoint counts as a route', () => {
    assert.equal(
      honoRoute(
        context(
          [
            ['ALL', '/*'],
            ['ALL', '/graphql'],
          ],
          1,
        ),
        0,
      ),
      '/graphql',
    );
  });

  test('older Hono without matchedRoutes: routePath', () => {
    const c = { req: { method: 'GET', url: 'http://x/', raw: { headers: { forEach() {} } }, routePath: '/a/:b' } };
    assert.equal(honoRoute(c), '/a/:b');
    assert.equal(honoRoute({ req: { ...c.req, routePath: '/*' } }), undefined);
  });
});
