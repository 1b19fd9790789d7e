import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createVigil, type Vigil } from '../index.js';
import { Receiver, TEST_TOKEN } from '../testing/receiver.js';
import { wrap } from './node.js';

describe('node:http adapter', () => {
  let receiver: Receiver;
  let vigil: Vigil;
  let server: Server;
  let url: string;

  before(async () => {
    receiver = await Receiver.start();
    vigil = createVigil({
      endpoint: receiver.url,
      token: TEST_TOKEN,
      service: 'node-test',
      flushIntervalMillis: 5,
      flushOnExit: false,
    });
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const match = /^\/items\/([^/?]+)/.exec(req.url ?? '');
      if (match) {
        vigil.access('item', match[1]!);
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('item');
        return;
      }
      if (req.url === '/throws') {
        res.statusCode = 500;
        res.end();
        return;
      }
      res.writeHead(404).end();
    };
    server = createServer(
      wrap(vigil, handler, { route: (req) => (req.url?.startsWith('/items/') ? '/items/:id' : undefined) }),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    server.close();
    await vigil.close();
    await receiver.close();
  });

  test('records requests with the route from the resolver, and helpers see the request', async () => {
    await (await fetch(`${url}/items/abc?x=1`, { headers: { 'x-request-id': 'node-1' } })).text();
    await receiver.waitFor(() =>
      receiver.events.some((e) => e['http.request.id'] === 'node-1' && e.type === 'http_request'),
    );
    const events = receiver.events.filter((e) => e['http.request.id'] === 'node-1');
    const request = events.find((e) => e.type === 'http_request')!;
    assert.equal(request['http.route'], '/items/:id');
    assert.equal(request['url.path'], '/items/abc');
    assert.equal(request['url.query'], 'x=1');
    assert.equal(request['http.response.status_code'], 200);
    assert.equal(request['http.response.body.size'], 4);
    const access = events.find((e) => e.type === 'object_access')!;
    assert.equal(access['vigil.object.id'], 'abc');
    assert.equal(access['http.route'], '/items/:id');
  });

  test('without a route the template is omitted; a 5xx records app_error with the status as its type', async () => {
    await (await fetch(`${url}/throws`, { headers: { 'x-request-id': 'node-2' } })).text();
    await receiver.waitFor(() =>
      receiver.events.some((e) => e['http.request.id'] === 'node-2' && e.type === 'http_request'),
    );
    const events = receiver.events.filter((e) => e['http.request.id'] === 'node-2');
    const request = events.find((e) => e.type === 'http_request')!;
    assert.equal('http.route' in request, false);
    const error = events.find((e) => e.type === 'app_error')!;
    assert.equal(error['error.type'], '500');
  });

  test('vigil.wrap is the same adapter', () => {
    const wrapped = vigil.wrap((_req: IncomingMessage, res: ServerResponse) => res.end());
    assert.equal(typeof wrapped, 'function');
  });
});
