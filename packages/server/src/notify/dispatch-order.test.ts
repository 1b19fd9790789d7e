import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { failedLogins, startReceiver, startTestServer } from '../testing/harness.js';

/**
 * A webhook receiver on loopback that holds every request until `release()`, and answers at once from then on: the
 * test, not the machine's speed, decides how long a notification stays in flight.
 */
async function startSlowReceiver() {
  const requests: { change: string; address: string; arrivedAt: number; answeredAt?: number }[] = [];
  const held: (() => void)[] = [];
  let released = false;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const payload = JSON.parse(body) as { change: string; alert: { labels: Record<string, string> } };
      const entry = {
        change: payload.change,
        address: payload.alert.labels['client.address'] ?? '',
        arrivedAt: Date.now(),
      } as (typeof requests)[number];
      requests.push(entry);
      const answer = () => {
        entry.answeredAt = Date.now();
        res.writeHead(204).end();
      };
      if (released) answer();
      else held.push(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    requests,
    release: () => {
      released = true;
      for (const answer of held.splice(0)) answer();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test('a slow receiver holds up neither other receivers nor later alerts, and one alert’s notifications stay in order', async () => {
  const slow = await startSlowReceiver();
  const fast = await startReceiver();
  const server = await startTestServer({
    notify: {
      receivers: [
        // Its time-out outlasts the test: the held opening stays one attempt, in flight until released.
        { type: 'webhook', name: 'slow', url: slow.url, allowPrivateNetwork: true, timeoutMillis: 60_000 },
        { type: 'webhook', name: 'fast', url: fast.url, allowPrivateNetwork: true },
      ],
    },
  });
  try {
    const ndjson = { 'content-type': 'application/x-ndjson' };
    await server.post('/v1/events', failedLogins(5, '203.0.113.70'), ndjson);
    await fast.waitFor(1);
    for (let i = 0; i < 250 && slow.requests.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
    // The first alert is now in flight to the slow receiver. A second alert reaches both receivers at once.
    await server.post('/v1/events', failedLogins(5, '203.0.113.71'), ndjson);
    await fast.waitFor(2);
    for (let i = 0; i < 250 && slow.requests.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(slow.requests.length, 2, 'the slow receiver got the second alert while the first was in flight');
    assert.equal(slow.requests[0]!.answeredAt, undefined, 'the first was still in flight');

    // Acknowledging the first alert: its notification to the slow receiver waits for the opening to be answered.
    const [first] = server.alerts.openAlerts().filter((a) => a.labels['client.address'] === '203.0.113.70');
    const ack = await fetch(`${server.url}/api/v1/alerts/${first!.id}/acknowledge`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ actor: 'alice', comment: 'looking' }),
    });
    assert.equal(ack.status, 200);
    // A few dispatcher polls (every 50 ms here) in which the acknowledgement could overtake the opening.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(slow.requests.length, 2, 'the acknowledgement waits while the opening is in flight');
    slow.release();
    for (let i = 0; i < 250 && slow.requests.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    const [opened, , acknowledged] = slow.requests;
    assert.equal(acknowledged?.change, 'acknowledged');
    assert.equal(acknowledged?.address, '203.0.113.70');
    assert.ok(acknowledged!.arrivedAt >= opened!.answeredAt!, 'sent only after the opening was answered');
    await server.dispatcher.idle();
  } finally {
    slow.release();
    await server.stop();
    await slow.close();
    await fast.close();
  }
});

test('a resolve does not overtake its opening while the opening waits for a retry', async () => {
  const received: { change: string; at: number }[] = [];
  let answered = 0;
  // Refuses the first request (the opening) once, then takes everything.
  const server500 = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      answered++;
      if (answered === 1) return res.writeHead(500).end();
      received.push({ change: (JSON.parse(body) as { change: string }).change, at: Date.now() });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server500.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server500.address() as AddressInfo).port}/hook`;
  const server = await startTestServer({
    notify: {
      retryBaseMillis: 600,
      retryMaxMillis: 600,
      receivers: [{ type: 'webhook', name: 'hook', url, allowPrivateNetwork: true }],
    },
  });
  try {
    await server.post('/v1/events', failedLogins(5, '203.0.113.80'), { 'content-type': 'application/x-ndjson' });
    for (let i = 0; i < 250 && answered < 1; i++) await new Promise((r) => setTimeout(r, 20));
    const [alert] = server.alerts.openAlerts();
    const resolved = await fetch(`${server.url}/api/v1/alerts/${alert!.id}/resolve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ actor: 'alice' }),
    });
    assert.equal(resolved.status, 200);
    for (let i = 0; i < 250 && received.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      received.map((r) => r.change),
      ['opened', 'resolved'],
    );
    await server.dispatcher.idle();
  } finally {
    await server.stop();
    await new Promise<void>((resolve) => server500.close(() => resolve()));
  }
});
