/**
 * An order first seen with some quantity already filled (listed at start, adopted by
 * reconciliation) has that quantity in its total: its trades from then must never be reported
 * again. Which trades those are is known only from the order's own trade list, and venues list
 * an order's trades oldest first, so they are its earliest ones adding up to what had filled.
 *
 * Walked from the first trade at every read, whatever another path marked meanwhile: a lagging
 * list lacks the newest trades, so those it had then still come first, and what a short list
 * leaves is claimed at the next read. The walk stops at a trade that is not a fill (`lotsOf`
 * answers undefined) or one past what is left (the venue's count and its trades disagree): what
 * follows is booked as new, since a trade wrongly dropped loses a fill for ever while one wrongly
 * reported is found by reconciliation.
 *
 * @param trades the order's trades, oldest first
 * @param priorLots the lots it had filled when first seen (positive)
 * @param lotsOf a trade's quantity in lots, or undefined when it is not a fill of this order
 * @param claim marks a trade as booked (idempotent: called again for it at every read)
 * @returns true once trades adding up to priorLots are all claimed (the caller stops claiming)
 */
export function claimPriorTrades<T>(trades: readonly T[], priorLots: number, lotsOf: (trade: T) => number | undefined, claim: (trade: T) => void): boolean {
  let claimed = 0;
  for (const t of trades) {
    const lots = lotsOf(t);
    if (lots === undefined || !(lots > 0) || claimed + lots > priorLots) return false;
    claim(t);
    claimed += lots;
    if (claimed === priorLots) return true;
  }
  return false;
}
