/**
 * The `cidr` modifier: IPv4 and IPv6 networks (modifiers appendix v2.0.0, "Ip only").
 *
 * Addresses are parsed into 16 bytes (IPv4 as IPv4-mapped IPv6, `::ffff:a.b.c.d`), so one comparison covers both
 * families and an IPv4-mapped client address matches an IPv4 network, as it should.
 */

export interface CidrNetwork {
  readonly bytes: Uint8Array;
  readonly prefixBits: number;
  /**
   * True when the network lies inside `::ffff:0:0/96` (every IPv4 network does): only such a network holds IPv4
   * addresses. `::/0` or `::/64` covers the mapped range too, but means "IPv6 clients", not every IPv4 one.
   */
  readonly holdsIpv4: boolean;
}

const IPV4_MAPPED_PREFIX_BITS = 96;

/** Parse `10.0.0.0/8`, `2001:db8::/32` or a bare address (a /32 or /128). Undefined when invalid. */
export function parseCidr(text: string): CidrNetwork | undefined {
  const slash = text.indexOf('/');
  const addressText = slash === -1 ? text : text.slice(0, slash);
  const bytes = new Uint8Array(16);
  const family = parseIp(addressText.trim(), bytes);
  if (family === 0) return undefined;
  const maxBits = family === 4 ? 32 : 128;
  let bits = maxBits;
  if (slash !== -1) {
    const bitsText = text.slice(slash + 1).trim();
    if (!/^\d{1,3}$/.test(bitsText)) return undefined;
    bits = Number(bitsText);
    if (bits > maxBits) return undefined;
  }
  const prefixBits = family === 4 ? IPV4_MAPPED_PREFIX_BITS + bits : bits;
  maskHostBits(bytes, prefixBits);
  return { bytes, prefixBits, holdsIpv4: prefixBits >= IPV4_MAPPED_PREFIX_BITS && isIpv4Mapped(bytes) };
}

/** The first 96 bits are `::ffff:0:0`: an IPv4 address, written either way. */
function isIpv4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

function maskHostBits(bytes: Uint8Array, prefixBits: number): void {
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, prefixBits - i * 8));
    bytes[i] = bytes[i]! & ((0xff << (8 - keep)) & 0xff);
  }
}

/** A scratch buffer: testing an event's address allocates nothing. */
const scratch = new Uint8Array(16);

/** Whether `address` (IPv4, IPv6, IPv4-mapped IPv6, optionally with a `%zone`) lies in `network`. */
export function cidrContains(network: CidrNetwork, address: string): boolean {
  if (parseIp(address, scratch) === 0) return false;
  if (!network.holdsIpv4 && isIpv4Mapped(scratch)) return false;
  const fullBytes = network.prefixBits >> 3;
  for (let i = 0; i < fullBytes; i++) if (scratch[i] !== network.bytes[i]) return false;
  const restBits = network.prefixBits & 7;
  if (restBits === 0) return true;
  const mask = (0xff << (8 - restBits)) & 0xff;
  return (scratch[fullBytes]! & mask) === network.bytes[fullBytes];
}

/** Parse an address into `out` (16 bytes). Returns 4 or 6 for the family written, 0 when invalid. */
export function parseIp(text: string, out: Uint8Array): 0 | 4 | 6 {
  const zone = text.indexOf('%');
  const address = zone === -1 ? text : text.slice(0, zone);
  if (address.includes(':')) return parseIpv6(address, out) ? 6 : 0;
  out.fill(0, 0, 10);
  out[10] = 0xff;
  out[11] = 0xff;
  return parseIpv4(address, out, 12) ? 4 : 0;
}

function parseIpv4(text: string, out: Uint8Array, at: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : 46; // a final '.' closes the last part
    if (code >= 48 && code <= 57) {
      // No leading zeros: `010` is octal to some parsers and decimal to others, so it is rejected.
      if (digits > 0 && value === 0) return false;
      value = value * 10 + (code - 48);
      if (++digits > 3 || value > 255) return false;
    } else if (code === 46) {
      if (digits === 0 || part > 3) return false;
      out[at + part++] = value;
      value = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  return part === 4;
}

function parseIpv6(text: string, out: Uint8Array): boolean {
  const gap = text.indexOf('::');
  if (gap !== -1 && text.indexOf('::', gap + 1) !== -1) return false;
  const head = gap === -1 ? text : text.slice(0, gap);
  const tail = gap === -1 ? '' : text.slice(gap + 2);
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const words: number[] = [];
  const readGroups = (groups: string[], isLast: boolean): boolean => {
    for (let i = 0; i < groups.length; i++) {
      const group = groups[i]!;
      if (isLast && i === groups.length - 1 && group.includes('.')) {
        const v4 = new Uint8Array(4);
        if (!parseIpv4(group, v4, 0)) return false;
        words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(group)) return false;
        words.push(Number.parseInt(group, 16));
      }
    }
    return true;
  };
  const tailIsLast = gap !== -1;
  if (!readGroups(headGroups, !tailIsLast)) return false;
  const headWords = words.length;
  if (!readGroups(tailGroups, true)) return false;
  const tailWords = words.length - headWords;
  if (gap === -1 ? words.length !== 8 : words.length > 7) return false;
  out.fill(0);
  for (let i = 0; i < headWords; i++) {
    out[i * 2] = words[i]! >> 8;
    out[i * 2 + 1] = words[i]! & 0xff;
  }
  for (let i = 0; i < tailWords; i++) {
    const at = (8 - tailWords + i) * 2;
    out[at] = words[headWords + i]! >> 8;
    out[at + 1] = words[headWords + i]! & 0xff;
  }
  return true;
}
