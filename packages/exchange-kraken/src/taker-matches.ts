/**
 * Taker matches as versions before single fills (consolidate_taker=false) journaled them (see
 * "Upgrading" in docs/exchanges/kraken.md).
 *
 * Kraken lists an order's trades two ways. With `consolidate_taker=false` (what this driver
 * asks, and what the `executions` stream pushes) every fill has its own id. By default
 * (`consolidate_taker=true`, what earlier versions asked in QueryOrders, ClosedOrders and
 * TradesHistory) the fills of one taker match against several resting orders are one trade,
 * under one id, with the volumes summed. A journal written then may hold that one id for the
 * whole match; asked now, the same match comes back as several ids, and every one but the
 * consolidated id looked new: booked a second time.
 *
 * So a taker match Kraken timed before this driver started is reported as one trade, under the
 * id the consolidated view gives it; later matches (whose fills this version journals one by
 * one) as single fills. The fills of one match share Kraken's `time` (one matching event), which
 * is how they are grouped here first.
 */

/** What grouping needs of a trade (QueryTrades / TradesHistory entry). */
export interface MatchTrade {
  time: number;
  maker?: boolean;
}

/** One taker match: the id the consolidated view lists it under, and its single fills. */
export interface TakerMatch<T extends MatchTrade> {
  id: string;
  /** Kraken's `time` of the match (seconds), shared by its fills. */
  time: number;
  members: [string, T][];
}

/** A trade's time in epoch ms (Kraken writes seconds with decimals). */
export const tradeMs = (t: MatchTrade): number => Math.round(Number(t.time) * 1000);

/** A fill Kraken did not mark as a maker's (the fills of a taker match are takers'). */
const taker = (t: MatchTrade): boolean => t.maker !== true;

/**
 * Whether an order's single fills may hold a taker match timed before `beforeMs`: two or more
 * taker fills before it. Only then is the consolidated view asked for.
 */
export function hasTakerMatchBefore<T extends MatchTrade>(singles: readonly (readonly [string, T])[], beforeMs: number): boolean {
  let takers = 0;
  for (const [, t] of singles) if (tradeMs(t) < beforeMs && taker(t) && ++takers >= 2) return true;
  return false;
}

/**
 * The taker matches timed before `beforeMs` among one order's single fills (`singles`: those
 * read, with their trade details), given every single fill id of the order (`singleIds`) and
 * every id the consolidated view lists for it (`consolidatedIds`). A taker fill the consolidated
 * view does not list under its own id is part of a match. The match is named by the taker fill
 * at the same time that the view does list (a consolidated trade under its first fill's id; the
 * fills of one match share its time); fills left without one (their times differ) by
 * the one listed taker fill not naming another match and no later than they are. Where the view
 * names them by an id that is no single fill of the order (Kraken's docs do not say which id a
 * consolidated trade takes), they stay single fills: this version journaled them one by one, and
 * reported under that id the match looked new to that journal at every restart (booked twice).
 * A journal an earlier version wrote under such an id is then the one not recognised: the
 * upgrade note in docs/exchanges/kraken.md. Throws (a read that is not used) when no one id
 * names them in another way: the match could not be reported as a journal may hold it.
 */
export function takerMatchesOf<T extends MatchTrade>(
  singles: readonly [string, T][],
  singleIds: readonly string[],
  consolidatedIds: readonly string[],
  beforeMs: number,
): TakerMatch<T>[] {
  const listed = new Set(consolidatedIds);
  const own = new Set(singleIds);
  for (const [id] of singles) own.add(id);
  const idsOfNoFill = consolidatedIds.filter((id) => !own.has(id));
  const early = singles.filter(([, t]) => tradeMs(t) < beforeMs);
  const anchors = early.filter(([id, t]) => listed.has(id) && taker(t));
  const covered = new Map<number, [string, T][]>();
  for (const e of early) {
    if (listed.has(e[0])) continue;
    if (!taker(e[1])) throw new Error(`its maker fill ${e[0]} is not listed by Kraken's consolidated view`);
    const time = Number(e[1].time);
    const at = covered.get(time);
    if (at) at.push(e);
    else covered.set(time, [e]);
  }
  const out: TakerMatch<T>[] = [];
  const left: [string, T][] = [];
  const named = new Set<string>();
  for (const [time, rest] of covered) {
    const at = anchors.filter(([, t]) => Number(t.time) === time);
    if (at.length === 1) {
      out.push({ id: at[0]![0], time, members: [at[0]!, ...rest] });
      named.add(at[0]![0]);
    } else if (at.length === 0) left.push(...rest);
    else throw new Error(`its fills ${rest.map(([id]) => id).join(', ')} at ${time} are consolidated under no one trade id Kraken lists (${at.length} taker fills listed at that time)`);
  }
  if (left.length > 0) {
    const first = Math.min(...left.map(([, t]) => Number(t.time)));
    const spare = anchors.filter(([id, t]) => !named.has(id) && Number(t.time) <= first);
    if (spare.length === 1 && idsOfNoFill.length === 0) out.push({ id: spare[0]![0], time: Number(spare[0]![1].time), members: [spare[0]!, ...left] });
    else if (spare.length === 0 && idsOfNoFill.length === 1 && out.length === 0) {
      // named by an id of no fill: left as single fills (see above)
    } else {
      throw new Error(`its fills ${left.map(([id]) => id).join(', ')} are consolidated under no one trade id Kraken lists (${spare.length} taker fills listed before them, ${idsOfNoFill.length} ids of no fill)`);
    }
  }
  return out;
}

/** Whether decimal string `a` is above `b` (exact; both plain decimals, as Kraken writes volumes). */
export function decimalAbove(a: string, b: string): boolean {
  const split = (x: string): [bigint, number] => {
    const [int, frac = ''] = x.split('.');
    return [BigInt(`${int}${frac}` || '0'), frac.length];
  };
  const [ma, ea] = split(a);
  const [mb, eb] = split(b);
  const e = Math.max(ea, eb);
  return ma * 10n ** BigInt(e - ea) > mb * 10n ** BigInt(e - eb);
}
