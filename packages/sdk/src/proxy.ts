/**
 * Which address is the client: the socket peer, unless that peer is a proxy the operator trusts, in which case the
 * forwarding header the proxy appended is walked from the right, skipping trusted hops. A header from an untrusted
 * peer is never read, so a client cannot claim to be someone else by sending `X-Forwarded-For` itself.
 */
import { BlockList, isIP } from 'node:net';

/** Named ranges accepted in `trustedProxies` next to addresses and CIDRs. */
const PRESETS: Readonly<Record<string, readonly string[]>> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
};

export type ForwardedHeader = 'x-forwarded-for' | 'forwarded';

export interface TrustedProxies {
  /** True when the address belongs to a trusted proxy. */
  trusts(address: string): boolean;
  /** The client address for a request that arrived from `peer` with these headers. */
  clientAddress(
    peer: string | undefined,
    headers: Readonly<Record<string, string | string[] | undefined>>,
  ): string | undefined;
}

/** `::ffff:10.0.0.1` → `10.0.0.1`; brackets and zone ids are removed; anything that is not an IP → undefined. */
export function normaliseAddress(value: string): string | undefined {
  let v = value.trim();
  if (v.startsWith('[')) v = v.slice(1, v.indexOf(']') === -1 ? undefined : v.indexOf(']'));
  const zone = v.indexOf('%');
  if (zone !== -1) v = v.slice(0, zone);
  if (v.toLowerCase().startsWith('::ffff:') && isIP(v.slice(7)) === 4) v = v.slice(7);
  if (isIP(v) !== 0) return v.toLowerCase();
  // IPv4 with a port ("203.0.113.7:4711"): one colon only, so it cannot be IPv6.
  const colon = v.indexOf(':');
  if (colon !== -1 && colon === v.lastIndexOf(':') && isIP(v.slice(0, colon)) === 4) return v.slice(0, colon);
  return undefined;
}

/**
 * Parse the `trustedProxies` option. Invalid entries are returned in `invalid` (the client warns about them) and
 * otherwise ignored: a typo must not make the SDK trust more than intended.
 *
 * @example
 * const proxies = createTrustedProxies(['10.0.0.0/8', 'loopback']).proxies;
 * proxies.clientAddress('10.0.0.2', { 'x-forwarded-for': '198.51.100.9, 10.0.0.7' }); // '198.51.100.9'
 */
export function createTrustedProxies(
  entries: readonly string[],
  header: ForwardedHeader = 'x-forwarded-for',
): { proxies: TrustedProxies; invalid: string[] } {
  const list = new BlockList();
  const invalid: string[] = [];
  let count = 0;
  const add = (entry: string) => {
    const slash = entry.indexOf('/');
    const address = normaliseAddress(slash === -1 ? entry : entry.slice(0, slash));
    const family = address === undefined ? 0 : isIP(address);
    if (address === undefined || family === 0) return false;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (slash === -1) {
      list.addAddress(address, type);
    } else {
      // Digits only: `Number('')` is 0, and `10.0.0.0/` would trust every address.
      const digits = entry.slice(slash + 1);
      if (!/^\d{1,3}$/.test(digits)) return false;
      const prefix = Number(digits);
      if (prefix > (family === 4 ? 32 : 128)) return false;
      list.addSubnet(address, prefix, type);
    }
    count++;
    return true;
  };
  for (const raw of entries) {
    if (typeof raw !== 'string') continue;
    const entry = raw.trim();
    const preset = PRESETS[entry.toLowerCase()];
    if (preset) for (const p of preset) add(p);
    else if (!add(entry)) invalid.push(entry);
  }

  const trusts = (address: string): boolean => {
    if (count === 0) return false;
    const family = isIP(address);
    return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  };

  const clientAddress: TrustedProxies['clientAddress'] = (peer, headers) => {
    const socket = peer === undefined ? undefined : normaliseAddress(peer);
    if (socket === undefined || !trusts(socket)) return socket;
    const hops = header === 'forwarded' ? forwardedFor(headers.forwarded) : xForwardedFor(headers['x-forwarded-for']);
    let client = socket;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normaliseAddress(hops[i] ?? '');
      // An unknown or obfuscated hop ("unknown", "_proxy1"): nothing to the left of it can be trusted.
      if (hop === undefined) break;
      client = hop;
      if (!trusts(hop)) break;
    }
    return client;
  };

  return { proxies: { trusts, clientAddress }, invalid };
}

function headerValues(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** `X-Forwarded-For: client, proxy1, proxy2` (several headers are one list, in order). */
function xForwardedFor(value: string | string[] | undefined): string[] {
  return headerValues(value)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

/**
 * RFC 7239 `Forwarded: for=192.0.2.60;proto=http, for="[2001:db8::17]:4711"` → the `for` values, in order. Values
 * are tokens or quoted strings (with `\` escapes), and a quoted value may hold `,`, `;` and `=`: a client's Host
 * header that a proxy writes as `host="…"` cannot start an element or a `for` of its own. An element with no `for`,
 * more than one, or that does not parse is `unknown`, which stops the walk.
 */
function forwardedFor(value: string | string[] | undefined): string[] {
  const out: string[] = [];
  for (const header of headerValues(value)) {
    let fors: string[] = [];
    let broken = false;
    let i = 0;
    const end = () => {
      out.push(!broken && fors.length === 1 ? fors[0]! : 'unknown');
      fors = [];
      broken = false;
    };
    while (i <= header.length) {
      // One pair: a name, `=`, a token or a quoted string; then `;` (next pair), `,` (next element) or the end.
      while (i < header.length && (header[i] === ' ' || header[i] === '\t')) i++;
      if (i >= header.length) break;
      if (header[i] === ',') {
        end();
        i++;
        continue;
      }
      const eq = header.indexOf('=', i);
      if (eq === -1) {
        broken = true;
        break;
      }
      const name = header.slice(i, eq).trim().toLowerCase();
      let j = eq + 1;
      let text = '';
      if (header[j] === '"') {
        j++;
        while (j < header.length && header[j] !== '"') {
          if (header[j] === '\\') j++;
          text += header[j] ?? '';
          j++;
        }
        if (header[j] !== '"') broken = true;
        j++;
      } else {
        while (j < header.length && header[j] !== ';' && header[j] !== ',') text += header[j++];
        text = text.trim();
      }
      if (name === 'for') fors.push(text);
      while (j < header.length && (header[j] === ' ' || header[j] === '\t')) j++;
      if (j < header.length && header[j] !== ';' && header[j] !== ',') broken = true;
      if (header[j] === ';') j++;
      i = j;
    }
    end();
  }
  return out;
}
