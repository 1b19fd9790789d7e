import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, startTestServer, tempDir } from '../testing/harness.js';
import { documentedOperations, templateShape } from './inventory.js';

const SPEC = `openapi: 3.0.3
info: { title: shop, version: '1' }
servers: [{ url: https://api.example.com/v1 }]
paths:
  /orders/{orderId}:
    get: { responses: { '200': { description: ok } } }
  /legacy/export:
    get: { deprecated: true, responses: { '200': { description: ok } } }
  /health:
    get: { responses: { '200': { description: ok } } }
`;

test('templates compare by shape; documented operations carry the base path', () => {
  assert.equal(templateShape('/v1/orders/{orderId}'), templateShape('/v1/orders/:id'));
  assert.equal(templateShape('/v1/orders/{id}/'), '/v1/orders/{}');
  const ops = documentedOperations({
    servers: [{ url: 'https://x/v1' }],
    paths: { '/a/{b}': { get: {}, post: { deprecated: true } } },
  });
  assert.deepEqual(ops, [
    { route: '/v1/a/{b}', method: 'GET', deprecated: false },
    { route: '/v1/a/{b}', method: 'POST', deprecated: true },
  ]);
});

test('the inventory lists observed endpoints against the OpenAPI document: shadow, zombie, unused, new', async () => {
  const dir = tempDir();
  const spec = join(dir, 'openapi.yaml');
  writeFileSync(spec, SPEC);
  const server = await startTestServer({ enrich: { openapi: spec } });
  try {
    const t = Date.now() - 30_000;
    const request = (path: string, i: number) =>
      JSON.stringify({
        time: t + i,
        type: 'http_request',
        'http.request.method': 'GET',
        'url.path': path,
        'http.response.status_code': 200,
        'client.address': '198.51.100.9',
      });
    const lines = [
      ...Array.from({ length: 5 }, (_, i) => request(`/v1/orders/${1000 + i}`, i)),
      request('/v1/legacy/export', 10),
      request('/v1/internal/debug', 11),
    ];
    await server.post('/v1/events', lines.join('\n'), { 'content-type': 'application/x-ndjson' });
    const inventory = await eventually(async () => {
      const res = await server.get('/api/v1/inventory');
      const body = (await res.json()) as {
        openapi: boolean;
        endpoints: {
          route: string;
          method: string;
          status: string;
          requests: number;
          new: boolean;
          documentedAs?: string;
        }[];
      };
      assert.equal(body.endpoints.filter((e) => e.requests > 0).length, 3);
      return body;
    });
    assert.equal(inventory.openapi, true);
    const by = (route: string) => inventory.endpoints.find((e) => e.route === route);
    assert.equal(by('/v1/orders/{orderId}')?.status, 'documented', 'routed through the spec, so named as in it');
    assert.equal(by('/v1/orders/{orderId}')?.requests, 5);
    assert.equal(by('/v1/legacy/export')?.status, 'zombie');
    assert.equal(by('/v1/internal/debug')?.status, 'shadow');
    assert.equal(by('/v1/health')?.status, 'unused');
    assert.equal(by('/v1/internal/debug')?.new, true);
  } finally {
    await server.stop();
  }
});
