/**
 * The enrichment and redaction stages every source goes through, in order: the client address first (later
 * stages key on it; trusted proxies are resolved there), geo and ASN of that address, then the user agent, the path
 * in one spelling, the route template, payload detection, and redaction last, so nothing an earlier stage copied out
 * of a raw value escapes it.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { VigilConfig } from '../config.js';
import { createClientAddressStage } from '../enrich/client-address.js';
import { createGeoStage } from '../enrich/geo.js';
import { createPayloadStage } from '../enrich/payload.js';
import { createRedactionStage } from '../enrich/redact.js';
import { createRouteTemplateStage } from '../enrich/route-template.js';
import type { EnrichmentStage } from '../enrich/stage.js';
import { createUrlPathStage } from '../enrich/url-path.js';
import { createUserAgentStage } from '../enrich/user-agent.js';
import { ConfigError } from '../errors.js';

/** The configured OpenAPI document, parsed (undefined when none is configured). */
export function loadOpenApi(file: string | undefined): unknown {
  if (!file) return undefined;
  try {
    return parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError('enrich.openapi', `cannot read ${file}: ${(error as Error).message}`);
  }
}

export function createStages(config: VigilConfig): EnrichmentStage[] {
  const openapi = loadOpenApi(config.enrich.openapi);
  return [
    createClientAddressStage({ trustedProxies: config.enrich.trustedProxies }),
    ...(config.enrich.geo.enabled ? [createGeoStage({ mmdbFiles: config.enrich.geo.mmdb })] : []),
    createUserAgentStage(),
    // Before route templates, rules and redaction: each sees a path in one spelling.
    createUrlPathStage(),
    createRouteTemplateStage(openapi === undefined ? {} : { openapi }),
    // Before redaction: an injection hidden in a field that is then redacted must still be seen.
    createPayloadStage(),
    createRedactionStage({ keys: config.enrich.redactKeys }),
  ];
}
