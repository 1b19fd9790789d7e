/**
 * SSRF protection for outbound notifications. A receiver URL whose host resolves to a non-public address is
 * refused unless the receiver's configuration allows private networks. The check runs inside the connection's
 * DNS lookup, on the addresses actually dialled, so DNS rebinding between check and connect cannot slip past.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
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
