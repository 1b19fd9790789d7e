import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { describe, test } from 'node:test';
import { ConfigError } from '../errors.js';
import { parseMime, sampleGroupPayload, samplePayload, startSmtpReceiver } from '../testing/receivers.js';
import { EmailNotifier, escapeHtml, parseEmailOptions } from './email.js';
import { Secret } from './options.js';

function notifier(port: number, extra: Partial<ConstructorParameters<typeof EmailNotifier>[0]> = {}) {
  return new EmailNotifier({
    name: 'mail',
    host: '127.0.0.1',
    port,
    secure: false,
    requireTls: false,
    from: 'Vigil <vigil@alerts.example.com>',
    to: ['secops@example.com', 'oncall@example.com'],
    subjectPrefix: '[Vigil]',
    allowPrivateNetwork: true,
    timeoutMillis: 3000,
    maxAttempts: 3,
    ...extra,
  });
}

describe('e-mail receiver', () => {
  test('sends text + HTML, threaded per alert: the opening Message-ID is referenced by later mails', async () => {
    const smtp = await startSmtpReceiver({ user: 'vigil', pass: 'correct horse battery' });
    const mail = notifier(smtp.port, { auth: { user: 'vigil', pass: new Secret('correct horse battery') } });
    try {
      await mail.send(samplePayload('opened', { summary: '5 failed logins from <script>alert(1)</script>' }), 'ntf_1');
      await mail.send(samplePayload('resolved'), 'ntf_2');
      const [opened, resolved] = await smtp.waitFor(2);
      assert.equal(opened!.user, 'vigil');
      assert.deepEqual(opened!.to, ['secops@example.com', 'oncall@example.com']);
      assert.equal(opened!.from, 'vigil@alerts.example.com');

      const first = parseMime(opened!.raw);
      assert.equal(
        first.headers['message-id'],
        '<vigil.alert.73f8ec32-07c3-44ec-91d2-6812db8f9a66@alerts.example.com>',
      );
      assert.equal(first.headers['in-reply-to'], undefined);
      assert.match(first.headers.subject!, /^\[Vigil\] \[HIGH\] 5 failed logins from/);
      assert.equal(first.headers['auto-submitted'], 'auto-generated');
      const text = first.parts.find((p) => p.contentType.startsWith('text/plain'))!;
      const html = first.parts.find((p) => p.contentType.startsWith('text/html'))!;
      assert.ok(text && html, 'both a text and an HTML part');
      assert.match(text.body, /client\.address: 203\.0\.113\.9/);
      assert.match(text.body, /Events: +5/);
      assert.ok(!html.body.includes('<script>'), 'alert data is escaped in HTML');
      assert.ok(html.body.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
      assert.ok(html.body.includes('203.0.113.9'));

      const second = parseMime(resolved!.raw);
      assert.match(second.headers.subject!, /^\[Vigil\] \[RESOLVED\] \[HIGH\]/);
      assert.equal(second.headers['in-reply-to'], first.headers['message-id']);
      assert.equal(second.headers.references, first.headers['message-id']);
      assert.notEqual(second.headers['message-id'], first.headers['message-id']);
      assert.match(second.headers['message-id']!, /ntf_2@alerts\.example\.com>$/);
    } finally {
      await mail.close();
      await smtp.close();
    }
  });

  test('a grouped mail lists the group and has a Message-ID of its own, never one an earlier mail used', async () => {
    const smtp = await startSmtpReceiver();
    const mail = notifier(smtp.port);
    try {
      const group = sampleGroupPayload(3);
      // The latest alert of the group was opened in a mail of its own before it joined the group's notification.
      await mail.send({ version: 1, change: 'opened', alert: group.alert }, 'ntf_1');
      await mail.send(group, 'ntf_2');
      const [single, grouped] = (await smtp.waitFor(2)).map((m) => parseMime(m.raw));
      assert.notEqual(grouped!.headers['message-id'], single!.headers['message-id']);
      assert.match(grouped!.headers['message-id']!, /ntf_2@alerts\.example\.com>$/);
      assert.equal(grouped!.headers['in-reply-to'], undefined);
      assert.match(grouped!.headers.subject!, /203\.0\.113\.12 within 1 min \(\+2 more\)$/);
      const text = grouped!.parts.find((p) => p.contentType.startsWith('text/plain'))!.body;
      assert.match(text, /Also in this group \(2\):/);
      assert.match(text, /- RESOLVED · HIGH · Repeated failed logins: 5 failed logins from 203\.0\.113\.10/);
      assert.match(text, /- FIRING · HIGH · Repeated failed logins: 5 failed logins from 203\.0\.113\.11/);
      const html = grouped!.parts.find((p) => p.contentType.startsWith('text/html'))!.body;
      assert.match(html, /<li>FIRING · HIGH · Repeated failed logins: 5 failed logins from 203\.0\.113\.11/);
    } finally {
      await mail.close();
      await smtp.close();
    }
  });

  test('a wrong password fails without showing it; the health check logs in', async () => {
    const smtp = await startSmtpReceiver({ user: 'vigil', pass: 'correct horse battery' });
    const wrong = notifier(smtp.port, { auth: { user: 'vigil', pass: new Secret('wrong-password-123') } });
    const right = notifier(smtp.port, { auth: { user: 'vigil', pass: new Secret('correct horse battery') } });
    try {
      await assert.rejects(wrong.send(samplePayload(), 'n'), (e: Error) => {
        assert.match(e.message, /Invalid/i);
        assert.ok(!e.message.includes('wrong-password-123'));
        return true;
      });
      const bad = await wrong.healthCheck();
      assert.equal(bad.ok, false);
      const good = await right.healthCheck();
      assert.equal(good.ok, true, good.message);
      await right.sendTest();
      const [test] = await smtp.waitFor(1);
      assert.match(parseMime(test!.raw).headers.subject!, /TEST/);
    } finally {
      await smtp.close();
    }
  });

  test('requireTls refuses a server without STARTTLS', async () => {
    const smtp = await startSmtpReceiver();
    const mail = notifier(smtp.port, { requireTls: true });
    try {
      await assert.rejects(mail.send(samplePayload(), 'n'), /STARTTLS/i);
      assert.equal(smtp.mails.length, 0);
    } finally {
      await smtp.close();
    }
  });

  test('a server that trickles a reply that never ends: the attempt fails at timeoutMillis (then retried)', async () => {
    // A real SMTP dialogue up to MAIL FROM, then a multi-line 250 reply, one line every 100 ms, forever: never silent
    // long enough for a socket timeout.
    const server = createNetServer((socket) => {
      socket.on('error', () => {});
      socket.write('220 smtp.test ESMTP\r\n');
      let buffered = '';
      let trickle: NodeJS.Timeout | undefined;
      socket.on('data', (chunk) => {
        buffered += chunk.toString();
        for (let end = buffered.indexOf('\r\n'); end !== -1; end = buffered.indexOf('\r\n')) {
          const line = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          if (/^EHLO/i.test(line)) socket.write('250-smtp.test\r\n250 8BITMIME\r\n');
          else if (/^MAIL FROM/i.test(line)) trickle = setInterval(() => socket.write('250-still thinking\r\n'), 100);
          else if (/^NOOP|^RSET/i.test(line)) trickle = setInterval(() => socket.write('250-still thinking\r\n'), 100);
        }
      });
      socket.on('close', () => clearInterval(trickle));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const mail = notifier((server.address() as AddressInfo).port, { timeoutMillis: 1000 });
    try {
      await assert.rejects(mail.send(samplePayload(), 'n'), /sending took longer than 1000 ms/);
      // The connection of the attempt that was cut is closed too: the server, closed now, finds nothing left open.
      await new Promise<void>((resolve) => server.close(() => resolve()));
    } finally {
      server.close();
    }
  });

  test('a loopback SMTP host is refused unless allowPrivateNetwork', async () => {
    const smtp = await startSmtpReceiver();
    const mail = notifier(smtp.port, { allowPrivateNetwork: false, host: 'localhost' });
    try {
      await assert.rejects(
        mail.send(samplePayload(), 'n'),
        (e: Error & { code?: string }) => e.code === 'ssrf_refused',
      );
      assert.equal(smtp.mails.length, 0);
    } finally {
      await smtp.close();
    }
  });

  test('options: defaults, env password, errors naming the key', () => {
    const key = 'notify.receivers[4]';
    const options = parseEmailOptions(
      {
        host: 'smtp.example.com',
        from: 'vigil@example.com',
        to: 'a@example.com',
        auth: { user: 'u', pass: { env: 'SMTP_PASS' } },
      },
      key,
      { SMTP_PASS: 'from-the-environment' },
    );
    assert.equal(options.port, 587);
    assert.equal(options.requireTls, true, 'credentials imply TLS');
    assert.equal(options.auth!.pass.reveal(), 'from-the-environment');
    assert.deepEqual(options.to, ['a@example.com']);
    assert.equal(parseEmailOptions({ host: 'h', secure: true, from: 'v@e.com', to: ['a@e.com'] }, key).port, 465);
    const cases: [unknown, string][] = [
      [{ from: 'v@e.com', to: ['a@e.com'] }, `${key}.host`],
      [{ host: 'h', to: ['a@e.com'] }, `${key}.from`],
      [{ host: 'h', from: 'not an address', to: ['a@e.com'] }, `${key}.from`],
      [{ host: 'h', from: 'v@e.com' }, `${key}.to`],
      [{ host: 'h', from: 'v@e.com', to: ['a@e.com', 'nope'] }, `${key}.to[1]`],
      [{ host: 'h', from: 'v@e.com', to: ['a@e.com'], port: 70000 }, `${key}.port`],
      [{ host: 'h', from: 'v@e.com', to: ['a@e.com'], auth: { user: 'u' } }, `${key}.auth.pass`],
      [{ host: 'h', from: 'v@e.com', to: ['a@e.com'], auth: { user: 'u', pass: 'p', extra: 1 } }, `${key}.auth.extra`],
    ];
    for (const [raw, expected] of cases) {
      assert.throws(
        () => parseEmailOptions(raw, key, {}),
        (e: unknown) => e instanceof ConfigError && e.key === expected,
        expected,
      );
    }
    assert.equal(escapeHtml(`<a href="x">'&</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&lt;/a&gt;');
  });
});
