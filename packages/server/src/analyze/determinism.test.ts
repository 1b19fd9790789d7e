import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { alertToJson } from '../alerts/alert.js';
import { buildConfig } from '../config.js';
import { tempDir } from '../testing/harness.js';
import { analyze } from './analyze.js';

/** An attack mix that exercises threshold rules, Sigma correlations and payload detection. */
function events(): Record<string, unknown>[] {
  const t0 = Date.UTC(2026, 10, 2, 10, 0, 0);
  const out: Record<string, unknown>[] = [];
  let n = 0;
  const add = (offset: number, fields: Record<string, unknown>) =>
    out.push({ id: `d-${n++}`, time: t0 + offset, ...fields });
  for (let i = 0; i < 400; i++) {
    const at = i * 700;
    add(at, {
      type: 'http_request',
      'http.request.method': 'GET',
      'url.path': i % 9 === 0 ? `/search?q=${encodeURIComponent("1' OR '1'='1")}` : `/items/${i}`,
      'http.response.status_code': i % 5 === 0 ? 404 : 200,
      'client.address': i % 9 === 0 ? '203.0.113.5' : `198.51.100.${i % 40}`,
      'user_agent.original': i % 9 === 0 ? 'sqlmap/1.7' : 'Mozilla/5.0',
    });
    if (i % 3 === 0)
      add(at + 1, { type: 'authn_login_fail', 'client.address': '192.0.2.9', 'user.id': `acct-${i % 17}` });
    if (i % 50 === 0)
      add(at + 2, { type: 'authn_login_success', 'client.address': '192.0.2.9', 'user.id': `acct-${i % 17}` });
  }
  return out;
}

/** Shuffle within blocks that span less than the lateness bound (a seeded, deterministic shuffle). */
function shuffleWithin(list: Record<string, unknown>[], block: number, seed: number): Record<string, unknown>[] {
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < list.length; i += block) {
    const chunk = list.slice(i, i + block);
    for (let j = chunk.length - 1; j > 0; j--) {
      const k = Math.floor(rand() * (j + 1));
      [chunk[j], chunk[k]] = [chunk[k]!, chunk[j]!];
    }
    out.push(...chunk);
  }
  return out;
}

async function run(list: Record<string, unknown>[]) {
  const dir = tempDir();
  // Lateness of 10 s of event time; the shuffle moves events by at most 3 s (blocks of 4 events, 700 ms apart).
  const config = buildConfig({ detection: { latenessMillis: 10_000 } }, { VIGIL_DATA_DIR: dir });
  const input = Readable.from([`${list.map((e) => JSON.stringify(e)).join('\n')}\n`]);
  const result = await analyze([{ name: 'events', open: () => input }], { config, format: 'vigil' });
  return result.alerts.map((a) => JSON.stringify(alertToJson(a))).sort();
}

test('the same events in any arrival order within the lateness bound give the same alerts', async () => {
  const ordered = events();
  const expected = await run(ordered);
  assert.ok(expected.length >= 3, `the mix raises alerts (${expected.length})`);
  for (const seed of [1, 7, 42]) {
    assert.deepEqual(await run(shuffleWithin(ordered, 4, seed)), expected, `arrival order ${seed}`);
  }
});
