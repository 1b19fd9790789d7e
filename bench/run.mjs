// `npm run bench` runs every benchmark in bench/*/index.mjs; `npm run bench -- NAME [args]` runs one.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { benchDir } from './lib.mjs';

const [name, ...args] = process.argv.slice(2);
const all = readdirSync(benchDir).filter(
  (d) => statSync(join(benchDir, d)).isDirectory() && existsSync(join(benchDir, d, 'index.mjs')),
);
if (name && !all.includes(name)) {
  console.error(`no benchmark "${name}"; there are: ${all.join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const bench of name ? [name] : all) {
  const r = spawnSync(process.execPath, ['--expose-gc', join(benchDir, bench, 'index.mjs'), ...args], {
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    console.error(`benchmark ${bench} failed (exit ${r.status})`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
