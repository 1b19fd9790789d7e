/**
 * Every event the SDK gives up on is counted by reason, shown by `vigil.stats()`, and reported to the collector as
 * `sdk_drops` events once delivery works again ("nothing lost silently").
 */

/** Why an event was not delivered. Stable strings: they are the values of `vigil.drop.reason`. */
export type DropReason =
  | 'queue_full'
  | 'rejected'
  | 'auth'
  | 'too_large'
  | 'retries_exhausted'
  | 'shutdown'
  | 'internal';

export const DROP_REASONS: readonly DropReason[] = [
  'queue_full',
  'rejected',
  'auth',
  'too_large',
  'retries_exhausted',
  'shutdown',
  'internal',
];

export type DropCounts = Record<DropReason, number>;

export function zeroDrops(): DropCounts {
  return { queue_full: 0, rejected: 0, auth: 0, too_large: 0, retries_exhausted: 0, shutdown: 0, internal: 0 };
}

export class DropCounter {
  /** Since the client was created. */
  readonly total: DropCounts = zeroDrops();
  /** Since the last `sdk_drops` report. */
  private pending: DropCounts = zeroDrops();

  add(reason: DropReason, count = 1): void {
    if (count <= 0) return;
    this.total[reason] += count;
    this.pending[reason] += count;
  }

  /** The counts not yet reported, as (reason, count) pairs, and forget them. */
  takePending(): Array<[DropReason, number]> {
    const out = DROP_REASONS.filter((r) => this.pending[r] > 0).map((r): [DropReason, number] => [r, this.pending[r]]);
    this.pending = zeroDrops();
    return out;
  }

  /** Counts taken for a report that could not be delivered: reported again with the next one (not counted twice). */
  restorePending(counts: ReadonlyArray<readonly [DropReason, number]>): void {
    for (const [reason, count] of counts) this.pending[reason] += count;
  }

  hasPending(): boolean {
    return DROP_REASONS.some((r) => this.pending[r] > 0);
  }
}
