/**
 * Distinct counting in bounded memory: a K-minimum-values sketch over a 32-bit hash. Exact (up to hash
 * collisions) while fewer than `k` values were seen, an estimate with a relative error of about 1/sqrt(k) after.
 * Deterministic: the hash has no seed, so a replay gives the same estimates.
 */

/** FNV-1a over UTF-16 code units, then the murmur3 finaliser so that the low and high bits mix well. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class DistinctSketch {
  /** The k smallest hashes seen, ascending. */
  private readonly mins: number[];

  constructor(
    readonly k = 64,
    mins: readonly number[] = [],
  ) {
    this.mins = [...mins];
  }

  add(value: string): void {
    this.addHash(hash32(value));
  }

  addHash(h: number): void {
    const mins = this.mins;
    if (mins.length === this.k && h >= mins[mins.length - 1]!) return;
    let lo = 0;
    let hi = mins.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (mins[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    if (mins[lo] === h) return;
    mins.splice(lo, 0, h);
    if (mins.length > this.k) mins.pop();
  }

  merge(other: DistinctSketch): void {
    for (const h of other.mins) this.addHash(h);
  }

  /** Distinct values in the union of several sketches, without building the union sketch. */
  static unionEstimate(sketches: readonly (DistinctSketch | null)[], k: number): number {
    const all: number[] = [];
    for (const s of sketches) if (s) for (const h of s.mins) all.push(h);
    if (all.length === 0) return 0;
    all.sort((a, b) => a - b);
    let distinct = 0;
    let kth = 0;
    for (let i = 0; i < all.length && distinct < k; i++) {
      if (i === 0 || all[i] !== all[i - 1]) {
        distinct++;
        kth = all[i]!;
      }
    }
    if (distinct < k) return distinct;
    return Math.round(((k - 1) * 4_294_967_296) / (kth + 1));
  }

  estimate(): number {
    const mins = this.mins;
    if (mins.length < this.k) return mins.length;
    return Math.round(((this.k - 1) * 4_294_967_296) / (mins[this.k - 1]! + 1));
  }

  toJSON(): number[] {
    return [...this.mins];
  }
}
