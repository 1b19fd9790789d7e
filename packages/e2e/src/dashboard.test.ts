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
    server = await startTestServer();
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
    for (const href of hrefs) assert.match(href, /^#\/(alerts|events)/, href);

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
});
