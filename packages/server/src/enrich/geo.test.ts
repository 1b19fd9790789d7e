import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SecurityEvent } from '@vigil/schema';
import { buildConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { createStages } from '../pipeline/stages.js';
import { createGeoStage, HOSTING_ASNS, openMmdbFiles } from './geo.js';
import { AsnRanges, BUILTIN_FILES, builtinLoadStats, factsFromRecord, type IpDatabase, openMmdb } from './geo-data.js';
import { applyStages } from './stage.js';

const event = (attributes: Record<string, string | number | boolean>): SecurityEvent => ({
  id: 'e1',
  time: 1_700_000_000_000,
  type: 'http_request',
  attributes,
});

describe('geo stage, built-in data', () => {
  const stage = createGeoStage();

  test('8.8.8.8 and 2001:4860:4860::8888 are Google (AS15169), a hosting network, with a country code', () => {
    for (const address of ['8.8.8.8', '2001:4860:4860::8888']) {
      const a = stage.apply(event({ 'client.address': address })).attributes;
      assert.equal(a['client.as.number'], 15169, address);
      assert.match(String(a['client.as.organization.name']), /google/i);
      assert.equal(a['vigil.client.hosting'], true);
      assert.match(String(a['client.geo.country_iso_code']), /^[A-Z]{2}$/);
    }
    const stats = builtinLoadStats();
    assert.deepEqual(stats.map((s) => s.name).sort(), ['asn', 'country']);
  });

  test('any public address gets the documented shape; a home ISP is not hosting', () => {
    const a = stage.apply(event({ 'client.address': '1.1.1.1' })).attributes;
    assert.equal(typeof a['client.as.number'], 'number');
    assert.equal(typeof a['vigil.client.hosting'], 'boolean');
    assert.match(String(a['client.geo.country_iso_code']), /^[A-Z]{2}$/);
    // Deutsche Telekom's 80.128.0.0/11: a consumer network.
    const home = stage.apply(event({ 'client.address': '80.130.1.1' })).attributes;
    assert.equal(home['client.as.number'], 3320);
    assert.equal(home['vigil.client.hosting'], false);
  });

  test('keeps what the event already says', () => {
    const a = stage.apply(event({ 'client.address': '8.8.8.8', 'client.geo.country_iso_code': 'CH' })).attributes;
    assert.equal(a['client.geo.country_iso_code'], 'CH');
    assert.equal(a['client.as.number'], 15169);
    // An AS of its own: the lookup's AS name and hosting flag (Google's) are not added to it.
    const own = stage.apply(event({ 'client.address': '8.8.8.8', 'client.as.number': 3320 })).attributes;
    assert.equal(own['client.as.number'], 3320);
    assert.equal(own['client.as.organization.name'], undefined);
    assert.equal(own['vigil.client.hosting'], false);
  });
});

describe('geo stage, lookups and sources', () => {
  const spy = (facts: ReturnType<IpDatabase['lookup']>) => {
    const calls: string[] = [];
    const db: IpDatabase = {
      name: 'spy',
      lookup: (address) => {
        calls.push(address);
        return facts;
      },
    };
    return { db, calls };
  };

  test('private, loopback, link-local and non-IP addresses are never looked up', () => {
    const { db, calls } = spy({ country: 'ZZ' });
    const stage = createGeoStage({ databases: [db], builtin: false });
    for (const address of ['10.0.0.1', '127.0.0.1', '::1', 'fe80::1', '192.168.1.1', 'unknown', '100.64.0.1']) {
      const e = event({ 'client.address': address });
      assert.equal(stage.apply(e), e, address);
    }
    // Marked private by the client-address stage: not even parsed again.
    const marked = event({ 'client.address': '203.0.113.7', 'vigil.client.private': true });
    assert.equal(stage.apply(marked), marked);
    assert.deepEqual(calls, []);
    assert.equal(
      stage.apply(event({ 'client.address': '203.0.113.7' })).attributes['client.geo.country_iso_code'],
      'ZZ',
    );
  });

  test("the operator's databases come first; each field from the first that knows it; answers are cached", () => {
    const country = spy({ country: 'NZ' });
    const asn = spy({ asNumber: 64500, asOrganization: 'Example Net' });
    const stage = createGeoStage({ databases: [country.db, asn.db], builtin: false });
    const a = stage.apply(event({ 'client.address': '203.0.113.7' })).attributes;
    assert.equal(a['client.geo.country_iso_code'], 'NZ');
    assert.equal(a['client.as.number'], 64500);
    assert.equal(a['client.as.organization.name'], 'Example Net');
    assert.equal(a['vigil.client.hosting'], false);
    stage.apply(event({ 'client.address': '203.0.113.7' }));
    assert.equal(country.calls.length, 1);
    const hosting = createGeoStage({ databases: [spy({ asNumber: 14061 }).db], builtin: false });
    assert.equal(hosting.apply(event({ 'client.address': '203.0.113.7' })).attributes['vigil.client.hosting'], true);
  });

  test('a user MMDB file: kind from its metadata, country from its records, ahead of the built-in data', () => {
    const file = BUILTIN_FILES.countryMmdb();
    const db = openMmdb(file);
    assert.equal(db.kind, 'country');
    assert.match(db.lookup('8.8.8.8')?.country ?? '', /^[A-Z]{2}$/);
    assert.equal(db.lookup('10.0.0.1'), undefined);
    const [opened] = openMmdbFiles([file]);
    assert.equal(opened?.name, file);
    const stage = createGeoStage({ mmdbFiles: [file], builtin: false });
    const a = stage.apply(event({ 'client.address': '2001:4860:4860::8888' })).attributes;
    assert.match(String(a['client.geo.country_iso_code']), /^[A-Z]{2}$/);
    assert.equal(a['client.as.number'], undefined, 'a country database says nothing about the AS');
  });

  test('an MMDB that cannot be used stops start-up naming the entry', () => {
    assert.throws(
      () => openMmdbFiles([BUILTIN_FILES.countryMmdb(), BUILTIN_FILES.asnIpv4Csv()]),
      (e: unknown) => e instanceof ConfigError && e.key === 'enrich.geo.mmdb[1]' && /MaxMind DB/.test(e.message),
    );
  });

  test('record shapes of MaxMind, DB-IP, ip-location-db and ipinfo', () => {
    assert.deepEqual(factsFromRecord({ country: { iso_code: 'DE' }, registered_country: { iso_code: 'FR' } }), {
      country: 'DE',
    });
    assert.deepEqual(factsFromRecord({ registered_country: { iso_code: 'FR' } }), { country: 'FR' });
    assert.deepEqual(factsFromRecord({ autonomous_system_number: 15169, autonomous_system_organization: 'GOOGLE' }), {
      asNumber: 15169,
      asOrganization: 'GOOGLE',
    });
    assert.deepEqual(factsFromRecord({ country_code: 'jp' }), { country: 'JP' });
    assert.deepEqual(factsFromRecord({ asn: 'AS13335', as_name: 'Cloudflare, Inc.', country_code: 'US' }), {
      country: 'US',
      asNumber: 13335,
      asOrganization: 'Cloudflare, Inc.',
    });
    assert.equal(factsFromRecord({ city: { names: { en: 'Berlin' } } }), undefined);
  });
});

describe('ASN ranges', () => {
  const v4 = [
    '16777216,16777471,13335,"Cloudflare, Inc."', // 1.0.0.0 - 1.0.0.255
    '16778240,16779263,38803,Gtelecom Pty Ltd', // 1.0.4.0 - 1.0.7.255
    '3405803776,3405804031,64500,"The ""Quoted"" Net"', // 203.0.113.0/24
  ].join('\n');
  // 2001:db8::/32 and 2001:db9:1::/48
  const v6 = [
    `${0x20010db8n << 96n},${(0x20010db9n << 96n) - 1n},64501,Doc Net`,
    `${(0x20010db9n << 96n) | (1n << 80n)},${((0x20010db9n << 96n) | (2n << 80n)) - 1n},64502,Doc Six`,
  ].join('\r\n');
  const ranges = AsnRanges.fromCsv(v4, v6);

  test('binary search over inclusive ranges, IPv4', () => {
    assert.deepEqual(ranges.lookup('1.0.0.0'), { asNumber: 13335, asOrganization: 'Cloudflare, Inc.' });
    assert.deepEqual(ranges.lookup('1.0.0.255'), { asNumber: 13335, asOrganization: 'Cloudflare, Inc.' });
    assert.equal(ranges.lookup('1.0.1.0'), undefined, 'between two ranges');
    assert.equal(ranges.lookup('0.255.255.255'), undefined, 'before the first');
    assert.equal(ranges.lookup('1.0.7.255')?.asNumber, 38803);
    assert.equal(ranges.lookup('203.0.113.7')?.asOrganization, 'The "Quoted" Net');
    assert.equal(ranges.lookup('255.255.255.255'), undefined, 'after the last');
  });

  test('IPv6 at /64 precision', () => {
    assert.equal(ranges.lookup('2001:db8::1')?.asNumber, 64501);
    assert.equal(ranges.lookup('2001:db8:ffff:ffff:ffff::1')?.asNumber, 64501);
    assert.equal(ranges.lookup('2001:db9::1'), undefined);
    assert.equal(ranges.lookup('2001:db9:1:abcd::9')?.asOrganization, 'Doc Six');
    assert.equal(ranges.lookup('2001:db9:2::'), undefined);
    assert.deepEqual(ranges.size, { ipv4Ranges: 3, ipv6Ranges: 2, arrayBytes: 5 * 24 });
  });
});

describe('geo in the stage list', () => {
  test('runs after the client address is normalised, and can be turned off', () => {
    const stages = createStages(buildConfig({}, {}));
    assert.deepEqual(stages.map((s) => s.name).slice(0, 2), ['client-address', 'geo']);
    const out = applyStages(stages, event({ 'client.address': '[::ffff:8.8.8.8]:443', 'url.path': '/' }));
    assert.equal(out.attributes['client.address'], '8.8.8.8');
    assert.equal(out.attributes['client.as.number'], 15169);
    const off = createStages(buildConfig({ enrich: { geo: { enabled: false } } }, {}));
    assert.equal(
      off.some((s) => s.name === 'geo'),
      false,
    );
    assert.ok(HOSTING_ASNS.has(16509));
  });
});
