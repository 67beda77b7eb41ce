import { SeqVerdict, type SequenceRules } from '@cwts/core/adapter-kit';

/**
 * Bybit v5 orderbook rules: every book frame carries one update id `u`, one more than the
 * previous frame's on the same topic (firstSeq === seq === u). Snapshots arrive in-band, after
 * the deltas they supersede, so a snapshot is never "too old" for what was buffered before it:
 * those deltas are dropped (u <= snapshot u) or, after a service restart (snapshot u = 1), seen
 * as a gap, which resyncs once more instead of looping on a stale buffer.
 */
export const BYBIT_BOOK_RULES: SequenceRules = {
  name: 'bybit-v5',
  first(first, u, snap) {
    if (u <= snap) return SeqVerdict.DROP;
    return first <= snap + 1 ? SeqVerdict.APPLY : SeqVerdict.GAP;
  },
  next(first, u, last) {
    if (u <= last) return SeqVerdict.DROP;
    return first === last + 1 ? SeqVerdict.APPLY : SeqVerdict.GAP;
  },
  snapshotTooOld: () => false,
};
