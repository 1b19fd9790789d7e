#!/usr/bin/env node
// Runs every compiled test file (packages/*/dist/**/*.test.js, bench excluded) with node's test runner.
// Node 20's `--test` takes no globs, so the files are collected here. Pass paths or substrings to filter:
//   node scripts/test.mjs ingest      runs the test files whose path contains "ingest".
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const files = [];
for (const pkg of readdirSync('packages')) {
  try {
    collect(join('packages', pkg, 'dist'), files);
  } catch {
    // a package without compiled output has no tests to run
  }
}
const filters = process.argv.slice(2);
const selected = filters.length ? files.filter((f) => filters.some((x) => f.includes(x))) : files;
if (selected.length === 0) {
  console.error('no test files found: run `npx tsc -b` first');
  process.exit(1);
}
// The time-out bounds a hang, not the machine's speed, and it applies to each file as a whole as well as to each test:
// the CommonJS end-to-end file (two type-checked compiles, then its tests) took some 50 s in a full run on a busy
// two-core machine, and more than 120 s under heavier load.
const result = spawnSync(
  process.execPath,
  ['--test', '--test-reporter=spec', '--test-concurrency=2', '--test-timeout=300000', ...selected.sort()],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
