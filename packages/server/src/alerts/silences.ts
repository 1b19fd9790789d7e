/**
 * Silences, as in Alertmanager: matchers, a time range, who created it and why. While a silence is active, alerts
 * whose labels it matches are not notified (they are still raised, stored and listed). Silences are stored, so a
 * restart keeps them; expiring one early is recorded, not deleted. Retention (`storage.alertRetentionDays`) deletes
 * the ones that ended before its window.
 */
import { randomUUID } from 'node:crypto';
import { SEVERITIES } from '@vigil/engine';
import { neutralise, parseTime } from '@vigil/schema';
import { VigilError } from '../errors.js';
import type { Alert } from './alert.js';
import { allMatch, type Matcher, parseMatcher } from './matchers.js';
import { routingLabels } from './routing.js';

export interface Silence {
  readonly id: string;
  readonly matchers: readonly string[];
  /** Moved to the expiry time when a silence that had not started is expired. */
  startsAt: number;
  endsAt: number;
  readonly createdBy: string;
  readonly comment: string;
  readonly createdAt: number;
  /** Who expired it early, if anyone. */
  expiredBy?: string;
}

export interface SilenceJson {
  id: string;
  matchers: string[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  createdAt: string;
  expiredBy?: string;
  state: 'pending' | 'active' | 'expired';
}

export interface SilenceStore {
  saveSilence(silence: Silence): Promise<void>;
  listSilences(): Promise<Silence[]>;
}

const MAX_SILENCE_MILLIS = 365 * 86_400_000;

export class Silences {
  private readonly byId = new Map<string, { silence: Silence; matchers: Matcher[] }>();

  constructor(
    private readonly store: SilenceStore,
    private readonly now: () => number = Date.now,
  ) {}

  async load(): Promise<void> {
    for (const s of await this.store.listSilences())
      this.byId.set(s.id, { silence: s, matchers: s.matchers.map(parseMatcher) });
  }

  /** Create a silence from an API body: `{matchers, endsAt | durationMillis, startsAt?, createdBy, comment}`. */
  async create(body: unknown): Promise<SilenceJson> {
    const b = (body ?? {}) as Record<string, unknown>;
    const fail = (message: string): never => {
      throw new VigilError('invalid_body', message);
    };
    if (!Array.isArray(b.matchers) || b.matchers.length === 0 || !b.matchers.every((m) => typeof m === 'string')) {
      fail(
        '"matchers" is required: a list such as ["rule=\\"vigil-authn-brute-force\\"", "client.address=\\"203.0.113.7\\""]',
      );
    }
    const matcherTexts = b.matchers as string[];
    let matchers: Matcher[] = [];
    try {
      matchers = matcherTexts.map(parseMatcher);
    } catch (error) {
      fail(`matchers: ${(error as Error).message}`);
    }
    if (matchesEverything(matchers)) fail('the matchers would match every alert; name at least one label value');
    const now = this.now();
    // RFC 3339 with its offset, or epoch milliseconds, as everywhere in the API: a time without an offset would be
    // read in the server's own time zone.
    const timeOf = (value: unknown, name: string): number =>
      (typeof value === 'number' || typeof value === 'string' ? parseTime(value) : undefined) ??
      fail(`"${name}" must be an RFC 3339 time with its offset (2026-12-01T09:00:00+01:00) or epoch milliseconds`);
    const startsAt = b.startsAt === undefined ? now : timeOf(b.startsAt, 'startsAt');
    let endsAt: number;
    if (b.endsAt !== undefined) endsAt = timeOf(b.endsAt, 'endsAt');
    else if (typeof b.durationMillis === 'number') endsAt = startsAt + b.durationMillis;
    else endsAt = fail('give "endsAt" (RFC 3339) or "durationMillis"');
    if (Number.isNaN(endsAt) || endsAt <= startsAt) fail('"endsAt" must be a time after "startsAt"');
    if (endsAt - startsAt > MAX_SILENCE_MILLIS) fail('a silence lasts at most a year');
    if (typeof b.createdBy !== 'string' || b.createdBy.trim() === '' || b.createdBy.length > 128) {
      fail('"createdBy" is required: who creates the silence');
    }
    if (typeof b.comment !== 'string' || b.comment.trim() === '' || b.comment.length > 2000) {
      fail('"comment" is required: why the alerts are silenced');
    }
    const silence: Silence = {
      id: randomUUID(),
      matchers: matchers.map((m) => m.toString()),
      startsAt,
      endsAt,
      createdBy: neutralise((b.createdBy as string).trim()),
      comment: neutralise(b.comment as string),
      createdAt: now,
    };
    await this.store.saveSilence(silence);
    this.byId.set(silence.id, { silence, matchers });
    return this.toJson(silence);
  }

  /** End a silence now. */
  async expire(id: string, by: string): Promise<SilenceJson> {
    const entry = this.byId.get(id);
    if (!entry) throw new VigilError('not_found', `no silence with id ${JSON.stringify(id)}`);
    const now = this.now();
    if (entry.silence.endsAt > now) {
      // One that had not started yet ends before it starts (listed as expired, not pending), as in Alertmanager.
      const ended: Silence = {
        ...entry.silence,
        startsAt: Math.min(entry.silence.startsAt, now),
        endsAt: now,
        expiredBy: by,
      };
      // In force until the store has the end: a failed write answers an error, and the silence still mutes.
      await this.store.saveSilence(ended);
      entry.silence = ended;
    }
    return this.toJson(entry.silence);
  }

  /** Drop the silences that ended before `cutoff`: retention deleted them from the store. */
  forgetEndedBefore(cutoff: number): void {
    for (const [id, { silence }] of this.byId) if (silence.endsAt < cutoff) this.byId.delete(id);
  }

  list(state?: SilenceJson['state']): SilenceJson[] {
    return [...this.byId.values()]
      .map((e) => this.toJson(e.silence))
      .filter((s) => !state || s.state === state)
      .sort((a, b) => (a.startsAt < b.startsAt ? 1 : -1));
  }

  /** The active silence that mutes this alert, if any. */
  silencing(alert: Alert): Silence | undefined {
    const now = this.now();
    const labels = routingLabels(alert);
    for (const { silence, matchers } of this.byId.values()) {
      if (silence.startsAt <= now && now < silence.endsAt && allMatch(matchers, labels)) return silence;
    }
    return undefined;
  }

  private toJson(s: Silence): SilenceJson {
    const now = this.now();
    return {
      id: s.id,
      matchers: [...s.matchers],
      startsAt: new Date(s.startsAt).toISOString(),
      endsAt: new Date(s.endsAt).toISOString(),
      createdBy: s.createdBy,
      comment: s.comment,
      createdAt: new Date(s.createdAt).toISOString(),
      ...(s.expiredBy ? { expiredBy: s.expiredBy } : {}),
      state: now < s.startsAt ? 'pending' : now < s.endsAt ? 'active' : 'expired',
    };
  }
}

/**
 * Whether the matchers would silence every alert: they match an alert without the labels they name (`x!="a"`), one
 * whose labels hold any value (`rule=~".+"`), or every severity (`severity=~"low|medium|high|critical|info"`).
 */
function matchesEverything(matchers: readonly Matcher[]): boolean {
  if (allMatch(matchers, {})) return true;
  const anyValue = Object.fromEntries(matchers.map((m) => [m.name, '\u0000any value\u0000']));
  if (allMatch(matchers, anyValue)) return true;
  return SEVERITIES.every((severity) => allMatch(matchers, { ...anyValue, severity }));
}
