/**
 * SmartOrderRouter: splits a marketable parent intent over the venues that list its instrument
 * (decideRoute on the consolidated book), tracks the children under the parent, re-routes once
 * the unfilled part of an IOC child (never one we asked to cancel, nor one that ended later than
 * reroute_max_age_ms after it was sent) and the quantity of children the engine refused, within
 * the parent's max_children and never to a venue where a child of it is live (one that ends while
 * the parent's children are still being sent waits for them, then avoids all their venues), and
 * cancels every live child when the parent is cancelled.
 * docs/routing.md has the objective, the config and the limits.
 *
 * Through `route()` alone (the plain OrderRouter contract) it only splits. With an engine that
 * calls the optional submitParent / cancelParent / onExecution (core's Engine does), it keeps
 * the parents: their state lives in memory (children are ordinary orders in the journal).
 */
import type { Clock } from '../contracts/clock.js';
import type { MarketContext, OrderRouter, RouterHost, SubmitResult } from '../contracts/trading.js';
import type { RejectReason } from '../domain/orders.js';
import type { RoutingConfig } from '../config/routing-schema.js';
import { formatScaled, instrumentKey } from '../domain/instrument.js';
import { orderValueProblem, type ExecutionReport, type Order, type OrderIntent, type OrderStatus } from '../domain/orders.js';
import type { Logger } from '../observability/logger.js';
import { DECISION_OK, SIDE_BUY, SIDE_SELL, decideRoute } from './decision.js';
import { IntervalTime } from './interval-time.js';
import { buildRouteGroup, loadVenueLevels, type RouteGroup } from './route-group.js';
import { MAX_LATENCY_PENALTY_RATE, VenueLatency } from './venue-latency.js';

export interface SmartOrderRouterOptions {
  config: RoutingConfig;
  /** The deployment's venues (exchanges.enabled); `[routing] venues` narrows them. */
  venues: readonly string[];
  logger?: Logger;
  /** Terminal parents kept for parent() lookups (oldest dropped first). Default 1000. */
  keepTerminalParents?: number;
  /**
   * The engine's clock: its monoNs() times the rate-limit window and the ack latencies, so a
   * wall clock stepped back (NTP, a resumed VM) leaves them right. Without it they run on the
   * host's `now` with each step back taken out (routing/interval-time.ts).
   */
  clock?: Pick<Clock, 'monoNs'>;
}

/** A parent order as the router tracks it. Quantities in common lots of its route group. */
export interface ParentOrder {
  readonly id: string;
  readonly intent: Readonly<OrderIntent>;
  status: OrderStatus;
  /** Parent quantity and filled quantity, common lots (commonLot below). */
  readonly qty: number;
  filledQty: number;
  /** Sum of fill price x qty, common ticks x common lots. */
  filledNotional: bigint;
  /** Fees of every child, in common quote atoms (10^-(commonTick.exponent + commonLot.exponent)). */
  feeAtoms: bigint;
  readonly commonTick: { mantissa: bigint; exponent: number };
  readonly commonLot: { mantissa: bigint; exponent: number };
  /** Every child's client order id, in the order sent (re-routes included). */
  readonly children: string[];
  reroutes: number;
  /** Children the venue (or a risk check at the venue) rejected. */
  rejectedChildren: number;
  cancelRequested: boolean;
}

/** The router's own view of a parent: also how many of its child sends are under way. */
interface TrackedParent extends ParentOrder {
  /**
   * Child sends in progress (the first split, a re-route). A venue may answer inside submit():
   * the parent is not settled while its split is still being sent, or a first child filled at
   * once would end it before its siblings leave.
   */
  sending: number;
  /**
   * Unfilled quantity of children that ended while sends were under way (common lots), and
   * their venues (bit v for venue v): re-routed once the send loop is done, with the split's
   * venues out. Re-routed at once, it went to a venue the loop was still to send a child to
   * (a child past max_children, two children counting one venue's levels).
   */
  pendingQty: number;
  pendingVenues: number;
}

interface Child {
  parent: TrackedParent;
  group: RouteGroup;
  venue: number;
  /** Venue lots sent and filled. */
  qty: number;
  cumQty: number;
  /** On the router's interval time (IntervalTime), not the host's clock. */
  sentAt: number;
  acked: boolean;
  live: boolean;
  /** A re-route is never re-routed again. */
  isReroute: boolean;
  /**
   * We asked for this child's cancel by its own id (a strategy's cancel, the kill switch's,
   * REDUCING's, a shutdown's): what it leaves unfilled was wanted gone and is never re-routed.
   */
  cancelRequested: boolean;
  tif: OrderIntent['tif'];
}

const TERMINAL: ReadonlySet<OrderStatus> = new Set(['filled', 'cancelled', 'rejected']);

/**
 * The most, in the parent's own ticks (rounded up), that a child of the group's last decision may
 * trade at: for a buy the deepest ask any child takes (its limit), for a sell the best bid of any
 * venue that gets a child (a sell child trades at its limit or above, down from that bid).
 * Undefined when the decision was refused (the parent then goes to its own venue as given).
 */
function highestChildPrice(g: RouteGroup, buy: boolean): number | undefined {
  const d = g.decision;
  if (d.status !== DECISION_OK) return undefined;
  const p = g.problem;
  let hi = 0;
  for (let v = 0; v < p.venueCount; v++) {
    if (d.childQty[v] === 0) continue;
    const price = buy ? d.childLimit[v]! : p.price[v * p.maxLevels]!;
    if (price > hi) hi = price;
  }
  return hi > 0 ? Math.ceil(hi / g.venues[g.parentIndex]!.tickMult) : undefined;
}

/** Engine refusals that hold on every venue alike: a child so refused is not re-routed. */
const REFUSED_EVERYWHERE: ReadonlySet<RejectReason> = new Set<RejectReason>(['KILL_SWITCH', 'SHUTTING_DOWN', 'BACKPRESSURE']);

export class SmartOrderRouter implements OrderRouter {
  readonly name = 'smart';
  private readonly cfg: RoutingConfig;
  private readonly routed: readonly string[];
  private readonly groups = new Map<string, RouteGroup | null>();
  private readonly warned = new Set<RouteGroup>();
  private readonly parents = new Map<string, TrackedParent>();
  /** Children by client order id, ended ones too (late fills), for as long as their parent is kept. */
  private readonly children = new Map<string, Child>();
  private readonly terminal: string[] = [];
  /**
   * Reports for orders this router does not know yet, held while a child is being submitted: a
   * venue may answer inside submit(), before the child's client order id is known here. Each send
   * takes the reports from its mark on, and replays those for its child once it is registered.
   */
  private readonly held: ExecutionReport[] = [];
  /** The engine's status of each held report's order right after it (undefined: not given). */
  private readonly heldStatus: (OrderStatus | undefined)[] = [];
  private holding = 0;
  /**
   * Per routed venue: its children in the order sent, from `head` on, of which `pending` have had
   * no report yet; answered ones are dropped lazily (oldestUnansweredAt, and trackUnanswered
   * keeps the list within a small multiple of `pending`).
   */
  private readonly unanswered = new Map<string, UnansweredChildren>();
  private readonly keepTerminal: number;
  private readonly logger: Logger | undefined;
  /** Times given to `latency` and children's sentAt are on this, not on the host's wall clock. */
  readonly latency: VenueLatency;
  private readonly time: IntervalTime;
  private seq = 0;

  constructor(opts: SmartOrderRouterOptions) {
    this.cfg = opts.config;
    this.routed = opts.config.venues ?? opts.venues;
    // one venue listed twice would have its book counted twice and get two children (the config
    // schema refuses it; a router built in code must too)
    const twice = this.routed.find((v, k) => this.routed.indexOf(v) !== k);
    if (twice !== undefined) throw new Error(`SmartOrderRouter: duplicate venue "${twice}" in the routed venues`);
    this.logger = opts.logger;
    this.keepTerminal = opts.keepTerminalParents ?? 1000;
    this.time = new IntervalTime(opts.clock);
    this.latency = new VenueLatency(this.routed, opts.config.venue, opts.config.latency_ewma_alpha, opts.config.latency_bps_per_ms);
    for (const v of this.routed) this.unanswered.set(v, { children: [], head: 0, pending: 0 });
  }

  // ---- the plain contract: split only -------------------------------------------------------

  route(intent: Readonly<OrderIntent>, ctx: MarketContext): OrderIntent[] {
    const g = this.routable(intent, ctx);
    if (!g) return [intent];
    return this.split(g, intent, ctx, 0);
  }

  // ---- parents ----------------------------------------------------------------------------------

  submitParent(intent: OrderIntent, host: RouterHost): SubmitResult {
    const g = this.routable(intent, host);
    if (!g) return host.submitChild(intent);
    const id = `sor-${this.seq + 1}`;
    const kids = this.split(g, intent, host, 0, -1, id);
    // The plan first: the whole order is valued at the most its children may trade at. Its own
    // venue's touch alone valued a market buy at 60 000 while its children swept another venue
    // up to 90 000, past max_order_notional.
    const refused = host.checkParent?.(intent, kids.length > 0 ? highestChildPrice(g, intent.side === 'buy') : undefined);
    if (refused !== undefined) return refused;
    if (kids.length === 0) return { accepted: false, reason: 'NO_LIQUIDITY', message: `no venue can take ${intent.side} ${intent.symbol} within the limit` };
    this.seq++;
    const parent: TrackedParent = {
      id,
      intent: { ...intent },
      status: 'pending_new',
      qty: intent.qty * g.venues[g.parentIndex]!.lotMult,
      filledQty: 0,
      filledNotional: 0n,
      feeAtoms: 0n,
      commonTick: g.commonTick,
      commonLot: g.commonLot,
      children: [],
      reroutes: 0,
      rejectedChildren: 0,
      cancelRequested: false,
      sending: 1,
      pendingQty: 0,
      pendingVenues: 0,
    };
    this.parents.set(parent.id, parent);
    let last: SubmitResult | undefined;
    // Children the engine refused (a risk check on that venue, a venue that cannot trade after
    // all): their quantity is re-routed once over the venues that did not refuse, as a venue's
    // rejection of a child is. Once it was left unfilled, and the strategy told the refusal.
    let refusedVenues = 0;
    let refusedQty = 0;
    let used = 0;
    // finally: a throw part-way (the engine answers it as the router's error) must not leave the
    // parent marked as sending, where it never settled: children answered inside submit() have
    // no report left to come, so it is settled (or, with no child, dropped) here as below
    let sent = false;
    try {
      for (const k of kids) {
        if (parent.cancelRequested) break; // asked inside a send: the rest of the split is not wanted
        const v = venueIndex(g, k.exchange);
        used |= 1 << v;
        const res = this.sendChild(parent, g, k, host, false);
        if (res.accepted) continue;
        last = res;
        refusedVenues |= 1 << v;
        if (res.reason === undefined || !REFUSED_EVERYWHERE.has(res.reason)) refusedQty += k.qty * g.venues[v]!.lotMult;
      }
      // With what children left unfilled inside submit() (applyReport deferred it), away from
      // every venue of the split: a book there may not show yet what its child just took.
      const again = this.rerouteAll(parent, g, refusedQty, refusedVenues | used, host);
      if (again !== undefined) last = again;
      sent = true;
    } finally {
      parent.sending--;
      if (!sent) this.afterThrow(parent);
    }
    if (parent.children.length === 0) {
      this.parents.delete(parent.id);
      return last ?? { accepted: false, reason: 'INVALID_ORDER', message: 'no child order' };
    }
    this.settle(parent); // children that were answered inside submit() may have finished it
    return { accepted: true, clientOrderId: parent.id };
  }

  /**
   * The engine asks this of every cancel by id before it cancels an order itself (Engine.cancel:
   * a strategy's, cancelAllOpen's for HALT and shutdown, REDUCING's), so a child cancelled by its
   * own id is seen here: it is marked and left to the engine (false: not a parent). Its unfilled
   * quantity was then wanted gone, and an IOC re-route would have sent it to another venue.
   */
  cancelParent(clientOrderId: string, host: RouterHost): boolean {
    const parent = this.parents.get(clientOrderId);
    if (!parent) {
      const child = this.children.get(clientOrderId);
      if (child !== undefined && child.live) child.cancelRequested = true;
      return false;
    }
    parent.cancelRequested = true;
    for (const id of parent.children) if (this.children.get(id)?.live) host.cancelChild(id);
    this.settle(parent);
    return true;
  }

  onExecution(r: ExecutionReport, host: RouterHost, order?: Readonly<Order>): void {
    this.applyReport(r, host, order?.status);
  }

  /**
   * `status`: the engine's status of the order right after this report, which decides whether the
   * child ended (a rejected cancel is a 'rejected' report that ends nothing); without it, the
   * report's kind decides.
   */
  private applyReport(r: ExecutionReport, host: RouterHost, status: OrderStatus | undefined): void {
    const child = this.children.get(r.clientOrderId);
    if (!child) {
      if (this.holding > 0) {
        // maybe the child being submitted: sendChild decides
        this.held.push(r);
        this.heldStatus.push(status);
      }
      return;
    }
    const gv = child.group.venues[child.venue]!;
    if (!child.acked) {
      child.acked = true;
      const q = this.unanswered.get(gv.name);
      if (q !== undefined) q.pending--;
      const now = this.time.at(host.now);
      this.latency.observeAck(gv.name, now - child.sentAt, now);
    }
    const parent = child.parent;
    if (r.kind === 'fill' && r.lastQty > 0) {
      const q = BigInt(r.lastQty) * BigInt(gv.lotMult);
      parent.filledQty += Number(q);
      parent.filledNotional += BigInt(r.lastPrice) * BigInt(gv.tickMult) * q;
      parent.feeAtoms += r.feeAtoms * gv.feeScale;
      child.cumQty += r.lastQty;
      // A fill after the child's end (after its cancel ack, as most venues may send one) still
      // happened: the parent counts it, and one that ended short may be filled by it after all.
      if (!child.live) {
        if (TERMINAL.has(parent.status) && parent.filledQty >= parent.qty) parent.status = 'filled';
        if (parent.filledQty > parent.qty) {
          // a venue ended a child saying it executed less than it did, and its quantity was re-routed
          this.logger?.error({ parent: parent.id, child: r.clientOrderId, exchange: r.exchange }, `router: parent ${parent.id} filled ${parent.filledQty} of ${parent.qty} common lots: ${r.exchange} reported a fill of ${r.clientOrderId} after ending it with less executed, and that quantity had been re-routed; the position is larger than asked`);
        }
        // siblings still working: the parent is partially filled now, not at their next report
        this.settle(parent);
        return;
      }
    }
    const done = status !== undefined ? TERMINAL.has(status) : r.kind === 'cancelled' || r.kind === 'expired' || r.kind === 'rejected' || (r.kind === 'fill' && r.leavesQty === 0);
    if (done && child.live) {
      child.live = false;
      if (status !== undefined ? status === 'rejected' : r.kind === 'rejected') parent.rejectedChildren++;
      // What the venue says it executed counts even when its trades have not reached us yet (an
      // end that overtook them): only the rest is re-routed, or the late trades would overfill.
      const executed = Number.isSafeInteger(r.cumQty) && r.cumQty > child.cumQty ? Math.min(r.cumQty, child.qty) : child.cumQty;
      const unfilled = child.qty - executed;
      // A venue's rejection (rate limited, a filter) leaves the quantity unfilled just the same.
      if (unfilled > 0 && !child.isReroute && child.tif === 'IOC' && this.cfg.reroute_unfilled_ioc && !parent.cancelRequested && !child.cancelRequested) {
        // An end long after the send (an unknown outcome resolved as "never received", 125 s
        // later on Coinbase) is no IOC miss: the parent's price, or a market parent's "any
        // price", was for the market of then, and the strategy has moved on.
        const age = this.time.at(host.now) - child.sentAt;
        if (age <= this.cfg.reroute_max_age_ms) {
          const qty = unfilled * child.group.venues[child.venue]!.lotMult;
          if (parent.sending > 0) {
            // a send loop of this parent is under way (the venue answered inside submit()): its
            // children still to go are not live here yet, and reroute() would not keep off them
            parent.pendingQty += qty;
            parent.pendingVenues |= 1 << child.venue;
          } else this.rerouteAll(parent, child.group, qty, 1 << child.venue, host);
        } else this.logger?.warn({ parent: parent.id, child: r.clientOrderId, exchange: r.exchange, ageMs: age }, `router: not re-routing ${unfilled} lots of ${r.clientOrderId} (${parent.id}): it ended ${age} ms after it was sent, past routing.reroute_max_age_ms ${this.cfg.reroute_max_age_ms}`);
      }
    }
    this.settle(parent);
  }

  /** A parent by id (also recently finished ones). */
  parent(id: string): Readonly<ParentOrder> | undefined {
    return this.parents.get(id);
  }

  /** The parent a child order belongs to, while the child is live. */
  parentOf(childClientOrderId: string): string | undefined {
    const c = this.children.get(childClientOrderId);
    return c?.live ? c.parent.id : undefined;
  }

  /** Average fill price of a parent as a decimal string (rounded down to `digits` decimals). */
  averagePrice(id: string, digits = 8): string | undefined {
    const p = this.parents.get(id);
    if (!p || p.filledQty === 0) return undefined;
    // price = notional / qty common ticks = that x tick.m x 10^-tick.e
    const num = p.filledNotional * p.commonTick.mantissa * 10n ** BigInt(digits);
    const den = BigInt(p.filledQty) * 10n ** BigInt(p.commonTick.exponent);
    return formatScaled(num / den, digits);
  }

  // ---- internals --------------------------------------------------------------------------------

  /**
   * The route group when the intent is one the router splits: IOC or market, on a routed venue.
   * A FOK (all or nothing) or POST_ONLY order keeps its meaning only whole on its venue, and an
   * intent that is not an order (quantity or limit price not positive whole units: a price of 0
   * would read as "no limit") goes to its venue as given, where the engine refuses it.
   */
  private routable(intent: Readonly<OrderIntent>, ctx: MarketContext): RouteGroup | undefined {
    if (intent.tif === 'FOK' || intent.tif === 'POST_ONLY') return undefined;
    if (intent.tif !== 'IOC' && intent.type !== 'market') return undefined;
    if (intent.reduceOnly) return undefined; // a reduce-only order belongs to its venue's position
    if (orderValueProblem(intent) !== undefined) return undefined;
    const key = instrumentKey(intent.exchange, intent.symbol);
    let g = this.groups.get(key);
    if (g === undefined) {
      try {
        g = buildRouteGroup(this.cfg, this.routed, intent.exchange, intent.symbol, ctx) ?? null;
      } catch (err) {
        // venues whose increments share no usable grid: route this instrument directly, say why once
        this.logger?.warn({ exchange: intent.exchange, symbol: intent.symbol }, `router: not routing ${intent.symbol} across venues: ${(err as Error).message}`);
        g = null;
      }
      // A group is cached once every routed venue's instruments are known (after engine start).
      if (g !== null || ctx.instrument(intent.exchange, intent.symbol) !== undefined) this.groups.set(key, g);
    }
    return g ?? undefined;
  }

  /**
   * Runs the decision for `qty` common lots (the intent's when qty < 0) and returns the child
   * intents. Venues in `excludeMask` (bit v for venue v: those a re-route moves away from) get
   * nothing, nor do venues that cannot take a child now: a book not synced, no rate-limit
   * headroom, a measured latency that prices them out (but for the parent's own venue, where the
   * order would have gone unrouted), or a venue the host says would refuse the order
   * (RouterHost.venueRefusal: market data only, a pair that is post-only, cancel-only, halted).
   */
  private split(g: RouteGroup, intent: Readonly<OrderIntent>, ctx: MarketContext, excludeMask: number, qtyCommon = -1, parentId = 'sor', maxChildren = this.cfg.max_children): OrderIntent[] {
    const p = g.problem;
    const buy = intent.side === 'buy';
    const parentVenue = g.venues[g.parentIndex]!;
    p.side = buy ? SIDE_BUY : SIDE_SELL;
    p.qty = qtyCommon >= 0 ? qtyCommon : intent.qty * parentVenue.lotMult;
    p.limit = intent.type === 'limit' ? intent.price! * parentVenue.tickMult : 0; // routable(): a limit has a positive price; 0 is "no limit"
    p.maxChildren = maxChildren;
    p.venueCount = g.venues.length;
    const now = this.time.at(ctx.now);
    const bpsPerMs = this.cfg.latency_bps_per_ms;
    // the engine's (RouterHost); a plain MarketContext has none, and the engine refuses such a child itself
    const venueRefusal = (ctx as Partial<RouterHost>).venueRefusal;
    for (let v = 0; v < g.venues.length; v++) {
      const gv = g.venues[v]!;
      loadVenueLevels(g, v, ctx.book(gv.name, gv.symbol), buy ? 'ask' : 'bid');
      p.lotMult[v] = gv.lotMult;
      p.minNotional[v] = gv.minNotional;
      p.feeRate[v] = gv.feeRate;
      // A child still unanswered has taken at least this long: a venue that stopped answering
      // (order entry dead, silently) gives no ack to sample, and its old estimate kept it chosen.
      const oldest = bpsPerMs > 0 ? this.oldestUnansweredAt(gv.name) : undefined;
      const measured = this.latency.penaltyRate(gv.name, bpsPerMs, now, oldest === undefined ? 0 : now - oldest);
      p.latencyRate[v] = gv.fixedPenaltyRate + measured;
      let room = (excludeMask >>> v) & 1 || (measured >= MAX_LATENCY_PENALTY_RATE && v !== g.parentIndex) ? 0 : this.latency.headroom(gv.name, now);
      if (room > 0 && venueRefusal !== undefined && p.healthy[v] === 1) {
        gv.probe.side = intent.side;
        if (venueRefusal.call(ctx, gv.probe) !== undefined) room = 0;
      }
      p.headroom[v] = room;
    }
    const d = g.decision;
    if (decideRoute(p, d, g.scratch) !== DECISION_OK) {
      if (!this.warned.has(g)) this.logger?.warn({ exchange: intent.exchange, symbol: intent.symbol, status: d.status }, `router: decision refused (${d.status === 1 ? 'qty x price past 2^53' : 'invalid book input'}); routing ${intent.symbol} to ${intent.exchange} as given`);
      this.warned.add(g); // once per instrument group: the book stays what it is for a while
      return excludeMask === 0 && qtyCommon < 0 ? [{ ...intent }] : [];
    }
    const out: OrderIntent[] = [];
    // the parent's id rides in the reason, so the journal can group children offline (one string per parent, not per child)
    const reason = intent.reason === undefined ? parentId : `${intent.reason} (${parentId})`;
    for (let v = 0; v < g.venues.length; v++) {
      const q = d.childQty[v]!;
      if (q === 0) continue;
      const gv = g.venues[v]!;
      out.push({
        exchange: gv.name,
        symbol: gv.symbol,
        side: intent.side,
        type: 'limit',
        price: d.childLimit[v]! / gv.tickMult,
        qty: q / gv.lotMult,
        tif: 'IOC',
        source: intent.source,
        reason,
      });
    }
    return out;
  }

  private sendChild(parent: TrackedParent, g: RouteGroup, child: OrderIntent, host: RouterHost, isReroute: boolean): SubmitResult {
    const venue = venueIndex(g, child.exchange);
    const mark = this.held.length;
    this.holding++;
    let res: SubmitResult;
    try {
      res = host.submitChild(child);
    } finally {
      this.holding--;
    }
    const answered = this.held.length > mark ? this.held.splice(mark) : undefined;
    const answeredStatus = answered !== undefined ? this.heldStatus.splice(mark) : undefined;
    if (res.accepted && res.clientOrderId) {
      const id = res.clientOrderId;
      const now = this.time.at(host.now);
      this.latency.recordSend(child.exchange, now);
      parent.children.push(id);
      const c: Child = { parent, group: g, venue, qty: child.qty, cumQty: 0, sentAt: now, acked: false, live: true, isReroute, cancelRequested: false, tif: child.tif };
      this.children.set(id, c);
      this.trackUnanswered(child.exchange, c);
      if (parent.status === 'pending_new') parent.status = 'open';
      // what the venue answered inside submit(), now that the child is known (others' reports were not ours)
      if (answered !== undefined) for (let i = 0; i < answered.length; i++) if (answered[i]!.clientOrderId === id) this.applyReport(answered[i]!, host, answeredStatus![i]);
      // the parent was cancelled while this child was being submitted: cancelParent could not see it yet
      if (parent.cancelRequested && c.live) {
        c.cancelRequested = true;
        host.cancelChild(id);
      }
    } else {
      this.logger?.debug({ parent: parent.id, exchange: child.exchange, reason: res.reason }, `router: child on ${child.exchange} refused: ${res.reason ?? ''} ${res.message ?? ''}`);
    }
    return res;
  }

  /**
   * reroute(), then what children of the split left unfilled inside submit() while its re-routed
   * children were being sent (deferred), away from the venues of those children too, until none
   * is left. Each round sends at least one child and a child ends once, so it stops; a re-route's
   * own children are never re-routed, so what is deferred comes from the first split's. Nothing
   * after a parent cancel (or one asked for inside a send). The last refusal, if any.
   */
  private rerouteAll(parent: TrackedParent, g: RouteGroup, qtyCommon: number, excludeMask: number, host: RouterHost): SubmitResult | undefined {
    let refused: SubmitResult | undefined;
    for (;;) {
      qtyCommon += parent.pendingQty;
      excludeMask |= parent.pendingVenues;
      parent.pendingQty = 0;
      parent.pendingVenues = 0;
      if (qtyCommon <= 0 || !this.cfg.reroute_unfilled_ioc || parent.cancelRequested) return refused;
      const used = { mask: 0 };
      const r = this.reroute(parent, g, qtyCommon, excludeMask, host, used);
      if (r !== undefined) refused = r;
      if (parent.pendingQty === 0) return refused;
      qtyCommon = 0;
      // every venue sent to in these rounds stays out: its book may not show its child yet
      excludeMask |= used.mask;
    }
  }

  /**
   * Quantity a parent's children did not get (`qtyCommon` common lots: an IOC child's unfilled
   * part, children the engine refused), once, to the best venues outside `excludeMask` and those
   * where a child of the parent is live, with the children max_children leaves it. The refusal
   * of the last child it sent that was refused, if any; `used` gets the venues it sent to.
   */
  private reroute(parent: TrackedParent, g: RouteGroup, qtyCommon: number, excludeMask: number, host: RouterHost, used: { mask: number }): SubmitResult | undefined {
    // max_children is per parent: each re-route was once a fresh decision with the whole
    // allowance. A venue where a child of the parent is live is out too: its book does not show
    // yet what that child takes, and a second child there would be counting the same levels.
    const left = this.cfg.max_children - parent.children.length;
    if (left <= 0) return undefined;
    for (let i = 0; i < parent.children.length; i++) {
      const c = this.children.get(parent.children[i]!);
      if (c !== undefined && c.live && c.group === g) excludeMask |= 1 << c.venue;
    }
    const kids = this.split(g, parent.intent, host, excludeMask, qtyCommon, parent.id, left);
    if (kids.length === 0) return undefined;
    parent.reroutes++;
    parent.sending++;
    let refused: SubmitResult | undefined;
    let sent = false;
    try {
      for (const k of kids) {
        if (parent.cancelRequested) break;
        used.mask |= 1 << venueIndex(g, k.exchange);
        const res = this.sendChild(parent, g, k, host, true);
        if (!res.accepted) refused = res;
      }
      sent = true;
    } finally {
      parent.sending--;
      if (!sent) this.afterThrow(parent);
    }
    return refused;
  }

  /** A child just sent to `venue`, not answered yet. */
  private trackUnanswered(venue: string, c: Child): void {
    const q = this.unanswered.get(venue);
    if (q === undefined) return;
    q.pending++;
    const list = q.children;
    // One child that never answers holds the head: those answered behind it are dropped here, in
    // place, once they outnumber the unanswered (amortized O(1)), or a venue that keeps taking
    // parents of its own would grow the list for as long as that child hangs.
    if (list.length - q.head > 2 * q.pending + 64) {
      let w = 0;
      for (let r = q.head; r < list.length; r++) if (!list[r]!.acked) list[w++] = list[r]!;
      list.length = w;
      q.head = 0;
    }
    list.push(c);
  }

  /**
   * Send time of the venue's oldest child that has had no report yet, undefined when every child
   * sent there was answered. Drops the answered ones at the front as it goes (amortized O(1), no
   * allocation: the list is compacted in place once mostly answered).
   */
  private oldestUnansweredAt(venue: string): number | undefined {
    const q = this.unanswered.get(venue);
    if (q === undefined) return undefined;
    const list = q.children;
    let h = q.head;
    while (h < list.length && list[h]!.acked) h++;
    if (h === list.length) {
      list.length = 0;
      q.head = 0;
      return undefined;
    }
    if (h >= 64 && 2 * h >= list.length) {
      list.copyWithin(0, h);
      list.length -= h;
      h = 0;
    }
    q.head = h;
    return list[h]!.sentAt;
  }

  /** After a throw while sending: a parent with no child is dropped, one with children settled as they stand. */
  private afterThrow(parent: TrackedParent): void {
    // what waited on the loop that threw is dropped: a later child's re-route would carry it off
    // with only that child's venue kept out
    parent.pendingQty = 0;
    parent.pendingVenues = 0;
    if (parent.children.length === 0) {
      if (parent.sending === 0) this.parents.delete(parent.id);
      return;
    }
    this.settle(parent);
  }

  /** Parent status from its children: open / partially filled while any child is live. */
  private settle(parent: TrackedParent): void {
    if (TERMINAL.has(parent.status) || parent.sending > 0) return;
    let live = false;
    for (let i = 0; i < parent.children.length && !live; i++) live = this.children.get(parent.children[i]!)?.live === true;
    if (live) {
      if (parent.filledQty > 0) parent.status = 'partially_filled';
      return;
    }
    if (parent.children.length === 0) return;
    // IOC semantics: what did not fill is gone ('cancelled'), unless every child was rejected.
    parent.status = parent.filledQty >= parent.qty ? 'filled' : parent.filledQty === 0 && parent.rejectedChildren === parent.children.length ? 'rejected' : 'cancelled';
    this.terminal.push(parent.id);
    while (this.terminal.length > this.keepTerminal) {
      const id = this.terminal.shift()!;
      const old = this.parents.get(id);
      this.parents.delete(id);
      // its children are forgotten with it: a fill later than this is the order manager's alone
      if (old) for (let i = 0; i < old.children.length; i++) this.children.delete(old.children[i]!);
    }
  }
}

/** A venue's children in the order sent (SmartOrderRouter.unanswered). */
interface UnansweredChildren {
  children: Child[];
  head: number;
  /** Of those from `head` on, how many have had no report yet. */
  pending: number;
}

/** Index of a venue in its group (children are only ever made for the group's venues). */
function venueIndex(g: RouteGroup, exchange: string): number {
  for (let v = 0; v < g.venues.length; v++) if (g.venues[v]!.name === exchange) return v;
  return -1;
}
