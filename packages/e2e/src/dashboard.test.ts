/**
 * The dashboard in a real browser (Debian's Chromium, driven by playwright-core) against a real Vigil server: signing
 * in, the alert list and page, acknowledging, the timeline of an attacker, signing out; and events written by an
 * attacker shown as text, never run. Skips, saying what to install, where Chromium is absent.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { eventually, startTestServer, storedAlerts, type TestServer } from './support.js';

const CHROMIUM = process.env.VIGIL_CHROMIUM_BIN ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} not found: install Debian's "chromium" package (apt-get install -y chromium) or set VIGIL_CHROMIUM_BIN`;

/** A bound for a page to show what is waited for on a busy machine, not a measure. */
const WAIT_MILLIS = 20_000;

const ATTACKER = '203.0.113.9';
/** The address whose decision is revoked and whose alert is silenced. */
const DECIDED = '203.0.113.77';

/** Response on: the brute-force alert blocks its address; any alert naming an account blocks the account. */
const RESPONSE = {
  response: {
    enabled: true,
    rules: [
      { matchers: ['rule="vigil-authn-brute-force"'], scope: 'ip', ladder: [{ action: 'block', duration: '15m' }] },
      { matchers: ['user.id!=""'], scope: 'user', ladder: [{ action: 'block', duration: '15m' }] },
    ],
  },
};

interface DecisionBody {
  readonly id: string;
  readonly value: string;
  readonly status: string;
  readonly reason: { readonly alertId: string };
  readonly revokedBy?: string;
  readonly revokeComment?: string;
}

async function storedDecisions(server: TestServer): Promise<DecisionBody[]> {
  const res = await server.get('/api/v1/decisions?limit=1000');
  assert.equal(res.status, 200);
  return ((await res.json()) as { decisions: DecisionBody[] }).decisions;
}

async function failedLoginsFrom(server: TestServer, address: string, users: (i: number) => string, n = 5) {
  const end = Date.now();
  await post(
    server,
    Array.from({ length: n }, (_, i) => ({
      time: end - (n - 1 - i) * 200,
      type: 'authn_login_fail',
      'client.address': address,
      'user.id': users(i),
    })),
  );
}
const BYSTANDER = '198.51.100.7';

function ndjson(events: readonly Record<string, unknown>[]): string {
  return events.map((e) => JSON.stringify(e)).join('\n');
}

async function post(server: TestServer, events: readonly Record<string, unknown>[]): Promise<void> {
  const res = await server.post('/v1/events', ndjson(events), { 'content-type': 'application/x-ndjson' });
  assert.equal(res.status, 200, await res.text());
}

/** A browser with a fresh context (no cookies, no storage), and a page that records dialogs and console errors (CSP violations among them). */
async function launch(): Promise<{ browser: Browser; context: BrowserContext; page: Page; problems: string[] }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
    timeout: WAIT_MILLIS,
  });
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MILLIS);
  const problems: string[] = [];
  page.on('dialog', (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 40[13]/.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return { browser, context, page, problems };
}

/** Open a view of the dashboard, signing in as Alice if the browser has no session. */
async function openView(page: Page, server: TestServer, hash: string): Promise<void> {
  await page.goto(`${server.url}/${hash}`);
  await page.locator('form.sign-in, #nav:not([hidden])').first().waitFor();
  if (await page.locator('form.sign-in').isVisible()) await signIn(page, server.apiToken, 'Alice');
  await page.locator('#nav:not([hidden])').waitFor();
}

const textOf = async (locator: Locator): Promise<string> => (await locator.textContent()) ?? '';

async function signIn(page: Page, token: string, actor: string): Promise<void> {
  await page.locator('#token').fill(token);
  await page.locator('#actor').fill(actor);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/**
 * Nothing an attacker wrote ran, loaded or turned into markup, and every link stays in the dashboard. A string is
 * run in the page: this package is compiled without the DOM's types.
 */
async function assertInert(page: Page): Promise<void> {
  const hrefs = await page.locator('a').evaluateAll((links) => links.map((a) => a.getAttribute('href') ?? ''));
  for (const href of hrefs)
    assert.match(href, /^#\/(alerts|events|decisions|silences|inventory|endpoint|principal)/, href);
  const state = await page.evaluate(`({
    pwned: window.__pwned,
    images: document.images.length,
    scripts: [...document.scripts].map((s) => s.getAttribute('src')),
    bold: document.querySelectorAll('b').length,
  })`);
  assert.deepEqual(state, { pwned: undefined, images: 0, scripts: ['/ui/main.js'], bold: 0 });
}

describe('the dashboard in a browser', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];

  before(async () => {
    server = await startTestServer(RESPONSE);
    ({ browser, context, page, problems } = await launch());
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await server?.stop();
  });

  test('sign in, read an alert and its evidence, acknowledge it, follow the attacker, sign out', async () => {
    const end = Date.now();
    await post(server, [
      ...Array.from({ length: 5 }, (_, i) => ({
        time: end - (4 - i) * 500,
        type: 'authn_login_fail',
        'client.address': ATTACKER,
        'user.id': `victim${i}`,
      })),
      { time: end - 3000, type: 'authn_login_success', 'client.address': BYSTANDER, 'user.id': 'bob' },
    ]);
    await eventually(async () => assert.equal((await storedAlerts(server)).length, 1));

    await page.goto(server.url);
    await page.locator('form.sign-in').waitFor();

    await signIn(page, 'not-a-token', 'Alice');
    await page.getByText('Unknown token').waitFor();
    await signIn(page, server.ingestToken, 'Alice');
    await page.getByText('this is an ingest token').waitFor();
    await signIn(page, server.apiToken, 'Alice');

    const row = page.locator('table.alerts tbody tr');
    await row.first().waitFor();
    assert.equal(await row.count(), 1);
    assert.match(await textOf(row), new RegExp(`client\\.address: ${ATTACKER.replaceAll('.', '\\.')}`));
    assert.match(await textOf(row), /firing/);

    await row.locator('a').first().click();
    await page.locator('#alert-status').waitFor();
    const evidence = page.locator('table.events tbody tr.event');
    await page.getByText('5 evidence events shown').waitFor();
    assert.equal(await evidence.count(), 5);
    await evidence.first().locator('td.time').click();
    await page.locator('table.fields').first().waitFor();
    assert.match(await textOf(page.locator('table.fields').first()), /vigil\.source\.name/);

    await page.locator('#comment').fill('looking into it');
    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await page.locator('#alert-status', { hasText: 'acknowledged' }).waitFor();
    const history = page.locator('table.history tbody tr');
    await history.first().waitFor();
    const [, action, who, tokenId, comment] = await history.first().locator('td').allTextContents();
    assert.deepEqual([action, who, comment], ['acknowledge', 'Alice', 'looking into it']);
    assert.match(tokenId!, /^[0-9a-f]{12}$/);

    await page.locator('a.timeline').first().click();
    await page.waitForURL(/#\/events\?/);
    const events = page.locator('table.events tbody tr.event');
    await page.getByText('5 events, newest first (all shown).').waitFor();
    const clients = await events.evaluateAll((rows) => rows.map((r) => r.children[2]?.textContent));
    assert.deepEqual(clients, Array(5).fill(ATTACKER), "the timeline holds that client's events only");
    assert.equal(await page.locator('#filter-client\\.address').inputValue(), ATTACKER);

    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'vigil_session');
    assert.ok(session?.httpOnly && session.sameSite === 'Strict');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('form.sign-in').waitFor();
    const old = await fetch(`${server.url}/api/v1/alerts`, { headers: { cookie: `vigil_session=${session.value}` } });
    assert.equal(old.status, 401);
    assert.deepEqual(problems, []);
  });

  test("an attacker's data is shown as text and never runs", async () => {
    const payloads = {
      img: '<img src=x onerror="window.__pwned=1;alert(1)">',
      script: '<script>window.__pwned=2</script>',
      url: 'javascript:window.__pwned=3',
      control: 'a\u0007b\u001b[31mc\u202eevil',
    };
    const long = `${'A'.repeat(5000)}<b>end</b>`;
    const end = Date.now();
    await post(server, [
      ...Array.from({ length: 5 }, (_, i) => ({
        time: end - (4 - i) * 500,
        type: 'authn_login_fail',
        'client.address': '192.0.2.66',
        'user.id': payloads.img,
        'url.path': payloads.script,
        'http.route': payloads.url,
        'user_agent.original': long,
        'event.reason': payloads.control,
      })),
    ]);
    await eventually(async () => {
      const alerts = await storedAlerts(server);
      assert.ok(alerts.some((a) => JSON.stringify(a).includes('192.0.2.66')));
    });

    await page.goto(`${server.url}/#/alerts`);
    if (await page.locator('form.sign-in').isVisible()) await signIn(page, server.apiToken, 'Alice');
    const row = page.locator('table.alerts tbody tr', { hasText: '192.0.2.66' }).first();
    await row.waitFor();
    await row.locator('a').first().click();
    await page.locator('#alert-status').waitFor();
    await page.getByText('5 evidence events shown').waitFor();
    const evidence = page.locator('table.events tbody tr.event').first();
    assert.match(await textOf(evidence), /<img src=x onerror="window\.__pwned=1;alert\(1\)">/);
    await evidence.locator('td.time').click();
    const fields = page.locator('table.fields').first();
    await fields.waitFor();
    const text = await textOf(fields);
    assert.ok(text.includes(payloads.script), 'the script tag is shown as text');
    assert.ok(text.includes(payloads.url));
    assert.ok(text.includes('a\\u0007b\\u001b[31mc\\u202eevil'), 'control characters are shown as escapes');
    assert.ok(!text.includes('<b>end</b>'), 'a long value is cut');
    await fields
      .getByRole('button', { name: /show all \d+ characters/ })
      .first()
      .click();
    assert.ok((await textOf(fields)).includes('<b>end</b>'), 'and shown whole on request');

    // Every link of the page leads to one of its own views.
    await assertInert(page);

    const timeline = page.locator('li', { hasText: 'user.id' }).locator('a.timeline');
    await timeline.click();
    await page.getByText('5 events, newest first (all shown).').waitFor();
    assert.equal(await page.locator('#filter-user\\.id').inputValue(), payloads.img);
    await page.locator('table.events tbody tr.event td.time').first().click();
    await page.locator('table.fields').first().waitFor();

    await assertInert(page);
    assert.deepEqual(problems, []);
  });

  test('a decision of a response rule is listed, revoked with a comment, and shown revoked by whoever signed in', async () => {
    await failedLoginsFrom(server, DECIDED, (i) => `guess${i}`);
    const decision = await eventually(async () => {
      const found = (await storedDecisions(server)).find((d) => d.value === DECIDED);
      assert.ok(found, `no decision on ${DECIDED}`);
      return found;
    });

    await openView(page, server, '#/decisions');
    const row = page.locator(`table.decisions tbody tr[data-id="${decision.id}"]`);
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    assert.deepEqual(cells.slice(0, 5), ['block', 'ip', DECIDED, '0', 'active']);
    assert.equal(await row.locator('a').getAttribute('href'), `#/alerts/${decision.reason.alertId}`);

    await row.getByRole('button', { name: 'Revoke' }).click();
    await row.locator('textarea').fill('office NAT');
    await row.getByRole('button', { name: 'Confirm revoke' }).click();
    await row.waitFor({ state: 'detached' });
    await page.locator('#filter-show').selectOption('all');
    const revoked = page.locator(`table.decisions tbody tr[data-id="${decision.id}"]`);
    await revoked.locator('td.status', { hasText: 'revoked' }).waitFor();
    assert.equal(await textOf(revoked.locator('td.revoked .actor')), 'Alice');
    assert.equal(await textOf(revoked.locator('td.revoked .comment')), 'office NAT');
    const stored = (await storedDecisions(server)).find((d) => d.id === decision.id);
    assert.deepEqual([stored?.status, stored?.revokedBy, stored?.revokeComment], ['revoked', 'Alice', 'office NAT']);

    // The alert's page lists the decision it caused.
    await revoked.locator('a').click();
    await page.locator('#alert-status').waitFor();
    await page.getByText('1 decision caused by this alert.').waitFor();
    assert.equal(
      await page.locator(`table.decisions tbody tr[data-id="${decision.id}"] td.status`).textContent(),
      'revoked',
    );
    assert.deepEqual(problems, []);
  });

  test("a silence made from an alert's page holds its labels, is listed, and is ended", async () => {
    const alert = (await storedAlerts(server)).find((a) => a.labels['client.address'] === DECIDED);
    assert.ok(alert);
    await openView(page, server, `#/alerts/${alert.id}`);
    await page.getByRole('button', { name: 'Silence', exact: true }).click();
    const matchers = page.locator('#silence-matchers li');
    const offered = await matchers.evaluateAll((items) => items.map((li) => li.getAttribute('data-matcher')));
    const rule = `rule="${alert.rule.id}"`;
    const address = `client.address="${DECIDED}"`;
    assert.deepEqual(offered.slice(0, 1), [rule]);
    assert.ok(offered.includes(address), offered.join(', '));
    // Everything about this address, whatever the rule: the rule's matcher is removed.
    await matchers.filter({ hasText: rule }).getByRole('button', { name: 'remove' }).click();
    const kept = offered.filter((m) => m !== rule);
    assert.equal(await matchers.count(), kept.length);
    await page.locator('#silence-duration').selectOption({ label: '4 hours' });
    await page.locator('#silence-comment').fill('pen test of the login form');
    await page.getByRole('button', { name: 'Create silence' }).click();
    await page.locator('#silence-created', { hasText: 'by Alice' }).waitFor();

    await page.locator('#silence-created a').click();
    const row = page.locator('table.silences tbody tr', { hasText: 'pen test of the login form' });
    await row.waitFor();
    assert.deepEqual(await row.locator('li').allTextContents(), kept);
    assert.equal(await textOf(row.locator('td.actor').first()), 'Alice');
    const [silence] = (
      (await (await server.get('/api/v1/silences?state=active')).json()) as {
        silences: { id: string; startsAt: string; endsAt: string }[];
      }
    ).silences;
    assert.equal(Date.parse(silence!.endsAt) - Date.parse(silence!.startsAt), 4 * 3_600_000);

    await row.getByRole('button', { name: 'End' }).click();
    await row.getByRole('button', { name: 'Confirm end' }).click();
    await row.waitFor({ state: 'detached' });
    await page.locator('#filter-state').selectOption('expired');
    const ended = page.locator(`table.silences tbody tr[data-id="${silence!.id}"]`);
    await ended.locator('td.status', { hasText: 'expired' }).waitFor();
    assert.deepEqual(await ended.locator('td.actor').allTextContents(), ['Alice', 'Alice']);
    const stored = (
      (await (await server.get('/api/v1/silences?state=expired')).json()) as {
        silences: { id: string; createdBy: string; expiredBy?: string }[];
      }
    ).silences.find((s) => s.id === silence!.id);
    assert.deepEqual([stored?.createdBy, stored?.expiredBy], ['Alice', 'Alice']);
    assert.deepEqual(problems, []);
  });

  test('decision values, silence comments and matcher values written by an attacker are shown as text', async () => {
    const account = '<img src=x onerror="window.__pwned=4">';
    // Ten failures on one account: the per-account brute-force rule labels the account, and the response blocks it.
    await failedLoginsFrom(server, '192.0.2.99', () => account, 10);
    await eventually(async () =>
      assert.ok(
        (await storedDecisions(server)).some((d) => d.value === account),
        'a decision on the account',
      ),
    );
    const comment = '<script>window.__pwned=5</script>';
    const res = await fetch(`${server.url}/api/v1/silences`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        matchers: [`user.id=${JSON.stringify(account)}`],
        durationMillis: 3_600_000,
        createdBy: '<b>mallory</b>',
        comment,
      }),
    });
    assert.equal(res.status, 201);

    await openView(page, server, '#/decisions');
    const decision = page.locator('table.decisions tbody tr', { hasText: account });
    await decision.waitFor();
    assert.equal(await textOf(decision.locator('td').nth(2)), account);
    await openView(page, server, '#/silences');
    const silence = page.locator('table.silences tbody tr', { hasText: comment });
    await silence.waitFor();
    assert.equal(await textOf(silence.locator('li')), `user.id=${JSON.stringify(account)}`);
    assert.equal(await textOf(silence.locator('td.actor').first()), '<b>mallory</b>');

    await assertInert(page);
    assert.deepEqual(problems, []);
  });

  test('an action after the session was ended elsewhere leads back to sign-in, saying so', async () => {
    const address = '203.0.113.99';
    await failedLoginsFrom(server, address, (i) => `gone-${i}`);
    const alert = await eventually(async () => {
      const found = (await storedAlerts(server)).find(
        (a) => a.labels['client.address'] === address && a.status === 'firing',
      );
      assert.ok(found, 'no alert for the address yet');
      return found;
    });
    await openView(page, server, `#/alerts/${alert.id}`);
    const acknowledge = page.getByRole('button', { name: 'Acknowledge' });
    await acknowledge.waitFor();
    const session = (await context.cookies()).find((c) => c.name === 'vigil_session');
    assert.ok(session);
    const out = await fetch(`${server.url}/api/v1/session`, {
      method: 'DELETE',
      headers: { cookie: `vigil_session=${session.value}`, 'x-vigil-request': '1' },
    });
    assert.equal(out.status, 200);
    await acknowledge.click();
    await page.locator('form.sign-in').waitFor();
    assert.match(await textOf(page.locator('#message')), /session has expired/);
    assert.deepEqual(problems, []);
  });
});

/** One documented route, one deprecated and never called; the traffic below adds an undocumented one. */
const OPENAPI = `openapi: 3.0.3
info: { title: shop, version: '1' }
paths:
  /orders/{orderId}:
    get: { responses: { '200': { description: ok } } }
  /legacy/export:
    get: { deprecated: true, responses: { '200': { description: ok } } }
`;
/** A rule of one's own that names a route but not its method. */
const DEBUG_RULE = `title: Debug route called
id: test-debug-route
logsource: { category: webserver }
detection:
  selection: { http.route|startswith: /debug/ }
  condition: selection
level: low
vigil:
  group-by: [http.route]
`;
const DAY_MILLIS = 86_400_000;
/** An account name and a route template an attacker wrote. */
const EVIL_USER = '<img src=x onerror="window.__pwned=6">';
const EVIL_ROUTE = '/debug/<script>window.__pwned=7</script>';
const ANONYMOUS = '203.0.113.50';
/** As the dashboard writes numbers. */
const amount = (n: number) => new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 }).format(n);

interface InventoryBody {
  openapi: boolean;
  endpoints: { route: string; method: string; status: string; requests: number; lastSeen?: string }[];
}
interface SlotBody {
  hour: number | null;
  weekend: boolean | null;
  samples: number;
  center: number;
  upper: number;
}
interface BaselineBody {
  requests: number;
  recentBuckets: unknown[];
  bucket: Record<string, SlotBody[]>;
  window: Record<string, SlotBody[]>;
}

async function apiJson<T>(server: TestServer, path: string): Promise<T> {
  const res = await server.get(path);
  assert.equal(res.status, 200, path);
  return (await res.json()) as T;
}

describe('what normal looks like, in the dashboard', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];
  const specDir = mkdtempSync(join(tmpdir(), 'vigil-openapi-'));

  before(async () => {
    const spec = join(specDir, 'openapi.yaml');
    writeFileSync(spec, OPENAPI);
    const rule = join(specDir, 'debug-route.yml');
    writeFileSync(rule, DEBUG_RULE);
    server = await startTestServer({ enrich: { openapi: spec }, detection: { rules: { dirs: [rule] } } });
    ({ browser, context, page, problems } = await launch());
    // Two days ago, a day of learning before anything is reported: a customer reads 200 orders (the route comes
    // from the OpenAPI document). An hour ago another customer calls a route nobody in their group used (a
    // function-novelty alert), and an anonymous client reads an order of an always signed-in endpoint
    // (unauthenticated-access). Event times in the past: nothing waits for a clock.
    const start = Date.now() - 2 * DAY_MILLIS;
    const recent = Date.now() - 3_600_000;
    const request = (fields: Record<string, unknown>) => ({
      type: 'http_request',
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      ...fields,
    });
    await post(server, [
      ...Array.from({ length: 200 }, (_, i) =>
        request({
          time: start + i * 10_000,
          'url.path': `/orders/${1000 + i}`,
          'http.response.status_code': i % 20 === 0 ? 404 : 200,
          'client.address': '198.51.100.20',
          'user.id': 'alice',
          'user.roles': ['customer'],
        }),
      ),
      request({
        time: recent,
        'url.path': '/debug',
        'http.route': EVIL_ROUTE,
        'client.address': '198.51.100.21',
        'user.id': EVIL_USER,
        'user.roles': ['customer'],
      }),
      request({ time: recent + 1000, 'url.path': '/orders/7', 'client.address': ANONYMOUS }),
    ]);
    await eventually(async () => {
      const rules = (await storedAlerts(server)).map((a) => a.rule.id).sort();
      assert.deepEqual(rules, [
        'test-debug-route',
        'vigil-baseline-function-novelty',
        'vigil-baseline-unauthenticated-access',
      ]);
    });
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await server?.stop();
    rmSync(specDir, { recursive: true, force: true });
  });

  test('the inventory lists each endpoint with its status against the OpenAPI document, filtered and sorted', async () => {
    const inventory = await apiJson<InventoryBody>(server, '/api/v1/inventory');
    const statuses = inventory.endpoints.map((e) => [e.route, e.status]);
    assert.deepEqual(statuses, [
      [EVIL_ROUTE, 'shadow'],
      ['/legacy/export', 'unused'],
      ['/orders/{orderId}', 'documented'],
    ]);
    await openView(page, server, '#/inventory');
    const rows = page.locator('table.inventory tbody tr');
    await rows.first().waitFor();
    // Most requests first, by default.
    const shown = await rows.evaluateAll((trs) =>
      trs.map((tr) => [tr.getAttribute('data-route'), tr.querySelector('.inventory-status')?.textContent]),
    );
    assert.deepEqual(shown, [
      ['/orders/{orderId}', 'documented'],
      [EVIL_ROUTE, 'shadow'],
      ['/legacy/export', 'unused'],
    ]);
    const orders = rows.filter({ hasText: '/orders/{orderId}' });
    const requests = inventory.endpoints.find((e) => e.route === '/orders/{orderId}')!.requests;
    assert.equal(await textOf(orders.locator('td.requests')), amount(requests));
    assert.equal(await textOf(rows.filter({ hasText: EVIL_ROUTE }).locator('td.endpoint a')), EVIL_ROUTE);
    assert.match(await textOf(page.locator('#inventory-summary')), /1 shadow, 0 zombie, 1 unused, 1 documented/);

    await page.locator('#filter-status').selectOption('findings');
    await page.waitForURL(/status=findings/);
    await rows.filter({ hasText: '/orders/' }).waitFor({ state: 'detached' });
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-route'))), [EVIL_ROUTE]);
    await page.locator('#filter-status').selectOption('');
    await page.locator('#filter-sort').selectOption('lastSeen');
    await page.waitForURL(/sort=lastSeen/);
    await rows.nth(2).waitFor();
    // The anonymous read came last.
    assert.equal(await rows.first().getAttribute('data-route'), '/orders/{orderId}');
    assert.equal(await rows.nth(1).getAttribute('data-route'), EVIL_ROUTE);
    await assertInert(page);

    // The events of a route are one click away.
    await orders.getByRole('link', { name: 'events' }).click();
    await page.waitForURL(/#\/events\?/);
    assert.equal(await page.locator('#filter-http\\.route').inputValue(), '/orders/{orderId}');
    assert.deepEqual(problems, []);
  });

  test("an endpoint's view shows the numbers of its learned baseline", async () => {
    const baseline = await apiJson<BaselineBody>(
      server,
      `/api/v1/baselines/endpoint?route=${encodeURIComponent('/orders/{orderId}')}&method=GET`,
    );
    await openView(page, server, '#/inventory');
    await page.locator('table.inventory tbody tr[data-route="/orders/{orderId}"] td.endpoint a').click();
    await page.waitForURL(/#\/endpoint\?/);
    await page.locator('#endpoint-requests').waitFor();
    assert.equal(await textOf(page.locator('#endpoint-requests')), amount(baseline.requests));
    assert.equal(await page.locator('table.buckets tbody tr').count(), baseline.recentBuckets.length);
    assert.equal(await page.locator('svg.chart rect.chart-requests').count(), baseline.recentBuckets.length);

    const expectRows = async (id: string, slots: SlotBody[]) => {
      const rows = await page
        .locator(`#${id} tbody tr`)
        .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
      assert.equal(rows.length, slots.length);
      const any = slots.find((s) => s.hour === null)!;
      assert.deepEqual(rows[0], ['any time', amount(any.samples), amount(any.center), rows[0]![3], amount(any.upper)]);
    };
    await expectRows('slots-bucket', baseline.bucket.requests!);
    await expectRows('slots-window', baseline.window.requests!);
    const minute = baseline.bucket.requests!.find((s) => s.hour === null)!;
    assert.match(
      await textOf(page.locator('#endpoint-normal')),
      new RegExp(`Typically ${amount(minute.center)} requests a minute`),
    );

    await page.locator('#filter-metric').selectOption('errors4xx');
    await page.waitForURL(/metric=errors4xx/);
    await page.locator('#slots-bucket').waitFor();
    await expectRows('slots-bucket', baseline.bucket.errors4xx!);
    assert.deepEqual(problems, []);
  });

  test("an alert's page leads to the baseline it deviates from, the principal's profile and the endpoint's, as text", async () => {
    const alerts = await storedAlerts(server);
    const novelty = alerts.find((a) => a.rule.id === 'vigil-baseline-function-novelty')!;
    assert.equal(novelty.labels['http.route'], EVIL_ROUTE);
    await openView(page, server, `#/alerts/${novelty.id}`);
    await page.locator('#alert-status').waitFor();
    // A principal detector: straight to the profile it compared with.
    await page.locator('#alert-baseline').click();
    await page.waitForURL(/#\/principal\?/);
    await page.locator('#profile-facts').waitFor();
    assert.equal(await textOf(page.locator('h1')), `user.id ${EVIL_USER}`);
    const profile = await apiJson<{ peerGroup: string; events: number; usual: { endpoints: { endpoint: string }[] } }>(
      server,
      `/api/v1/baselines/principal?user.id=${encodeURIComponent(EVIL_USER)}`,
    );
    const facts = await textOf(page.locator('#profile-facts'));
    assert.ok(facts.includes(profile.peerGroup), facts);
    assert.deepEqual(
      await page.locator('table.profile-endpoints tbody td:first-child').allTextContents(),
      profile.usual.endpoints.map((e) => e.endpoint),
    );
    await assertInert(page);

    // The route label's baseline link, with the method of the alert's labels.
    await page.goBack();
    await page.locator('#alert-status').waitFor();
    await page.locator('li', { hasText: 'http.route' }).locator('a.endpoint-link').click();
    await page.waitForURL(/#\/endpoint\?/);
    await page.locator('#endpoint-requests').waitFor();
    assert.equal(await textOf(page.locator('h1')), `GET ${EVIL_ROUTE}`);
    assert.equal(await textOf(page.locator('#endpoint-requests')), '1');
    await assertInert(page);

    // An endpoint detector: straight to the endpoint's baseline; the client's label to its profile.
    const unauthenticated = alerts.find((a) => a.rule.id === 'vigil-baseline-unauthenticated-access')!;
    await openView(page, server, `#/alerts/${unauthenticated.id}`);
    await page.locator('#alert-status').waitFor();
    assert.equal(
      await page.locator('#alert-baseline').getAttribute('href'),
      `#/endpoint?route=${encodeURIComponent('/orders/{orderId}')}&method=GET`,
    );
    await page.locator('li', { hasText: 'client.address' }).locator('a.principal-link').click();
    await page.waitForURL(/#\/principal\?client\.address=/);
    await page.locator('#profile-facts').waitFor();
    assert.equal(await textOf(page.locator('h1')), `client.address ${ANONYMOUS}`);

    // A rule that names the route without its method: the baseline link takes the method of the evidence.
    const debug = alerts.find((a) => a.rule.id === 'test-debug-route')!;
    assert.equal(debug.labels['http.request.method'], undefined);
    await openView(page, server, `#/alerts/${debug.id}`);
    await page.getByText('1 evidence event shown').waitFor();
    assert.equal(await page.locator('#alert-baseline').count(), 0, 'a rule: no baseline of its own');
    assert.equal(
      await page.locator('li', { hasText: 'http.route' }).locator('a.endpoint-link').getAttribute('href'),
      `#/endpoint?route=${encodeURIComponent(EVIL_ROUTE)}&method=GET`,
    );
    // Without any method, the endpoint view lists those the baselines know for the route.
    await openView(page, server, `#/endpoint?route=${encodeURIComponent('/orders/{orderId}')}`);
    const methods = page.locator('main li a');
    await methods.first().waitFor();
    assert.deepEqual(await methods.allTextContents(), ['GET /orders/{orderId}']);
    assert.deepEqual(problems, []);
  });

  test("in the events table, a user's profile is one click away and the user id still filters", async () => {
    await openView(page, server, '#/events?user.id=alice');
    const row = page.locator('table.events tbody tr.event').first();
    await row.waitFor();
    assert.equal(await row.locator('td').nth(3).locator('a').first().getAttribute('href'), '#/events?user.id=alice');
    await row.locator('a.profile').click();
    await page.waitForURL(/#\/principal\?user\.id=alice$/);
    await page.locator('#profile-facts').waitFor();
    assert.match(await textOf(page.locator('#profile-learned')), /Learned|Still learning/);
    assert.deepEqual(problems, []);
  });

  test('with baselines off, each view says so plainly', async () => {
    const off = await startTestServer({ detection: { baselines: { enabled: false } } });
    const other = await browser.newContext();
    try {
      const offPage = await other.newPage();
      offPage.setDefaultTimeout(WAIT_MILLIS);
      for (const [hash, path] of [
        ['#/inventory', '/api/v1/inventory'],
        ['#/endpoint?route=/orders&method=GET', '/api/v1/baselines/endpoint?route=/orders&method=GET'],
        ['#/principal?user.id=alice', '/api/v1/baselines/principal?user.id=alice'],
      ] as const) {
        const res = await off.get(path);
        assert.equal(res.status, 404);
        const message = ((await res.json()) as { error: { message: string } }).error.message;
        await openView(offPage, off, hash);
        await offPage.locator('#unavailable').waitFor();
        assert.equal(await textOf(offPage.locator('#unavailable')), message);
        assert.match(message, /baselines/);
      }
    } finally {
      await other.close();
      await off.stop();
    }
  });
});
