/**
 * Real receivers on loopback for the notifier tests, beside `harness.ts`: an HTTP receiver whose answers a test
 * scripts (429 + Retry-After), syslog listeners over UDP and TCP with parsers for RFC 5424 and CEF, an SMTP
 * server (the `smtp-server` package) with a small MIME reader, and a launcher for a real Prometheus Alertmanager.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import type { Alert, AlertJson } from '../alerts/alert.js';
import type { NotificationPayload } from '../notify/notifier.js';

/** Collects items and lets a test wait for the n-th. */
class Inbox<T> {
  readonly items: T[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];
  push(item: T): void {
    this.items.push(item);
    for (const w of [...this.waiters]) {
      if (this.items.length >= w.count) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }
  waitFor(count: number, what: string, timeoutMillis = 5000): Promise<T[]> {
    if (this.items.length >= count) return Promise.resolve(this.items);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${what}: got ${this.items.length} of ${count} in ${timeoutMillis} ms`)),
        timeoutMillis,
      );
      this.waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve(this.items);
        },
      });
    });
  }
}

// ---------------------------------------------------------------------------------------------------- HTTP

export interface ScriptedAnswer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

export interface ScriptedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface ScriptedReceiver {
  readonly url: string;
  readonly received: ScriptedRequest[];
  /** Answers given in order, the last one repeated. */
  answers: ScriptedAnswer[];
  close(): Promise<void>;
}

/** An HTTP receiver on loopback answering each request from a script (status, headers, body). */
export async function startScriptedReceiver(answers: ScriptedAnswer[]): Promise<ScriptedReceiver> {
  const received: ScriptedRequest[] = [];
  let served = 0;
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      const list = receiver.answers;
      const answer = list[Math.min(served++, list.length - 1)] ?? { status: 200 };
      res.writeHead(answer.status, answer.headers).end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const receiver: ScriptedReceiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    answers,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return receiver;
}

export interface HoldingReceiver {
  readonly url: string;
  readonly received: ScriptedRequest[];
  /**
   * How requests are answered from now on: `answer` with a 200 at once; `hold` never (the request stays open);
   * `head` with a 200 status line and headers whose body never ends (the sender has its 2xx but cannot finish
   * reading the answer).
   */
  mode: 'answer' | 'hold' | 'head';
  /** Resolves when `count` requests have arrived, however they are answered. */
  waitFor(count: number, timeoutMillis?: number): Promise<ScriptedRequest[]>;
  close(): Promise<void>;
}

/**
 * An HTTP receiver on loopback that can hold requests open: a test kills the sender while the receiver holds one,
 * a kill point that does not depend on timing.
 */
export async function startHoldingReceiver(mode: HoldingReceiver['mode'] = 'answer'): Promise<HoldingReceiver> {
  const inbox = new Inbox<ScriptedRequest>();
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request = {
        method: req.method ?? '',
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      // The test hears of the request once its answer, if any, is written to the connection.
      const how = receiver.mode;
      if (how === 'answer') res.writeHead(200).end(() => inbox.push(request));
      else if (how === 'head') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('accepted', () => inbox.push(request));
      } else inbox.push(request);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const receiver: HoldingReceiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received: inbox.items,
    mode,
    waitFor: (count, timeoutMillis) => inbox.waitFor(count, 'holding receiver', timeoutMillis),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return receiver;
}

// -------------------------------------------------------------------------------------------------- syslog

export interface SyslogListener {
  readonly port: number;
  /** Every message received, framing removed. */
  readonly messages: string[];
  waitFor(count: number, timeoutMillis?: number): Promise<string[]>;
  close(): Promise<void>;
}

/** A syslog collector on loopback: one datagram per message (UDP), or RFC 6587 octet-counting frames (TCP). */
export async function startSyslogListener(protocol: 'udp' | 'tcp'): Promise<SyslogListener> {
  const inbox = new Inbox<string>();
  if (protocol === 'udp') {
    const socket = createSocket('udp4');
    socket.on('message', (msg) => inbox.push(msg.toString('utf8')));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return {
      port: socket.address().port,
      messages: inbox.items,
      waitFor: (n, t) => inbox.waitFor(n, 'syslog/udp', t),
      close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
    };
  }
  const server = createTcpServer((conn) => {
    let buffer = Buffer.alloc(0);
    conn.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const space = buffer.indexOf(0x20);
        if (space < 0) return;
        const length = Number(buffer.subarray(0, space).toString('ascii'));
        if (!Number.isInteger(length) || length <= 0) {
          conn.destroy(new Error('bad octet-counting frame'));
          return;
        }
        if (buffer.length < space + 1 + length) return;
        inbox.push(buffer.subarray(space + 1, space + 1 + length).toString('utf8'));
        buffer = buffer.subarray(space + 1 + length);
      }
    });
    conn.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    messages: inbox.items,
    waitFor: (n, t) => inbox.waitFor(n, 'syslog/tcp', t),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface Rfc5424Message {
  pri: number;
  version: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  structuredData: string;
  msg: string;
}

/** Parse an RFC 5424 message whose STRUCTURED-DATA is NILVALUE or a sequence of `[...]` elements. */
export function parseRfc5424(text: string): Rfc5424Message {
  const m = /^<(\d{1,3})>(\d) (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (.*))?$/s.exec(text);
  if (!m) throw new Error(`not an RFC 5424 message: ${text.slice(0, 120)}`);
  return {
    pri: Number(m[1]),
    version: Number(m[2]),
    timestamp: m[3]!,
    hostname: m[4]!,
    appName: m[5]!,
    procId: m[6]!,
    msgId: m[7]!,
    structuredData: m[8]!,
    msg: m[9] ?? '',
  };
}

export interface CefRecord {
  version: string;
  vendor: string;
  product: string;
  deviceVersion: string;
  signatureId: string;
  name: string;
  severity: string;
  extension: Record<string, string>;
}

/** Parse a CEF record back, undoing the header and extension escaping. */
export function parseCef(text: string): CefRecord {
  const header: string[] = [];
  let current = '';
  let i = 0;
  for (; i < text.length && header.length < 7; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      current += text[++i];
    } else if (c === '|') {
      header.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  if (header.length < 7 || !header[0]!.startsWith('CEF:')) throw new Error(`not a CEF record: ${text.slice(0, 120)}`);
  const ext = text.slice(i);
  const extension: Record<string, string> = {};
  // A key is a word before an unescaped `=`; its value runs to the space before the next key.
  const keys = [...ext.matchAll(/(?:^| )([A-Za-z0-9_]+)=/g)];
  for (const [n, match] of keys.entries()) {
    const start = match.index! + match[0].length;
    const end = n + 1 < keys.length ? keys[n + 1]!.index! : ext.length;
    extension[match[1]!] = ext
      .slice(start, end)
      .replace(/\\(.)/g, (_s, ch: string) => (ch === 'n' ? '\n' : ch === 'r' ? '\r' : ch));
  }
  return {
    version: header[0]!.slice(4),
    vendor: header[1]!,
    product: header[2]!,
    deviceVersion: header[3]!,
    signatureId: header[4]!,
    name: header[5]!,
    severity: header[6]!,
    extension,
  };
}

// ---------------------------------------------------------------------------------------------------- SMTP

export interface ReceivedMail {
  readonly from: string;
  readonly to: string[];
  readonly user?: string;
  readonly raw: string;
}

export interface SmtpReceiver {
  readonly port: number;
  readonly mails: ReceivedMail[];
  waitFor(count: number, timeoutMillis?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

/** A real SMTP server (`smtp-server`) on loopback, without STARTTLS; with `auth`, only those credentials log in. */
export async function startSmtpReceiver(auth?: { user: string; pass: string }): Promise<SmtpReceiver> {
  const inbox = new Inbox<ReceivedMail>();
  const server = new SMTPServer({
    disabledCommands: auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    allowInsecureAuth: true,
    authOptional: !auth,
    logger: false,
    onAuth(a, _session, callback) {
      if (auth && a.username === auth.user && a.password === auth.pass) return callback(null, { user: a.username });
      callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        inbox.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          ...(typeof session.user === 'string' ? { user: session.user } : {}),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    mails: inbox.items,
    waitFor: (n, t) => inbox.waitFor(n, 'smtp', t),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface MimePart {
  readonly headers: Record<string, string>;
  readonly contentType: string;
  /** Decoded (quoted-printable or base64) body. */
  readonly body: string;
}

function parseHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.replace(/\r\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function decodeBody(body: string, encoding: string | undefined): string {
  switch ((encoding ?? '').toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    case 'quoted-printable': {
      const bytes = body
        .replace(/=\r?\n/g, '')
        .replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
      return Buffer.from(bytes, 'latin1').toString('utf8');
    }
    default:
      return body;
  }
}

/** A small MIME reader: top-level headers and the leaf parts of (nested) multiparts, bodies decoded. */
export function parseMime(raw: string): { headers: Record<string, string>; parts: MimePart[] } {
  const split = raw.indexOf('\r\n\r\n') >= 0 ? raw.indexOf('\r\n\r\n') : raw.indexOf('\n\n');
  const headers = parseHeaders(raw.slice(0, split));
  const body = raw.slice(split).replace(/^\r?\n\r?\n/, '');
  const contentType = headers['content-type'] ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!contentType.toLowerCase().startsWith('multipart/') || !boundary) {
    return { headers, parts: [{ headers, contentType, body: decodeBody(body, headers['content-transfer-encoding']) }] };
  }
  const parts: MimePart[] = [];
  for (const chunk of body.split(`--${boundary}`).slice(1)) {
    if (chunk.startsWith('--')) break;
    parts.push(...parseMime(chunk.replace(/^\r?\n/, '')).parts);
  }
  return { headers, parts };
}

// ---------------------------------------------------------------------------------------------- Alertmanager

/** Debian's `prometheus-alertmanager` package installs the binary here; override with VIGIL_ALERTMANAGER_BIN. */
export const ALERTMANAGER_BINARY = process.env.VIGIL_ALERTMANAGER_BIN || '/usr/bin/prometheus-alertmanager';

export function alertmanagerAvailable(): boolean {
  return existsSync(ALERTMANAGER_BINARY);
}

/** A free loopback TCP port (closed again at once; the caller binds it right after). */
export async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface AlertmanagerProcess {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Start a real Alertmanager on a free loopback port with a temporary configuration (one receiver that sends
 * nowhere) and storage directory; resolves once `/-/ready` answers 200. Clustering is off.
 */
export async function startAlertmanager(timeoutMillis = 20_000): Promise<AlertmanagerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-alertmanager-'));
  const configFile = join(dir, 'alertmanager.yml');
  writeFileSync(configFile, 'route:\n  receiver: blackhole\n  group_wait: 1h\nreceivers:\n  - name: blackhole\n');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let stderr = '';
  const child: ChildProcess = spawn(
    ALERTMANAGER_BINARY,
    [
      `--config.file=${configFile}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMillis;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      await close();
      throw new Error(`alertmanager exited with ${child.exitCode}: ${stderr}`);
    }
    try {
      const res = await fetch(`${url}/-/ready`);
      await res.body?.cancel();
      if (res.status === 200) return { url, close };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await close();
  throw new Error(`alertmanager did not become ready in ${timeoutMillis} ms: ${stderr}`);
}

// ------------------------------------------------------------------------------------------------- fixtures

/** A notification payload for a realistic brute-force alert; `change` decides the status. */
export function samplePayload(
  change: 'opened' | 'resolved' | 'acknowledged' = 'opened',
  alert: Partial<AlertJson> = {},
): NotificationPayload {
  const status = change === 'opened' ? 'firing' : change;
  return {
    version: 1,
    change,
    alert: {
      id: '73f8ec32-07c3-44ec-91d2-6812db8f9a66',
      fingerprint: '7aa4fd0a3734d446',
      status,
      rule: { id: 'vigil-authn-brute-force', title: 'Repeated failed logins' },
      severity: 'high',
      labels: {
        rule: 'vigil-authn-brute-force',
        severity: 'high',
        'client.address': '203.0.113.9',
        'user.id': 'alice',
        'http.route': '/login',
      },
      tags: ['owasp.api2:2023', 'attack.t1110'],
      startsAt: '2026-11-02T10:00:00.000Z',
      lastSeenAt: '2026-11-02T10:00:02.000Z',
      ...(change === 'resolved' ? { endsAt: '2026-11-02T10:15:02.000Z' } : {}),
      eventCount: 5,
      summary: '5 failed logins from 203.0.113.9 within 1 min',
      evidence: ['ev1', 'ev2', 'ev3', 'ev4', 'ev5'],
      updatedAt: '2026-11-02T10:00:02.311Z',
      createdAt: '2026-11-02T10:00:00.500Z',
      ...alert,
    },
  };
}

/**
 * A grouped notification: `size` alerts of one rule from different addresses, the latest last (firing, opened); the
 * first of them has resolved since it joined the group.
 */
export function sampleGroupPayload(size = 3): NotificationPayload {
  const alerts = Array.from({ length: size }, (_, i) => {
    const address = `203.0.113.${10 + i}`;
    const { alert } = samplePayload(i === 0 && size > 1 ? 'resolved' : 'opened', {
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      summary: `5 failed logins from ${address} within 1 min`,
    });
    return { ...alert, labels: { ...alert.labels, 'client.address': address } };
  });
  return {
    version: 1,
    change: 'opened',
    alert: alerts[alerts.length - 1]!,
    group: { key: '{"rule":"vigil-authn-brute-force"}', labels: { rule: 'vigil-authn-brute-force' }, alerts },
  };
}

/** An alert as the alert manager holds it, `alert-<n>` from `192.0.2.<n>`; `labels` are added to its own. */
export function sampleAlert(n: number, labels: Record<string, string> = {}): Alert {
  return {
    id: `alert-${n}`,
    fingerprint: `fp-${n}`,
    status: 'firing',
    rule: { id: labels.rule ?? 'r', title: 'Rule' },
    severity: 'high',
    labels: { rule: 'r', severity: 'high', 'client.address': `192.0.2.${n}`, ...labels },
    tags: [],
    startsAt: 0,
    lastSeenAt: 0,
    eventCount: 5,
    summary: 's',
    evidence: [],
    updatedAt: 0,
    createdAt: 0,
  };
}
