/**
 * E-mail over SMTP (nodemailer): a plain-text and an HTML part, everything from the alert escaped, threaded per
 * alert. The mail that opens an alert has a `Message-ID` derived from the alert id; every later mail of the same
 * alert (resolved, acknowledged) carries `In-Reply-To` and `References` pointing at it, so mail clients that
 * thread by RFC 5322 references (Thunderbird, Apple Mail, Outlook, Gmail with the same conversation) show one
 * conversation per alert. Message ids are stable across retries of one notification. A grouped notification (many
 * alerts in one mail) lists the group's other alerts and has a Message-ID of its own: its latest alert may have been
 * opened in an earlier mail, whose id it must not take again (mail systems drop a second message with the same id).
 *
 * SSRF: the SMTP host is resolved and checked like an HTTP target, then dialled by address with TLS verified
 * against the configured name. Credentials never go over a connection without TLS: with `auth`, `requireTls`
 * defaults to true.
 */
import { Socket } from 'node:net';
import nodemailer from 'nodemailer';
import { ConfigError } from '../errors.js';
import { alertLink, GROUP_LISTED, groupHeading, groupLine, groupRest, stateWord, truncate } from './format.js';
import { DeliveryError, type NotificationPayload, otherGroupAlerts, type SendResult } from './notifier.js';
import {
  COMMON_KEYS,
  type CommonReceiverOptions,
  OptionReader,
  redactSecrets,
  type Secret,
  type UnsetSecrets,
} from './options.js';
import { describeError, type HealthResult, probe, type ReceiverNotifier, testPayload } from './provider.js';
import { resolveTarget, SsrfError } from './ssrf.js';

export interface EmailOptions {
  readonly host: string;
  /** 465 with `secure`, else 587 (submission with STARTTLS). */
  readonly port: number;
  /** TLS from the first byte (SMTPS, usually port 465); otherwise STARTTLS when the server offers it. */
  readonly secure: boolean;
  /** Refuse to send unless the connection is encrypted (STARTTLS or `secure`). */
  readonly requireTls: boolean;
  readonly auth?: { readonly user: string; readonly pass: Secret };
  /** `From:`, e.g. `Vigil <vigil@example.com>`; its domain is the right-hand side of Message-IDs. */
  readonly from: string;
  readonly to: readonly string[];
  readonly subjectPrefix: string;
  readonly dashboardUrl?: URL;
}

export type EmailReceiverConfig = CommonReceiverOptions & EmailOptions;

const ADDRESS = /^(?:[^<>]*<)?([^\s@<>]+@([A-Za-z0-9.-]+))>?$/;

/**
 * Validate the e-mail options of one receiver.
 * @example parseEmailOptions({ host: 'smtp.example.com', from: 'vigil@example.com', to: ['secops@example.com'], auth: { user: 'vigil', pass: { env: 'SMTP_PASSWORD' } } }, 'notify.receivers[5]')
 */
export function parseEmailOptions(
  raw: unknown,
  key: string,
  env: NodeJS.ProcessEnv = process.env,
  unsetSecrets: UnsetSecrets = 'refuse',
): EmailOptions {
  const r = new OptionReader(raw, key, env, COMMON_KEYS, unsetSecrets);
  const host = r.requiredString('host', 255);
  const secure = r.boolean('secure', false);
  const port = r.integer('port', secure ? 465 : 587, 1, 65535);
  let auth: EmailOptions['auth'];
  const authReader = r.section('auth');
  if (authReader) {
    auth = { user: authReader.requiredString('user', 255), pass: authReader.requiredSecret('pass') };
    authReader.done();
  }
  const requireTls = r.boolean('requireTls', auth !== undefined);
  const from = r.requiredString('from', 320).trim();
  if (!ADDRESS.test(from))
    throw new ConfigError(r.keyOf('from'), 'must be an e-mail address, e.g. "Vigil <vigil@example.com>"');
  const to = r.stringList('to', true);
  for (const [i, address] of to.entries()) {
    if (!ADDRESS.test(address.trim())) throw new ConfigError(`${r.keyOf('to')}[${i}]`, 'must be an e-mail address');
  }
  const subjectPrefix = r.string('subjectPrefix', '[Vigil]', 100);
  const dashboardUrl = r.optionalUrl('dashboardUrl');
  r.done();
  return {
    host,
    port,
    secure,
    requireTls,
    ...(auth ? { auth } : {}),
    from,
    to,
    subjectPrefix,
    ...(dashboardUrl ? { dashboardUrl } : {}),
  };
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Header values never carry a line break from alert data (header injection). */
function oneLine(text: string): string {
  return text.replace(/[\r\n\t\u0000-\u001f\u007f]+/g, ' ').trim();
}

/** Message-ID local parts: only characters that need no quoting. */
function idPart(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_');
}

export interface EmailMessage {
  subject: string;
  text: string;
  html: string;
  messageId: string;
  inReplyTo?: string;
  references?: string;
  headers: Record<string, string>;
}

/** The mail for one notification: subject, both bodies and the threading headers. */
export function emailMessage(
  payload: NotificationPayload,
  notificationId: string,
  options: Pick<EmailOptions, 'from' | 'subjectPrefix' | 'dashboardUrl'>,
): EmailMessage {
  const { alert } = payload;
  const domain = ADDRESS.exec(options.from)?.[2] ?? 'vigil.invalid';
  const state = stateWord(payload);
  const threadId = `<vigil.alert.${idPart(alert.id)}@${domain}>`;
  const grouped = payload.group !== undefined;
  const opening = payload.change === 'opened' && !grouped;
  const severity = alert.severity.toUpperCase();
  const others = otherGroupAlerts(payload);
  const listed = others.slice(0, GROUP_LISTED).map(groupLine);
  const rest = groupRest(others);
  const more = others.length > 0 ? ` (+${others.length} more)` : '';
  const subject = truncate(
    oneLine(`${options.subjectPrefix} ${state === 'FIRING' ? '' : `[${state}] `}[${severity}] ${alert.summary}${more}`),
    250,
  );
  const link = alertLink(options.dashboardUrl, alert.id);
  const labels = Object.entries(alert.labels);
  const evidence = alert.evidence.slice(0, 20);
  const text = [
    `${state} · ${severity} · ${alert.rule.title}`,
    '',
    alert.summary,
    '',
    ...(others.length > 0
      ? [`${groupHeading(others)}:`, ...listed.map((l) => `  - ${l}`), ...(rest ? [`  ${rest}`] : []), '']
      : []),
    'Labels:',
    ...labels.map(([k, v]) => `  ${k}: ${v}`),
    '',
    `Status:    ${state === 'RESOLVED' ? 'resolved' : alert.status}`,
    `Started:   ${alert.startsAt}`,
    `Last seen: ${alert.lastSeenAt}`,
    ...(alert.endsAt ? [`Resolved:  ${alert.endsAt}`] : []),
    `Events:    ${alert.eventCount}`,
    ...(evidence.length
      ? [`Evidence:  ${evidence.join(', ')}${alert.evidence.length > evidence.length ? ', …' : ''}`]
      : []),
    '',
    ...(link ? [`View the alert: ${link}`, ''] : []),
    `Vigil alert ${alert.id} · fingerprint ${alert.fingerprint} · rule ${alert.rule.id}`,
  ].join('\n');
  const row = (k: string, v: string) =>
    `<tr><th align="left" style="padding:2px 12px 2px 0;font-weight:600">${escapeHtml(k)}</th><td style="padding:2px 0">${escapeHtml(v)}</td></tr>`;
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif;font-size:14px;color:#1f2328">',
    `<h2 style="margin:0 0 8px">${escapeHtml(`${state} · ${severity} · ${alert.rule.title}`)}</h2>`,
    `<p>${escapeHtml(alert.summary)}</p>`,
    ...(others.length > 0
      ? [
          `<p style="margin:8px 0 4px;font-weight:600">${escapeHtml(groupHeading(others))}</p><ul style="margin:0 0 8px">`,
          ...listed.map((l) => `<li>${escapeHtml(l)}</li>`),
          ...(rest ? [`<li>${escapeHtml(rest)}</li>`] : []),
          '</ul>',
        ]
      : []),
    '<table cellspacing="0" cellpadding="0">',
    ...labels.map(([k, v]) => row(k, v)),
    '</table><br><table cellspacing="0" cellpadding="0">',
    row('Status', state === 'RESOLVED' ? 'resolved' : alert.status),
    row('Started', alert.startsAt),
    row('Last seen', alert.lastSeenAt),
    ...(alert.endsAt ? [row('Resolved', alert.endsAt)] : []),
    row('Events', String(alert.eventCount)),
    ...(evidence.length ? [row('Evidence', evidence.join(', '))] : []),
    '</table>',
    ...(link ? [`<p><a href="${escapeHtml(link)}">View the alert</a></p>`] : []),
    `<p style="color:#656d76;font-size:12px">${escapeHtml(`Vigil alert ${alert.id} · fingerprint ${alert.fingerprint} · rule ${alert.rule.id}`)}</p>`,
    '</body></html>',
  ].join('\n');
  return {
    subject,
    text,
    html,
    messageId: opening ? threadId : `<vigil.alert.${idPart(alert.id)}.${idPart(notificationId)}@${domain}>`,
    ...(opening || grouped ? {} : { inReplyTo: threadId, references: threadId }),
    headers: {
      'Auto-Submitted': 'auto-generated', // RFC 3834: no auto-replies to an alert
      'X-Auto-Response-Suppress': 'All',
      'X-Vigil-Alert-Id': oneLine(alert.id),
      'X-Vigil-Fingerprint': alert.fingerprint,
      'X-Vigil-Severity': alert.severity,
    },
  };
}

export class EmailNotifier implements ReceiverNotifier {
  readonly type = 'email' as const;
  readonly name: string;

  constructor(
    private readonly config: EmailReceiverConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.name = config.name;
  }

  /**
   * A transport dialling the checked address; TLS is still verified against the configured host name. Its socket is
   * made here, so that an attempt cut at its deadline can be ended for sure (nodemailer's `close()` leaves a
   * connection in use open).
   */
  private async transport() {
    const c = this.config;
    const target = await resolveTarget(c.host, c.allowPrivateNetwork);
    const isName = target.address !== c.host.replace(/^\[|\]$/g, '');
    const socket = new Socket();
    const transport = nodemailer.createTransport({
      socket,
      host: target.address,
      port: c.port,
      secure: c.secure,
      requireTLS: c.requireTls,
      ...(c.auth ? { auth: { user: c.auth.user, pass: c.auth.pass.reveal() } } : {}),
      tls: { ...(isName ? { servername: c.host } : {}), rejectUnauthorized: true },
      connectionTimeout: c.timeoutMillis,
      greetingTimeout: c.timeoutMillis,
      socketTimeout: c.timeoutMillis,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
    const closeTransport = transport.close.bind(transport);
    return Object.assign(transport, {
      close: () => {
        closeTransport();
        socket.destroy();
      },
    });
  }

  /**
   * `work` bounded by `timeoutMillis` as a whole, the connection included. nodemailer's own timeouts wait for silence,
   * so a server that keeps sending lines of a reply that never ends would hold the attempt, and every later
   * notification of its alert, forever. At the deadline the connection is closed and the attempt fails (retried).
   */
  private async withinTimeout<T>(transport: { close(): void }, doing: string, work: () => Promise<T>): Promise<T> {
    const { host, port, timeoutMillis } = this.config;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        transport.close();
        reject(new DeliveryError(`SMTP ${host}:${port}: ${doing} took longer than ${timeoutMillis} ms`));
      }, timeoutMillis);
    });
    try {
      return await Promise.race([work(), expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  private scrub(message: string): string {
    return redactSecrets(message, [this.config.auth?.pass]);
  }

  async send(payload: NotificationPayload, idempotencyKey: string): Promise<SendResult> {
    const message = emailMessage(payload, idempotencyKey, this.config);
    const transport = await this.transport();
    try {
      await this.withinTimeout(transport, 'sending', () =>
        transport.sendMail({
          from: this.config.from,
          to: [...this.config.to],
          subject: message.subject,
          text: message.text,
          html: message.html,
          messageId: message.messageId,
          ...(message.inReplyTo ? { inReplyTo: message.inReplyTo, references: message.references } : {}),
          headers: message.headers,
          date: new Date(this.now()),
        }),
      );
      return {};
    } catch (error) {
      if (error instanceof SsrfError) throw error;
      throw new DeliveryError(this.scrub(`SMTP ${this.config.host}:${this.config.port}: ${describeError(error)}`));
    } finally {
      transport.close();
    }
  }

  /** Connect, greet, STARTTLS and authenticate, without sending anything. */
  healthCheck(): Promise<HealthResult> {
    return probe(async () => {
      const transport = await this.transport();
      try {
        await this.withinTimeout(transport, 'checking', () => transport.verify());
        return `SMTP ${this.config.host}:${this.config.port} accepted the connection${this.config.auth ? ' and the login' : ''}`;
      } finally {
        transport.close();
      }
    }, [this.config.auth?.pass]);
  }

  sendTest(): Promise<SendResult> {
    const payload = testPayload(this.name, this.now());
    return this.send(payload, `test_${payload.alert.id}`);
  }

  async close(): Promise<void> {}
}
