import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../errors.js';
import { startReceiver } from '../testing/harness.js';
import { sampleGroupPayload, samplePayload } from '../testing/receivers.js';
import { Secret } from './options.js';
import { parseTeamsOptions, TeamsNotifier, teamsEscape } from './teams.js';

interface TeamsBody {
  type: string;
  attachments: {
    contentType: string;
    content: {
      type: string;
      version: string;
      body: { type: string; text?: string; color?: string; facts?: { title: string; value: string }[] }[];
      actions?: unknown[];
    };
  }[];
}

describe('Microsoft Teams receiver', () => {
  test('posts a Workflows message carrying an Adaptive Card 1.4', async () => {
    const receiver = await startReceiver();
    const teams = new TeamsNotifier({
      name: 'teams',
      url: new Secret(receiver.url),
      dashboardUrl: new URL('https://vigil.example.com/'),
      allowPrivateNetwork: true,
      timeoutMillis: 2000,
      maxAttempts: 3,
    });
    try {
      await teams.send(samplePayload('opened'), 'ntf_1');
      const [request] = await receiver.waitFor(1);
      const message = JSON.parse(request!.body) as TeamsBody;
      assert.equal(message.type, 'message');
      assert.equal(message.attachments.length, 1);
      const attachment = message.attachments[0]!;
      assert.equal(attachment.contentType, 'application/vnd.microsoft.card.adaptive');
      const card = attachment.content;
      assert.equal(card.type, 'AdaptiveCard');
      assert.equal(card.version, '1.4');
      assert.match(card.body[0]!.text!, /FIRING · HIGH · Repeated failed logins/);
      assert.equal(card.body[0]!.color, 'Attention');
      const facts = card.body.filter((b) => b.type === 'FactSet').flatMap((b) => b.facts ?? []);
      assert.ok(facts.some((f) => f.title === 'client.address' && f.value === '203.0.113.9'));
      assert.ok(facts.some((f) => f.title === 'Events' && f.value === '5'));
      assert.deepEqual(card.actions?.[0], {
        type: 'Action.OpenUrl',
        title: 'View alert',
        url: 'https://vigil.example.com/alerts/73f8ec32-07c3-44ec-91d2-6812db8f9a66',
      });
      await teams.send(samplePayload('resolved'), 'ntf_2');
      const resolved = JSON.parse((await receiver.waitFor(2))[1]!.body) as TeamsBody;
      assert.match(resolved.attachments[0]!.content.body[0]!.text!, /^RESOLVED/);
      assert.equal(resolved.attachments[0]!.content.body[0]!.color, 'Good');
    } finally {
      await teams.close();
      await receiver.close();
    }
  });

  test("a grouped notification names the group's other alerts under the latest", async () => {
    const receiver = await startReceiver();
    const teams = new TeamsNotifier({
      name: 'teams',
      url: new Secret(receiver.url),
      allowPrivateNetwork: true,
      timeoutMillis: 2000,
      maxAttempts: 3,
    });
    try {
      await teams.send(sampleGroupPayload(3), 'ntf_1');
      const message = JSON.parse((await receiver.waitFor(1))[0]!.body) as TeamsBody;
      const texts = message.attachments[0]!.content.body.flatMap((b) => (b.text ? [b.text] : []));
      assert.match(texts[1]!, /203\.0\.113\.12/, 'the latest alert in full');
      assert.equal(texts[2], 'Also in this group (2)');
      assert.equal(
        texts[3],
        '• RESOLVED · HIGH · Repeated failed logins: 5 failed logins from 203.0.113.10 within 1 min',
      );
      assert.equal(
        texts[4],
        '• FIRING · HIGH · Repeated failed logins: 5 failed logins from 203.0.113.11 within 1 min',
      );
    } finally {
      await teams.close();
      await receiver.close();
    }
  });

  test('Markdown from alert data is escaped', () => {
    assert.equal(teamsEscape('[click](http://evil) *x*'), '\\[click\\]\\(http://evil\\) \\*x\\*');
  });

  test('bad options name the key', () => {
    assert.throws(
      () => parseTeamsOptions({ url: 42 }, 'notify.receivers[0]'),
      (e: unknown) => e instanceof ConfigError && e.key === 'notify.receivers[0].url',
    );
    assert.throws(
      () => parseTeamsOptions({ url: 'https://x.example/', dashboardUrl: 'nope' }, 'k'),
      (e: unknown) => e instanceof ConfigError && e.key === 'k.dashboardUrl',
    );
  });
});
