import type { ExecutionClient, OrderStatusReport, TradingAvailability } from '../contracts/exchange.js';
import type { Clock } from '../contracts/clock.js';
import type { BookView } from '../contracts/trading.js';
import type { MarketEvent } from '../domain/events.js';
import { feeAtoms, type Instrument } from '../domain/instrument.js';
import { copyOrder, type ExecutionReport, type Order, type RejectReason } from '../domain/orders.js';

export interface PaperSettings {
  /** Simulated order latency, milliseconds. */
  latencyMs: number;
  /** Fee rates in basis points as decimal strings ("2", "-0.5" for a rebate). */
  makerFeeBps: string;
  takerFeeBps: string;
}

/**
 * `[paper]` as PaperSettings: what `run` in paper mode fills with, and what `cwts-ultra replay`
 * gives the sim that replays a real venue's recording (cli/replay-venue.ts), so the two charge
 * the same fees.
 */
export function paperSettingsOf(p: { latency_ms: number; maker_fee_bps: number; taker_fee_bps: number }): PaperSettings {
  return { latencyMs: p.latency_ms, makerFeeBps: bpsText(p.maker_fee_bps), takerFeeBps: bpsText(p.taker_fee_bps) };
}

/** A fee rate as a plain decimal string (never exponent notation), to 6 decimals. */
function bpsText(bps: number): string {
  return bps.toFixed(6).replace(/\.?0+$/, '') || '0';
}

interface Resting {
  order: Order;
  leaves: number;
  cum: number;
}

const LEVELS = 64;

/** Buys before sells (a print fills one side in practice), each at its best price first. */
function byPricePriority(a: Resting, b: Resting): number {
  const x = a.order;
  const y = b.order;
  if (x.side !== y.side) return x.side === 'buy' ? -1 : 1;
  return x.side === 'buy' ? y.price! - x.price! : x.price! - y.price!;
}

/**
 * Paper trading on a real venue's market data: orders never leave the process. After
 * `latencyMs` an order takes liquidity from our own L2 copy of the venue book (level by level,
 * taker fee; the book itself is not changed, so one order cannot consume a level twice but two
 * orders in a row can: a known optimism of L2 paper trading), and a GTC remainder rests until a
 * trade prints through its price (maker fee, up to the trade's size). FOK is all-or-nothing,
 * POST_ONLY is rejected if it would cross, market and IOC remainders are cancelled and reported.
 * Our own resting orders count as the book's best prices: an order that reaches one of ours
 * takes only the venue levels better than it and its remainder is cancelled there (self-trade
 * prevention, cancel newest), so our orders never trade with or rest crossed against each other.
 */
export class PaperExecutionClient implements ExecutionClient {
  readonly simulated = true;
  private onReport: ((r: ExecutionReport) => void) | undefined;
  private readonly resting = new Map<string, Resting>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly levels: { price: number; qty: number }[] = [];
  /** Resting orders a trade printed through, reused from trade to trade. */
  private readonly through: Resting[] = [];
  private nextVenueId = 1;
  private nextTradeId = 1;

  constructor(
    readonly exchange: string,
    private readonly book: (symbol: string) => BookView | undefined,
    private readonly instrument: (symbol: string) => Instrument | undefined,
    private readonly clock: Clock,
    private readonly settings: PaperSettings,
  ) {}

  availability(): TradingAvailability {
    return { canTrade: true };
  }

  async start(onReport: (r: ExecutionReport) => void): Promise<void> {
    this.onReport = onReport;
  }

  submit(order: Readonly<Order>): void {
    const copy = copyOrder(order);
    this.later(() => this.arrive(copy));
  }

  cancel(order: Readonly<Order>): void {
    const id = order.clientOrderId;
    this.later(() => {
      const r = this.resting.get(id);
      if (!r) return this.report(order, 'rejected', { rejectReason: 'UNKNOWN_ORDER', rejects: 'request', text: `${id} is not open` });
      this.resting.delete(id);
      this.report(r.order, 'cancelled', { leavesQty: 0, cumQty: r.cum, text: 'cancelled' });
    });
  }

  async openOrders(): Promise<Order[]> {
    return [...this.resting.values()].map((r) => copyOrder(r.order));
  }

  /**
   * Only orders resting in this process are known: paper orders do not survive a restart, so
   * reconciliation cancels the journal's open paper orders (with a log line) at start.
   */
  async queryOrder(order: Readonly<Order>): Promise<OrderStatusReport | undefined> {
    const r = this.resting.get(order.clientOrderId);
    if (!r) return undefined;
    return { clientOrderId: r.order.clientOrderId, venueOrderId: r.order.venueOrderId, status: r.cum > 0 ? 'partially_filled' : 'open', filledQty: r.cum, fills: [] };
  }

  /**
   * Resting orders fill as makers when a trade prints through their price, as a venue matches
   * them: best price first (the highest buy, the lowest sell), then the earliest placed.
   */
  onMarketEvent(ev: MarketEvent): void {
    if (ev.type !== 'trade' || this.resting.size === 0 || ev.exchange !== this.exchange) return;
    const through = this.through;
    through.length = 0;
    for (const r of this.resting.values()) {
      const o = r.order;
      if (o.symbol === ev.symbol && (o.side === 'buy' ? ev.price < o.price! : ev.price > o.price!)) through.push(r);
    }
    // a stable sort: orders at one price keep their arrival order (the map's)
    if (through.length > 1) through.sort(byPricePriority);
    let left = ev.qty;
    for (let i = 0; i < through.length && left > 0; i++) {
      const r = through[i]!;
      const q = Math.min(left, r.leaves);
      left -= q;
      this.fill(r, r.order.price!, q, 'maker');
    }
    through.length = 0;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.onReport = undefined;
  }

  private later(f: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      f();
    }, this.settings.latencyMs);
    this.timers.add(t);
  }

  private arrive(o: Order): void {
    const book = this.book(o.symbol);
    const instrument = this.instrument(o.symbol);
    if (!book || !instrument || !book.synced) return this.reject(o, 'BOOK_NOT_SYNCED', `paper: no synced book for ${o.symbol}`);
    const venueOrderId = `paper-${this.nextVenueId++}`;
    o.venueOrderId = venueOrderId;
    const buy = o.side === 'buy';
    const takeSide = buy ? 'ask' : 'bid';
    const limit = o.type === 'market' ? undefined : o.price!;
    // Our own resting orders are in the venue's book too: walking the opposite side the order
    // meets our best opposite one before any venue level at its price or behind it (at an equal
    // price ours is taken to be first, the side that invents no fill), and there self-trade
    // prevention stops it, cancel newest as the engine's self_trade check: our resting order
    // stays, the rest of this one is cancelled. So venue levels count only up to one tick short
    // of it. Without this a buy paid the venue's ask above our own offer, or rested crossed with
    // it, and a print between the two filled both: a round trip no venue lets happen.
    const own = this.resting.size > 0 ? this.ownBestOpposite(o) : undefined;
    const ownPrice = own?.order.price;
    const ownReached = ownPrice !== undefined && (limit === undefined || (buy ? limit >= ownPrice : limit <= ownPrice));
    const venueLimit = ownReached ? (buy ? ownPrice - 1 : ownPrice + 1) : limit;
    const n = book.topLevels(takeSide, LEVELS, this.levels);
    let available = 0;
    for (let i = 0; i < n; i++) {
      const l = this.levels[i]!;
      if (venueLimit !== undefined && (buy ? l.price > venueLimit : l.price < venueLimit)) break;
      available += l.qty;
    }
    if (o.tif === 'POST_ONLY' && available > 0) return this.reject(o, 'POST_ONLY_WOULD_CROSS', `paper: post-only order would cross the book at ${this.levels[0]!.price}`);
    if (o.tif === 'POST_ONLY' && ownReached) return this.reject(o, 'POST_ONLY_WOULD_CROSS', `paper: post-only order would cross our own ${own!.order.side} ${own!.order.clientOrderId} at ${ownPrice}`);
    if (o.tif === 'FOK' && available < o.qty) {
      const where = ownReached ? `before our own ${own!.order.side} ${own!.order.clientOrderId} at ${ownPrice} (self-trade prevention)` : 'within the limit';
      return this.reject(o, 'FOK_UNFILLABLE', `paper: ${available} of ${o.qty} lots available ${where}`);
    }
    const r: Resting = { order: o, leaves: o.qty, cum: 0 };
    this.report(o, 'ack', { leavesQty: o.qty, cumQty: 0 });
    for (let i = 0; i < n && r.leaves > 0 && available > 0; i++) {
      const l = this.levels[i]!;
      if (venueLimit !== undefined && (buy ? l.price > venueLimit : l.price < venueLimit)) break;
      this.fill(r, l.price, Math.min(l.qty, r.leaves), 'taker');
    }
    if (r.leaves === 0) return;
    if (ownReached) {
      this.report(o, 'cancelled', {
        leavesQty: 0,
        cumQty: r.cum,
        text: `self-trade prevention: remainder ${r.leaves} lots would trade against our own ${own!.order.side} ${own!.order.clientOrderId} at ${ownPrice}, cancelled`,
      });
      return;
    }
    if (o.type === 'market' || o.tif === 'IOC' || o.tif === 'FOK') {
      this.report(o, 'cancelled', { leavesQty: 0, cumQty: r.cum, text: o.type === 'market' ? `insufficient liquidity: ${r.leaves} lots cancelled` : `IOC remainder ${r.leaves} lots cancelled` });
      return;
    }
    this.resting.set(o.clientOrderId, r);
  }

  /** Our resting order a taker `o` would meet first on the other side of its symbol: the lowest sell for a buy, the highest buy for a sell. */
  private ownBestOpposite(o: Order): Resting | undefined {
    let best: Resting | undefined;
    for (const r of this.resting.values()) {
      const x = r.order;
      if (x.symbol !== o.symbol || x.side === o.side) continue;
      if (best === undefined || (x.side === 'sell' ? x.price! < best.order.price! : x.price! > best.order.price!)) best = r;
    }
    return best;
  }

  private fill(r: Resting, price: number, qty: number, liquidity: 'maker' | 'taker'): void {
    const o = r.order;
    const instrument = this.instrument(o.symbol)!;
    r.leaves -= qty;
    r.cum += qty;
    if (r.leaves === 0) this.resting.delete(o.clientOrderId);
    this.report(o, 'fill', {
      lastPrice: price,
      lastQty: qty,
      leavesQty: r.leaves,
      cumQty: r.cum,
      liquidity,
      tradeId: `paper-t${this.nextTradeId++}`,
      feeAtoms: feeAtoms(instrument, price, qty, liquidity === 'maker' ? this.settings.makerFeeBps : this.settings.takerFeeBps),
    });
  }

  private reject(o: Order, reason: RejectReason, text: string): void {
    this.report(o, 'rejected', { rejectReason: reason, rejects: 'order', text, leavesQty: 0, cumQty: 0 });
  }

  private report(o: Readonly<Order>, kind: ExecutionReport['kind'], extra: Partial<ExecutionReport>): void {
    this.onReport?.({
      kind, exchange: this.exchange, symbol: o.symbol, clientOrderId: o.clientOrderId, venueOrderId: o.venueOrderId, side: o.side,
      lastPrice: 0, lastQty: 0, leavesQty: 0, cumQty: 0, feeAtoms: 0n, ts: this.clock.now(), ...extra,
    });
  }
}
