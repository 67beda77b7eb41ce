/**
 * The reason an order adopted from a venue listing without a creation time is journaled with
 * (engine/reconcile.ts, adoptOrder). Its createdTs is the host's time of the listing, not when the
 * venue took it: the marker says so, and survives a restart with the order, so reconciliation asks
 * the venue about it as an order of unknown creation time (createdTs 0) at every start, as it did
 * when it adopted it, instead of from that host time (docs/journal.md, "Reconciliation").
 *
 * An adapter whose listing has a time of its own making (exchange-ccxt: the time of the read) sets
 * this reason on the listed order; a listing without any time (undefined, NaN, 0) is marked by
 * adoptOrder itself.
 */
export const LISTED_WITHOUT_TIME = 'venue listing without a creation time';

/** Whether an order was adopted from (or is) a venue listing without a creation time. */
export const listedWithoutTime = (o: { readonly reason?: unknown }): boolean => o.reason === LISTED_WITHOUT_TIME;
