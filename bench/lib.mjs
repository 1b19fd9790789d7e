// Shared helpers for benchmarks: figures, a table, and the results file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const benchDir = dirname(fileURLToPath(import.meta.url));

/** A measured figure. */
export function figure(name, value, unit, extra = {}) {
  return { name, value: Number(value.toPrecision(6)), unit, ...extra };
}

/** A ratio figure carries both sides, so the JSON alone tells what was compared. */
export function ratio(name, numerator, denominator) {
  return figure(name, numerator.value / denominator.value, 'ratio', {
    numerator: { name: numerator.name, value: numerator.value, unit: numerator.unit },
    denominator: { name: denominator.name, value: denominator.value, unit: denominator.unit },
  });
}

export async function report(benchName, figures, notes = {}) {
  const width = Math.max(...figures.map((f) => f.name.length), 10);
  console.log(`\n${benchName}`);
  console.log(`${'figure'.padEnd(width)}  ${'value'.padStart(14)}  unit`);
  for (const f of figures) {
    console.log(`${f.name.padEnd(width)}  ${String(f.value).padStart(14)}  ${f.unit}`);
  }
  const file = join(benchDir, 'results', `${benchName}.json`);
  mkdirSync(dirname(file), { recursive: true });
  const result = {
    bench: benchName,
    date: new Date().toISOString(),
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
    ...notes,
    figures,
  };
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`(written to ${file})`);
}
