/**
 * No default secrets: when no ingest or API token is configured, Vigil generates random ones on first start and
 * keeps them in `<dataDir>/credentials.json` (mode 0600). Start-up says where they are, never what they are.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkedToken, type VigilConfig } from './config.js';
import { ConfigError } from './errors.js';

export interface Credentials {
  readonly ingestTokens: readonly string[];
  readonly apiTokens: readonly string[];
  /** Set when this start generated tokens: the file the operator should read them from. */
  readonly generatedFile?: string;
  /** Which tokens were generated (`ingest`, `api`): the others were there already. */
  readonly generatedKinds?: readonly string[];
}

export const CREDENTIALS_FILE = 'credentials.json';

function newToken(kind: 'ingest' | 'api'): string {
  // 32 random bytes: 256 bits. The prefix tells a human which kind a leaked token is.
  return `vigil_${kind}_${randomBytes(32).toString('base64url')}`;
}

export function resolveCredentials(config: VigilConfig): Credentials {
  if (config.auth.ingestTokens.length > 0 && config.auth.apiTokens.length > 0) {
    return { ingestTokens: config.auth.ingestTokens, apiTokens: config.auth.apiTokens };
  }
  const file = join(config.dataDir, CREDENTIALS_FILE);
  let stored: { ingestToken?: string; apiToken?: string } = {};
  let generated = false;
  if (existsSync(file)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ConfigError(
        file,
        `cannot be read (${(error as Error).message}); fix or delete it to generate new tokens`,
      );
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError(file, 'must hold an object with ingestToken and apiToken; fix or delete it');
    }
    stored = parsed as typeof stored;
    // The same rules as tokens given in the configuration: a short one in the file is no safer.
    for (const name of ['ingestToken', 'apiToken'] as const) {
      if (stored[name] !== undefined) stored[name] = checkedToken(`${file}: ${name}`, stored[name]);
    }
  }
  const made: string[] = [];
  if (config.auth.ingestTokens.length === 0 && typeof stored.ingestToken !== 'string') {
    stored.ingestToken = newToken('ingest');
    generated = true;
    made.push('ingest');
  }
  if (config.auth.apiTokens.length === 0 && typeof stored.apiToken !== 'string') {
    stored.apiToken = newToken('api');
    generated = true;
    made.push('api');
  }
  if (generated) {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return {
    ingestTokens: config.auth.ingestTokens.length > 0 ? config.auth.ingestTokens : [stored.ingestToken as string],
    apiTokens: config.auth.apiTokens.length > 0 ? config.auth.apiTokens : [stored.apiToken as string],
    ...(generated ? { generatedFile: file, generatedKinds: made } : {}),
  };
}
