/**
 * Client address normalisation: one spelling per address, so that counting "requests from this client" counts
 * them all.
 *
 * The same client shows up as `203.0.113.7`, `::ffff:203.0.113.7`, `[2001:DB8::1]:443` or `2001:0db8:0:0::1`
 * depending on the source. This stage rewrites `client.address` to one canonical form (IPv4 dotted quad; IPv6 in
 * RFC 5952 form) and adds the network an attacker usually controls as a whole: an IPv6 host gets a /64 and can
 * rotate through 2^64 addresses in it, so per-address limits must also look at `vigil.client.prefix`.
 *
 * Which address is the client: the SDK decides for its app. For what the collector receives from elsewhere (an
 * access log written behind a load balancer, a span from a service behind a proxy), `trustedProxies` lets this stage
 * take the client from `X-Forwarded-For` / `Forwarded` — but only when the event came through one of those proxies,
 * and only from the hops they added: anything a client writes into the header itself is to the left of them.
 */
import { Field, type FieldValue, type SecurityEvent } from '@vigil/schema';
import { type Cidr, cidrContains, parseCidr, parseIp } from '../net/ip.js';
import { type EnrichmentStage, withAttributes } from './stage.js';

/** Header fields, as OpenTelemetry names them (`http.request.header.<lower-case name>`), that carry the chain of hops. */
export const FORWARDED_FOR_FIELD = 'http.request.header.x-forwarded-for';
export const FORWARDED_FIELD = 'http.request.header.forwarded';

export interface HostPort {
  readonly host: string;
  readonly port?: number;
}

/**
 * Split `host:port`, `[v6]:port` or `[v6]` into host and port. A bare IPv6 address (several colons, no brackets)
 * has no port; a port that is not 0-65535 is not one either, and the input is returned whole.
 *
 * @example
 * splitHostPort('[2001:db8::1]:8443'); // { host: '2001:db8::1', port: 8443 }
 * splitHostPort('203.0.113.7:51522');  // { host: '203.0.113.7', port: 51522 }
 */
export function splitHostPort(raw: string): HostPort {
  const text = raw.trim();
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close > 0) {
      const host = text.slice(1, close);
      if (close === text.length - 1) return { host };
      const port = text.charCodeAt(close + 1) === 0x3a ? parsePort(text.slice(close + 2)) : undefined;
      return port === undefined ? { host: text } : { host, port };
    }
    return { host: text };
  }
  const colon = text.indexOf(':');
  if (colon === -1 || text.indexOf(':', colon + 1) !== -1) return { host: text };
  const port = parsePort(text.slice(colon + 1));
  return port === undefined ? { host: text } : { host: text.slice(0, colon), port };
}

function parsePort(text: string): number | undefined {
  if (text.length === 0 || text.length > 5) return undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

export interface NormalisedAddress {
  /** Canonical form: dotted quad, or RFC 5952 IPv6 (lower case, zeros compressed). IPv4-mapped IPv6 becomes IPv4. */
  readonly address: string;
  readonly version: 4 | 6;
  /** The IPv4 address itself, or the IPv6 /64 in canonical form with its length (`2001:db8:1:2::/64`). */
  readonly prefix: string;
  /** Loopback, RFC 1918, link-local, unique-local (fc00::/7), CGNAT (100.64.0.0/10) or unspecified. */
  readonly private: boolean;
  /** The port, when the input carried one. */
  readonly port?: number;
}

/**
 * Parse and canonicalise an IP address, with or without port, brackets or IPv6 zone id. Undefined when the input is
 * not an IP address (a host name, `-`, a Unix socket path...).
 *
 * @example
 * normaliseAddress('[::FFFF:203.0.113.7]:443'); // { address: '203.0.113.7', version: 4, prefix: '203.0.113.7', private: false, port: 443 }
 * normaliseAddress('2001:DB8:0:0:1::1');        // { address: '2001:db8::1:0:1', prefix: '2001:db8::/64', ... }
 */
export function normaliseAddress(raw: string): NormalisedAddress | undefined {
  const { host, port } = splitHostPort(raw);
  const zone = host.indexOf('%');
  const bare = zone === -1 ? host : host.slice(0, zone);
  const v4 = parseIpv4(bare);
  if (v4 !== undefined) return ipv4Result(v4, port);
  const v6 = parseIpv6(bare);
  if (v6 === undefined) return undefined;
  // ::ffff:a.b.c.d is an IPv4 client seen through a dual-stack socket: it is that IPv4 client.
  if (v6[0] === 0 && v6[1] === 0 && v6[2] === 0 && v6[3] === 0 && v6[4] === 0 && v6[5] === 0xffff) {
    return ipv4Result([v6[6]! >> 8, v6[6]! & 0xff, v6[7]! >> 8, v6[7]! & 0xff], port);
  }
  const address = formatIpv6(v6);
  const network = [v6[0]!, v6[1]!, v6[2]!, v6[3]!, 0, 0, 0, 0];
  const result: NormalisedAddress = {
    address,
    version: 6,
    prefix: `${formatIpv6(network)}/64`,
    private: isPrivateIpv6(v6),
  };
  return port === undefined ? result : { ...result, port };
}

function ipv4Result(octets: readonly number[], port: number | undefined): NormalisedAddress {
  const address = `${octets[0]}.${octets[1]}.${octets[2]}.${octets[3]}`;
  const result: NormalisedAddress = { address, version: 4, prefix: address, private: isPrivateIpv4(octets) };
  return port === undefined ? result : { ...result, port };
}

/** Four octets, or undefined. Leading zeros are refused: `010.0.0.1` means 8.0.0.1 to some parsers, 10.0.0.1 to others. */
function parseIpv4(text: string): number[] | undefined {
  if (text.length < 7 || text.length > 15) return undefined;
  const octets: number[] = [];
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i === text.length ? 0x2e : text.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || value > 255 || octets.length === 4) return undefined;
      octets.push(value);
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && value === 0) return undefined;
      value = value * 10 + (c - 0x30);
      digits++;
    } else {
      return undefined;
    }
  }
  return octets.length === 4 ? octets : undefined;
}

/** Eight 16-bit groups, or undefined. Accepts `::` compression and a trailing dotted IPv4 part. */
function parseIpv6(text: string): number[] | undefined {
  if (text.length < 2 || text.length > 45 || text.indexOf(':') === -1) return undefined;
  const double = text.indexOf('::');
  if (double !== -1 && text.indexOf('::', double + 1) !== -1) return undefined;
  const head = double === -1 ? text : text.slice(0, double);
  const tail = double === -1 ? '' : text.slice(double + 2);
  const left = head === '' ? [] : parseGroups(head, double === -1);
  const right = tail === '' ? [] : parseGroups(tail, true);
  if (left === undefined || right === undefined) return undefined;
  if (double === -1) return left.length === 8 ? left : undefined;
  const missing = 8 - left.length - right.length;
  if (missing < 1) return undefined;
  const groups = left;
  for (let i = 0; i < missing; i++) groups.push(0);
  for (const g of right) groups.push(g);
  return groups;
}

function parseGroups(text: string, mayEndInIpv4: boolean): number[] | undefined {
  const pieces = text.split(':');
  const groups: number[] = [];
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!;
    if (i === pieces.length - 1 && mayEndInIpv4 && piece.indexOf('.') !== -1) {
      const v4 = parseIpv4(piece);
      if (v4 === undefined) return undefined;
      groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      continue;
    }
    if (piece.length === 0 || piece.length > 4) return undefined;
    let value = 0;
    for (let j = 0; j < piece.length; j++) {
      const d = hexDigit(piece.charCodeAt(j));
      if (d < 0) return undefined;
      value = (value << 4) | d;
    }
    groups.push(value);
  }
  return groups;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** RFC 5952 section 4: lower case, no leading zeros, the longest run (first on a tie) of two or more zero groups as `::`. */
function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += '::';
      i += bestLength - 1;
      continue;
    }
    if (out !== '' && !out.endsWith(':')) out += ':';
    out += groups[i]!.toString(16);
  }
  return out;
}

function isPrivateIpv4(o: readonly number[]): boolean {
  const a = o[0]!;
  const b = o[1]!;
  return (
    a === 10 || // RFC 1918
    (a === 172 && b >= 16 && b <= 31) || // RFC 1918
    (a === 192 && b === 168) || // RFC 1918
    a === 127 || // loopback
    (a === 169 && b === 254) || // link-local
    (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT, RFC 6598
    a === 0 // "this network", includes the unspecified 0.0.0.0
  );
}

function isPrivateIpv6(g: readonly number[]): boolean {
  if ((g[0]! & 0xfe00) === 0xfc00) return true; // unique local fc00::/7
  if ((g[0]! & 0xffc0) === 0xfe80) return true; // link-local fe80::/10
  for (let i = 0; i < 7; i++) if (g[i] !== 0) return false;
  return g[7] === 0 || g[7] === 1; // unspecified :: and loopback ::1
}

export interface ClientAddressOptions {
  /**
   * Addresses and CIDR ranges of proxies in front of the service (load balancers, ingress, CDN). When the event's
   * `network.peer.address` (or, without one, its `client.address`) is one of them, the client is the right-most
   * address of the forwarded header that is not a trusted proxy. Default none: forwarded headers are not believed.
   */
  readonly trustedProxies?: readonly string[];
}

/**
 * The stage: canonical `client.address`, `client.port` when the address carried one and the event had none,
 * `vigil.client.prefix` and `vigil.client.private`. With trusted proxies, the client address is first taken from
 * the forwarded header of an event that came through one (the proxy moves to `network.peer.address`). Events whose
 * client address is not an IP address are left as they are.
 *
 * @example
 * const stage = createClientAddressStage({ trustedProxies: ['10.0.0.0/8'] });
 * stage.apply(event).attributes['vigil.client.prefix']; // '2001:db8:1:2::/64'
 */
export function createClientAddressStage(options: ClientAddressOptions = {}): EnrichmentStage {
  const trusted = (options.trustedProxies ?? []).map((text) => {
    const cidr = parseCidr(text.trim());
    if (cidr === undefined) throw new RangeError(`trusted proxy "${text}" is not an IP address or CIDR range`);
    return cidr;
  });
  return {
    name: 'client-address',
    apply(input: SecurityEvent): SecurityEvent {
      const event = trusted.length > 0 ? resolveForwarded(input, trusted) : input;
      const raw = event.attributes[Field.clientAddress];
      if (typeof raw !== 'string') return event;
      const normalised = normaliseAddress(raw);
      if (normalised === undefined) return event;
      const added: Record<string, FieldValue> = {
        [Field.clientPrefix]: normalised.prefix,
        [Field.clientPrivate]: normalised.private,
      };
      if (normalised.address !== raw) added[Field.clientAddress] = normalised.address;
      if (normalised.port !== undefined && event.attributes[Field.clientPort] === undefined) {
        added[Field.clientPort] = normalised.port;
      }
      return withAttributes(event, added);
    },
  };
}

function isTrusted(address: string, trusted: readonly Cidr[]): boolean {
  const ip = parseIp(address);
  return ip !== undefined && trusted.some((cidr) => cidrContains(cidr, ip));
}

/**
 * When the event came through a trusted proxy and carries a forwarded header, the client it names: walking the hops
 * from the right (the one the trusted proxy itself added), past every trusted proxy, to the first address that is
 * not one. Hops to the left of it were written by the client or its proxies, and anyone can write anything there.
 */
function resolveForwarded(event: SecurityEvent, trusted: readonly Cidr[]): SecurityEvent {
  const attributes = event.attributes;
  const peerRaw = attributes[Field.networkPeerAddress] ?? attributes[Field.clientAddress];
  if (typeof peerRaw !== 'string') return event;
  const peer = normaliseAddress(peerRaw);
  if (peer === undefined || !isTrusted(peer.address, trusted)) return event;
  const hops = forwardedHops(attributes[FORWARDED_FOR_FIELD], attributes[FORWARDED_FIELD]);
  if (hops.length === 0) return event;
  let client: NormalisedAddress | undefined;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normaliseAddress(hops[i]!);
    // An entry that is not an address (`unknown`, an obfuscated `_node`, garbage): nothing to its left can be
    // trusted, and it is no client address either.
    if (hop === undefined) return event;
    client = hop;
    if (!isTrusted(hop.address, trusted)) break;
  }
  if (client === undefined) return event;
  const next: Record<string, FieldValue> = { ...attributes, [Field.clientAddress]: client.address };
  if (attributes[Field.networkPeerAddress] === undefined) {
    next[Field.networkPeerAddress] = peer.address;
    // The port was the proxy's end of the connection, not the client's.
    delete next[Field.clientPort];
  }
  if (client.port !== undefined) next[Field.clientPort] = client.port;
  return { ...event, attributes: next };
}

/** The hops of `X-Forwarded-For` (preferred: what proxies write most) or else RFC 7239 `Forwarded` `for=`, left to right. */
function forwardedHops(forwardedFor: FieldValue | undefined, forwarded: FieldValue | undefined): string[] {
  const text = (value: FieldValue | undefined) =>
    typeof value === 'string' ? value : Array.isArray(value) ? value.join(',') : undefined;
  const xff = text(forwardedFor);
  if (xff !== undefined && xff.trim() !== '') {
    return xff
      .split(',')
      .map((h) => h.trim())
      .filter((h) => h !== '');
  }
  const standard = text(forwarded);
  if (standard === undefined) return [];
  const hops: string[] = [];
  for (const element of standard.split(',')) {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq === -1 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue;
      let value = pair.slice(eq + 1).trim();
      if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
      hops.push(value);
    }
  }
  return hops;
}
