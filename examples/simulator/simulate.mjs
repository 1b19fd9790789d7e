#!/usr/bin/env node
// Writes a simulated week of API traffic as Vigil events (NDJSON) plus the ground truth of the planted attacks.
//   node examples/simulator/simulate.mjs --days 7 --users 2000 --seed 1 --out DIR [--no-attacks] [--start 2026-03-02]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_START, simulate } from './traffic.mjs';

const { values } = parseArgs({
  options: {
    days: { type: 'string', default: '7' },
    users: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: 'simulated' },
    start: { type: 'string' },
    'no-attacks': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('usage: simulate.mjs [--days N] [--users N] [--seed N] [--start YYYY-MM-DD] [--no-attacks] [--out DIR]');
  process.exit(0);
}
const int = (name) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a positive integer, got "${values[name]}"`);
    process.exit(2);
  }
  return n;
};
const start = values.start === undefined ? DEFAULT_START : Date.parse(`${values.start}T00:00:00Z`);
if (!Number.isFinite(start)) {
  console.error(`--start must be a date like 2026-03-02, got "${values.start}"`);
  process.exit(2);
}
const { events, truth, stats } = simulate({
  days: int('days'),
  users: int('users'),
  seed: int('seed'),
  start,
  attacks: !values['no-attacks'],
});
mkdirSync(values.out, { recursive: true });
const eventsFile = join(values.out, 'events.ndjson');
const lines = [];
for (const e of events) lines.push(JSON.stringify(e));
writeFileSync(eventsFile, `${lines.join('\n')}\n`);
const truthFile = join(values.out, 'ground-truth.json');
writeFileSync(
  truthFile,
  `${JSON.stringify(
    {
      ...stats,
      startTime: new Date(stats.start).toISOString(),
      scenarios: truth.map((t) => ({
        ...t,
        startTime: new Date(t.start).toISOString(),
        endTime: new Date(t.end).toISOString(),
      })),
    },
    null,
    2,
  )}\n`,
);
console.log(`${events.length} events → ${eventsFile}; ${truth.length} scenarios → ${truthFile}`);
