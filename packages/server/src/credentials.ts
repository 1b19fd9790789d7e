/**
 * No default secrets: when no ingest or API token is configured, Vigil generates random ones on first start and
 * keeps them in `<dataDir>/credentials.json` (mode 0600). Start-up says where they are, never what they are.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VigilConfig } from './config.js';
import { ConfigError } from './errors.js';

export interface Credentials {
  readonly ingestTokens: readonly string[];
  readonly apiTokens: readonly string[];
  /** Set when this start generated tokens: the file the operator should read them from. */
  readonly generatedFile?: string;
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
    try {
      stored = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ConfigError(
        file,
        `cannot be read (${(error as Error).message}); fix or delete it to generate new tokens`,
      );
    }
  }
  if (config.auth.ingestTokens.length === 0 && typeof stored.ingestToken !== 'string') {
    stored.ingestToken = newToken('ingest');
    generated = true;
  }
  if (config.auth.apiTokens.length === 0 && typeof stored.apiToken !== 'string') {
    stored.apiToken = newToken('api');
    generated = true;
  }
  if (generated) {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return {
    ingestTokens: config.auth.ingestTokens.length > 0 ? config.auth.ingestTokens : [stored.ingestToken as string],
    apiTokens: config.auth.apiTokens.length > 0 ? config.auth.apiTokens : [stored.apiToken as string],
    ...(generated ? { generatedFile: file } : {}),
  };
}
