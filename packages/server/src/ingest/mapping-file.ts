/**
 * A JSON field mapping read from a file (`--mapping FILE` of `vigil analyze` and `vigil ingest`): the mapping of
 * docs/access-logs.md ("JSON lines and field mappings"), written as YAML or JSON (JSON is YAML too).
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors.js';
import { createLineParser, type JsonMapping } from './access-log.js';

/** The key a mapping is checked under by createLineParser; its errors are renamed after the file. */
const MAPPING_KEY = 'mapping';

/**
 * The mapping in `file`, checked. Throws a ConfigError naming the file (and the mapping key at fault) when the file
 * cannot be read, is not YAML / JSON, or holds a mapping that does not check.
 *
 * @example
 * const mapping = loadMappingFile('gateway-mapping.yaml'); // time: ts, method: req.method, path: req.url, ...
 * const parse = createLineParser('json', { mapping });
 */
export function loadMappingFile(file: string): JsonMapping {
  const option = `--mapping ${file}`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as Error).message.replace(/, \w+(?: '.*')?$/s, '');
    throw new ConfigError(option, `cannot be read (${reason})`);
  }
  let mapping: unknown;
  try {
    mapping = parseYaml(text);
  } catch (error) {
    // The YAML parser's message quotes the file's text at the error; the position is enough.
    const at = (error as { linePos?: { line: number; col: number }[] }).linePos?.[0];
    throw new ConfigError(option, `is not valid YAML or JSON${at ? ` (line ${at.line}, column ${at.col})` : ''}`);
  }
  try {
    createLineParser('json', { mapping: mapping as JsonMapping, configKey: MAPPING_KEY });
    return mapping as JsonMapping;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // `mapping.time` -> `--mapping FILE: time: ...`, the mapping's own key as the user wrote it in the file.
    const key = error.key.slice(MAPPING_KEY.length + 1);
    const message = error.message.slice(`configuration: ${error.key}: `.length);
    throw new ConfigError(option, key ? `${key}: ${message}` : message);
  }
}
