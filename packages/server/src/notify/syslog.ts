/**
 * Syslog for SIEMs: an RFC 5424 message whose MSG is a CEF record, over UDP (RFC 5426), TCP (RFC 6587
 * octet-counting framing: `<length> <message>`) or TLS (RFC 5425, same framing).
 *
 * PRI = facility × 8 + a syslog severity derived from the alert's severity. One connection per notification:
 * alerts are few, and a fresh connection needs no reconnect logic and passes the SSRF check every time.
 * UDP gives no delivery guarantee at all; prefer TCP or TLS where the collector offers them.
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Severity } from '@vigil/engine';
import { ConfigError } from '../errors.js';
import { cefRecord } from './cef.js';
import { truncateBytes } from './format.js';
import { DeliveryError, type NotificationPayload, perAlertPayloads, type SendResult } from './notifier.js';
import { COMMON_KEYS, type CommonReceiverOptions, OptionReader, type UnsetSecrets } from './options.js';
import { describeError, type HealthResult, probe, type ReceiverNotifier, testPayload } from './provider.js';
import { guardedConnect, resolveTarget, SsrfError } from './ssrf.js';

/** RFC 5424 §6.2.1 facility codes by name. */
export const FACILITIES = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  ntp: 12,
  security: 13,
  console: 14,
  solaris_cron: 15,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
} as const;

export type Facility = keyof typeof FACILITIES;

/** Alert severity → RFC 5424 severity (2 critical, 3 error, 4 warning, 5 notice, 6 informational). */
export const SYSLOG_SEVERITY: Readonly<Record<Severity, number>> = { critical: 2, high: 3, medium: 4, low: 5, info: 6 };

export interface SyslogOptions {
  readonly host: string;
  /** 514 for UDP and TCP, 6514 for TLS. */
  readonly port: number;
  readonly protocol: 'udp' | 'tcp' | 'tls';
  readonly facility: Facility;
  /** APP-NAME of the message. */
  readonly appName: string;
  /** HOSTNAME of the message; the machine Vigil runs on by default. */
  readonly hostname: string;
  /** Extra CA certificates (PEM) to trust for TLS, read from this file at start-up. */
  readonly caFile?: string;
  /** Longest message sent (bytes, framing excluded); longer ones are cut. 2048 is what every UDP receiver takes. */
  readonly maxMessageBytes: number;
}

export type SyslogReceiverConfig = CommonReceiverOptions & SyslogOptions;

/**
 * Validate the syslog options of one receiver.
 * @example parseSyslogOptions({ host: 'siem.internal', protocol: 'tcp', facility: 'local4' }, 'notify.receivers[7]')
 */
export function parseSyslogOptions(
  raw: unknown,
  key: string,
  env: NodeJS.ProcessEnv = process.env,
  unsetSecrets: UnsetSecrets = 'refuse',
): SyslogOptions {
  const r = new OptionReader(raw, key, env, COMMON_KEYS, unsetSecrets);
  const host = r.requiredString('host', 255);
  const protocol = r.oneOf('protocol', ['udp', 'tcp', 'tls'] as const, 'tcp');
  const port = r.integer('port', protocol === 'tls' ? 6514 : 514, 1, 65535);
  const facility = r.oneOf('facility', Object.keys(FACILITIES) as Facility[], 'local0');
  const appName = r.string('appName', 'vigil', 48);
  if (!/^[!-~]+$/.test(appName)) throw new ConfigError(r.keyOf('appName'), 'must be printable ASCII without spaces');
  const host5424 = r.string('hostname', hostname(), 255);
  if (!/^[!-~]+$/.test(host5424)) throw new ConfigError(r.keyOf('hostname'), 'must be printable ASCII without spaces');
  const caFile = r.optionalString('caFile', 4096);
  if (caFile !== undefined && protocol !== 'tls')
    throw new ConfigError(r.keyOf('caFile'), 'applies only to protocol: tls');
  if (caFile !== undefined) {
    try {
      readFileSync(caFile, 'utf8');
    } catch (error) {
      throw new ConfigError(r.keyOf('caFile'), `cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  const maxMessageBytes = r.integer('maxMessageBytes', protocol === 'udp' ? 2048 : 8192, 480, 65_000);
  r.done();
  return {
    host,
    port,
    protocol,
    facility,
    appName,
    hostname: host5424,
    ...(caFile ? { caFile } : {}),
    maxMessageBytes,
  };
}

const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
      .version;
  } catch {
    return '0';
  }
})();

/** The RFC 5424 message (no framing) for one notification. `now` is the wall clock, epoch ms. */
export function syslogMessage(
  payload: NotificationPayload,
  options: Pick<SyslogOptions, 'facility' | 'appName' | 'hostname' | 'maxMessageBytes'>,
  now: number,
): string {
  const pri = FACILITIES[options.facility] * 8 + SYSLOG_SEVERITY[payload.alert.severity];
  // MSGID is at most 32 printable characters; STRUCTURED-DATA is "-": the CEF record carries every field.
  const head = `<${pri}>1 ${new Date(now).toISOString()} ${options.hostname} ${options.appName} ${process.pid} alert.${payload.change} - `;
  const message = head + cefRecord(payload, VERSION);
  return truncateBytes(message, options.maxMessageBytes);
}

/** RFC 6587 §3.4.1 octet-counting: the byte length, a space, the message. */
export function octetCountingFrame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `), body]);
}

export class SyslogNotifier implements ReceiverNotifier {
  readonly type = 'syslog' as const;
  readonly name: string;
  private readonly ca: string | undefined;

  constructor(
    private readonly config: SyslogReceiverConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.name = config.name;
    this.ca = config.caFile ? readFileSync(config.caFile, 'utf8') : undefined;
  }

  /** One message per alert (a grouped notification gives its whole group): over TCP or TLS, all on one connection. */
  async send(payload: NotificationPayload, _idempotencyKey: string): Promise<SendResult> {
    const messages = perAlertPayloads(payload).map((one) => syslogMessage(one, this.config, this.now()));
    const where = `syslog ${this.config.protocol}://${this.config.host}:${this.config.port}`;
    try {
      if (this.config.protocol === 'udp') {
        for (const message of messages) await this.sendUdp(Buffer.from(message, 'utf8'));
      } else {
        await this.sendStream(Buffer.concat(messages.map(octetCountingFrame)));
      }
      return {};
    } catch (error) {
      if (error instanceof SsrfError) throw error;
      throw new DeliveryError(`${where}: ${describeError(error)}`);
    }
  }

  private async sendUdp(datagram: Buffer): Promise<void> {
    const target = await resolveTarget(this.config.host, this.config.allowPrivateNetwork);
    const socket = createSocket(target.family === 6 ? 'udp6' : 'udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.send(datagram, this.config.port, target.address, (error) => (error ? reject(error) : resolve()));
      });
    } finally {
      socket.close();
    }
  }

  private async sendStream(frame: Buffer): Promise<void> {
    const socket = await this.connect();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`write timed out after ${this.config.timeoutMillis} ms`));
      }, this.config.timeoutMillis);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      // end() flushes the frame and half-closes; 'finish' means the kernel took every byte.
      socket.end(frame, () => {
        clearTimeout(timer);
        socket.destroy();
        resolve();
      });
    });
  }

  private connect() {
    return guardedConnect(this.config.host, this.config.port, {
      allowPrivateNetwork: this.config.allowPrivateNetwork,
      timeoutMillis: this.config.timeoutMillis,
      ...(this.config.protocol === 'tls' ? { tls: this.ca ? { ca: this.ca } : {} } : {}),
    });
  }

  /** TCP/TLS: a connection (and handshake); UDP has no handshake, so only the name and the SSRF check. */
  healthCheck(): Promise<HealthResult> {
    return probe(async () => {
      if (this.config.protocol === 'udp') {
        const target = await resolveTarget(this.config.host, this.config.allowPrivateNetwork);
        return `${this.config.host} resolves to ${target.address} (UDP cannot confirm a listener)`;
      }
      const socket = await this.connect();
      socket.destroy();
      return `${this.config.protocol.toUpperCase()} connection to ${this.config.host}:${this.config.port} succeeded`;
    });
  }

  sendTest(): Promise<SendResult> {
    const payload = testPayload(this.name, this.now());
    return this.send(payload, `test_${payload.alert.id}`);
  }

  async close(): Promise<void> {}
}
