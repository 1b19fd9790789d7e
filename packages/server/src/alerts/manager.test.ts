/**
 * The alert manager's listeners (notifications, decisions) each hear of every change, whatever another one does.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Detection } from '@vigil/engine';
import { createMetrics } from '../metrics.js';
import { SqliteStore } from '../store/sqlite.js';
import { tempDir } from '../testing/harness.js';
import { AlertManager } from './manager.js';

const detection = (address: string): Detection => ({
  ruleId: 'vigil-authn-brute-force',
  ruleTitle: 'Repeated failed logins',
  severity: 'high',
  groupLabels: { 'client.address': address },
  eventIds: [`e-${address}`],
  firstTime: Date.UTC(2026, 10, 27, 9),
  lastTime: Date.UTC(2026, 10, 27, 9),
  eventCount: 5,
  summary: `5 failed logins from ${address}`,
  tags: [],
});

test('a listener that fails is logged and counted; the next one still hears of the change', async () => {
  const dir = tempDir();
  const store = new SqliteStore({ file: join(dir, 'vigil.db') });
  const metrics = createMetrics();
  const errors: string[] = [];
  const manager = new AlertManager({
    store,
    log: { debug() {}, info() {}, warn() {}, error: (msg, fields) => errors.push(`${msg}: ${fields?.error}`) },
    metrics,
    resolveAfterMillis: 600_000,
    maxEvidence: 10,
  });
  const heard: string[] = [];
  manager.onChange(async (alert) => {
    if (alert.labels['client.address'] === '198.51.100.9') throw new Error('the notification store is locked');
  });
  manager.onChange((alert, change) => {
    heard.push(`${change} ${alert.labels['client.address']}`);
  });
  try {
    // Two alerts opened in one batch: the first one's failure stops neither its decision nor the second alert.
    await manager.handle([detection('198.51.100.9'), detection('198.51.100.77')]);
    assert.deepEqual(heard, ['opened 198.51.100.9', 'opened 198.51.100.77']);
    assert.deepEqual(errors, ['acting on an alert change failed: the notification store is locked']);
    assert.match(metrics.registry.render(), /vigil_alert_listener_failures_total\{change="opened"\} 1/);
    assert.equal((await store.openAlerts()).length, 2, 'both alerts are saved');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
