/**
 * Geo and ASN enrichment: the country and the autonomous system of `client.address`, and whether that network
 * belongs to a cloud or hosting provider.
 *
 * Detection uses these to tell a datacenter from a home connection (credential stuffing comes from rented servers
 * and proxies; customers mostly do not) and to see a session jump countries. Sources, in order of precedence:
 * the operator's MMDB files (`enrich.geo.mmdb`, MaxMind or DB-IP, country and/or ASN databases), then the built-in
 * open data (see geo-data.ts and docs/enrichment.md for licences). Private, loopback and other non-routable
 * addresses are never looked up.
 */
import { Field, type FieldValue, type SecurityEvent } from '@vigil/schema';
import { ConfigError } from '../errors.js';
import { normaliseAddress } from './client-address.js';
import {
  builtinAsnDatabase,
  builtinCountryDatabase,
  type IpDatabase,
  type IpFacts,
  type MmdbDatabase,
  openMmdb,
} from './geo-data.js';
import { type EnrichmentStage, withAttributes } from './stage.js';

/**
 * Autonomous systems of cloud and hosting providers: traffic from them comes from rented machines, not from people
 * at home or at work. Curated from the providers' published AS numbers; each was checked against the names in the
 * built-in ASN data. CDNs (Cloudflare, Akamai's edge, Fastly) are left out on purpose: their addresses reach an
 * origin as proxies (see `enrich.trustedProxies`) or carry consumer VPN traffic (Cloudflare WARP).
 */
export const HOSTING_ASNS: ReadonlyMap<number, string> = new Map([
  [16509, 'Amazon Web Services'],
  [14618, 'Amazon Web Services'],
  [8987, 'Amazon Web Services (Ireland)'],
  [7224, 'Amazon Web Services'],
  [38895, 'Amazon Web Services (Asia Pacific)'],
  [396982, 'Google Cloud'],
  [15169, 'Google (crawlers, Apps Script, older Google Cloud ranges)'],
  [19527, 'Google'],
  [139070, 'Google Cloud (Asia Pacific)'],
  [8075, 'Microsoft Azure'],
  [8068, 'Microsoft Azure'],
  [14061, 'DigitalOcean'],
  [16276, 'OVHcloud'],
  [24940, 'Hetzner'],
  [213230, 'Hetzner Cloud'],
  [212317, 'Hetzner Cloud'],
  [63949, 'Linode / Akamai Connected Cloud'],
  [20473, 'Vultr (The Constant Company)'],
  [31898, 'Oracle Cloud'],
  [45102, 'Alibaba Cloud'],
  [37963, 'Alibaba Cloud (Hangzhou)'],
  [132203, 'Tencent Cloud'],
  [45090, 'Tencent Cloud'],
  [51167, 'Contabo'],
  [40021, 'Contabo (US)'],
  [12876, 'Scaleway'],
  [60781, 'Leaseweb'],
  [28753, 'Leaseweb'],
  [16265, 'Leaseweb'],
  [8560, 'IONOS'],
  [9009, 'M247'],
  [36351, 'IBM Cloud'],
  [136907, 'Huawei Cloud'],
  [55990, 'Huawei Cloud'],
  [40509, 'Fly.io'],
  [197540, 'netcup'],
  [199524, 'G-Core Labs'],
  [49505, 'Selectel'],
  [9123, 'Timeweb'],
  [202053, 'UpCloud'],
  [60068, 'Datacamp (CDN77)'],
  [8100, 'QuadraNet'],
  [40676, 'Psychz Networks'],
  [53667, 'FranTech (BuyVM)'],
  [36352, 'ColoCrossing (HostPapa)'],
]);

export interface GeoStageOptions {
  /** Operator MMDB files, looked up before the built-in data. */
  readonly mmdbFiles?: readonly string[];
  /** Use the built-in open data (default true). Off, only the MMDB files are used. */
  readonly builtin?: boolean;
  /** Databases to use instead of files (tests). Looked up in order, before the built-in data. */
  readonly databases?: readonly IpDatabase[];
  /** Addresses whose answer is cached (default 10 000; logs repeat their clients). */
  readonly cacheSize?: number;
  /** Configuration key of the files, for error messages. Default `enrich.geo.mmdb`. */
  readonly configKey?: string;
}

interface Answer {
  readonly added: Readonly<Record<string, FieldValue>> | undefined;
}

/**
 * Open MMDB files named in configuration, with a ConfigError naming the entry that cannot be used.
 *
 * @example
 * openMmdbFiles(['/var/lib/GeoIP/GeoLite2-Country.mmdb', '/var/lib/GeoIP/GeoLite2-ASN.mmdb']);
 */
export function openMmdbFiles(files: readonly string[], configKey = 'enrich.geo.mmdb'): MmdbDatabase[] {
  return files.map((file, i) => {
    try {
      return openMmdb(file);
    } catch (error) {
      throw new ConfigError(
        `${configKey}[${i}]`,
        `cannot open ${file} as a MaxMind DB file: ${(error as Error).message}`,
      );
    }
  });
}

/**
 * The stage: `client.geo.country_iso_code`, `client.as.number`, `client.as.organization.name` and
 * `vigil.client.hosting` for a public `client.address`. Fields the event already has (an SDK or a CDN header may
 * know better) are kept. The built-in data is loaded once per process: at start-up by the server (`warmUp`), on the first public
 * address otherwise.
 *
 * @example
 * const stage = createGeoStage();
 * stage.apply(event).attributes['client.as.number']; // 15169 for 8.8.8.8
 */
export function createGeoStage(options: GeoStageOptions = {}): EnrichmentStage {
  const own = [...(options.databases ?? []), ...openMmdbFiles(options.mmdbFiles ?? [], options.configKey)];
  const builtin = options.builtin ?? true;
  let sources: IpDatabase[] | undefined;
  const databases = () => {
    sources ??= builtin ? [...own, builtinCountryDatabase(), builtinAsnDatabase()] : own;
    return sources;
  };
  const cacheSize = options.cacheSize ?? 10_000;
  const cache = new Map<string, Answer>();

  const answer = (address: string): Answer => {
    let country: string | undefined;
    let asNumber: number | undefined;
    let asOrganization: string | undefined;
    for (const db of databases()) {
      const facts: IpFacts | undefined = db.lookup(address);
      if (facts === undefined) continue;
      if (country === undefined && facts.country !== undefined) country = facts.country;
      if (asNumber === undefined && facts.asNumber !== undefined) {
        asNumber = facts.asNumber;
        asOrganization = facts.asOrganization;
      }
      if (country !== undefined && asNumber !== undefined) break;
    }
    const added: Record<string, FieldValue> = {};
    if (country !== undefined) added[Field.clientGeoCountryIsoCode] = country;
    if (asNumber !== undefined) {
      added[Field.clientAsNumber] = asNumber;
      if (asOrganization !== undefined) added[Field.clientAsOrganizationName] = asOrganization;
      added[Field.clientHosting] = HOSTING_ASNS.has(asNumber);
    }
    return { added: Object.keys(added).length > 0 ? added : undefined };
  };

  return {
    name: 'geo',
    warmUp() {
      databases();
    },
    apply(event: SecurityEvent): SecurityEvent {
      const raw = event.attributes[Field.clientAddress];
      if (typeof raw !== 'string') return event;
      let address = raw;
      const isPrivate = event.attributes[Field.clientPrivate];
      if (isPrivate === true) return event;
      if (isPrivate !== false) {
        // Not through the client-address stage: normalise here, and skip what is not a public IP address.
        const normalised = normaliseAddress(raw);
        if (normalised === undefined || normalised.private) return event;
        address = normalised.address;
      }
      let found = cache.get(address);
      if (found === undefined) {
        found = answer(address);
        if (cache.size >= cacheSize) cache.clear();
        cache.set(address, found);
      }
      if (found.added === undefined) return event;
      // An AS number the event carries itself is kept; the name and hosting flag then follow it, not the lookup's.
      const own = event.attributes[Field.clientAsNumber];
      const otherAs = typeof own === 'number' && own !== found.added[Field.clientAsNumber];
      let added: Record<string, FieldValue> | undefined;
      for (const [name, value] of Object.entries(found.added)) {
        if (event.attributes[name] !== undefined) continue;
        if (otherAs && name === Field.clientAsOrganizationName) continue;
        added ??= {};
        added[name] = otherAs && name === Field.clientHosting ? HOSTING_ASNS.has(own) : value;
      }
      return added === undefined ? event : withAttributes(event, added);
    },
  };
}
