import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../errors.js';
import { startReceiver } from '../testing/harness.js';
import { sampleGroupPayload, samplePayload, startScriptedReceiver } from '../testing/receivers.js';
import { DeliveryError } from './notifier.js';
import { Secret } from './options.js';
import { parseSlackOptions, SlackNotifier, slackEscape } from './slack.js';

interface SlackText {
  type: string;
  text: string;
}
interface SlackBody {
  text: string;
  blocks: { type: string; text?: SlackText; fields?: SlackText[]; elements?: SlackText[] }[];
}

const common = { name: 'slack', allowPrivateNetwork: true, timeoutMillis: 2000, maxAttempts: 3 };

describe('Slack receiver', () => {
  test('posts a Block Kit message: header, summary, labels as fields, times, count, context with the id', async () => {
    const receiver = await startReceiver();
    const slack = new SlackNotifier({ ...common, url: new Secret(receiver.url) });
    try {
      await slack.send(samplePayload('opened'), 'ntf_1');
      const [request] = await receiver.waitFor(1);
      assert.match(String(request!.headers['content-type']), /^application\/json/);
      const message = JSON.parse(request!.body) as SlackBody;
      const [header, summary] = message.blocks;
      assert.equal(header!.type, 'header');
      assert.match(header!.text!.text, /HIGH · Repeated failed logins/);
      assert.equal(summary!.text!.text, '5 failed logins from 203.0.113.9 within 1 min');
      const fields = message.blocks.flatMap((b) => (b.fields ?? []).map((f) => f.text));
      assert.ok(fields.includes('*client.address*\n203.0.113.9'));
      assert.ok(fields.includes('*Events*\n5'));
      assert.ok(fields.some((f) => f.startsWith('*Started*\n<!date^1793613600^')));
      assert.ok(fields.some((f) => f.startsWith('*Last seen*\n<!date^1793613602^')));
      const context = message.blocks.at(-1)!;
      assert.equal(context.type, 'context');
      assert.match(context.elements![0]!.text, /73f8ec32-07c3-44ec-91d2-6812db8f9a66/);
      assert.match(message.text, /^\[FIRING\] HIGH Repeated failed logins/);

      await slack.send(samplePayload('resolved'), 'ntf_2');
      const resolved = JSON.parse((await receiver.waitFor(2))[1]!.body) as SlackBody;
      assert.match(resolved.blocks[0]!.text!.text, /^✅ RESOLVED/);
    } finally {
      await slack.close();
      await receiver.close();
    }
  });

  test('escapes mrkdwn control characters so alert data cannot mention @channel or forge links', async () => {
    assert.equal(slackEscape('<!channel> & <http://x|y>'), '&lt;!channel&gt; &amp; &lt;http://x|y&gt;');
    const receiver = await startReceiver();
    const slack = new SlackNotifier({ ...common, url: new Secret(receiver.url) });
    try {
      await slack.send(samplePayload('opened', { summary: 'hi <!channel>' }), 'ntf_1');
      const body = (await receiver.waitFor(1))[0]!.body;
      assert.ok(!body.includes('<!channel>'));
      assert.ok(body.includes('&lt;!channel&gt;'));
    } finally {
      await slack.close();
      await receiver.close();
    }
  });

  test('429 with Retry-After becomes DeliveryError.retryAt', async () => {
    const receiver = await startScriptedReceiver([
      { status: 429, headers: { 'retry-after': '30' }, body: 'rate_limited' },
    ]);
    const now = 1_800_000_000_000;
    const slack = new SlackNotifier(
      { ...common, url: new Secret(`${receiver.url}/services/T000/B000/XXXXXXXXXXXXSECRET`) },
      () => now,
    );
    try {
      const error = await slack.send(samplePayload(), 'ntf_1').then(
        () => assert.fail('a 429 is not a delivery'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof DeliveryError);
      assert.equal(error.retryAt, now + 30_000);
      assert.match(error.message, /HTTP 429: rate_limited/);
      assert.ok(!error.message.includes('XXXXXXXXXXXXSECRET'), 'the webhook URL is a secret');
    } finally {
      await slack.close();
      await receiver.close();
    }
  });

  test('options: the URL is required, a secret, and may come from the environment', () => {
    assert.throws(
      () => parseSlackOptions({}, 'notify.receivers[1]'),
      (e: unknown) => e instanceof ConfigError && e.key === 'notify.receivers[1].url',
    );
    assert.throws(
      () => parseSlackOptions({ url: 'ftp://x' }, 'r'),
      (e: unknown) => e instanceof ConfigError && e.key === 'r.url',
    );
    assert.throws(
      () => parseSlackOptions({ url: 'https://hooks.slack.com/x', colour: 'red' }, 'r'),
      (e: unknown) => e instanceof ConfigError && e.key === 'r.colour',
    );
    const secretUrl = 'https://hooks.slack.com/services/T1/B1/abcdefabcdef';
    const options = parseSlackOptions({ url: { env: 'SLACK_URL' } }, 'r', { SLACK_URL: secretUrl });
    assert.equal(options.url.reveal(), secretUrl);
    assert.ok(!JSON.stringify(options).includes('abcdefabcdef'));
    assert.throws(
      () => parseSlackOptions({ url: { env: 'SLACK_URL' } }, 'r', {}),
      (e: unknown) => e instanceof ConfigError && e.key === 'r.url' && /SLACK_URL is not set/.test(e.message),
    );
  });

  test("a grouped notification names the group's other alerts under the latest, ten at most", async () => {
    const receiver = await startReceiver();
    const slack = new SlackNotifier({ ...common, url: new Secret(receiver.url) });
    try {
      await slack.send(sampleGroupPayload(13), 'ntf_1');
      const message = JSON.parse((await receiver.waitFor(1))[0]!.body) as SlackBody;
      assert.match(message.blocks[1]!.text!.text, /203\.0\.113\.22/, 'the latest alert in full');
      const group = message.blocks[2]!.text!.text.split('\n');
      assert.equal(group[0], '*Also in this group (12)*');
      assert.equal(
        group[1],
        '• RESOLVED · HIGH · Repeated failed logins: 5 failed logins from 203.0.113.10 within 1 min',
      );
      assert.equal(group.filter((l) => l.startsWith('• ')).length, 10);
      assert.equal(group.at(-1), '… and 2 more');
      assert.match(message.text, /\(\+12 more in this group\)$/);
    } finally {
      await slack.close();
      await receiver.close();
    }
  });
});
