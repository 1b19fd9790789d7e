/**
 * Server-side request forgery: a value that is a URL or a host and points at the server's own side of the network
 * (loopback, private and link-local ranges, unique-local IPv6, the unspecified address) or at a cloud metadata
 * service (169.254.169.254, fd00:ec2::254, 100.100.100.200, metadata.google.internal...).
 *
 * Host spellings that resolvers accept are undone before the address is judged: dotless decimal (`2130706433`),
 * hex (`0x7f000001`, `0x7f.0.0.1`), octal (`0177.0.0.1`), short forms (`127.1`), over-long numbers that wrap
 * modulo 2^32 in some parsers, IPv4-mapped IPv6 (`[::ffff:7f00:1]`), full-width and circled digits (NFKC),
 * ideographic full stops, a trailing dot, and `user@host` confusion (every `@`-separated candidate is judged).
 * Names: `localhost` and `*.localhost`, `*.internal`, and wildcard-DNS services that embed an address
 * (`127.0.0.1.nip.io`). Schemes that only SSRF uses (`gopher://`, `dict://`, `ldap://` to an internal host...) add
 * confidence. Public hosts do not fire: this class is about reaching inside, not about any URL in a parameter.
 */
import { evidenceAt } from './evidence.js';
import type { DetectorInput, PayloadFinding } from './types.js';

/** `scheme://authority`; `_` for schemes such as Python's `local_file`, `\\` kept for hosts spelt `\\l\\o...`. */
const URL_IN_TEXT = /\b([a-z][\w+.-]{1,15}):\/\/+([^\s/?#"'<>]*)/gi;
/**
 * A special scheme with one slash or none before the host (`http:0xA9FEA9FE`, `http:/2852039166`): WHATWG URL
 * parsers read the host all the same.
 */
const URL_WITHOUT_SLASHES = /\b(https?|wss?|ftp|gopher|dict|ldap|file):\/?(?!\/)([^\s/?#"'<>\\]+)/gi;
const URL_PATTERNS = [URL_IN_TEXT, URL_WITHOUT_SLASHES] as const;
/**
 * A scheme-relative URL (`//169.254.169.254/latest`, `\\\\localhost\\`): fetched with the scheme of the page or
 * client, so only judged where the key says the value is a URL (a lone `/admin` is a path).
 */
const SCHEME_RELATIVE = /^[/\\]{2,}([^\s/?#"'<>]+)/;
/**
 * `@host` anywhere after a URL: parsers disagree on where the userinfo ends (`http://a.com:80 &@b.com# @10.0.0.1/`),
 * so every host written after an `@` is one the request may go to.
 */
const AT_HOST = /@([^\s/?#@&"'<>\\]+)/g;
const BRACKETED = /^\[([^\]]*)\]/;
const METADATA_NAMES =
  /^(?:metadata(?:\.google\.internal)?|metadata\.goog|instance-data(?:\.ec2\.internal)?|metadata\.azure\.com|169\.254\.169\.254\.nip\.io)$/;
const EMBEDDING_DNS =
  /^(.*?)[.-](?:nip\.io|xip\.io|sslip\.io|traefik\.me|localtest\.me|lvh\.me|vcap\.me|lacolhost\.com|127-0-0-1\.org\.uk)$/;
const RISKY_SCHEMES = new Set(['gopher', 'dict', 'ldap', 'ldaps', 'tftp', 'jar', 'netdoc', 'sftp', 'redis']);
/** Keys that name a URL or a host; a bare host in them is judged as a target. */
const URL_KEY =
  /(?:^|[._\-[])(?:url|uri|href|link|host|hostname|domain|target|dest|destination|redirect|redirect_uri|return|returnto|return_url|next|callback|webhook|endpoint|proxy|server|site|feed|image_url|src|source|fetch|forward|ip|addr|address)(?:$|[._\-\]])/i;

/**
 * Headers that name where a request came from (the page the browser was on), never a target the server fetches: a
 * Referer or Origin on localhost or an intranet host is every request of a developer's or an intranet app.
 */
const SOURCE_HEADERS = /^(?:referer|referrer|origin)$/i;
/**
 * Keys whose URL is where a browser is sent back to: a loopback one there is a native app's own listener (OAuth
 * redirect URIs, RFC 8252 section 7.3), not a target the server fetches.
 */
const BROWSER_RETURN_KEY =
  /(?:^|[._\-[])(?:redirect|redirect_?uri|redirect_?url|return|return_?to|return_?url|next|continue)(?:$|[._\-\]])/i;

/** Parse one IPv4 component the way inet_aton does: 0x.. hex, 0.. octal, else decimal. */
function ipv4Part(part: string): number | undefined {
  if (/^0x[0-9a-f]*$/i.test(part)) return part.length === 2 ? 0 : Number.parseInt(part.slice(2), 16);
  if (/^0[0-7]+$/.test(part)) return Number.parseInt(part, 8);
  if (/^[0-9]+$/.test(part)) return Number.parseInt(part, 10);
  return undefined;
}

/**
 * The 32-bit address an IPv4 host string stands for, in any of the encodings resolvers accept; undefined when it
 * is not an IPv4 address. Over-long values wrap modulo 2^32, as some URL parsers do.
 *
 * @example
 * parseLooseIpv4('0x7f.1');      // 0x7f000001
 * parseLooseIpv4('2852039166');  // 0xa9fea9fe (169.254.169.254)
 */
export function parseLooseIpv4(host: string): number | undefined {
  const parts = host.split('.');
  if (parts.length === 0 || parts.length > 4 || parts.some((p) => p === '')) return undefined;
  const nums: number[] = [];
  for (const p of parts) {
    let value: number | undefined;
    if (/^0x[0-9a-f]{9,}$/i.test(p)) value = Number.parseInt(p.slice(-8), 16);
    else value = ipv4Part(p);
    if (value === undefined || !Number.isFinite(value)) return undefined;
    nums.push(value);
  }
  const last = nums.pop() as number;
  for (const n of nums) if (n > 255) return undefined;
  const headBits = nums.reduce((acc, n, i) => acc + n * 2 ** (24 - 8 * i), 0);
  const tailSpace = 2 ** (32 - 8 * nums.length);
  return (headBits + (last % tailSpace)) % 2 ** 32;
}

/** Why an IPv4 address is internal, or undefined for a public one. */
function internalIpv4(a: number): string | undefined {
  const o1 = a >>> 24;
  const o2 = (a >>> 16) & 255;
  if (a === 0xa9fea9fe || a === 0x646464c8) return 'metadata';
  if (o1 === 127) return 'loopback';
  if (o1 === 0) return 'unspecified';
  if (o1 === 10 || (o1 === 172 && o2 >= 16 && o2 <= 31) || (o1 === 192 && o2 === 168)) return 'private';
  if (o1 === 169 && o2 === 254) return 'link-local';
  if (o1 === 100 && o2 >= 64 && o2 <= 127) return 'shared';
  return undefined;
}

/** Why an IPv6 literal is internal, or undefined. */
function internalIpv6(literal: string): string | undefined {
  const text = literal.toLowerCase().replace(/%.*$/, '');
  if (!/^[0-9a-f:.]+$/.test(text) || !text.includes(':')) return undefined;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let groups: number[] = [];
  const head = dotted ? text.slice(0, text.length - (dotted[1] as string).length) : text;
  const expand = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g || '0', 16)));
  const tailV4 = dotted ? parseLooseIpv4(dotted[1] as string) : undefined;
  const v4Groups = tailV4 === undefined ? [] : [tailV4 >>> 16, tailV4 & 0xffff];
  if (head.includes('::')) {
    const [l = '', r = ''] = head.split('::');
    const left = expand(l.replace(/:$/, ''));
    const right = [...expand(r.replace(/:$/, '')), ...v4Groups];
    groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill(0), ...right];
  } else {
    groups = [...expand(head.replace(/:$/, '')), ...v4Groups];
  }
  if (groups.length !== 8 || groups.some((g) => Number.isNaN(g) || g > 0xffff)) return undefined;
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups;
  const zeroHead = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (zeroHead && (g5 === 0xffff || g5 === 0) && (g6 !== 0 || g5 === 0xffff)) {
    const v4 = internalIpv4(((g6 << 16) >>> 0) + g7);
    if (v4 !== undefined) return v4;
    if (g5 === 0xffff) return undefined;
  }
  if (groups.every((g) => g === 0)) return 'unspecified';
  if (zeroHead && g5 === 0 && g6 === 0 && g7 === 1) return 'loopback';
  if (g0 === 0xfd00 && g1 === 0xec2 && g7 === 0x254) return 'metadata';
  if ((g0 & 0xfe00) === 0xfc00) return 'unique-local';
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local';
  if (g0 === 0x64 && g1 === 0xff9b) return internalIpv4(((g6 << 16) >>> 0) + g7);
  return undefined;
}

/** Why a host (name or address, as it appears in a URL authority) is internal, or undefined. */
export function internalHost(rawHost: string): string | undefined {
  let host = rawHost.trim();
  if (/[^\x00-\x7f]/.test(host)) host = host.normalize('NFKC').replace(/[\u3002\uff0e\uff61]/g, '.');
  host = host.toLowerCase();
  const bracket = BRACKETED.exec(host);
  if (bracket) return internalIpv6(bracket[1] as string);
  if (host.includes(':') && /^[0-9a-f:.%]+$/.test(host) && (host.match(/:/g)?.length ?? 0) >= 2)
    return internalIpv6(host);
  host = host.replace(/:\d*$/, '').replace(/\.$/, '');
  if (host === '') return undefined;
  if (host === 'localhost' || host.endsWith('.localhost') || host === 'localhost.localdomain') return 'loopback';
  if (METADATA_NAMES.test(host)) return 'metadata';
  if (
    host.endsWith('.internal') ||
    host.endsWith('.local') ||
    host === 'kubernetes.default.svc' ||
    host.endsWith('.svc.cluster.local')
  ) {
    return 'internal-name';
  }
  const embedded = EMBEDDING_DNS.exec(host);
  if (embedded) {
    const inner = embedded[1] as string;
    const asAddress = parseLooseIpv4(inner.replace(/-/g, '.')) ?? parseLooseIpv4(inner.split('.').slice(-4).join('.'));
    if (asAddress !== undefined) return internalIpv4(asAddress);
    return host.endsWith('localtest.me') || host.endsWith('lvh.me') || host.endsWith('vcap.me')
      ? 'loopback'
      : undefined;
  }
  if (/^[0-9a-fx.]+$/.test(host) && /^[0-9]/.test(host)) {
    const address = parseLooseIpv4(host);
    if (address !== undefined) return internalIpv4(address);
  }
  return undefined;
}

/** The hosts a URL authority may be read as: after the last `@`, and each `@`-separated piece (parser confusion). */
function authorityHosts(authority: string): string[] {
  // A backslash is a slash to WHATWG parsers and nothing to others: try the host both ways.
  const spellings = authority.includes('\\')
    ? [authority.replace(/\\/g, ''), authority.split('\\').find((p) => p !== '') ?? '']
    : [authority];
  const pieces = spellings.flatMap((a) => a.split(/[@\s&#]/)).filter((p) => p !== '');
  const hosts = pieces.map((p) => p.replace(/^[^[]*?:(?=[^:]*$)(?![0-9]*$)/, ''));
  return [...new Set(hosts)];
}

/** A finding when a URL authority names an internal host (a loopback one is a browser return's own listener). */
function judgeAuthority(
  form: string,
  scheme: string,
  authority: string,
  at: number,
  length: number,
  browserReturn: boolean,
): PayloadFinding | undefined {
  for (const host of authorityHosts(authority)) {
    const why = internalHost(host);
    if (why !== undefined && !(browserReturn && why === 'loopback')) {
      const confidence = why === 'metadata' || RISKY_SCHEMES.has(scheme) ? 0.95 : why === 'internal-name' ? 0.6 : 0.85;
      return { class: 'ssrf', confidence, evidence: evidenceAt(form, at, length) };
    }
  }
  return undefined;
}

/**
 * Detect SSRF targets in one value (all its decoded forms): URLs anywhere in it, or the whole value when it is a
 * bare host or address and the key says it holds one (`host=`, `callback_url=`), or when it is an IP address literal
 * in a URL-ish spelling.
 *
 * @example
 * detectSsrf({ forms: ['http://169.254.169.254/latest/meta-data/'] }); // { class: 'ssrf', ... }
 * detectSsrf({ forms: ['https://example.com/a'] });                    // undefined
 */
export function detectSsrf(input: DetectorInput): PayloadFinding | undefined {
  if (input.location === 'header' && input.key !== undefined && SOURCE_HEADERS.test(input.key)) return undefined;
  const browserReturn = input.key !== undefined && BROWSER_RETURN_KEY.test(input.key);
  for (const form of input.forms) {
    if (form.length < 3) continue;
    const decodedWhole = form.length <= 2048 ? form : form.slice(0, 2048);
    let sawUrl = false;
    for (const re of decodedWhole.includes(':') ? URL_PATTERNS : []) {
      for (const m of decodedWhole.matchAll(re)) {
        sawUrl = true;
        const scheme = (m[1] as string).toLowerCase();
        const found = judgeAuthority(form, scheme, m[2] as string, m.index ?? 0, m[0].length, browserReturn);
        if (found !== undefined) return found;
      }
    }
    if (sawUrl) {
      for (const m of decodedWhole.matchAll(AT_HOST)) {
        const why = internalHost(m[1] as string);
        if (why !== undefined && why !== 'internal-name') {
          return { class: 'ssrf', confidence: 0.8, evidence: evidenceAt(form, m.index ?? 0, m[0].length) };
        }
      }
    }
    const bare = form.trim();
    const keyed = input.key !== undefined && URL_KEY.test(input.key);
    const relative = keyed ? SCHEME_RELATIVE.exec(bare) : null;
    if (relative !== null) {
      const found = judgeAuthority(form, '', relative[1] as string, 0, relative[0].length, browserReturn);
      if (found !== undefined) return found;
    }
    const headerHost = input.location === 'header' && input.key !== undefined && /host|forwarded/i.test(input.key);
    if ((keyed || headerHost) && /^[^\s/]+(?:\/.*)?$/.test(bare) && bare.length <= 300) {
      const host = bare.replace(/\/.*$/, '');
      for (const candidate of authorityHosts(host)) {
        const why = internalHost(candidate);
        // A key that names a host and a loopback or metadata value is a target; private ranges are too common in
        // ordinary configuration (and forwarded-for chains) to be an attack on their own.
        const target = why === 'metadata' || why === 'unspecified' || why === 'link-local';
        if (target || (why === 'loopback' && !browserReturn)) {
          return {
            class: 'ssrf',
            confidence: why === 'metadata' ? 0.9 : 0.7,
            evidence: evidenceAt(form, 0, bare.length),
          };
        }
      }
    }
  }
  return undefined;
}
