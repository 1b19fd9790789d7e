/**
 * Robust running statistics that an attack does not drag along with it.
 *
 * `RobustStat` is an exponentially weighted centre and mean absolute deviation, fed with *winsorised* values:
 * once warmed up, a value further than `clipSigmas` deviations from the centre is clipped to that band before it
 * is learned. A burst of 10,000 requests then moves the baseline no more than a busy minute would, and the
 * detector additionally skips learning from buckets it flagged. The weight of a new value is 1/n for the first
 * `horizon` values (a plain mean) and 1/horizon after (the last ~horizon values count).
 *
 * `LogHistogram` keeps a distribution of non-negative values in ~10 % wide buckets (exact below 32), for peer
 * groups: "the 99.9th percentile of what customers read in ten minutes".
 */

/** `count`: event counts (Poisson floor on the spread); `level`: means such as latency (10 % floor, and an absolute one). */
export type StatKind = 'count' | 'level';

/** A statistic's view: values learned, centre, and mean absolute deviation around the centre. */
export interface RobustStat {
  readonly n: number;
  readonly center: number;
  readonly spread: number;
}

export const STAT_DEFAULTS = {
  /** Values after which the weight of a new one stops shrinking. */
  horizon: 120,
  /** Values learned before clipping starts (a band needs a spread to be meaningful). */
  warmup: 30,
  clipSigmas: 4,
} as const;

/** Numbers per statistic in a packed array: n, centre, spread. */
export const STAT_WIDTH = 3;

/**
 * Standard-deviation-like scale with a floor, so a perfectly regular series still has a tolerance: √centre for
 * counts, 10 % of the centre for levels, and never below `minSigma` (an absolute floor in the metric's unit; a
 * level whose centre is 0 would otherwise have no tolerance at all, and clip everything it learns to 0).
 */
export function sigmaOf(stat: RobustStat, kind: StatKind, minSigma = 0): number {
  const floor = kind === 'count' ? Math.sqrt(Math.max(stat.center, 1)) : 0.1 * Math.abs(stat.center);
  // For a normal distribution the standard deviation is 1.25 times the mean absolute deviation.
  return Math.max(1.25 * stat.spread, floor, minSigma);
}

/**
 * Learn one value into the statistic packed at `data[at..at+2]`. Statistics are packed into typed arrays
 * because an endpoint holds hundreds of them (metric x resolution x seasonal slot). A non-finite value, or one so
 * large that the statistic would overflow, is not learned: Infinity - Infinity is NaN, and a NaN centre would
 * never recover.
 */
export function learnPacked(data: Float64Array, at: number, value: number, kind: StatKind, minSigma = 0): void {
  if (!Number.isFinite(value)) return;
  const n = data[at]! + 1;
  if (n === 1) {
    data[at] = n;
    data[at + 1] = value;
    data[at + 2] = 0;
    return;
  }
  const center = data[at + 1]!;
  const spread = data[at + 2]!;
  let x = value;
  if (n > STAT_DEFAULTS.warmup) {
    const band = STAT_DEFAULTS.clipSigmas * sigmaOf({ n, center, spread }, kind, minSigma);
    x = Math.min(Math.max(x, center - band), center + band);
  }
  const weight = 1 / Math.min(n, STAT_DEFAULTS.horizon);
  const nextCenter = center + weight * (x - center);
  const nextSpread = spread + weight * (Math.abs(x - center) - spread);
  if (!Number.isFinite(nextCenter) || !Number.isFinite(nextSpread)) return;
  data[at] = n;
  data[at + 1] = nextCenter;
  data[at + 2] = nextSpread;
}

export function readPacked(data: Float64Array, at: number): RobustStat {
  return { n: data[at]!, center: data[at + 1]!, spread: data[at + 2]! };
}

/** The value above which an observation counts as unusual at `sigmas` standard deviations. */
export function upperBound(stat: RobustStat, kind: StatKind, sigmas: number, minSigma = 0): number {
  return stat.center + sigmas * sigmaOf(stat, kind, minSigma);
}

const EXACT_BELOW = 32;
const GROWTH = 1.1;
const LOG_GROWTH = Math.log(GROWTH);

function bucketOf(value: number): number {
  if (!(value > 0)) return 0;
  if (value < EXACT_BELOW) return Math.ceil(value);
  return EXACT_BELOW + Math.ceil(Math.log(value / EXACT_BELOW) / LOG_GROWTH - 1e-9);
}

function bucketUpper(index: number): number {
  if (index <= EXACT_BELOW) return index;
  return Math.round(EXACT_BELOW * GROWTH ** (index - EXACT_BELOW));
}

export class LogHistogram {
  counts: number[];
  total: number;

  constructor(
    /** Past this many values all counts are halved: old behaviour fades, and counts stay small. */
    readonly maxTotal = 100_000,
    counts: readonly number[] = [],
  ) {
    this.counts = [...counts];
    this.total = this.counts.reduce((a, b) => a + b, 0);
  }

  add(value: number): void {
    const i = bucketOf(value);
    while (this.counts.length <= i) this.counts.push(0);
    this.counts[i]!++;
    this.total++;
    if (this.total >= this.maxTotal) {
      this.total = 0;
      for (let j = 0; j < this.counts.length; j++) {
        this.counts[j] = Math.floor(this.counts[j]! / 2);
        this.total += this.counts[j]!;
      }
    }
  }

  /** Upper edge of the bucket holding the q-quantile (q in 0..1); 0 when empty. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const target = q * this.total;
    let cumulative = 0;
    for (let i = 0; i < this.counts.length; i++) {
      cumulative += this.counts[i]!;
      if (cumulative >= target) return bucketUpper(i);
    }
    return bucketUpper(this.counts.length - 1);
  }

  toJSON(): number[] {
    return [...this.counts];
  }
}
