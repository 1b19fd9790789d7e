/**
 * The built-in Sigma rule pack ships with this package as YAML files in `rules/` (next to `dist/`). The engine does
 * no I/O, so it only says where the pack is; the server reads the files (`packages/server/src/rules/load.ts`).
 */
import { fileURLToPath } from 'node:url';

/**
 * Absolute path of the built-in rule pack directory (`<package>/rules`).
 *
 * @example
 * const dir = builtinRulesDir(); // '/app/node_modules/@vigil/engine/rules'
 */
export function builtinRulesDir(): string {
  // Compiled to dist/rules.js, so the pack is one level up.
  return fileURLToPath(new URL('../rules', import.meta.url));
}
