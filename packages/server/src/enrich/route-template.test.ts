import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SecurityEvent } from '@vigil/schema';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors.js';
import { createRouteTemplateStage, OpenApiRoutes, RouteTemplater, templateSegment } from './route-template.js';
import { applyStages } from './stage.js';

describe('heuristics', () => {
  const templater = new RouteTemplater({ learning: false });
  const cases: [string, string][] = [
    ['/users/4711', '/users/{id}'],
    ['/users/4711/orders/12', '/users/{id}/orders/{id}'],
    ['/orders/3f2504e0-4f89-11d3-9a0c-0305e82c3301', '/orders/{uuid}'],
    ['/commits/da39a3ee5e6b4b0d3255bfef95601890afd80709', '/commits/{hash}'],
    ['/items/507f1f77bcf86cd799439011', '/items/{hash}'],
    ['/users/jane.doe+test@example.com/profile', '/users/{email}/profile'],
    ['/users/jane.doe%40example.com', '/users/{email}'],
    ['/reports/2024-03-05', '/reports/{date}'],
    ['/reports/2024-03-05T10%3A00%3A00Z/pdf', '/reports/{date}/pdf'],
    [
      '/session/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0NzExIn0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
      '/session/{token}',
    ],
    ['/invite/aZ3kP9qLm2Xv7TbW4nRc8Yd', '/invite/{token}'],
    ['/share/k7x9m2p4q8r1s5t3v6w0y2z4', '/share/{token}'],
    ['/avatars/42.png', '/avatars/{id}.png'],
    ['/blobs/3f2504e0-4f89-11d3-9a0c-0305e82c3301.json', '/blobs/{uuid}.json'],
    [`/x/${'a'.repeat(300)}`, '/x/{param}'],
    // static words stay: versions, camelCase names with a digit, slugs, file names
    ['/api/v1/getAccountBalanceV2', '/api/v1/getAccountBalanceV2'],
    ['/blog/how-to-reset-2fa-in-2024', '/blog/how-to-reset-2fa-in-2024'],
    ['/static/app.min.js', '/static/app.min.js'],
    ['/users/me', '/users/me'],
    ['/', '/'],
    ['/users/', '/users/'],
    ['/a//b', '/a//b'],
    // the query never reaches the template
    ['/users/7?token=abc', '/users/{id}'],
  ];
  for (const [path, route] of cases) {
    test(`${path.slice(0, 60)} → ${route.slice(0, 60)}`, () => {
      assert.equal(templater.template(path), route);
    });
  }

  test('percent-encoding is neither decoded nor templated away', () => {
    assert.equal(templateSegment('..%2F..%2Fetc%2Fpasswd'), '..%2F..%2Fetc%2Fpasswd');
  });

  test('what is not an origin-form path has no route', () => {
    for (const path of ['-', '*', 'example.com:443', '']) assert.equal(templater.template(path), undefined, path);
  });

  test('heuristics can be turned off', () => {
    assert.equal(new RouteTemplater({ heuristics: false, learning: false }).template('/users/4711'), '/users/4711');
  });
});

describe('learning from traffic', () => {
  test('a position becomes {param} after more than maxDistinctValues values under one parent', () => {
    const templater = new RouteTemplater({ learning: { maxDistinctValues: 3 } });
    assert.equal(templater.template('/users/alice', 200), '/users/alice');
    assert.equal(templater.template('/users/bob', 200), '/users/bob');
    assert.equal(templater.template('/users/alice', 200), '/users/alice'); // a repeat is not a new value
    assert.equal(templater.template('/users/carol', 200), '/users/carol');
    assert.equal(templater.template('/users/dave', 200), '/users/{param}');
    assert.equal(templater.template('/users/alice/repos', 200), '/users/{param}/repos');
    assert.equal(templater.template('/users/4711', 200), '/users/{id}'); // heuristics keep their own names
    assert.deepEqual(templater.learnedPrefixes(), ['/users']);
  });

  test('each parent counts its own children, below templated parents too', () => {
    const templater = new RouteTemplater({ learning: { maxDistinctValues: 2 } });
    for (const repo of ['api', 'web', 'cli']) templater.template(`/orgs/1/repos/${repo}`, 200);
    assert.equal(templater.template('/orgs/2/repos/docs', 200), '/orgs/{id}/repos/{param}');
    assert.equal(templater.template('/orgs/2/teams/core', 200), '/orgs/{id}/teams/core');
  });

  test('the first segment is never learned by default, so a scanner cannot collapse the API to /{param}', () => {
    const templater = new RouteTemplater({ learning: { maxDistinctValues: 3 } });
    for (const probe of ['.env', 'wp-admin', 'phpmyadmin', '.git', 'server-status', 'admin'])
      templater.template(`/${probe}`, 200);
    assert.equal(templater.template('/users', 200), '/users');
    const rootLearning = new RouteTemplater({ learning: { maxDistinctValues: 3, minDepth: 0 } });
    for (const tenant of ['acme', 'globex', 'initech', 'umbrella']) rootLearning.template(`/${tenant}/home`, 200);
    assert.equal(rootLearning.template('/hooli/home', 200), '/{param}/home');
  });

  test('error responses do not teach (enumeration and scanning produce 4xx)', () => {
    const templater = new RouteTemplater({ learning: { maxDistinctValues: 3 } });
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) templater.template(`/files/${name}`, 404);
    assert.equal(templater.template('/files/g', 404), '/files/g');
    assert.deepEqual(templater.learnedPrefixes(), []);
    for (const name of ['a', 'b', 'c']) templater.template(`/files/${name}`); // no status: teaches
    assert.equal(templater.template('/files/h', 200), '/files/{param}');
  });

  test('memory is bounded: tracked parents are capped, the oldest forgotten first', () => {
    const templater = new RouteTemplater({ learning: { maxDistinctValues: 3, maxTrackedPrefixes: 10 } });
    for (let i = 0; i < 1000; i++) templater.template(`/tenant-${i}/leaf`, 200);
    assert.deepEqual(templater.stats(), { trackedPrefixes: 10, learnedPrefixes: 0 });
  });

  test('learned positions are capped too; when full, learning stops', () => {
    const templater = new RouteTemplater({ learning: { maxDistinctValues: 1, maxLearnedPrefixes: 2 } });
    for (const parent of ['a', 'b', 'c'])
      for (const child of ['x', 'y']) templater.template(`/${parent}/${child}`, 200);
    assert.deepEqual(templater.learnedPrefixes(), ['/a', '/b']);
    assert.equal(templater.template('/c/z', 200), '/c/z');
  });

  test('deterministic: the same events in the same order give the same routes', () => {
    const run = () => {
      const templater = new RouteTemplater({ learning: { maxDistinctValues: 5 } });
      const routes: (string | undefined)[] = [];
      for (let i = 0; i < 200; i++) {
        routes.push(templater.template(`/shop/${['toys', 'books', 'games'][i % 3]}/item-${(i * 7919) % 37}`, 200));
      }
      return routes;
    };
    const first = run();
    assert.deepEqual(run(), first);
    assert.ok(first.includes('/shop/toys/{param}'));
  });

  test('a bad learning option stops with a ConfigError', () => {
    assert.throws(() => new RouteTemplater({ learning: { maxDistinctValues: -1 } }), ConfigError);
  });
});

describe('OpenAPI', () => {
  const document = {
    openapi: '3.0.3',
    info: { title: 'Shop', version: '1' },
    servers: [{ url: 'https://api.shop.example/v1' }],
    paths: {
      '/users/{userId}': { get: {} },
      '/users/me': { get: {} },
      '/users/{userId}/orders/{orderId}': { get: {} },
      '/files/{name}.{ext}': { get: {} },
      '/orders/{orderId}:cancel': { post: {} },
      '/health': { get: {} },
      'x-not-a-path': {},
    },
  };

  test('matches paths to their documented templates, base path included', () => {
    const routes = OpenApiRoutes.from(document);
    assert.equal(routes.match('/v1/users/42'), '/v1/users/{userId}');
    assert.equal(routes.match('/v1/users/me'), '/v1/users/me'); // concrete before templated
    assert.equal(routes.match('/v1/users/42/orders/7'), '/v1/users/{userId}/orders/{orderId}');
    assert.equal(routes.match('/v1/files/report.pdf'), '/v1/files/{name}.{ext}');
    assert.equal(routes.match('/v1/orders/9:cancel'), '/v1/orders/{orderId}:cancel');
    assert.equal(routes.match('/v1/users/42/'), '/v1/users/{userId}');
    assert.equal(routes.match('/users/42'), '/users/{userId}'); // sent without the base path
    assert.equal(routes.match('/v1/users'), undefined);
    assert.equal(routes.match('/v1/users//orders/7'), undefined); // a parameter is never empty
    assert.equal(routes.match('/v10/users/42'), undefined); // `/v1` is a base path, not a string prefix
  });

  test('server variables take their defaults; Swagger 2 basePath works too', () => {
    const routes = OpenApiRoutes.from([
      {
        openapi: '3.1.0',
        servers: [
          {
            url: '{scheme}://api.example/{base}',
            variables: { scheme: { default: 'https' }, base: { default: 'v2' } },
          },
        ],
        paths: { '/items/{id}': {} },
      },
      { swagger: '2.0', basePath: '/legacy/', paths: { '/things/{thingId}': {} } },
    ]);
    assert.equal(routes.match('/v2/items/5'), '/v2/items/{id}');
    assert.equal(routes.match('/legacy/things/5'), '/legacy/things/{thingId}');
  });

  test('a YAML document parsed with the yaml package', () => {
    const parsed = parseYaml(`
openapi: 3.0.3
info: { title: Shop, version: "1" }
servers:
  - url: /api
paths:
  /carts/{cartId}/items/{itemId}:
    delete: {}
`);
    assert.equal(OpenApiRoutes.from(parsed).match('/api/carts/c-1/items/9'), '/api/carts/{cartId}/items/{itemId}');
  });

  test('something that is not a document stops with a ConfigError', () => {
    assert.throws(() => OpenApiRoutes.from({ openapi: '3.0.3' }), ConfigError);
    assert.throws(() => OpenApiRoutes.from('paths'), ConfigError);
    assert.throws(() => OpenApiRoutes.from({ paths: { '/a/{b': {} } }), ConfigError);
  });

  test('documented paths win; the others fall back to heuristics and learning', () => {
    const templater = new RouteTemplater({ openapi: document });
    assert.equal(templater.template('/v1/users/42'), '/v1/users/{userId}');
    assert.equal(templater.template('/v1/unknown/42'), '/v1/unknown/{id}');
  });
});

describe('route-template stage', () => {
  const event = (attributes: Record<string, string | number>): SecurityEvent =>
    Object.freeze({
      id: 'e1',
      time: Date.UTC(2024, 2, 5),
      type: 'http_request',
      attributes: Object.freeze(attributes),
    });

  test('adds http.route and keeps the raw path', () => {
    const stage = createRouteTemplateStage();
    assert.equal(stage.name, 'route-template');
    const out = stage.apply(event({ 'url.path': '/users/4711', 'http.response.status_code': 200 }));
    assert.deepEqual(out.attributes, {
      'url.path': '/users/4711',
      'http.response.status_code': 200,
      'http.route': '/users/{id}',
    });
  });

  test('never overrides a route the SDK set, and leaves events without a usable path alone', () => {
    const stage = createRouteTemplateStage();
    const routed = event({ 'url.path': '/users/4711', 'http.route': '/users/:id' });
    assert.equal(stage.apply(routed), routed);
    const pathless = event({ 'user.id': '4711' });
    assert.equal(stage.apply(pathless), pathless);
    const malformed = event({ 'url.path': '-' });
    assert.equal(stage.apply(malformed), malformed);
  });

  test('the status of the event decides whether it teaches', () => {
    const stage = createRouteTemplateStage({ learning: { maxDistinctValues: 1 } });
    stage.apply(event({ 'url.path': '/u/a', 'http.response.status_code': 404 }));
    stage.apply(event({ 'url.path': '/u/b', 'http.response.status_code': 404 }));
    assert.deepEqual(stage.templater.learnedPrefixes(), []);
    stage.apply(event({ 'url.path': '/u/a', 'http.response.status_code': 200 }));
    const out = stage.apply(event({ 'url.path': '/u/b', 'http.response.status_code': 200 }));
    assert.equal(out.attributes['http.route'], '/u/{param}');
  });

  test('composes with the other stages through applyStages', () => {
    const out = applyStages([createRouteTemplateStage()], event({ 'url.path': '/orders/12' }));
    assert.equal(out.attributes['http.route'], '/orders/{id}');
  });
});
