/**
 * Peer groups: principals that share a role, a tenant or a configured label. A group keeps, per metric (requests
 * per endpoint, distinct objects per type, bytes, client errors), the distribution of its members' windows, so
 * a new user is compared with people like them and an outlier within a group stands out. It also keeps which
 * endpoints the group uses successfully, and by how many of its members (function-level novelty); and, for an
 * endpoint the group does not know yet, which members used it successfully although that was reported, so that
 * a function deployed after the learning day becomes known once a few members use it.
 */
import { Field, type FieldValue } from '@vigil/schema';
import { BoundedMap } from './bounded-map.js';
import type { PrincipalRef } from './principal.js';
import { LogHistogram } from './robust.js';

/** The group of a principal: the configured fields' values, or its kind when it has none of them. */
export function peerGroupOf(
  attributes: Readonly<Record<string, FieldValue>>,
  principal: PrincipalRef,
  fields: readonly string[],
): string {
  const parts: string[] = [];
  for (const field of fields) {
    const v = attributes[field];
    if (v === undefined || v === '') continue;
    const value = Array.isArray(v) ? [...v].sort().join('+') : String(v);
    if (value !== '') parts.push(`${field}=${value}`);
  }
  if (parts.length > 0) return parts.join(',');
  if (principal.kind === 'address') return 'anonymous';
  if (principal.kind === 'api_key') return `${Field.apiKeyId}=*`;
  return `${Field.userId}=*`;
}

export class PeerGroup {
  /** Principals whose profile was created in this group. */
  members = 0;
  /** Endpoint key → members that used it successfully (the group's known functions). */
  readonly endpoints: BoundedMap<string, number>;
  /**
   * Endpoint key, not yet known → principal keys of the members whose successful use of it was reported as novel
   * (at most `knownAfter` of them: at that number the endpoint becomes known).
   */
  readonly candidates: BoundedMap<string, string[]>;
  /** Metric key (`rate:GET /x`, `objects:invoice`, `bytes`, `errors`, `requests`) → distribution of windows. */
  readonly metrics: BoundedMap<string, LogHistogram>;

  constructor(
    readonly key: string,
    public firstSeen: number,
    maxMetrics: number,
  ) {
    this.endpoints = new BoundedMap(maxMetrics);
    this.candidates = new BoundedMap(maxMetrics);
    this.metrics = new BoundedMap(maxMetrics);
  }

  /**
   * A member used an endpoint the group does not know successfully, and it was reported. Once `knownAfter` distinct
   * members did, the endpoint is known to the group (used by that many members).
   */
  noteNovelUse(endpoint: string, member: string, knownAfter: number): void {
    const members = this.candidates.get(endpoint) ?? [];
    if (!members.includes(member)) members.push(member);
    if (members.length >= knownAfter) {
      this.candidates.delete(endpoint);
      this.endpoints.set(endpoint, members.length);
    } else {
      this.candidates.set(endpoint, members);
    }
  }

  learn(metric: string, value: number): void {
    let h = this.metrics.get(metric);
    if (!h) {
      h = new LogHistogram();
      this.metrics.set(metric, h);
    }
    h.add(value);
  }

  /** The group's "at most" for a metric, or undefined while it has fewer than `minSamples` windows. */
  atMost(metric: string, quantile: number, minSamples: number): number | undefined {
    const h = this.metrics.peek(metric);
    return h && h.total >= minSamples ? h.quantile(quantile) : undefined;
  }

  toJSON(): PeerGroupSnapshot {
    return {
      key: this.key,
      firstSeen: this.firstSeen,
      members: this.members,
      endpoints: [...this.endpoints.entries()],
      candidates: [...this.candidates.entries()],
      metrics: [...this.metrics.entries()].map(([k, h]) => [k, h.toJSON()] as [string, number[]]),
      evictions: [this.endpoints.evictions, this.metrics.evictions],
    };
  }

  static fromJSON(s: PeerGroupSnapshot, maxMetrics: number): PeerGroup {
    const g = new PeerGroup(s.key, s.firstSeen, maxMetrics);
    g.members = s.members;
    for (const [k, v] of s.endpoints) g.endpoints.set(k, v);
    for (const [k, members] of s.candidates ?? []) g.candidates.set(k, [...members]);
    for (const [k, counts] of s.metrics) g.metrics.set(k, new LogHistogram(undefined, counts));
    g.endpoints.evictions = s.evictions[0];
    g.metrics.evictions = s.evictions[1];
    return g;
  }
}

export interface PeerGroupSnapshot {
  key: string;
  firstSeen: number;
  members: number;
  endpoints: [string, number][];
  /** Absent in snapshots from before endpoints deployed after the learning day could become known. */
  candidates?: [string, string[]][];
  metrics: [string, number[]][];
  evictions: [number, number];
}
