/**
 * IP data behind the geo stage: the built-in databases that ship inside npm packages, and MaxMind DB (MMDB) files
 * an operator supplies.
 *
 * - Country: `@ip-location-db/geo-whois-asn-country-mmdb`, one MMDB of about 8 MB for IPv4 and IPv6, read with
 *   `mmdb-lib`. Lookups walk the file's search tree in place; nothing is decoded up front.
 * - ASN: `@ip-location-db/asn`, CSV ranges (about 410 000 IPv4 and 100 000 IPv6 rows). They are loaded once into
 *   typed arrays (range starts, ends, AS numbers, an index into a de-duplicated list of organisation names) and
 *   searched by binary search: about 12 MB instead of the 60 MB of text, and no per-row objects for the collector
 *   to trace. IPv6 ranges are kept at /64 precision (the top 64 bits): routed IPv6 blocks are /48 or shorter.
 *
 * Licences and attribution duties are in docs/enrichment.md.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Reader } from 'mmdb-lib';

/** What the databases tell about one address. Any part may be missing. */
export interface IpFacts {
  readonly country?: string;
  readonly asNumber?: number;
  readonly asOrganization?: string;
}

/** One source of IP facts. `address` is canonical (client-address stage): a dotted quad or RFC 5952 IPv6. */
export interface IpDatabase {
  readonly name: string;
  lookup(address: string): IpFacts | undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// MMDB files

/** What an MMDB file holds, from its metadata: a country (or city) database, an ASN (or ISP) one, or unknown. */
export type MmdbKind = 'country' | 'asn' | 'unknown';

export interface MmdbDatabase extends IpDatabase {
  readonly kind: MmdbKind;
  readonly databaseType: string;
  readonly buildEpoch: Date;
}

interface MmdbReader {
  readonly metadata: { readonly databaseType: string; readonly buildEpoch: Date; readonly ipVersion: number };
  get(address: string): unknown;
}

/**
 * Open an MMDB file (MaxMind GeoLite2 / GeoIP2 Country, City, ASN, ISP; DB-IP Lite country or ASN; ipinfo Lite;
 * ip-location-db). Country and ASN are read from whichever record shape the file uses. Throws when the file cannot
 * be read or is not an MMDB.
 *
 * @example
 * const db = openMmdb('/var/lib/GeoIP/GeoLite2-ASN.mmdb');
 * db.kind; // 'asn'
 * db.lookup('8.8.8.8'); // { asNumber: 15169, asOrganization: 'GOOGLE' }
 */
export function openMmdb(file: string): MmdbDatabase {
  const reader = new Reader(readFileSync(file)) as unknown as MmdbReader;
  const databaseType = String(reader.metadata.databaseType ?? '');
  const kind: MmdbKind = /asn|isp|autonomous/i.test(databaseType)
    ? 'asn'
    : /country|city|geo|location/i.test(databaseType)
      ? 'country'
      : 'unknown';
  const ipv4Only = reader.metadata.ipVersion === 4;
  return {
    name: file,
    kind,
    databaseType,
    buildEpoch: reader.metadata.buildEpoch,
    lookup(address) {
      if (ipv4Only && address.includes(':')) return undefined;
      let record: unknown;
      try {
        record = reader.get(address);
      } catch {
        return undefined;
      }
      return record === null || typeof record !== 'object'
        ? undefined
        : factsFromRecord(record as Record<string, unknown>);
    },
  };
}

/** Country and ASN from the record shapes in use: MaxMind / DB-IP (`country.iso_code`...), ip-location-db, ipinfo. */
export function factsFromRecord(record: Record<string, unknown>): IpFacts | undefined {
  const country =
    isoCode((record.country as Record<string, unknown> | undefined)?.iso_code) ??
    isoCode((record.registered_country as Record<string, unknown> | undefined)?.iso_code) ??
    isoCode(record.country_code) ??
    isoCode(record.country_iso_code);
  const asNumber = asnOf(record.autonomous_system_number) ?? asnOf(record.asn);
  const organization = record.autonomous_system_organization ?? record.as_name ?? record.as_org ?? record.asn_org;
  const facts: { country?: string; asNumber?: number; asOrganization?: string } = {};
  if (country !== undefined) facts.country = country;
  if (asNumber !== undefined) {
    facts.asNumber = asNumber;
    if (typeof organization === 'string' && organization !== '') facts.asOrganization = organization;
  }
  return facts.country === undefined && facts.asNumber === undefined ? undefined : facts;
}

function isoCode(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z]{2}$/.test(value) ? value.toUpperCase() : undefined;
}

function asnOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0 && value < 2 ** 32) return value;
  if (typeof value === 'string') {
    const m = /^(?:AS)?(\d{1,10})$/i.exec(value);
    if (m) return asnOf(Number(m[1]));
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// ASN ranges in typed arrays

/**
 * Non-overlapping inclusive ranges sorted by start, each with an AS number and an organisation. IPv4 keys are the
 * 32-bit address; IPv6 keys are the top 64 bits, as a high and a low 32-bit half.
 */
export class AsnRanges implements IpDatabase {
  readonly name = 'asn-ranges';

  constructor(
    private readonly v4: RangeTable,
    private readonly v6: RangeTable,
    private readonly organizations: readonly string[],
  ) {}

  /** Ranges held, and bytes of the typed arrays (organisation strings not counted). */
  get size(): { ipv4Ranges: number; ipv6Ranges: number; arrayBytes: number } {
    return { ipv4Ranges: this.v4.count, ipv6Ranges: this.v6.count, arrayBytes: this.v4.bytes() + this.v6.bytes() };
  }

  lookup(address: string): IpFacts | undefined {
    let row: number;
    if (address.includes(':')) {
      const top = ipv6Top64(address);
      if (top === undefined) return undefined;
      row = this.v6.find(top[0], top[1]);
    } else {
      const value = ipv4Value(address);
      if (value === undefined) return undefined;
      row = this.v4.find(0, value);
    }
    if (row < 0) return undefined;
    const table = address.includes(':') ? this.v6 : this.v4;
    const asNumber = table.asn[row]!;
    const organization = this.organizations[table.org[row]!];
    return organization ? { asNumber, asOrganization: organization } : { asNumber };
  }

  /**
   * Build from the two CSV files of `@ip-location-db/asn`: `asn-ipv4-num.csv` (start, end as numbers) and
   * `asn-ipv6-num.csv` (start, end as 128-bit decimal numbers); the last two columns are the AS number and its
   * organisation (quoted when it holds a comma).
   */
  static fromCsv(ipv4NumCsv: string, ipv6NumCsv: string): AsnRanges {
    const organizations: string[] = [''];
    const index = new Map<string, number>([['', 0]]);
    const orgId = (name: string) => {
      let id = index.get(name);
      if (id === undefined) {
        // A copy, not a slice: V8 keeps a sliced string's parent alive, and the parent is the whole CSV text.
        const copy = Buffer.from(name, 'utf8').toString('utf8');
        id = organizations.length;
        organizations.push(copy);
        index.set(copy, id);
      }
      return id;
    };
    const v4 = RangeTable.build(ipv4NumCsv, orgId, (start, end) => [0, Number(start), 0, Number(end)]);
    const v6 = RangeTable.build(ipv6NumCsv, orgId, (start, end) => {
      const s = BigInt(start) >> 64n;
      const e = BigInt(end) >> 64n;
      return [Number(s >> 32n), Number(s & 0xffffffffn), Number(e >> 32n), Number(e & 0xffffffffn)];
    });
    return new AsnRanges(v4, v6, organizations);
  }
}

class RangeTable {
  constructor(
    readonly count: number,
    private readonly startHigh: Uint32Array,
    private readonly startLow: Uint32Array,
    private readonly endHigh: Uint32Array,
    private readonly endLow: Uint32Array,
    readonly asn: Uint32Array,
    readonly org: Uint32Array,
  ) {}

  bytes(): number {
    return (
      this.startHigh.byteLength +
      this.startLow.byteLength +
      this.endHigh.byteLength +
      this.endLow.byteLength +
      this.asn.byteLength +
      this.org.byteLength
    );
  }

  /** The row whose range holds (high, low), or -1: the last start at or below the key, if its end is not below. */
  find(high: number, low: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const sh = this.startHigh[mid]!;
      if (sh < high || (sh === high && this.startLow[mid]! <= low)) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) return -1;
    const eh = this.endHigh[found]!;
    return eh > high || (eh === high && this.endLow[found]! >= low) ? found : -1;
  }

  static build(
    csv: string,
    orgId: (name: string) => number,
    bounds: (start: string, end: string) => [number, number, number, number],
  ): RangeTable {
    let capacity = 1;
    for (let i = csv.indexOf('\n'); i !== -1; i = csv.indexOf('\n', i + 1)) capacity++;
    const startHigh = new Uint32Array(capacity);
    const startLow = new Uint32Array(capacity);
    const endHigh = new Uint32Array(capacity);
    const endLow = new Uint32Array(capacity);
    const asn = new Uint32Array(capacity);
    const org = new Uint32Array(capacity);
    let count = 0;
    let position = 0;
    while (position < csv.length) {
      let end = csv.indexOf('\n', position);
      if (end === -1) end = csv.length;
      const line = csv.slice(position, end);
      position = end + 1;
      const c1 = line.indexOf(',');
      const c2 = line.indexOf(',', c1 + 1);
      const c3 = line.indexOf(',', c2 + 1);
      if (c1 < 1 || c2 < 0 || c3 < 0) continue;
      const number = Number(line.slice(c2 + 1, c3));
      if (!Number.isSafeInteger(number) || number <= 0) continue;
      const [sh, sl, eh, el] = bounds(line.slice(0, c1), line.slice(c1 + 1, c2));
      startHigh[count] = sh;
      startLow[count] = sl;
      endHigh[count] = eh;
      endLow[count] = el;
      asn[count] = number;
      org[count] = orgId(unquote(line.slice(c3 + 1).replace(/\r$/, '')));
      count++;
    }
    return new RangeTable(
      count,
      startHigh.slice(0, count),
      startLow.slice(0, count),
      endHigh.slice(0, count),
      endLow.slice(0, count),
      asn.slice(0, count),
      org.slice(0, count),
    );
  }
}

/** A CSV field: `"Cloudflare, Inc."` → `Cloudflare, Inc.`, with `""` for a quote inside. */
function unquote(field: string): string {
  if (field.length >= 2 && field.startsWith('"') && field.endsWith('"'))
    return field.slice(1, -1).replaceAll('""', '"');
  return field;
}

function ipv4Value(address: string): number | undefined {
  const parts = address.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const p of parts) {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 0 || n > 255 || p === '') return undefined;
    value = value * 256 + n;
  }
  return value;
}

/** The top 64 bits of an IPv6 address in canonical form, as [high 32, low 32]. */
function ipv6Top64(address: string): [number, number] | undefined {
  const double = address.indexOf('::');
  const head =
    double === -1
      ? address.split(':')
      : address
          .slice(0, double)
          .split(':')
          .filter((g) => g !== '');
  const tail =
    double === -1
      ? []
      : address
          .slice(double + 2)
          .split(':')
          .filter((g) => g !== '');
  const groups =
    double === -1 ? head : [...head, ...new Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  if (groups.length !== 8) return undefined;
  const g = groups.slice(0, 4).map((x) => Number.parseInt(x, 16));
  if (g.some((x) => !Number.isInteger(x) || x < 0 || x > 0xffff)) return undefined;
  return [(g[0]! * 0x10000 + g[1]!) >>> 0, (g[2]! * 0x10000 + g[3]!) >>> 0];
}

// ---------------------------------------------------------------------------------------------------------------
// Built-in data, loaded once per process

const require = createRequire(import.meta.url);

function packageDir(name: string): string {
  return dirname(require.resolve(`${name}/package.json`));
}

/** Where the built-in files are. */
export const BUILTIN_FILES = {
  countryMmdb: () => join(packageDir('@ip-location-db/geo-whois-asn-country-mmdb'), 'geo-whois-asn-country.mmdb'),
  asnIpv4Csv: () => join(packageDir('@ip-location-db/asn'), 'asn-ipv4-num.csv'),
  asnIpv6Csv: () => join(packageDir('@ip-location-db/asn'), 'asn-ipv6-num.csv'),
} as const;

export interface BuiltinLoadStats {
  readonly name: string;
  readonly loadMillis: number;
  readonly bytes: number;
}

const loaded = new Map<string, IpDatabase>();
const loadStats: BuiltinLoadStats[] = [];

/** How long each built-in database took to load, and what it holds in memory (for benchmarks and logs). */
export function builtinLoadStats(): readonly BuiltinLoadStats[] {
  return loadStats;
}

/** The built-in country database (ip-location-db geo-whois-asn-country), opened on first use. */
export function builtinCountryDatabase(): IpDatabase {
  return once('country', () => {
    const file = BUILTIN_FILES.countryMmdb();
    const db = openMmdb(file);
    return { db, bytes: readFileSync(file).byteLength };
  });
}

/** The built-in ASN ranges (ip-location-db asn), loaded on first use. */
export function builtinAsnDatabase(): IpDatabase {
  return once('asn', () => {
    const db = AsnRanges.fromCsv(
      readFileSync(BUILTIN_FILES.asnIpv4Csv(), 'utf8'),
      readFileSync(BUILTIN_FILES.asnIpv6Csv(), 'utf8'),
    );
    return { db, bytes: db.size.arrayBytes };
  });
}

function once(name: string, load: () => { db: IpDatabase; bytes: number }): IpDatabase {
  const existing = loaded.get(name);
  if (existing) return existing;
  const started = performance.now();
  const { db, bytes } = load();
  loadStats.push({ name, loadMillis: performance.now() - started, bytes });
  loaded.set(name, db);
  return db;
}
