import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../errors.js';
import {
  parseCef,
  parseRfc5424,
  sampleGroupPayload,
  samplePayload,
  startSyslogListener,
} from '../testing/receivers.js';
import { cefHeaderEscape, cefRecord, cefValueEscape } from './cef.js';
import { octetCountingFrame, parseSyslogOptions, SyslogNotifier, type SyslogReceiverConfig } from './syslog.js';

function config(
  protocol: 'udp' | 'tcp',
  port: number,
  extra: Partial<SyslogReceiverConfig> = {},
): SyslogReceiverConfig {
  return {
    name: 'siem',
    host: '127.0.0.1',
    port,
    protocol,
    facility: 'local4',
    appName: 'vigil',
    hostname: 'vigil-01',
    maxMessageBytes: 8192,
    allowPrivateNetwork: true,
    timeoutMillis: 2000,
    maxAttempts: 3,
    ...extra,
  };
}

const NOW = Date.parse('2026-11-02T10:00:03.000Z');

for (const protocol of ['udp', 'tcp'] as const) {
  describe(`syslog over ${protocol.toUpperCase()}`, () => {
    test('an RFC 5424 message carrying a CEF record with the alert fields', async () => {
      const listener = await startSyslogListener(protocol);
      const syslog = new SyslogNotifier(config(protocol, listener.port), () => NOW);
      try {
        const payload = samplePayload('opened', { summary: 'weird | summary = with\nnewline \\ and pipe' });
        await syslog.send(payload, 'ntf_1');
        await syslog.send(samplePayload('resolved'), 'ntf_2');
        const [first, second] = await listener.waitFor(2);
        const frame = parseRfc5424(first!);
        assert.equal(frame.pri, 20 * 8 + 3, 'local4 × 8 + err (high)');
        assert.equal(frame.version, 1);
        assert.equal(frame.timestamp, '2026-11-02T10:00:03.000Z');
        assert.equal(frame.hostname, 'vigil-01');
        assert.equal(frame.appName, 'vigil');
        assert.equal(frame.procId, String(process.pid));
        assert.equal(frame.msgId, 'alert.opened');
        assert.equal(frame.structuredData, '-');
        const cef = parseCef(frame.msg);
        assert.equal(cef.version, '0');
        assert.equal(cef.vendor, 'Vigil');
        assert.equal(cef.product, 'Vigil');
        assert.match(cef.deviceVersion, /^\d+\.\d+\.\d+/);
        assert.equal(cef.signatureId, 'vigil-authn-brute-force');
        assert.equal(cef.name, 'Repeated failed logins');
        assert.equal(cef.severity, '8');
        const ext = cef.extension;
        assert.equal(ext.rt, String(Date.parse('2026-11-02T10:00:02.000Z')));
        assert.equal(ext.start, String(Date.parse('2026-11-02T10:00:00.000Z')));
        assert.equal(ext.src, '203.0.113.9');
        assert.equal(ext.suser, 'alice');
        assert.equal(ext.request, '/login');
        assert.equal(ext.cnt, '5');
        assert.equal(ext.cs1Label, 'fingerprint');
        assert.equal(ext.cs1, '7aa4fd0a3734d446');
        assert.equal(ext.externalId, '73f8ec32-07c3-44ec-91d2-6812db8f9a66');
        assert.equal(ext.msg, 'weird | summary = with\nnewline \\ and pipe', 'escaping round-trips');
        assert.equal(JSON.parse(ext.cs3!)['client.address'], '203.0.113.9');

        const resolved = parseRfc5424(second!);
        assert.equal(resolved.msgId, 'alert.resolved');
        assert.equal(parseCef(resolved.msg).extension.end, String(Date.parse('2026-11-02T10:15:02.000Z')));
      } finally {
        await syslog.close();
        await listener.close();
      }
    });

    test('a grouped notification is one message per alert of the group', async () => {
      const listener = await startSyslogListener(protocol);
      const syslog = new SyslogNotifier(config(protocol, listener.port), () => NOW);
      try {
        const payload = sampleGroupPayload(3);
        await syslog.send(payload, 'ntf_1');
        const frames = (await listener.waitFor(3)).map(parseRfc5424);
        assert.deepEqual(
          frames.map((f) => [f.msgId, parseCef(f.msg).extension.externalId]).sort(),
          payload.group!.alerts.map((a, i) => [i === 0 ? 'alert.resolved' : 'alert.opened', a.id]).sort(),
        );
      } finally {
        await syslog.close();
        await listener.close();
      }
    });
  });
}

describe('syslog and CEF details', () => {
  test('CEF escaping rules for header and extension', () => {
    assert.equal(cefHeaderEscape('a|b\\c\nd'), 'a\\|b\\\\c d');
    assert.equal(cefValueEscape('a=b\\c\nd\re|f'), 'a\\=b\\\\c\\nd\\re|f');
    const record = cefRecord(samplePayload('opened', { rule: { id: 'r|1', title: 'T|itle' } }), '1.0');
    assert.ok(record.startsWith('CEF:0|Vigil|Vigil|1.0|r\\|1|T\\|itle|8|'));
    assert.equal(parseCef(record).signatureId, 'r|1');
  });

  test('octet-counting frames count bytes, not characters', () => {
    assert.equal(octetCountingFrame('é').toString(), '2 é');
  });

  test('TCP health check connects; a closed port is reported, not thrown', async () => {
    const listener = await startSyslogListener('tcp');
    const syslog = new SyslogNotifier(config('tcp', listener.port));
    const ok = await syslog.healthCheck();
    assert.equal(ok.ok, true, ok.message);
    await listener.close();
    const down = await syslog.healthCheck();
    assert.equal(down.ok, false);
    await assert.rejects(syslog.send(samplePayload(), 'n'), /ECONNREFUSED/);
  });

  test('a loopback collector is refused unless allowPrivateNetwork', async () => {
    const listener = await startSyslogListener('udp');
    const syslog = new SyslogNotifier(config('udp', listener.port, { allowPrivateNetwork: false }));
    try {
      await assert.rejects(
        syslog.send(samplePayload(), 'n'),
        (e: Error & { code?: string }) => e.code === 'ssrf_refused',
      );
    } finally {
      await listener.close();
    }
  });

  test('options: defaults and errors naming the key', () => {
    const key = 'notify.receivers[6]';
    const options = parseSyslogOptions({ host: 'siem.example.com' }, key);
    assert.equal(options.protocol, 'tcp');
    assert.equal(options.port, 514);
    assert.equal(options.facility, 'local0');
    assert.equal(parseSyslogOptions({ host: 'h', protocol: 'tls' }, key).port, 6514);
    const cases: [unknown, string][] = [
      [{}, `${key}.host`],
      [{ host: 'h', protocol: 'sctp' }, `${key}.protocol`],
      [{ host: 'h', facility: 'local9' }, `${key}.facility`],
      [{ host: 'h', appName: 'has space' }, `${key}.appName`],
      [{ host: 'h', caFile: '/x.pem' }, `${key}.caFile`],
      [{ host: 'h', protocol: 'tls', caFile: '/nonexistent/ca.pem' }, `${key}.caFile`],
      [{ host: 'h', maxMessageBytes: 10 }, `${key}.maxMessageBytes`],
    ];
    for (const [raw, expected] of cases) {
      assert.throws(
        () => parseSyslogOptions(raw, key),
        (e: unknown) => e instanceof ConfigError && e.key === expected,
        expected,
      );
    }
  });
});
