/**
 * The dashboard in a real browser (Debian's Chromium, driven by playwright-core) against a real Vigil server: signing
 * in, the alert list and page, acknowledging, the timeline of an attacker, signing out; and events written by an
 * attacker shown as text, never run. Skips, saying what to install, where Chromium is absent.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
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
    const hrefs = await page.locator('a').evaluateAll((links) => links.map((a) => a.getAttribute('href') ?? ''));
    for (const href of hrefs) assert.match(href, /^#\/(alerts|events|decisions|silences)/, href);

    const timeline = page.locator('li', { hasText: 'user.id' }).locator('a.timeline');
    await timeline.click();
    await page.getByText('5 events, newest first (all shown).').waitFor();
    assert.equal(await page.locator('#filter-user\\.id').inputValue(), payloads.img);
    await page.locator('table.events tbody tr.event td.time').first().click();
    await page.locator('table.fields').first().waitFor();

    // A string, run in the page: this package is compiled without the DOM's types.
    const state = await page.evaluate(`({
      pwned: window.__pwned,
      images: document.images.length,
      scripts: [...document.scripts].map((s) => s.getAttribute('src')),
      bold: document.querySelectorAll('b').length,
    })`);
    assert.deepEqual(state, { pwned: undefined, images: 0, scripts: ['/ui/main.js'], bold: 0 });
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

    const hrefs = await page.locator('a').evaluateAll((links) => links.map((a) => a.getAttribute('href') ?? ''));
    for (const href of hrefs) assert.match(href, /^#\/(alerts|events|decisions|silences)/, href);
    const state = await page.evaluate(`({
      pwned: window.__pwned,
      images: document.images.length,
      scripts: [...document.scripts].map((s) => s.getAttribute('src')),
      bold: document.querySelectorAll('b').length,
    })`);
    assert.deepEqual(state, { pwned: undefined, images: 0, scripts: ['/ui/main.js'], bold: 0 });
    assert.deepEqual(problems, []);
  });
});
