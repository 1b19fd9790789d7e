/**
 * Reading Sigma rule files from disk: the built-in pack and any directories the user adds. The engine compiles
 * texts; this module is the only place that turns directories into texts.
 */
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { compileSigma, type SigmaCompileOptions, type SigmaCompileResult, type SigmaSource } from '@vigil/engine';

/** Rule-test files live in `tests/` folders and end in `.test.yaml`; neither is a rule. */
const TESTS_DIR = 'tests';
const RULE_FILE = /\.ya?ml$/i;
const TEST_FILE = /\.test\.ya?ml$/i;

/** True for a file name the loader reads as rules. */
export function isRuleFileName(name: string): boolean {
  return RULE_FILE.test(name) && !TEST_FILE.test(name);
}

/**
 * Every rule file (`*.yml`, `*.yaml`) under `dirs`, recursively, skipping `tests/` folders and `*.test.yaml` files.
 * Files come back sorted by path within each directory, so the same tree always compiles the same way. A path
 * that is itself a file is read as one rule file.
 *
 * @example
 * const sources = await loadRuleSources([builtinRulesDir(), './my-rules']);
 */
export async function loadRuleSources(dirs: readonly string[]): Promise<SigmaSource[]> {
  const sources: SigmaSource[] = [];
  for (const dir of dirs) {
    for (const file of await listRuleFiles(dir)) sources.push({ source: file, text: await readFile(file, 'utf8') });
  }
  return sources;
}

/** Rule files under `path` (or `path` itself when it is a file), sorted. */
export async function listRuleFiles(path: string, seen = new Set<string>()): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(path, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return [path];
    throw error;
  }
  // A directory reached twice through symbolic links is read once (a link to a parent would never end).
  const real = await realpath(path);
  if (seen.has(real)) return [];
  seen.add(real);
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const full = join(path, entry.name);
    // A symbolic link counts as what it points to: rules mounted from a Kubernetes ConfigMap are links.
    const target = entry.isSymbolicLink() ? await stat(full).catch(() => undefined) : entry;
    if (target?.isDirectory()) {
      if (entry.name !== TESTS_DIR && !entry.name.startsWith('.')) files.push(...(await listRuleFiles(full, seen)));
    } else if (target?.isFile() && isRuleFileName(entry.name)) {
      files.push(full);
    }
  }
  return files;
}

/**
 * Load and compile every rule under `dirs`. Errors carry the file and line (`error.source`, `error.line`); an
 * invalid rule is left out and the others still run.
 *
 * @example
 * const { evaluators, errors } = await loadRules([builtinRulesDir()], { maxGroupKeys: 100_000 });
 */
export async function loadRules(
  dirs: readonly string[],
  options: SigmaCompileOptions = {},
): Promise<SigmaCompileResult> {
  return compileSigma(await loadRuleSources(dirs), options);
}
