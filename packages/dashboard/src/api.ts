/**
 * The Vigil API as the dashboard calls it: same origin, the session cookie, and the header that marks the dashboard's
 * own requests (the server refuses a cookie-authenticated change without it: cross-site request forgery).
 */

/** An answer other than 2xx, with the API's stable code and its message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { 'x-vigil-request': '1', accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError(0, 'unreachable', 'the Vigil server cannot be reached: is it running?');
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    throw new ApiError(
      response.status,
      typeof error?.code === 'string' ? error.code : 'http_error',
      typeof error?.message === 'string' ? error.message : `the server answered ${response.status}`,
    );
  }
  return parsed as T;
}

export const api = {
  get: <T>(path: string) => request<T>('GET', path),
  post: <T>(path: string, body: unknown) => request<T>('POST', path, body),
  delete: <T>(path: string, body?: unknown) => request<T>('DELETE', path, body),
};

/** A path with query parameters, the empty ones left out. */
export function withQuery(path: string, params: Readonly<Record<string, string | undefined>>): string {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') query.set(k, v);
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

export interface AlertJson {
  readonly id: string;
  readonly fingerprint: string;
  readonly status: 'firing' | 'acknowledged' | 'resolved';
  readonly rule: { readonly id: string; readonly title: string };
  readonly severity: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly tags: readonly string[];
  readonly startsAt: string;
  readonly lastSeenAt: string;
  readonly endsAt?: string;
  readonly eventCount: number;
  readonly summary: string;
  readonly evidence: readonly string[];
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastNotifiedAt?: string;
}

export interface AlertAction {
  readonly action: string;
  readonly actor: string;
  readonly tokenId: string;
  readonly comment?: string;
  readonly at: string;
}

/** An event in the API's canonical form: flat dotted field names. */
export type EventJson = Readonly<Record<string, unknown>> & { readonly id: string; readonly time: string };

/** A decision of the response stage (docs/response.md). */
export interface DecisionJson {
  readonly id: string;
  readonly action: 'flag' | 'throttle' | 'block';
  readonly scope: 'ip' | 'prefix' | 'user' | 'api_key';
  readonly value: string;
  readonly status: 'active' | 'expired' | 'revoked';
  /** The step on the ladder: 0 for a first offence. */
  readonly level: number;
  readonly reason: {
    readonly ruleId: string;
    readonly alertId: string;
    readonly responseRule: number;
    readonly summary: string;
  };
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly ratePerMinute?: number;
  readonly revokedAt?: string;
  readonly revokedBy?: string;
  readonly revokeComment?: string;
}

/** A silence (docs/alerting.md). */
export interface SilenceJson {
  readonly id: string;
  readonly matchers: readonly string[];
  readonly startsAt: string;
  readonly endsAt: string;
  readonly createdBy: string;
  readonly comment: string;
  readonly createdAt: string;
  readonly expiredBy?: string;
  readonly state: 'pending' | 'active' | 'expired';
}

/** A GraphQL operation learned apart from its route (docs/baselines.md): its type and root fields, or its name. */
export interface OperationJson {
  readonly type: string;
  readonly fields?: readonly string[];
  readonly name?: string;
}

/** An endpoint of `GET /api/v1/inventory`, against the imported OpenAPI document (docs/api.md). */
export interface InventoryItemJson {
  readonly route: string;
  readonly method: string;
  readonly operation?: OperationJson;
  readonly status: 'documented' | 'shadow' | 'zombie' | 'unused' | 'undocumented-spec-missing';
  readonly documentedAs?: string;
  readonly deprecated: boolean;
  readonly new: boolean;
  readonly requests: number;
  readonly firstSeen?: string;
  readonly lastSeen?: string;
  readonly authenticatedShare?: number;
  readonly recent?: { readonly requests: number; readonly errors4xx: number; readonly errors5xx: number };
}

/** One seasonal slot of a learned metric: any time (`hour` null), an hour of day, or an hour of weekdays / weekends. */
export interface SlotJson {
  readonly hour: number | null;
  readonly weekend: boolean | null;
  readonly samples: number;
  readonly center: number;
  readonly spread: number;
  /** The deviation limit: centre + 6 deviations (the detectors also need 2 × centre and their minimum count). */
  readonly upper: number;
}

/** A one-minute bucket of an endpoint's recent traffic. */
export interface BucketJson {
  readonly start: number;
  readonly requests: number;
  readonly errors4xx: number;
  readonly errors5xx: number;
  readonly callers: number;
  readonly latencyMeanSeconds: number | null;
  readonly bytesMean: number | null;
}

/** `GET /api/v1/baselines/endpoint`: an endpoint's learned slots and recent buckets; times in epoch milliseconds. */
export interface EndpointBaselineJson {
  readonly route: string;
  readonly method: string;
  readonly operation?: OperationJson;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly requests: number;
  readonly authenticatedShare: number;
  readonly bucketMillis: number;
  readonly windowMillis: number;
  readonly recentBuckets: readonly BucketJson[];
  /** Per metric (`requests`, `errors4xx`, `errors5xx`, `callers`): one bucket. */
  readonly bucket: Readonly<Record<string, readonly SlotJson[]>>;
  /** Per metric (the above, `latency` in seconds and `bytes` per response): the sliding window. */
  readonly window: Readonly<Record<string, readonly SlotJson[]>>;
}

/** `GET /api/v1/baselines/principal`: what the behaviour detectors keep of a user, API key or client address. */
export interface ProfileJson {
  readonly principal: { readonly kind: string; readonly field: string; readonly value: string };
  readonly peerGroup: string;
  readonly peerGroupMembers: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly events: number;
  readonly windowsLearned: number;
  readonly learned: boolean;
  readonly countries: readonly string[];
  readonly asns: readonly string[];
  readonly devices: readonly string[];
  readonly activeHours: readonly number[];
  /** 0 is Sunday. */
  readonly activeWeekdays: readonly number[];
  readonly windowMillis: number;
  readonly usual: {
    readonly requests: number;
    readonly bytes: number;
    readonly clientErrors: number;
    readonly endpoints: readonly { endpoint: string; maxPerWindow: number; peerAtMost: number | null }[];
    readonly objects: readonly { type: string; maxPerWindow: number; peerAtMost: number | null }[];
  };
  readonly peerAtMost: {
    readonly requests: number | null;
    readonly bytes: number | null;
    readonly clientErrors: number | null;
  };
  readonly currentWindow: {
    readonly start: number;
    readonly requests: number;
    readonly bytes: number;
    readonly clientErrors: number;
    readonly objects: Readonly<Record<string, number>>;
  } | null;
}

/**
 * The error of an action, its message saying which action failed. It stays an ApiError with its status, so a 401
 * (the session ended meanwhile) still leads back to sign-in.
 */
export function actionFailed(what: string, error: unknown): unknown {
  return error instanceof ApiError ? new ApiError(error.status, error.code, `${what} failed: ${error.message}`) : error;
}
