/**
 * The private half of the local Kraken server: the spot REST endpoints an order client calls,
 * written from Kraken's public REST docs (docs.kraken.com "Spot REST API": authentication,
 * AddOrder, CancelOrder, OpenOrders, ClosedOrders, QueryOrders, QueryTrades, TradesHistory,
 * Balance, AssetPairs, errors):
 *
 * - `POST /0/private/<Method>`, form-encoded (or JSON) body with a `nonce` that must increase
 *   per key; headers `API-Key` and `API-Sign` = base64(HMAC-SHA512(base64-decoded secret,
 *   path + SHA-256(nonce + body))). Answers are `{"error":[...],"result":...}`, HTTP 200 either way.
 * - Orders: `txid` ids like "OABCDE-FGHIJ-KLMNOP", statuses pending/open/closed/canceled/expired,
 *   `vol`/`vol_exec` as strings, `descr.pair` the pair's altname, `cl_ord_id` (UUID or up to 18
 *   chars of free text, unique among open orders), `deadline` (RFC3339, rejected once passed),
 *   `oflags=post` (a post-only order that would take is cancelled), `timeinforce` GTC/IOC.
 * - Trades: ids like "TABCDE-FGHIJ-KLMNOP", fee in the quote currency, `maker` flag, `time` in
 *   seconds with decimals; `pair` is the pair's REST key ("XXBTZUSD").
 * - `GET|POST /0/public/AssetPairs`: the pair keys, altnames and v1 wsnames ("XBT/USD").
 * - `POST /0/private/GetWebSocketsToken`: a token for the private WebSocket, valid 900 s unless
 *   used; once a subscription uses it, it lives as long as that subscription.
 * - The `executions` events of the private WebSocket v2 (docs: "Spot WebSocket v2 - Executions"):
 *   pending_new then new on AddOrder, trade (exec_id = the trade's txid, last_qty, last_price,
 *   liquidity_ind, fees, cum_qty, order_status) and filled on a fill, canceled, expired. They go
 *   to `onExecution` (the WebSocket half sends them to subscribers); `executionsSnapshot` builds
 *   the snapshot (open orders, last 50 trades).
 * - Taker consolidation (QueryOrders, ClosedOrders, TradesHistory: `consolidate_taker`, default
 *   true): the fills of one taker match against several resting orders are listed as one trade
 *   (the first fill's id, the volumes and fees summed, the volume-weighted price at the pair's
 *   precision) unless `consolidate_taker=false`; the executions stream and QueryTrades name each fill.
 * Test hooks: fills on demand (maker or taker, with a fee; a taker match across several price
 * levels), orders placed by hand, one-shot failures, lost answers, refused subscriptions (the
 * venue says the token expired), delayed or dropped pushes.
 */
import { createHash, createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface KrakenPairRest {
  /** v2 symbol, e.g. "BTC/USD". */
  symbol: string;
  key: string;
  altname: string;
  wsname: string;
  base: string;
  quote: string;
  pricePrecision: number;
  qtyPrecision: number;
}

export const REST_PAIRS: KrakenPairRest[] = [{ symbol: 'BTC/USD', key: 'XXBTZUSD', altname: 'XBTUSD', wsname: 'XBT/USD', base: 'XXBT', quote: 'ZUSD', pricePrecision: 1, qtyPrecision: 8 }];

interface FakeOrder {
  txid: string;
  clOrdId?: string;
  pair: KrakenPairRest;
  side: 'buy' | 'sell';
  ordertype: 'limit' | 'market';
  price?: string;
  vol: string;
  volExecUnits: bigint;
  status: 'open' | 'closed' | 'canceled' | 'expired';
  opentm: number;
  oflags: string;
  reason?: string;
  trades: string[];
}
interface FakeTrade {
  id: string;
  order: FakeOrder;
  price: string;
  vol: string;
  fee: string;
  maker: boolean;
  time: number;
  /** The taker match this fill is part of (takerMatch): listed consolidated by default. */
  match?: string;
}

function units(text: string, dec: number): bigint | undefined {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return undefined;
  const frac = (m[2] ?? '').replace(/0+$/, '');
  if (frac.length > dec) return undefined;
  return BigInt(m[1]!) * 10n ** BigInt(dec) + BigInt(frac.padEnd(dec, '0') || '0');
}
function decimal(u: bigint, dec: number): string {
  const s = u.toString().padStart(dec + 1, '0');
  return dec === 0 ? s : `${s.slice(0, s.length - dec)}.${s.slice(s.length - dec)}`;
}

/** JSON text where `{ $num: "1.5" }` is written as the bare number 1.5 (Kraken's wire form). */
export function wireJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x !== null && typeof x === 'object' && '$num' in (x as object) ? `@@NUM${(x as { $num: string }).$num}@@` : x)).replace(/"@@NUM([^@"]+)@@"/g, '$1');
}

export class FakeKrakenAccount {
  private readonly orders = new Map<string, FakeOrder>();
  private readonly trades: FakeTrade[] = [];
  private lastNonce = 0;
  private seq = 0;
  private failNext: string | undefined;
  /** Local times (ms) at which AddOrder requests arrived. */
  readonly orderRequestTimes: number[] = [];
  /** Every private call by method name, for assertions. */
  readonly calls: string[] = [];
  /** Drop the connection instead of answering the next n AddOrder calls (after acting on them). */
  loseAddOrderAnswers = 0;
  /** Answer the next n AssetPairs requests with EService:Unavailable. */
  failAssetPairs = 0;
  balances: Record<string, string> = { XXBT: '1.50000000', ZUSD: '100000.0000', 'ETH2.S': '3.0' };
  /** Executions events as they happen (the WebSocket half sends them to subscribers). */
  onExecution: ((events: Record<string, unknown>[]) => void) | undefined;
  /** Tokens handed out: issue time, and whether a live subscription holds it. */
  private readonly tokens = new Map<string, { issuedAt: number; inUse: boolean }>();
  /** Refuse the next n executions subscriptions as if their token had expired. */
  refuseSubscriptions = 0;
  /** Hold trade pushes back this long (ms), so the poll can see a fill first. */
  pushDelayMs = 0;
  /** Leave the last trades out of the executions snapshot (snap_trades ignored). */
  snapshotWithoutTrades = false;
  /** Trade events without `cum_qty` (the docs mark it optional). */
  tradeEventsWithoutCumQty = false;
  /** Trade events without `fees` (the fee is then only in QueryTrades). */
  tradeEventsWithoutFees = false;
  /** The order_status on the trade that completes an order (the docs: it may still say partially_filled). */
  completingTradeStatus: 'filled' | 'partially_filled' = 'partially_filled';

  constructor(
    private readonly apiKey: string,
    private readonly secretB64: string,
    private readonly pairs: KrakenPairRest[] = REST_PAIRS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The next AddOrder fails with this Kraken error string. */
  failNextOrder(error: string): void {
    this.failNext = error;
  }

  /** The open order with this client id or txid, if any. */
  find(id: string): FakeOrder | undefined {
    return this.orders.get(id) ?? [...this.orders.values()].find((o) => o.clOrdId === id);
  }

  /** Fills `qty` of an open order at `price` (decimal strings), with the fee in quote. */
  fill(id: string, t: { qty: string; price: string; fee: string; maker: boolean }, time = this.now() / 1000): string {
    const o = this.find(id);
    if (!o || o.status !== 'open') throw new Error(`fake kraken: no open order ${id}`);
    const q = units(t.qty, o.pair.qtyPrecision)!;
    const volU = units(o.vol, o.pair.qtyPrecision)!;
    if (o.volExecUnits + q > volU) throw new Error('fake kraken: overfill');
    const tr: FakeTrade = { id: this.id('T'), order: o, price: t.price, vol: t.qty, fee: t.fee, maker: t.maker, time };
    this.trades.push(tr);
    o.trades.push(tr.id);
    o.volExecUnits += q;
    if (o.volExecUnits === volU) o.status = 'closed';
    const events = [this.tradeEvent(tr)];
    if (o.status === 'closed') events.push(this.orderEvent(o, 'filled', 'filled'));
    if (this.pushDelayMs > 0) setTimeout(() => this.onExecution?.(events), this.pushDelayMs);
    else this.onExecution?.(events);
    return tr.id;
  }

  /**
   * One taker match of an open order against several resting orders: a fill per level (each its
   * own trade id, price and fee, all at the match's one time), pushed one by one. Returns the trade ids.
   */
  takerMatch(id: string, levels: { qty: string; price: string; fee: string }[]): string[] {
    const match = this.id('M');
    const ids: string[] = [];
    // one matching event: its fills share its time
    const time = this.now() / 1000;
    for (const l of levels) {
      const tid = this.fill(id, { ...l, maker: false }, time);
      this.trades.find((t) => t.id === tid)!.match = match;
      ids.push(tid);
    }
    return ids;
  }

  /** An order placed on the account outside the client under test (by hand): it rests on the book. */
  placeByHand(p: { pair: string; type: 'buy' | 'sell'; volume: string; price: string }): string {
    let txid = '';
    const res = { writeHead: () => res, end: (body: string) => (txid = (JSON.parse(body) as { result: { txid: string[] } }).result.txid[0]!), socket: undefined };
    this.addOrder({ ...p, ordertype: 'limit' }, res as unknown as ServerResponse);
    return txid;
  }

  /**
   * Trades as a REST list shows them: one taker match consolidated into one entry (the first
   * fill's id) unless `consolidate_taker=false`, as Kraken's QueryOrders, ClosedOrders and
   * TradesHistory do by default.
   */
  private listed(trades: FakeTrade[], consolidateTaker: unknown): [string, Record<string, unknown>][] {
    if (consolidateTaker === 'false' || consolidateTaker === false) return trades.map((t) => [t.id, this.tradeInfo(t)]);
    const out: [string, Record<string, unknown>][] = [];
    const seen = new Set<string>();
    for (const t of trades) {
      if (!t.match) {
        out.push([t.id, this.tradeInfo(t)]);
        continue;
      }
      if (seen.has(t.match)) continue;
      seen.add(t.match);
      const group = this.trades.filter((x) => x.match === t.match);
      const pair = t.order.pair;
      let vol = 0n;
      let fee = 0n;
      let cost = 0n; // price units x qty units
      for (const x of group) {
        const q = units(x.vol, pair.qtyPrecision)!;
        vol += q;
        fee += units(x.fee, 8)!;
        cost += units(x.price, pair.pricePrecision)! * q;
      }
      const avg = (cost + vol / 2n) / vol; // to the pair's precision, as Kraken prints prices
      out.push([t.id, { ...this.tradeInfo(t), price: decimal(avg, pair.pricePrecision), vol: decimal(vol, pair.qtyPrecision), fee: decimal(fee, 8) }]);
    }
    return out;
  }

  // ---- executions (private WebSocket v2) ----

  /** The token's standing for a subscription: ok, or the venue's refusal. */
  useToken(token: unknown): { ok: true } | { ok: false; error: string } {
    const t = typeof token === 'string' ? this.tokens.get(token) : undefined;
    if (this.refuseSubscriptions > 0) {
      this.refuseSubscriptions--;
      return { ok: false, error: 'ESession:Invalid session' };
    }
    if (!t || t.inUse || this.now() - t.issuedAt > 900_000) return { ok: false, error: 'ESession:Invalid session' };
    t.inUse = true;
    return { ok: true };
  }

  /** The subscription that held this token ended: the token is gone with it. */
  releaseToken(token: string): void {
    this.tokens.delete(token);
  }

  /** Tokens issued so far (for assertions). */
  tokensIssued = 0;

  /** The executions snapshot: every open order, then the last 50 trades (oldest first). */
  executionsSnapshot(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const o of this.orders.values()) if (o.status === 'open') out.push({ ...this.orderEvent(o, 'new', o.volExecUnits > 0n ? 'partially_filled' : 'new'), order_qty: this.num(o.vol, o.pair.qtyPrecision), symbol: o.pair.symbol, side: o.side, order_type: o.ordertype, ...(o.price ? { limit_price: this.num(o.price, o.pair.pricePrecision) } : {}) });
    if (!this.snapshotWithoutTrades) for (const t of this.trades.slice(-50)) out.push(this.tradeEvent(t));
    return out;
  }

  /** A decimal string as the JSON number Kraken writes (the marker is unwrapped by the sender). */
  private num(text: string, dec: number): { $num: string } {
    const u = units(text, dec) ?? 0n;
    if (u > 0n && u < 100n && dec >= 8) return { $num: `${u}e-${dec}` };
    const t = decimal(u, dec);
    return { $num: t.includes('.') ? t.replace(/0+$/, '').replace(/\.$/, '') : t };
  }

  private cumAt(t: FakeTrade): bigint {
    let cum = 0n;
    for (const id of t.order.trades) {
      const x = this.trades.find((y) => y.id === id)!;
      cum += units(x.vol, t.order.pair.qtyPrecision)!;
      if (id === t.id) break;
    }
    return cum;
  }

  private tradeEvent(t: FakeTrade): Record<string, unknown> {
    const o = t.order;
    const cum = this.cumAt(t);
    const full = cum === units(o.vol, o.pair.qtyPrecision);
    return {
      order_id: o.txid, ...(o.clOrdId ? { cl_ord_id: o.clOrdId } : {}), exec_id: t.id, exec_type: 'trade', trade_id: this.trades.indexOf(t) + 1, symbol: o.pair.symbol, side: o.side,
      last_qty: this.num(t.vol, o.pair.qtyPrecision), last_price: this.num(t.price, o.pair.pricePrecision), liquidity_ind: t.maker ? 'm' : 't', cost: { $num: '0' }, order_userref: 0,
      // Kraken may say partially_filled on the trade that completes the order; a filled event follows
      order_status: full ? this.completingTradeStatus : 'partially_filled', order_type: o.ordertype,
      ...(this.tradeEventsWithoutFees ? {} : { fees: [{ asset: o.pair.symbol.split('/')[1], qty: this.num(t.fee, 8) }] }), fee_usd_equiv: { $num: '0' },
      ...(this.tradeEventsWithoutCumQty ? {} : { cum_qty: this.num(decimal(cum, o.pair.qtyPrecision), o.pair.qtyPrecision) }), cum_cost: { $num: '0' }, timestamp: new Date(t.time * 1000).toISOString(),
    };
  }

  private orderEvent(o: FakeOrder, exec: string, status: string): Record<string, unknown> {
    return {
      timestamp: new Date(this.now()).toISOString(), order_status: status, exec_type: exec, order_id: o.txid, ...(o.clOrdId ? { cl_ord_id: o.clOrdId } : {}),
      cum_qty: this.num(decimal(o.volExecUnits, o.pair.qtyPrecision), o.pair.qtyPrecision), cum_cost: { $num: '0' }, fee_usd_equiv: { $num: '0' }, avg_price: { $num: '0' },
      ...(o.reason ? { reason: o.reason } : {}),
    };
  }

  private id(prefix: string): string {
    const n = (++this.seq).toString(36).toUpperCase().padStart(16, '0');
    return `${prefix}${n.slice(0, 5)}-${n.slice(5, 10)}-${n.slice(10, 16)}`;
  }

  private pairOf(name: unknown): KrakenPairRest | undefined {
    return this.pairs.find((p) => p.key === name || p.altname === name || p.wsname === name || p.symbol === name);
  }

  /** Handles the request when it is ours; false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/0/public/AssetPairs') {
      if (this.failAssetPairs > 0) {
        this.failAssetPairs--;
        this.answer(res, ['EService:Unavailable']);
        return true;
      }
      const result: Record<string, unknown> = {};
      for (const p of this.pairs) result[p.key] = { altname: p.altname, wsname: p.wsname, base: p.base, quote: p.quote, pair_decimals: p.pricePrecision, lot_decimals: p.qtyPrecision, status: 'online' };
      this.answer(res, [], result);
      return true;
    }
    const m = /^\/0\/private\/([A-Za-z]+)$/.exec(url.pathname);
    if (!m || req.method !== 'POST') return false;
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => this.onPrivate(m[1]!, url.pathname, req, body, res));
    return true;
  }

  private answer(res: ServerResponse, error: string[], result?: unknown): void {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(error.length > 0 ? { error } : { error: [], result }));
  }

  private onPrivate(method: string, path: string, req: IncomingMessage, body: string, res: ServerResponse): void {
    const json = String(req.headers['content-type'] ?? '').includes('json');
    let params: Record<string, string>;
    try {
      params = json ? (JSON.parse(body) as Record<string, string>) : Object.fromEntries(new URLSearchParams(body));
    } catch {
      return this.answer(res, ['EGeneral:Invalid arguments']);
    }
    if (req.headers['api-key'] !== this.apiKey) return this.answer(res, ['EAPI:Invalid key']);
    const nonce = String(params.nonce ?? '');
    const expected = createHmac('sha512', Buffer.from(this.secretB64, 'base64'))
      .update(Buffer.concat([Buffer.from(path), createHash('sha256').update(nonce + body).digest()]))
      .digest('base64');
    if (req.headers['api-sign'] !== expected) return this.answer(res, ['EAPI:Invalid signature']);
    if (!/^\d+$/.test(nonce) || Number(nonce) <= this.lastNonce) return this.answer(res, ['EAPI:Invalid nonce']);
    this.lastNonce = Number(nonce);
    this.calls.push(method);
    switch (method) {
      case 'AddOrder':
        return this.addOrder(params, res);
      case 'GetWebSocketsToken': {
        const token = Buffer.from(`${this.apiKey}:${nonce}:${Math.random()}`).toString('base64url').slice(0, 43);
        this.tokens.set(token, { issuedAt: this.now(), inUse: false });
        this.tokensIssued++;
        return this.answer(res, [], { token, expires: 900 });
      }
      case 'CancelOrder': {
        const o = params.txid ? this.orders.get(params.txid) : params.cl_ord_id ? this.find(params.cl_ord_id) : undefined;
        if (!o || o.status !== 'open') return this.answer(res, ['EOrder:Unknown order']);
        o.status = 'canceled';
        o.reason = 'User requested';
        this.onExecution?.([this.orderEvent(o, 'canceled', 'canceled')]);
        return this.answer(res, [], { count: 1 });
      }
      case 'OpenOrders':
      case 'ClosedOrders': {
        const wantOpen = method === 'OpenOrders';
        const list: Record<string, unknown> = {};
        for (const o of this.orders.values()) {
          if ((o.status === 'open') !== wantOpen) continue;
          if (params.cl_ord_id && o.clOrdId !== params.cl_ord_id) continue;
          list[o.txid] = this.info(o, params.trades === 'true', params.consolidate_taker);
        }
        return this.answer(res, [], wantOpen ? { open: list } : { closed: list, count: Object.keys(list).length });
      }
      case 'QueryOrders': {
        const out: Record<string, unknown> = {};
        for (const id of String(params.txid ?? '').split(',')) {
          const o = this.orders.get(id);
          if (!o) return this.answer(res, ['EOrder:Invalid order']);
          out[id] = this.info(o, params.trades === 'true', params.consolidate_taker);
        }
        return this.answer(res, [], out);
      }
      case 'QueryTrades': {
        const out: Record<string, unknown> = {};
        for (const id of String(params.txid ?? '').split(',')) {
          const t = this.trades.find((x) => x.id === id);
          if (!t) return this.answer(res, ['EGeneral:Invalid arguments']);
          out[id] = this.tradeInfo(t);
        }
        return this.answer(res, [], out);
      }
      case 'TradesHistory': {
        const start = params.start !== undefined ? Number(params.start) : 0;
        const all = this.trades.filter((t) => t.time > start).sort((a, b) => b.time - a.time); // newest first
        const ofs = Number(params.ofs ?? 0);
        const listed = this.listed(all, params.consolidate_taker);
        const page = listed.slice(ofs, ofs + 50);
        return this.answer(res, [], { trades: Object.fromEntries(page), count: listed.length });
      }
      case 'Balance':
        return this.answer(res, [], this.balances);
      default:
        return this.answer(res, ['EGeneral:Unknown method']);
    }
  }

  private addOrder(p: Record<string, string>, res: ServerResponse): void {
    this.orderRequestTimes.push(Date.now());
    const pair = this.pairOf(p.pair);
    if (!pair) return this.answer(res, ['EQuery:Unknown asset pair']);
    if (p.type !== 'buy' && p.type !== 'sell') return this.answer(res, ['EGeneral:Invalid arguments:type']);
    if (p.ordertype !== 'limit' && p.ordertype !== 'market') return this.answer(res, ['EGeneral:Invalid arguments:ordertype']);
    const vol = units(String(p.volume ?? ''), pair.qtyPrecision);
    if (vol === undefined || vol <= 0n) return this.answer(res, ['EGeneral:Invalid arguments:volume']);
    if (p.ordertype === 'limit' && units(String(p.price ?? ''), pair.pricePrecision) === undefined) return this.answer(res, ['EOrder:Invalid price']);
    if (p.cl_ord_id !== undefined) {
      const free = /^[\x20-\x7e]{1,18}$/.test(p.cl_ord_id) || /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(p.cl_ord_id);
      if (!free) return this.answer(res, ['EGeneral:Invalid arguments:cl_ord_id']);
      if ([...this.orders.values()].some((o) => o.status === 'open' && o.clOrdId === p.cl_ord_id)) return this.answer(res, ['EOrder:Duplicate cl_ord_id']);
    }
    if (p.deadline !== undefined) {
      const d = Date.parse(p.deadline);
      if (!Number.isFinite(d)) return this.answer(res, ['EGeneral:Invalid arguments:deadline']);
      if (d < Date.now()) return this.answer(res, ['EOrder:Deadline elapsed']);
    }
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = undefined;
      return this.answer(res, [e]);
    }
    const o: FakeOrder = {
      txid: this.id('O'), pair, side: p.type, ordertype: p.ordertype, vol: decimal(vol, pair.qtyPrecision), volExecUnits: 0n, status: 'open', opentm: this.now() / 1000,
      oflags: p.oflags ?? '', trades: [],
    };
    if (p.cl_ord_id !== undefined) o.clOrdId = p.cl_ord_id;
    if (p.ordertype === 'limit') o.price = decimal(units(p.price!, pair.pricePrecision)!, pair.pricePrecision);
    this.orders.set(o.txid, o);
    this.onExecution?.([{ ...this.orderEvent(o, 'pending_new', 'pending_new'), symbol: pair.symbol, side: o.side, order_type: o.ordertype, order_qty: this.num(o.vol, pair.qtyPrecision) }]);
    this.onExecution?.([this.orderEvent(o, 'new', 'new')]);
    if (p.timeinforce === 'IOC') {
      o.status = 'expired';
      o.reason = 'Insufficient liquidity';
      this.onExecution?.([this.orderEvent(o, 'expired', 'expired')]);
    }
    if (this.loseAddOrderAnswers > 0) {
      this.loseAddOrderAnswers--;
      res.socket?.destroy();
      return;
    }
    this.answer(res, [], { descr: { order: `${o.side} ${o.vol} ${pair.altname} @ ${o.ordertype} ${o.price ?? ''}`.trim() }, txid: [o.txid] });
  }

  private info(o: FakeOrder, withTrades: boolean, consolidateTaker?: unknown): Record<string, unknown> {
    const r: Record<string, unknown> = {
      refid: null, userref: 0, cl_ord_id: o.clOrdId ?? null, status: o.status, opentm: o.opentm, starttm: 0, expiretm: 0,
      descr: { pair: o.pair.altname, type: o.side, ordertype: o.ordertype, price: o.price ?? '0', price2: '0', leverage: 'none', order: '', close: '' },
      vol: o.vol, vol_exec: decimal(o.volExecUnits, o.pair.qtyPrecision), cost: '0', fee: '0', price: '0', stopprice: '0', limitprice: '0', misc: '', oflags: o.oflags || 'fciq',
      reason: o.reason ?? null,
    };
    if (withTrades && o.trades.length > 0) r.trades = this.listed(o.trades.map((id) => this.trades.find((t) => t.id === id)!), consolidateTaker).map(([id]) => id);
    return r;
  }

  private tradeInfo(t: FakeTrade): Record<string, unknown> {
    return { ordertxid: t.order.txid, postxid: 'P000', pair: t.order.pair.key, time: t.time, type: t.order.side, ordertype: t.order.ordertype, price: t.price, cost: '0', fee: t.fee, vol: t.vol, margin: '0', misc: '', maker: t.maker };
  }
}
