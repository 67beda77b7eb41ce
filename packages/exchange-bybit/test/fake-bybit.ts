/**
 * A local Bybit v5 server for tests, written from Bybit's public v5 docs
 * (bybit-exchange.github.io/docs/v5: ws/connect, websocket/public/orderbook, .../trade,
 * .../all-liquidation, market/instrument):
 *
 * - WebSocket `/v5/public/spot` and `/v5/public/linear`: `{"op":"subscribe","args":[..]}` and
 *   `unsubscribe` with `{"success":..,"ret_msg":..,"conn_id":..,"req_id":..,"op":..}` answers;
 *   `{"op":"ping"}` answered with a pong (spot's `{"success":true,"ret_msg":"pong",...,"op":"ping"}`
 *   form, linear's `{"op":"pong","args":[ts],...}` form).
 * - `orderbook.<depth>.<symbol>`: a snapshot right after subscribing, then deltas of the top
 *   `depth` levels (a level leaving the top `depth` is sent with size "0", one entering it is
 *   sent in full), `u` + 1 per frame, `seq` a cross sequence; depth 1 re-sends its snapshot with
 *   the same `u` when nothing changed for `resendAfterMs` (3 s on Bybit).
 * - `publicTrade.<symbol>` (`i` a numeric string on spot, a UUID on linear; `S` the taker side),
 *   `allLiquidation.<symbol>` on linear (`S` the side of the liquidated position).
 * - REST GET /v5/market/instruments-info?category=..&symbol=..&status=.. (priceFilter / lotSizeFilter;
 *   without `status` only Trading symbols, as documented).
 * - Signed REST (docs v5/guide "Authentication"): X-BAPI-API-KEY, X-BAPI-TIMESTAMP,
 *   X-BAPI-RECV-WINDOW and X-BAPI-SIGN = HMAC-SHA256(timestamp + key + recv_window + body or
 *   query string) checked on POST /v5/order/create, POST /v5/order/cancel, GET
 *   /v5/order/realtime, /v5/order/history, /v5/execution/list (newest first, `limit` up to 100,
 *   `nextPageCursor` paging, startTime/endTime at most 7 days apart, the last 7 days when neither
 *   is given, 7 days from startTime or up to endTime when one is), /v5/account/wallet-balance
 *   (UNIFIED) and /v5/position/list (linear: one-way positions moved by our fills), answering
 *   with v5 retCodes. A new order on a pair whose instruments-info `status` is not `Trading` is
 *   refused with a documented "pair not trading" retCode (notTradingAnswer).
 * - Scenario hooks: sequence gaps, mid-stream snapshots (also `u = 1` service restarts),
 *   dropped connections, stalls (no frames, no pongs), raw (malformed) frames.
 *
 * The full book is the truth; subscribers see its top `depth` levels. Deterministic: a seeded
 * PRNG drives the book. Listens on 127.0.0.1 only.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ConformanceVenue } from '@cwts/core/testing';

export type FakeCategory = 'spot' | 'linear';

/**
 * The retCode a new order on a pair that is not `Trading` meets. The v5 docs list the codes
 * (docs v5/error) but do not pair them with instruments-info statuses, so the pairing is ours,
 * by the codes' own words: spot PreLaunch 170151 "The trading pair is not open yet", other spot
 * states 170157 "The trading pair is not available for api trading"; linear Delivering 110042
 * ("pre-delivery status, you can only reduce your position"), Settling 110063 ("Settlement in
 * progress"), other states 110066 "Trading is currently not allowed."
 */
export function notTradingAnswer(category: FakeCategory, status: string, symbol: string): [code: number, retMsg: string] {
  if (category === 'spot') return status === 'PreLaunch' ? [170151, 'The trading pair is not open yet'] : [170157, 'The trading pair is not available for api trading'];
  if (status === 'Delivering') return [110042, 'Currently,due to pre-delivery status, you can only reduce your position on this contract.'];
  if (status === 'Settling') return [110063, `Settlement in progress! ${symbol} not available for trading.`];
  return [110066, 'Trading is currently not allowed.'];
}

/**
 * The retCode a price or quantity with more decimals than the pair's grid meets: on spot the
 * documented codes (docs v5/error, "Spot Trade": 170134 "Order price decimal too long.", 170137
 * "Order volume decimal too long"); linear documents none of its own, so 10001 (parameter error).
 */
export function tooManyDecimalsAnswer(category: FakeCategory, field: 'price' | 'qty'): [code: number, retMsg: string] {
  if (category !== 'spot') return [10001, `params error: ${field} has too many decimals`];
  return field === 'price' ? [170134, 'Order price decimal too long.'] : [170137, 'Order volume decimal too long'];
}

/** Instrument grids as Bybit publishes them for BTCUSDT. */
const GRID: Record<FakeCategory, { tickDec: number; lotDec: number; tick: string; lot: string }> = {
  spot: { tickDec: 2, lotDec: 6, tick: '0.01', lot: '0.000001' },
  linear: { tickDec: 1, lotDec: 3, tick: '0.10', lot: '0.001' },
};

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fmt(units: number, dec: number): string {
  const s = units.toString().padStart(dec + 1, '0');
  return dec === 0 ? s : `${s.slice(0, s.length - dec)}.${s.slice(s.length - dec)}`;
}

function parseUnits(text: string, dec: number): number {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new Error(`not a decimal: ${text}`);
  const frac = (m[2] ?? '').replace(/0+$/, '');
  if (frac.length > dec) throw new Error(`${text} is off the grid`);
  return Number(m[1]) * 10 ** dec + Number(frac.padEnd(dec, '0') || '0');
}

interface SymBook {
  symbol: string;
  bids: Map<number, number>;
  asks: Map<number, number>;
  mid: number;
  /** Update id of the last book frame (shared by this symbol's depth topics: Bybit's is per topic, one topic is used here). */
  u: number;
  crossSeq: number;
  tradeSeq: number;
  skipNext: boolean;
  /** The top-`depth` view subscribers hold, per depth. */
  views: Map<number, { bids: Map<number, number>; asks: Map<number, number>; lastChange: number }>;
  lastTradeFrame: string | undefined;
}

interface Conn {
  ws: WebSocket;
  id: string;
  topics: Set<string>;
  /** Stalled: the server sends nothing on it any more and answers no ping. */
  stalled: boolean;
}

export interface FakeOrder {
  orderId: string;
  orderLinkId: string;
  symbol: string;
  side: 'Buy' | 'Sell';
  orderType: 'Limit' | 'Market';
  price: string;
  qty: string;
  timeInForce: string;
  orderStatus: 'New' | 'PartiallyFilled' | 'Filled' | 'Cancelled' | 'PartiallyFilledCanceled';
  cumExecQty: string;
  createdTime: string;
  updatedTime: string;
}

export interface FakeExecution {
  symbol: string;
  orderId: string;
  orderLinkId: string;
  side: 'Buy' | 'Sell';
  execId: string;
  execPrice: string;
  execQty: string;
  execFee: string;
  feeCurrency?: string;
  execType: 'Trade' | 'Funding';
  execTime: string;
  isMaker: boolean;
}

export interface FakeBybitOptions {
  /** Signed endpoints accept only this key/secret. */
  apiKey?: string;
  apiSecret?: string;
  category?: FakeCategory;
  symbols?: string[];
  seed?: number;
  /** Depth-1 snapshot re-send after this long without a change (Bybit: 3000 ms). 0: off. */
  resendAfterMs?: number;
}

export class FakeBybit implements ConformanceVenue {
  readonly category: FakeCategory;
  readonly books = new Map<string, SymBook>();
  readonly conns = new Set<Conn>();
  pings = 0;
  /** The next this-many book subscribes get no snapshot (a lost snapshot). */
  withholdSnapshots = 0;
  subscribes = 0;
  unsubscribes = 0;
  snapshotsSent = 0;
  /** Trades that reached at least one subscribed connection. */
  tradesDelivered = 0;
  readonly restRequests: string[] = [];
  readonly orders = new Map<string, FakeOrder>();
  readonly executions: FakeExecution[] = [];
  /** Local times (ms) at which order/create requests arrived. */
  readonly orderTimes: number[] = [];
  /** instruments-info `status` per symbol (Trading when absent); tests halt a pair with it. */
  readonly pairStatus = new Map<string, string>();
  /** The body of the last order/create request. */
  lastCreate: Record<string, unknown> | undefined;
  /** execution/list answers served (pages). */
  executionPagesServed = 0;
  private nextOrderId = 1_500_000_000_000_000_000n;
  private nextExecId = 1;
  private failNext: 'balance' | undefined;
  /** The next this-many order/create requests are carried out but their answer is lost (the socket is cut). */
  loseCreateAnswers = 0;
  /** The next order/create requests are carried out, each answered with this retCode instead (Bybit's 10000 "Server Timeout"). */
  readonly createAnswerCodes: [number, string][] = [];
  /**
   * order/realtime lists working orders only, even asked by id: as after a Bybit server release,
   * when closed orders of a unified account are found through order/history alone.
   */
  realtimeOpenOnly = false;
  /** Unified wallet: coin -> walletBalance. */
  wallet: Record<string, string> = { BTC: '1.250000', USDT: '100000.00' };
  /** Linear one-way positions: symbol -> signed lots, moved by fills. */
  private readonly positionLots = new Map<string, number>();
  private readonly grid: (typeof GRID)[FakeCategory];
  private readonly rnd: () => number;
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private resendTimer: NodeJS.Timeout | undefined;
  private connSeq = 0;
  port = 0;

  private constructor(readonly opts: FakeBybitOptions) {
    this.category = opts.category ?? 'spot';
    this.grid = GRID[this.category];
    this.rnd = rng(opts.seed ?? 1);
    for (const s of opts.symbols ?? ['BTCUSDT']) this.books.set(s, this.initialBook(s));
    this.server = createServer((req, res) => this.http(req, res));
    this.wss = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (req, socket, head) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path !== `/v5/public/${this.category}`) {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onConn(ws));
    });
  }

  static async start(opts: FakeBybitOptions = {}): Promise<FakeBybit> {
    const f = new FakeBybit(opts);
    await new Promise<void>((r) => f.server.listen(0, '127.0.0.1', r));
    f.port = (f.server.address() as AddressInfo).port;
    if (opts.resendAfterMs) f.resendTimer = setInterval(() => f.resendUnchanged(), Math.max(10, Math.floor(opts.resendAfterMs / 4)));
    return f;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/v5/public/${this.category}`;
  }
  get restUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  // ---- book model -------------------------------------------------------------------------

  private initialBook(symbol: string): SymBook {
    const mid = 65000 * 10 ** this.grid.tickDec;
    const b: SymBook = { symbol, bids: new Map(), asks: new Map(), mid, u: 1000, crossSeq: 5_000_000, tradeSeq: 0, skipNext: false, views: new Map(), lastTradeFrame: undefined };
    for (let k = 1; k <= 80; k++) {
      b.bids.set(mid - k, this.randQty());
      b.asks.set(mid + k, this.randQty());
    }
    return b;
  }

  private randQty(): number {
    return 1 + Math.floor(this.rnd() * 5000);
  }

  private top(side: Map<number, number>, n: number, desc: boolean): [number, number][] {
    return [...side.entries()].sort((x, y) => (desc ? y[0] - x[0] : x[0] - y[0])).slice(0, n);
  }

  truth(symbol: string, n: number): { bids: [string, string][]; asks: [string, string][] } {
    const b = this.book(symbol);
    const f = (l: [number, number]): [string, string] => [fmt(l[0], this.grid.tickDec), fmt(l[1], this.grid.lotDec)];
    return { bids: this.top(b.bids, n, true).map(f), asks: this.top(b.asks, n, false).map(f) };
  }

  private book(symbol: string): SymBook {
    const b = this.books.get(symbol);
    if (!b) throw new Error(`fake bybit: unknown symbol ${symbol}`);
    return b;
  }

  /** One random change of the full book: a size change, a new level, or a removed level (never crossing). */
  private mutate(b: SymBook): void {
    const bid = this.rnd() < 0.5;
    const side = bid ? b.bids : b.asks;
    const bestBid = Math.max(...b.bids.keys());
    const bestAsk = Math.min(...b.asks.keys());
    const r = this.rnd();
    if (r < 0.5 || side.size < 20) {
      // set a level within 30 ticks of the touch, on its own side of the spread
      const off = Math.floor(this.rnd() * 30);
      const price = bid ? bestAsk - 1 - off : bestBid + 1 + off;
      side.set(price, this.randQty());
    } else {
      const levels = [...side.keys()].sort((x, y) => (bid ? y - x : x - y)).slice(0, 25);
      side.delete(levels[Math.floor(this.rnd() * levels.length)]!);
    }
  }

  /** Diff of the subscribers' top-`depth` view against the book now; updates the view. */
  private diffView(b: SymBook, depth: number): { bids: [string, string][]; asks: [string, string][] } {
    const view = this.viewOf(b, depth);
    const f = (p: number, q: number): [string, string] => [fmt(p, this.grid.tickDec), fmt(q, this.grid.lotDec)];
    const side = (full: Map<number, number>, seen: Map<number, number>, desc: boolean): [string, string][] => {
      const now = new Map(this.top(full, depth, desc));
      const out: [string, string][] = [];
      for (const [p, q] of now) if (seen.get(p) !== q) out.push(f(p, q));
      for (const p of seen.keys()) if (!now.has(p)) out.push([fmt(p, this.grid.tickDec), '0']);
      seen.clear();
      for (const [p, q] of now) seen.set(p, q);
      return out;
    };
    const d = { bids: side(b.bids, view.bids, true), asks: side(b.asks, view.asks, false) };
    if (d.bids.length + d.asks.length > 0) view.lastChange = Date.now();
    return d;
  }

  private viewOf(b: SymBook, depth: number) {
    let v = b.views.get(depth);
    if (!v) b.views.set(depth, (v = { bids: new Map(this.top(b.bids, depth, true)), asks: new Map(this.top(b.asks, depth, false)), lastChange: Date.now() }));
    return v;
  }

  private depthsSubscribed(symbol: string): number[] {
    const out = new Set<number>();
    for (const c of this.conns) for (const t of c.topics) {
      const m = /^orderbook\.(\d+)\.(.+)$/.exec(t);
      if (m && m[2] === symbol) out.add(Number(m[1]));
    }
    return [...out];
  }

  /** Publishes n book updates: each mutates the book and sends the delta of every subscribed depth. */
  step(symbol: string, n: number): void {
    const b = this.book(symbol);
    for (let k = 0; k < n; k++) {
      this.mutate(b);
      const depths = this.depthsSubscribed(symbol);
      for (const depth of depths) {
        const d = this.diffView(b, depth);
        if (d.bids.length + d.asks.length === 0) continue;
        b.u += b.skipNext ? 2 : 1;
        b.skipNext = false;
        b.crossSeq += 1 + Math.floor(this.rnd() * 3);
        this.publish(`orderbook.${depth}.${symbol}`, JSON.stringify({ topic: `orderbook.${depth}.${symbol}`, type: 'delta', ts: Date.now(), data: { s: symbol, b: d.bids, a: d.asks, u: b.u, seq: b.crossSeq }, cts: Date.now() - 1 }));
      }
      // views of depths nobody holds are rebuilt at the next subscribe
      for (const depth of [...b.views.keys()]) if (!depths.includes(depth)) b.views.delete(depth);
    }
  }

  private snapshotFrame(b: SymBook, depth: number): string {
    const f = (l: [number, number]): [string, string] => [fmt(l[0], this.grid.tickDec), fmt(l[1], this.grid.lotDec)];
    const bids = this.top(b.bids, depth, true);
    const asks = this.top(b.asks, depth, false);
    const v = this.viewOf(b, depth);
    v.bids = new Map(bids);
    v.asks = new Map(asks);
    this.snapshotsSent++;
    return JSON.stringify({ topic: `orderbook.${depth}.${b.symbol}`, type: 'snapshot', ts: Date.now(), data: { s: b.symbol, b: bids.map(f), a: asks.map(f), u: b.u, seq: b.crossSeq }, cts: Date.now() - 1 });
  }

  /**
   * Bybit re-sends a snapshot mid-stream "if there is a problem on Bybit's end": the book moved
   * by `lostUpdates` changes nobody was sent, then the snapshot carries the latest data under the
   * next `u`; restart: `u` starts again at 1.
   */
  midStreamSnapshot(symbol: string, opts: { restart?: boolean; lostUpdates?: number; keepU?: boolean } = {}): void {
    const b = this.book(symbol);
    for (let k = 0; k < (opts.lostUpdates ?? 3); k++) this.mutate(b);
    if (opts.restart) b.u = 1;
    else if (!opts.keepU) b.u++;
    for (const depth of this.depthsSubscribed(symbol)) this.publish(`orderbook.${depth}.${symbol}`, this.snapshotFrame(b, depth));
  }

  private resendUnchanged(): void {
    const after = this.opts.resendAfterMs ?? 0;
    for (const b of this.books.values()) {
      const v = b.views.get(1);
      if (!v || Date.now() - v.lastChange < after) continue;
      v.lastChange = Date.now();
      this.publish(`orderbook.1.${b.symbol}`, this.snapshotFrame(b, 1));
    }
  }

  skipSequence(symbol: string): void {
    this.book(symbol).skipNext = true;
  }

  trade(symbol: string, t: { price: string; qty: string; side: 'buy' | 'sell' }): string {
    const b = this.book(symbol);
    parseUnits(t.price, this.grid.tickDec);
    parseUnits(t.qty, this.grid.lotDec);
    b.tradeSeq++;
    const id = this.category === 'spot' ? String(2290000000000000 + b.tradeSeq) : `${b.tradeSeq.toString(16).padStart(8, '0')}-d8dd-5b31-9112-a178eb6023af`;
    const frame = JSON.stringify({ topic: `publicTrade.${symbol}`, type: 'snapshot', ts: Date.now(), data: [{ T: Date.now(), s: symbol, S: t.side === 'buy' ? 'Buy' : 'Sell', v: t.qty, p: t.price, L: 'PlusTick', i: id, BT: false, RPI: false, seq: b.crossSeq }] });
    b.lastTradeFrame = frame;
    if (this.publish(`publicTrade.${symbol}`, frame) > 0) this.tradesDelivered++;
    return id;
  }

  /** Sends the last trade frame again (a duplicate on the wire). */
  repeatLastTrade(symbol: string): void {
    const f = this.book(symbol).lastTradeFrame;
    if (f) this.publish(`publicTrade.${symbol}`, f);
  }

  /** Linear: a liquidation; `positionSide` "Buy" = a long position was liquidated. */
  liquidation(symbol: string, l: { price: string; qty: string; positionSide: 'Buy' | 'Sell' }): void {
    const frame = JSON.stringify({ topic: `allLiquidation.${symbol}`, type: 'snapshot', ts: Date.now(), data: [{ T: Date.now(), s: symbol, S: l.positionSide, v: l.qty, p: l.price }] });
    this.publish(`allLiquidation.${symbol}`, frame);
  }

  /** Sends to every open connection subscribed to the topic; returns how many got it. */
  private publish(topic: string, text: string): number {
    let n = 0;
    for (const c of this.conns) {
      if (c.stalled || !c.topics.has(topic) || c.ws.readyState !== c.ws.OPEN) continue;
      c.ws.send(text);
      n++;
    }
    return n;
  }

  // ---- connections ------------------------------------------------------------------------

  private onConn(ws: WebSocket): void {
    const c: Conn = { ws, id: `conn-${++this.connSeq}`, topics: new Set(), stalled: false };
    this.conns.add(c);
    ws.on('close', () => this.conns.delete(c));
    ws.on('error', () => this.conns.delete(c));
    ws.on('message', (data) => this.onMessage(c, data.toString()));
  }

  private onMessage(c: Conn, text: string): void {
    if (c.stalled) return;
    let m: { op?: unknown; args?: unknown; req_id?: unknown };
    try {
      m = JSON.parse(text);
    } catch {
      c.ws.send(JSON.stringify({ success: false, ret_msg: 'error:request not json', conn_id: c.id, op: '' }));
      return;
    }
    const reqId = typeof m.req_id === 'string' ? m.req_id : '';
    if (m.op === 'ping') {
      this.pings++;
      if (this.category === 'spot') c.ws.send(JSON.stringify({ success: true, ret_msg: 'pong', conn_id: c.id, req_id: reqId, op: 'ping' }));
      else c.ws.send(JSON.stringify({ req_id: reqId, op: 'pong', args: [String(Date.now())], conn_id: c.id }));
      return;
    }
    if (m.op !== 'subscribe' && m.op !== 'unsubscribe') {
      c.ws.send(JSON.stringify({ success: false, ret_msg: `error:handler not found for op ${String(m.op)}`, conn_id: c.id, req_id: reqId, op: String(m.op) }));
      return;
    }
    const args = Array.isArray(m.args) ? m.args.filter((a): a is string => typeof a === 'string') : [];
    const bad = args.filter((a) => !this.validTopic(a));
    if (args.length === 0 || args.length > 10 || bad.length > 0) {
      c.ws.send(JSON.stringify({ success: false, ret_msg: args.length > 10 ? 'error:too many args' : `error:Invalid topic ${bad.join(',')}`, conn_id: c.id, req_id: reqId, op: m.op }));
      return;
    }
    if (m.op === 'unsubscribe') {
      this.unsubscribes++;
      for (const a of args) c.topics.delete(a);
      c.ws.send(JSON.stringify({ success: true, ret_msg: '', conn_id: c.id, req_id: reqId, op: 'unsubscribe' }));
      return;
    }
    this.subscribes++;
    c.ws.send(JSON.stringify({ success: true, ret_msg: '', conn_id: c.id, req_id: reqId, op: 'subscribe' }));
    for (const a of args) {
      c.topics.add(a);
      const ob = /^orderbook\.(\d+)\.(.+)$/.exec(a);
      if (!ob) continue;
      if (this.withholdSnapshots > 0) this.withholdSnapshots--;
      else c.ws.send(this.snapshotFrame(this.book(ob[2]!), Number(ob[1])));
    }
  }

  private validTopic(t: string): boolean {
    const ob = /^orderbook\.(1|50|200|1000)\.(.+)$/.exec(t);
    if (ob) return this.books.has(ob[2]!);
    const tr = /^publicTrade\.(.+)$/.exec(t);
    if (tr) return this.books.has(tr[1]!);
    const lq = /^allLiquidation\.(.+)$/.exec(t);
    return !!lq && this.category === 'linear' && this.books.has(lq[1]!);
  }

  /** Existing connections go silent: no data, no pongs (a silent stall); new ones work. */
  stall(): void {
    for (const c of this.conns) c.stalled = true;
  }

  dropConnections(): void {
    for (const c of this.conns) c.ws.terminate();
    this.conns.clear();
  }

  sendRaw(text: string): void {
    for (const c of this.conns) if (!c.stalled && c.ws.readyState === c.ws.OPEN) c.ws.send(text);
  }

  connectionCount(): number {
    return this.conns.size;
  }

  // ---- REST -------------------------------------------------------------------------------

  private http(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => this.route(req, Buffer.concat(chunks).toString('utf8'), res));
  }

  private route(req: IncomingMessage, body: string, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    this.restRequests.push(`${req.method} ${url.pathname}${url.search}`);
    const json = (status: number, out: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out));
    };
    const v5 = (retCode: number, retMsg: string, result: unknown = {}) => json(200, { retCode, retMsg, result, retExtInfo: {}, time: Date.now() });
    if (req.method === 'GET' && url.pathname === '/v5/market/instruments-info') {
      const category = url.searchParams.get('category');
      if (category !== this.category) return v5(10001, `params error: category ${category} not served here`);
      const only = url.searchParams.get('symbol');
      // docs v5/market/instrument, `status`: spot and linear list only Trading symbols unless asked for another status
      const want = url.searchParams.get('status') ?? 'Trading';
      const list = [...this.books.keys()].filter((s) => (!only || s === only) && (this.pairStatus.get(s) ?? 'Trading') === want).map((s) => this.instrumentInfo(s));
      return v5(0, 'OK', { category: this.category, list, nextPageCursor: '' });
    }
    const priv = ['/v5/order/create', '/v5/order/cancel', '/v5/order/realtime', '/v5/order/history', '/v5/execution/list', '/v5/account/wallet-balance', '/v5/position/list'];
    if (!priv.includes(url.pathname)) return json(404, { retCode: 10001, retMsg: 'not found' });
    // authentication (docs v5/guide): the signed payload is the JSON body (POST) or the query string (GET)
    const h = (k: string) => String(req.headers[k.toLowerCase()] ?? '');
    if (!this.opts.apiKey || h('X-BAPI-API-KEY') !== this.opts.apiKey) return v5(10003, 'API key is invalid.');
    const ts = Number(h('X-BAPI-TIMESTAMP'));
    const recv = Number(h('X-BAPI-RECV-WINDOW') || '5000');
    if (!Number.isFinite(ts) || Math.abs(Date.now() - ts) > recv) return v5(10002, 'invalid request, please check your server timestamp or recv_window param');
    const payload = req.method === 'POST' ? body : url.search.slice(1);
    const expected = createHmac('sha256', this.opts.apiSecret ?? '').update(`${h('X-BAPI-TIMESTAMP')}${this.opts.apiKey}${h('X-BAPI-RECV-WINDOW')}${payload}`).digest('hex');
    if (h('X-BAPI-SIGN') !== expected) return v5(10004, 'error sign! origin_string[redacted]');
    let p: Record<string, unknown>;
    if (req.method === 'POST') {
      try {
        p = JSON.parse(body) as Record<string, unknown>;
      } catch {
        return v5(10001, 'request body is not JSON');
      }
    } else p = Object.fromEntries(url.searchParams.entries());
    if (url.pathname === '/v5/account/wallet-balance') {
      if (p.accountType !== 'UNIFIED') return v5(10001, `accountType only support UNIFIED. ${String(p.accountType)}`);
      const coin = Object.entries(this.wallet).map(([c, b]) => ({ coin: c, walletBalance: b, locked: '0', equity: b }));
      return v5(0, 'OK', { list: [{ accountType: 'UNIFIED', totalEquity: '0', coin }] });
    }
    if (p.category !== this.category) return v5(10001, `params error: category ${String(p.category)}`);
    const working = (o: FakeOrder) => o.orderStatus === 'New' || o.orderStatus === 'PartiallyFilled';
    const orderMatch = (o: FakeOrder) => (!p.symbol || o.symbol === p.symbol) && (!p.orderId || o.orderId === p.orderId) && (!p.orderLinkId || o.orderLinkId === p.orderLinkId);
    switch (url.pathname) {
      case '/v5/order/create':
        this.orderTimes.push(Date.now());
        if (this.loseCreateAnswers > 0) {
          this.loseCreateAnswers--;
          this.create(p, () => res.socket?.destroy());
          return;
        }
        if (this.createAnswerCodes.length > 0) {
          const [code, msg] = this.createAnswerCodes.shift()!;
          return this.create(p, (c, m, result) => (c === 0 ? v5(code, msg) : v5(c, m, result)));
        }
        return this.create(p, v5);
      case '/v5/order/cancel':
        return this.cancelOrder(p, v5);
      case '/v5/order/realtime': {
        const byId = typeof p.orderId === 'string' || typeof p.orderLinkId === 'string';
        const list = [...this.orders.values()].filter((o) => orderMatch(o) && ((byId && !this.realtimeOpenOnly) || working(o)));
        return v5(0, 'OK', { category: this.category, list: list.reverse(), nextPageCursor: '' });
      }
      case '/v5/order/history': {
        const list = [...this.orders.values()].filter(orderMatch);
        return v5(0, 'OK', { category: this.category, list: list.reverse(), nextPageCursor: '' });
      }
      case '/v5/position/list': {
        if (this.category !== 'linear') return v5(10001, 'params error: category only support linear, inverse, option');
        if (!p.symbol && !p.settleCoin) return v5(10001, 'params error: symbol or settleCoin is required');
        const syms = p.symbol ? [String(p.symbol)] : [...this.books.keys()];
        const list = syms.filter((s) => this.books.has(s)).map((s) => {
          const lots = this.positionLots.get(s) ?? 0;
          return { positionIdx: 0, symbol: s, side: lots > 0 ? 'Buy' : lots < 0 ? 'Sell' : '', size: fmt(Math.abs(lots), this.grid.lotDec), avgPrice: '0' };
        });
        return v5(0, 'OK', { category: this.category, list, nextPageCursor: '' });
      }
      default:
        return this.executionList(p, v5);
    }
  }

  /** execution/list: newest first, paged by an opaque cursor (here: the offset). */
  private executionList(p: Record<string, unknown>, v5: (code: number, msg: string, result?: unknown) => void): void {
    const week = 7 * 24 * 3600 * 1000;
    let start = p.startTime === undefined ? undefined : Number(p.startTime);
    let end = p.endTime === undefined ? undefined : Number(p.endTime);
    if (start !== undefined && end !== undefined && (end < start || end - start > week)) return v5(10001, 'params error: startTime and endTime must be within 7 days');
    // the documented defaults (docs v5/order/execution, startTime), whatever else is asked (an
    // orderId too): no range is the last 7 days, startTime alone the 7 days from it, endTime
    // alone the 7 days up to it
    if (start === undefined && end === undefined) start = (end = Date.now()) - week;
    else if (end === undefined) end = start! + week;
    else if (start === undefined) start = end - week;
    const limit = p.limit === undefined ? 50 : Number(p.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) return v5(10001, 'params error: limit');
    const all = this.executions
      .filter((x) => (!p.symbol || x.symbol === p.symbol) && (!p.orderId || x.orderId === p.orderId) && (!p.execType || x.execType === p.execType))
      .filter((x) => Number(x.execTime) >= start! && Number(x.execTime) <= end!)
      .reverse();
    this.executionPagesServed++;
    const offset = typeof p.cursor === 'string' && p.cursor !== '' ? Number(p.cursor) : 0;
    const list = all.slice(offset, offset + limit);
    const next = offset + limit < all.length ? String(offset + limit) : '';
    v5(0, 'OK', { category: this.category, list, nextPageCursor: next });
  }

  /** The next order/create fails with the venue's insufficient-balance code. */
  failNextOrder(kind: 'balance'): void {
    this.failNext = kind;
  }

  private create(p: Record<string, unknown>, v5: (code: number, msg: string, result?: unknown) => void): void {
    this.lastCreate = p;
    const g = this.grid;
    const symbol = String(p.symbol ?? '');
    if (!this.books.has(symbol)) return v5(this.category === 'spot' ? 170121 : 10001, 'Invalid symbol.');
    const status = this.pairStatus.get(symbol) ?? 'Trading';
    if (status !== 'Trading') {
      const [code, msg] = notTradingAnswer(this.category, status, symbol);
      return v5(code, msg);
    }
    if (p.side !== 'Buy' && p.side !== 'Sell') return v5(10001, 'params error: side invalid');
    if (p.orderType !== 'Limit' && p.orderType !== 'Market') return v5(10001, 'params error: orderType invalid');
    if (typeof p.qty !== 'string') return v5(10001, 'params error: qty');
    try {
      if (parseUnits(p.qty, g.lotDec) <= 0) return v5(170136, 'Order quantity is lower than the minimum.');
    } catch {
      return v5(...tooManyDecimalsAnswer(this.category, 'qty'));
    }
    if (p.orderType === 'Limit') {
      try {
        if (typeof p.price !== 'string' || parseUnits(p.price, g.tickDec) <= 0) return v5(10001, 'params error: price');
      } catch {
        return v5(...tooManyDecimalsAnswer(this.category, 'price'));
      }
    }
    const link = typeof p.orderLinkId === 'string' ? p.orderLinkId : '';
    if (link && [...this.orders.values()].some((o) => o.orderLinkId === link)) return v5(this.category === 'spot' ? 170141 : 110072, 'Duplicate clientOrderId.');
    if (this.failNext === 'balance') {
      this.failNext = undefined;
      return this.category === 'spot' ? v5(170131, 'Insufficient balance.') : v5(110007, 'ab not enough for new order');
    }
    const orderId = String(this.nextOrderId++);
    const now = String(Date.now());
    this.orders.set(orderId, { orderId, orderLinkId: link, symbol, side: p.side, orderType: p.orderType, price: p.orderType === 'Limit' ? String(p.price) : '0', qty: p.qty, timeInForce: String(p.timeInForce ?? 'GTC'), orderStatus: 'New', cumExecQty: '0', createdTime: now, updatedTime: now });
    v5(0, 'OK', { orderId, orderLinkId: link });
  }

  private cancelOrder(p: Record<string, unknown>, v5: (code: number, msg: string, result?: unknown) => void): void {
    const o = [...this.orders.values()].find((x) => x.symbol === p.symbol && ((p.orderId && x.orderId === p.orderId) || (p.orderLinkId && x.orderLinkId === p.orderLinkId)));
    if (!o || (o.orderStatus !== 'New' && o.orderStatus !== 'PartiallyFilled')) {
      return this.category === 'spot' ? v5(170213, 'Order does not exist.') : v5(110001, 'order not exists or too late to cancel');
    }
    o.orderStatus = o.orderStatus === 'PartiallyFilled' && this.category === 'spot' ? 'PartiallyFilledCanceled' : 'Cancelled';
    o.updatedTime = String(Date.now());
    v5(0, 'OK', { orderId: o.orderId, orderLinkId: o.orderLinkId });
  }

  /**
   * Fills `qty` of a working order at its price. Fee rate 0.1 % (maker or taker here); on spot
   * a buy pays in the base coin and a sell in the quote, on linear in the settle coin (USDT).
   */
  fill(orderId: string, qty: string, opts: { maker?: boolean; time?: number } = {}): FakeExecution {
    const o = this.orders.get(orderId);
    if (!o) throw new Error(`fake bybit: no order ${orderId}`);
    const g = this.grid;
    const q = parseUnits(qty, g.lotDec);
    const cum = parseUnits(o.cumExecQty, g.lotDec) + q;
    const total = parseUnits(o.qty, g.lotDec);
    if (cum > total) throw new Error('fake bybit: overfill');
    o.cumExecQty = fmt(cum, g.lotDec);
    o.orderStatus = cum === total ? 'Filled' : 'PartiallyFilled';
    const priceUnits = parseUnits(o.price, g.tickDec);
    // fee = 0.001 x qty (base) or 0.001 x qty x price (quote), exact in decimal
    const baseFee = this.category === 'spot' && o.side === 'Buy';
    const fee = baseFee ? fmt(q, g.lotDec + 3) : fmt(q * priceUnits, g.lotDec + g.tickDec + 3);
    const x: FakeExecution = {
      symbol: o.symbol, orderId: o.orderId, orderLinkId: o.orderLinkId, side: o.side, execId: `e${String(this.nextExecId++).padStart(6, '0')}-7f0c-4b1e`, execPrice: o.price, execQty: qty,
      execFee: fee, execType: 'Trade', execTime: String(opts.time ?? Date.now()), isMaker: opts.maker ?? true,
    };
    if (this.category === 'spot') x.feeCurrency = baseFee ? o.symbol.replace(/USDT$/, '') : 'USDT';
    else this.positionLots.set(o.symbol, (this.positionLots.get(o.symbol) ?? 0) + (o.side === 'Buy' ? q : -q));
    this.executions.push(x);
    return x;
  }

  /** A funding settlement on linear: an execution that is no fill of any order. */
  funding(symbol: string, fee: string): void {
    this.executions.push({ symbol, orderId: '', orderLinkId: '', side: 'Buy', execId: `f${String(this.nextExecId++).padStart(6, '0')}`, execPrice: '0', execQty: '0', execFee: fee, execType: 'Funding', execTime: String(Date.now()), isMaker: false });
  }

  orderRequestTimes(): number[] {
    return this.orderTimes;
  }

  private instrumentInfo(symbol: string): unknown {
    const base = symbol.replace(/USDT$/, '');
    const g = this.grid;
    if (this.category === 'spot') {
      return { symbol, baseCoin: base, quoteCoin: 'USDT', innovation: '0', status: this.pairStatus.get(symbol) ?? 'Trading', marginTrading: 'both', lotSizeFilter: { basePrecision: g.lot, quotePrecision: '0.00000001', minOrderQty: '0.000048', maxOrderQty: '71.73956243', minOrderAmt: '1', maxOrderAmt: '2000000' }, priceFilter: { tickSize: g.tick } };
    }
    return { symbol, contractType: 'LinearPerpetual', status: this.pairStatus.get(symbol) ?? 'Trading', baseCoin: base, quoteCoin: 'USDT', settleCoin: 'USDT', priceScale: String(g.tickDec), priceFilter: { minPrice: '0.10', maxPrice: '1999999.80', tickSize: g.tick }, lotSizeFilter: { maxOrderQty: '1190.000', minOrderQty: g.lot, qtyStep: g.lot, minNotionalValue: '5' } };
  }

  async close(): Promise<void> {
    if (this.resendTimer) clearInterval(this.resendTimer);
    for (const c of this.conns) c.ws.terminate();
    this.conns.clear();
    this.wss.close();
    await new Promise<void>((r) => {
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }
}
