/**
 * SSRF protection for outbound notifications. A receiver URL whose host resolves to a non-public address is
 * refused unless the receiver's configuration allows private networks. The check runs inside the connection's
 * DNS lookup, on the addresses actually dialled, so DNS rebinding between check and connect cannot slip past.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { lookup as dnsLookupAsync } from 'node:dns/promises';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { Agent } from 'undici';
import { isNonPublicAddress } from '../net/ip.js';

export class SsrfError extends Error {
  readonly code = 'ssrf_refused';
  constructor(host: string, address: string) {
    super(
      `refused to connect to ${host} (${address}): not a public address; set allowPrivateNetwork: true on this receiver to allow it`,
    );
    this.name = 'SsrfError';
  }
}

/** Throws SsrfError when the URL names a non-public IP literal. Host names are checked at connect time. */
export function checkLiteralTarget(url: URL, allowPrivateNetwork: boolean): void {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!allowPrivateNetwork && isIP(host) && isNonPublicAddress(host)) throw new SsrfError(url.hostname, host);
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** An undici dispatcher whose DNS lookup refuses non-public addresses. */
export function guardedAgent(options: { allowPrivateNetwork: boolean; timeoutMillis: number }): Agent {
  const lookup = (hostname: string, lookupOptions: { all?: boolean }, callback: LookupCallback) => {
    dnsLookup(hostname, { all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const list = addresses as LookupAddress[];
      if (!options.allowPrivateNetwork) {
        const bad = list.find((a) => isNonPublicAddress(a.address));
        if (bad) return callback(new SsrfError(hostname, bad.address), []);
      }
      if (lookupOptions.all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
  return new Agent({
    connect: { lookup: lookup as never, timeout: options.timeoutMillis },
    headersTimeout: options.timeoutMillis,
    bodyTimeout: options.timeoutMillis,
  });
}

/**
 * Resolve a host name once and check every address, for receivers that dial themselves (SMTP, syslog, health
 * probes). The caller connects to the returned address, never to the name again, so the check holds for the
 * connection that is actually made.
 */
export async function resolveTarget(host: string, allowPrivateNetwork: boolean): Promise<LookupAddress> {
  const bare = host.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  const list: LookupAddress[] = family ? [{ address: bare, family }] : await dnsLookupAsync(bare, { all: true });
  if (!allowPrivateNetwork) {
    const bad = list.find((a) => isNonPublicAddress(a.address));
    if (bad) throw new SsrfError(host, bad.address);
  }
  const first = list[0];
  if (!first) throw Object.assign(new Error(`no address for ${host}`), { code: 'ENOTFOUND' });
  return first;
}

export interface GuardedConnectOptions {
  readonly allowPrivateNetwork: boolean;
  readonly timeoutMillis: number;
  /** Wrap the connection in TLS, verifying the certificate against `host` (and `ca` when given). */
  readonly tls?: { readonly ca?: string };
}

/** A TCP (or TLS) connection to `host:port` after the SSRF check; rejects on refusal, error or timeout. */
export async function guardedConnect(host: string, port: number, options: GuardedConnectOptions): Promise<Socket> {
  const target = await resolveTarget(host, options.allowPrivateNetwork);
  return new Promise<Socket>((resolve, reject) => {
    const servername = isIP(host.replace(/^\[|\]$/g, '')) ? undefined : host;
    const socket: Socket | TLSSocket = options.tls
      ? tlsConnect({ host: target.address, port, servername, ca: options.tls.ca, rejectUnauthorized: true })
      : netConnect({ host: target.address, port, family: target.family });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        Object.assign(new Error(`connect to ${host}:${port} timed out after ${options.timeoutMillis} ms`), {
          code: 'ETIMEDOUT',
        }),
      );
    }, options.timeoutMillis);
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.once('error', fail);
    socket.once(options.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      resolve(socket);
    });
  });
}
