/**
 * Routing changed at run time through the API, validated and versioned. Version 0 is the configuration file's
 * routing; each accepted change is stored as a new version with who, when and why, and takes effect at once. A
 * change names the version it was made against (`baseVersion`), so two people editing at once cannot silently
 * overwrite each other. The latest stored version survives restarts; `DELETE` returns to the file's routing.
 */
import { parseRouting, type RoutingSource } from '../config.js';
import { ConfigError, VigilError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Actor } from './manager.js';
import type { InhibitRule, RouteConfig } from './routing.js';

export interface RoutingVersion {
  readonly version: number;
  readonly source: RoutingSource;
  /** `file` for the configuration file's routing, `api` for a change made through the API. */
  readonly origin: 'file' | 'api';
  readonly actor?: string;
  readonly tokenId?: string;
  readonly comment?: string;
  readonly createdAt: number;
}

export interface RoutingVersionStore {
  saveRoutingVersion(version: Omit<RoutingVersion, 'version'>): Promise<number>;
  routingVersions(): Promise<RoutingVersion[]>;
}

export interface ActiveRouting {
  readonly route: RouteConfig;
  readonly inhibitRules: readonly InhibitRule[];
}

export class RoutingVersions {
  private active: RoutingVersion;
  /** Version 0: the file's routing, dated when this server took it up (it is not stored, so it has no other date). */
  private readonly fileVersion: RoutingVersion;

  constructor(
    private readonly store: RoutingVersionStore,
    private readonly receivers: ReadonlySet<string>,
    private readonly file: RoutingSource,
    private readonly apply: (routing: ActiveRouting) => void,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.fileVersion = { version: 0, source: file, origin: 'file', createdAt: now() };
    this.active = this.fileVersion;
  }

  /** Take up the latest stored version; a stored routing that no longer validates falls back to the file's. */
  async load(): Promise<void> {
    const versions = await this.store.routingVersions();
    const latest = versions[versions.length - 1];
    if (!latest) return;
    // Back to the file's routing (a reset) is a version of its own: the next change is made against its number.
    // The file's routing is what applies, as it is now (the file may have changed since the reset).
    if (latest.origin === 'file') {
      this.active = { ...latest, source: this.file };
      return;
    }
    try {
      this.apply(parseRouting(latest.source, this.receivers, 'routing'));
      this.active = latest;
    } catch (error) {
      this.log.error('stored routing no longer matches the configured receivers; using the file routing', {
        version: latest.version,
        error: (error as Error).message,
      });
    }
  }

  current(): RoutingVersion {
    return this.active;
  }

  async history(): Promise<RoutingVersion[]> {
    return [this.fileVersion, ...(await this.store.routingVersions())];
  }

  /** Validate and apply a new routing made against `baseVersion`. */
  async update(body: unknown, actor: Actor): Promise<RoutingVersion> {
    const b = (body ?? {}) as { route?: unknown; inhibitRules?: unknown; baseVersion?: unknown };
    if (b.baseVersion !== this.active.version) {
      throw new VigilError(
        'conflict',
        `the routing is at version ${this.active.version}; send "baseVersion": ${this.active.version} after reviewing it`,
      );
    }
    const source: RoutingSource = {
      ...(b.route !== undefined ? { route: b.route } : {}),
      ...(b.inhibitRules !== undefined ? { inhibitRules: b.inhibitRules as unknown[] } : {}),
    };
    let parsed: ActiveRouting;
    try {
      parsed = parseRouting(source, this.receivers, 'routing');
    } catch (error) {
      if (error instanceof ConfigError) throw new VigilError('invalid_body', error.message);
      throw error;
    }
    return this.commit(source, 'api', actor, parsed);
  }

  /** Go back to the configuration file's routing (recorded as a new version). */
  async reset(actor: Actor): Promise<RoutingVersion> {
    return this.commit(this.file, 'file', actor, parseRouting(this.file, this.receivers, 'alerting'));
  }

  private async commit(source: RoutingSource, origin: 'file' | 'api', actor: Actor, parsed: ActiveRouting) {
    const entry = {
      source,
      origin,
      actor: actor.name,
      tokenId: actor.tokenId,
      ...(actor.comment ? { comment: actor.comment } : {}),
      createdAt: this.now(),
    };
    const version = await this.store.saveRoutingVersion(entry);
    this.apply(parsed);
    this.active = { ...entry, version };
    this.log.info('routing changed', { version, origin, actor: actor.name });
    return this.active;
  }
}

export function routingVersionToJson(v: RoutingVersion) {
  return { ...v, createdAt: new Date(v.createdAt).toISOString() };
}
