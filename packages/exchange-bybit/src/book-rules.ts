import { SeqVerdict, type SequenceRules } from '@cwts/core/adapter-kit';

/**
 * Bybit v5 orderbook rules: every book frame carries one update id `u`, one more than the
 * previous frame's on the same topic (firstSeq === seq === u). Snapshots arrive in-band, after
 * the deltas they supersede (BookSync in 'venue' mode drops what it buffered before one, a
 * snapshot after a service restart with u = 1 included), so a snapshot is never "too old".
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
