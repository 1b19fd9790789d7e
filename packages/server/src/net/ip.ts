/**
 * IP addresses as numbers, CIDR ranges, and the special-purpose ranges (RFC 6890 and successors) that an
 * outbound request from Vigil must not reach unless an operator allows it.
 */
import { isIP } from 'node:net';

export interface IpAddress {
  readonly version: 4 | 6;
  readonly value: bigint;
}

export function parseIp(text: string): IpAddress | undefined {
  const host = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const bare = host.split('%')[0]!; // drop an IPv6 zone id
  const version = isIP(bare);
  if (version === 4) {
    const parts = bare.split('.').map(Number);
    return { version: 4, value: BigInt(((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!) };
  }
  if (version === 6) {
    let head = bare;
    let tailV4: number[] | undefined;
    const lastColon = bare.lastIndexOf(':');
    if (bare.slice(lastColon + 1).includes('.')) {
      tailV4 = bare
        .slice(lastColon + 1)
        .split('.')
        .map(Number);
      head = `${bare.slice(0, lastColon + 1)}0:0`;
    }
    const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
    const l = left ? left.split(':') : [];
    const r = right !== undefined && right !== '' ? right.split(':') : [];
    const groups = right === undefined ? l : [...l, ...Array(8 - l.length - r.length).fill('0'), ...r];
    let value = 0n;
    for (const g of groups) value = (value << 16n) | BigInt(Number.parseInt(g || '0', 16));
    if (tailV4)
      value =
        (value & ~0xffffffffn) |
        BigInt(((tailV4[0]! << 24) >>> 0) + (tailV4[1]! << 16) + (tailV4[2]! << 8) + tailV4[3]!);
    return { version: 6, value };
  }
  return undefined;
}

export interface Cidr {
  readonly version: 4 | 6;
  readonly base: bigint;
  readonly bits: number;
}

export function parseCidr(text: string): Cidr | undefined {
  const [addr, len] = text.split('/');
  const ip = parseIp(addr ?? '');
  if (!ip) return undefined;
  const max = ip.version === 4 ? 32 : 128;
  const bits = len === undefined ? max : Number(len);
  if (!Number.isInteger(bits) || bits < 0 || bits > max || (len !== undefined && !/^\d+$/.test(len))) return undefined;
  const shift = BigInt(max - bits);
  return { version: ip.version, base: (ip.value >> shift) << shift, bits };
}

export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  if (cidr.version !== ip.version) return false;
  const shift = BigInt((ip.version === 4 ? 32 : 128) - cidr.bits);
  return ip.value >> shift === cidr.base >> shift;
}

const BLOCKED = [
  '0.0.0.0/8', // "this" network
  '10.0.0.0/8', // private
  '100.64.0.0/10', // carrier-grade NAT
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local, includes the cloud metadata address 169.254.169.254
  '172.16.0.0/12', // private
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // documentation
  '192.168.0.0/16', // private
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // documentation
  '203.0.113.0/24', // documentation
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, broadcast
  '::/96', // unspecified, loopback and the deprecated IPv4-compatible addresses (::127.0.0.1)
  '2001::/32', // Teredo: reaches an IPv4 host through a relay, whose address it hides
  '2001:2::/48', // benchmarking
  '3fff::/20', // documentation (RFC 9637)
  'fec0::/10', // deprecated site-local
  '64:ff9b:1::/48', // local-use NAT64
  '100::/64', // discard
  '2001:db8::/32', // documentation
  'fc00::/7', // unique local, includes the metadata address fd00:ec2::254
  'fe80::/10', // link-local
  'ff00::/8', // multicast
].map((c) => parseCidr(c)!);

const MAPPED_V4 = parseCidr('::ffff:0:0/96')!;
const NAT64 = parseCidr('64:ff9b::/96')!;
/** 6to4: 2002:AABB:CCDD::/48 carries the IPv4 address AA.BB.CC.DD it tunnels to. */
const SIX_TO_FOUR = parseCidr('2002::/16')!;

/**
 * The IPv4 range an IPv4-mapped range stands for (`::ffff:198.51.100.0/120` is `198.51.100.0/24`); any other range
 * as it is. A mapped address is an IPv4 client seen through a dual-stack socket, and is compared as that client.
 */
export function unmapIpv4(cidr: Cidr): Cidr {
  if (cidr.version === 4 || cidr.bits < 96 || !cidrContains(MAPPED_V4, { version: 6, value: cidr.base })) return cidr;
  return { version: 4, base: cidr.base & 0xffffffffn, bits: cidr.bits - 96 };
}

/** True for loopback, private, link-local, metadata, multicast and other addresses not on the public internet. */
export function isNonPublicAddress(text: string): boolean {
  const ip = parseIp(text);
  if (!ip) return true; // not an address at all: refuse rather than guess
  // An IPv6 address that carries an IPv4 one is judged by the IPv4 address it leads to.
  if (ip.version === 6 && (cidrContains(MAPPED_V4, ip) || cidrContains(NAT64, ip))) {
    return BLOCKED.some((c) => cidrContains(c, { version: 4, value: ip.value & 0xffffffffn }));
  }
  if (ip.version === 6 && cidrContains(SIX_TO_FOUR, ip)) {
    return BLOCKED.some((c) => cidrContains(c, { version: 4, value: (ip.value >> 80n) & 0xffffffffn }));
  }
  return BLOCKED.some((c) => cidrContains(c, ip));
}
