/**
 * A local Binance spot server for tests, written from Binance's public API docs
 * (binance-spot-api-docs: web-socket-streams.md, rest-api.md, errors.md, filters.md):
 *
 * - WebSocket market streams: raw `/ws/<stream>`, `/ws` + SUBSCRIBE, combined
 *   `/stream?streams=a/b` ({"stream","data"} wrapper); `<symbol>@trade`, `@aggTrade`,
 *   `@depth` / `@depth@100ms` diff-depth events with U/u update ids; server pings.
 * - REST: GET /api/v3/depth (lastUpdateId snapshot), GET /api/v3/exchangeInfo (filters),
 *   GET /api/v3/ping, /api/v3/time; SIGNED POST/DELETE/GET /api/v3/order and
 *   GET /api/v3/openOrders, which check X-MBX-APIKEY, the HMAC-SHA256 signature of
 *   query string + body, and the recvWindow, and answer with Binance's error JSON.
 * - Scenario hooks: sequence gaps, dropped connections, raw (malformed) frames, order failures.
 *
 * Deterministic: a seeded PRNG drives the book. Listens on 127.0.0.1 only.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ConformanceVenue } from '@cwts/core/testing';
import { FakeWsApi } from './fake-binance-ws-api.js';

const TICK_DEC = 2; // tick 0.01
const LOT_DEC = 5; // lot 0.00001

function fmt(units: number, dec: number): string {
  // Binance prints 8 decimals
  const s = Math.abs(units).toString().padStart(dec + 1, '0');
  const int = s.slice(0, s.length - dec);
  const frac = s.slice(s.length - dec).padEnd(8, '0');
  return `${units < 0 ? '-' : ''}${int}.${frac}`;
}
function parseUnits(text: string, dec: number): number | undefined {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return undefined;
  const frac = (m[2] ?? '').replace(/0+$/, '');
  if (frac.length > dec) return undefined;
  return Number(m[1]) * 10 ** dec + Number(frac.padEnd(dec, '0') || '0');
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface SymBook {
  symbol: string;
  bids: Map<number, number>;
  asks: Map<number, number>;
  lastUpdateId: number;
  mid: number;
  tradeId: number;
  skipNext: boolean;
}

interface Conn {
  ws: WebSocket;
  combined: boolean;
  streams: Set<string>;
}

export interface FakeOrder {
  symbol: string;
  orderId: number;
  clientOrderId: string;
  price: string;
  origQty: string;
  executedQty: string;
  cummulativeQuoteQty: string;
  status: 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED';
  /** Taken off by self-trade prevention (STP DECREMENT) while the order kept working; it never fills. */
  preventedQuantity?: string;
  timeInForce: string;
  type: string;
  side: 'BUY' | 'SELL';
  time: number;
}

export interface FakeBinanceOptions {
  symbols?: string[];
  seed?: number;
  apiKey?: string;
  apiSecret?: string;
  /** Server ws ping interval (Binance: 20 s). 0: off. */
  pingIntervalMs?: number;
  /** Server-side order rate limit (answers 429 / -1015 beyond it). */
  orderLimit?: { limit: number; intervalMs: number };
  /** An Ed25519 API key's public half (PEM): WebSocket API requests are then verified with it instead of HMAC. */
  ed25519PublicKey?: string;
}

export class FakeBinance implements ConformanceVenue {
  readonly books = new Map<string, SymBook>();
  readonly conns = new Set<Conn>();
  readonly orders = new Map<number, FakeOrder>();
  readonly requests: { method: string; path: string; at: number }[] = [];
  readonly orderTimes: number[] = [];
  pongs = 0;
  /** Trades that reached at least one subscribed connection (a trade sent while nobody is
   * connected is lost, as on the real venue, which does not replay trades after a reconnect). */
  tradesDelivered = 0;
  snapshotsServed = 0;
  /** exchangeInfo `status` per symbol (TRADING when absent); tests halt a pair by setting it. */
  readonly pairStatus = new Map<string, string>();
  /** exchangeInfo PRICE_FILTER tickSize per symbol (0.01 when absent); tests change a pair's grid by setting it. */
  readonly tickSizes = new Map<string, string>();
  /** New-order requests (REST and WebSocket API) received, whatever their fate. */
  newOrderRequests = 0;
  /** WebSocket API user data stream, myTrades and account (fake-binance-ws-api.ts). */
  readonly wsApi: FakeWsApi = new FakeWsApi(this);
  private nextOrderId = 1000;
  private failNext: 'balance' | undefined;
  private readonly rnd: () => number;
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private pingTimer: NodeJS.Timeout | undefined;
  port = 0;

  private constructor(readonly opts: FakeBinanceOptions) {
    this.rnd = rng(opts.seed ?? 1);
    for (const s of opts.symbols ?? ['BTCUSDT']) this.books.set(s, this.initialBook(s));
    this.server = createServer((req, res) => void this.http(req, res));
    this.wss = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      let streams: string[] = [];
      let combined = false;
      if (url.pathname === '/stream') {
        combined = true;
        streams = (url.searchParams.get('streams') ?? '').split('/').filter(Boolean);
      } else if (url.pathname.startsWith('/ws/')) streams = [url.pathname.slice(4)];
      else if (url.pathname === '/ws-api/v3') return this.wsApi.handleUpgrade(req, socket, head);
      else if (url.pathname !== '/ws') {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onConn(ws, combined, streams));
    });
  }

  static async start(opts: FakeBinanceOptions = {}): Promise<FakeBinance> {
    const f = new FakeBinance(opts);
    await new Promise<void>((r) => f.server.listen(0, '127.0.0.1', r));
    f.port = (f.server.address() as AddressInfo).port;
    if (opts.pingIntervalMs) {
      f.pingTimer = setInterval(() => {
        for (const c of f.conns) c.ws.ping('cwts');
      }, opts.pingIntervalMs);
    }
    return f;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }
  get restUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  // ---- book ----------------------------------------------------------------------------

  private initialBook(symbol: string): SymBook {
    const mid = 6_500_000; // 65000.00
    const b: SymBook = { symbol, bids: new Map(), asks: new Map(), lastUpdateId: 1_000_000, mid, tradeId: 5000, skipNext: false };
    for (let k = 1; k <= 30; k++) {
      b.bids.set(mid - k, 1 + Math.floor(this.rnd() * 200_000));
      b.asks.set(mid + k, 1 + Math.floor(this.rnd() * 200_000));
    }
    return b;
  }

  /** One random change to the book (never crossing: bids below mid, asks above). */
  private change(b: SymBook, bids: [string, string][], asks: [string, string][]): void {
    const bid = this.rnd() < 0.5;
    const off = 1 + Math.floor(this.rnd() * 25);
    const price = bid ? b.mid - off : b.mid + off;
    const qty = this.rnd() < 0.3 ? 0 : 1 + Math.floor(this.rnd() * 200_000);
    const m = bid ? b.bids : b.asks;
    if (qty === 0) m.delete(price);
    else m.set(price, qty);
    (bid ? bids : asks).push([fmt(price, TICK_DEC), fmt(qty, LOT_DEC)]);
  }

  step(symbol: string, n: number): void {
    const b = this.books.get(symbol)!;
    for (let k = 0; k < n; k++) {
      if (b.skipNext) {
        // changes the client never hears about: only a resync can recover them
        b.skipNext = false;
        const lostB: [string, string][] = [];
        const lostA: [string, string][] = [];
        for (let j = 0; j < 3; j++) this.change(b, lostB, lostA);
        b.lastUpdateId += 3;
      }
      const bids: [string, string][] = [];
      const asks: [string, string][] = [];
      const changes = 1 + Math.floor(this.rnd() * 3);
      for (let j = 0; j < changes; j++) this.change(b, bids, asks);
      const U = b.lastUpdateId + 1;
      b.lastUpdateId += changes;
      this.publishDepth(b, U, b.lastUpdateId, bids, asks);
    }
  }

  /**
   * Publishes a hostile depth frame that takes the next update id (so a client would apply it)
   * without changing the venue's book: the venue's truth stays the real book, which a resync
   * must restore. `u` overrides the last id (sequence poisoning: a huge u).
   */
  publishBadDepth(symbol: string, levels: { bids?: [string, string][]; asks?: [string, string][] }, u?: number): void {
    const b = this.books.get(symbol)!;
    const U = b.lastUpdateId + 1;
    b.lastUpdateId += 1;
    this.publishDepth(b, U, u ?? U, levels.bids ?? [], levels.asks ?? []);
  }

  /**
   * Holds depth snapshot requests until releaseSnapshots() (then answers them with the book as
   * it is then): a test can look at a book that is waiting for its resync.
   */
  holdSnapshots(): void {
    this.snapshotHold ??= [];
  }

  releaseSnapshots(): void {
    const held = this.snapshotHold ?? [];
    this.snapshotHold = undefined;
    for (const answer of held) answer();
  }

  /** The next depth snapshot is altered by `edit` (e.g. a bid of -1) before it is sent. */
  poisonNextSnapshot(edit: (snap: { lastUpdateId: number; bids: [string, string][]; asks: [string, string][] }) => void): void {
    this.snapshotPoison = edit;
  }

  private snapshotHold: (() => void)[] | undefined;
  /** Edits the answer to the next accepted order (REST or WebSocket API) before it is sent (a hostile venue); used once. */
  editNextOrderAnswer: ((body: Record<string, unknown>) => void) | undefined;
  /** GET /api/v3/order answers read at arrival and held back until released (a slow network). */
  private orderQueryHold: (() => void)[] | undefined;

  /** Order queries from now on are answered with the order as it is when they arrive, but only on release. */
  holdOrderQueries(): void {
    this.orderQueryHold ??= [];
  }

  /** Order queries held so far. */
  heldOrderQueries(): number {
    return this.orderQueryHold?.length ?? 0;
  }

  releaseOrderQueries(): void {
    const held = this.orderQueryHold ?? [];
    this.orderQueryHold = undefined;
    for (const answer of held) answer();
  }
  private snapshotPoison: ((snap: { lastUpdateId: number; bids: [string, string][]; asks: [string, string][] }) => void) | undefined;

  /** Sends a binary frame to every market-data connection (Binance streams are text only). */
  sendBinary(bytes: Uint8Array): void {
    for (const c of this.conns) if (c.ws.readyState === c.ws.OPEN) c.ws.send(bytes, { binary: true });
  }

  /** Publishes a raw trade frame (hostile values); does not count as delivered. */
  publishRawTrade(symbol: string, fields: { t: number | string; p: string; q: string }): void {
    const lower = symbol.toLowerCase();
    const now = Date.now();
    this.publish([`${lower}@trade`], { e: 'trade', E: now, s: symbol, t: fields.t, p: fields.p, q: fields.q, T: now, m: false, M: true });
  }

  /** Publishes a raw depth event (tests may craft their own). */
  publishDepth(b: SymBook, U: number, u: number, bids: [string, string][], asks: [string, string][]): void {
    const ev = { e: 'depthUpdate', E: Date.now(), s: b.symbol, U, u, b: bids, a: asks };
    const lower = b.symbol.toLowerCase();
    this.publish([`${lower}@depth@100ms`, `${lower}@depth`], ev);
  }

  trade(symbol: string, t: { price: string; qty: string; side: 'buy' | 'sell' }): string {
    const b = this.books.get(symbol)!;
    const id = ++b.tradeId;
    const now = Date.now();
    const lower = symbol.toLowerCase();
    // "m": is the buyer the market maker? A sell aggressor means the buyer was the maker.
    const before = this.sent;
    this.publish([`${lower}@trade`], { e: 'trade', E: now, s: symbol, t: id, p: t.price, q: t.qty, T: now, m: t.side === 'sell', M: true });
    this.publish([`${lower}@aggTrade`], { e: 'aggTrade', E: now, s: symbol, a: id, p: t.price, q: t.qty, f: id * 10, l: id * 10, T: now, m: t.side === 'sell', M: true });
    if (this.sent > before) this.tradesDelivered++;
    return String(id);
  }

  skipSequence(symbol: string): void {
    this.books.get(symbol)!.skipNext = true;
  }

  truth(symbol: string, n: number): { bids: [string, string][]; asks: [string, string][] } {
    const b = this.books.get(symbol)!;
    const bids = [...b.bids].sort((x, y) => y[0] - x[0]).slice(0, n).map(([p, q]) => [fmt(p, TICK_DEC), fmt(q, LOT_DEC)] as [string, string]);
    const asks = [...b.asks].sort((x, y) => x[0] - y[0]).slice(0, n).map(([p, q]) => [fmt(p, TICK_DEC), fmt(q, LOT_DEC)] as [string, string]);
    return { bids, asks };
  }

  dropConnections(): void {
    for (const c of this.conns) c.ws.terminate();
    this.conns.clear();
  }

  sendRaw(text: string): void {
    for (const c of this.conns) c.ws.send(text);
  }

  connectionCount(): number {
    return this.conns.size;
  }

  orderRequestTimes(): number[] {
    return [...this.orderTimes];
  }

  /** The next order is rejected for insufficient balance (-2010). */
  failNextOrder(kind: 'balance'): void {
    this.failNext = kind;
  }

  /** Fills (part of) a resting order, as a trade against it would. */
  /**
   * An order resting at the venue since `since` (a BUY limit of BTCUSDT at 64000, `origQty` BTC,
   * nothing filled): placed outside the client, as an order working before a restart is.
   */
  restingOrder(orderId: number, clientOrderId: string, since: number, origQty = '0.00010'): FakeOrder {
    const o: FakeOrder = {
      symbol: 'BTCUSDT', orderId, clientOrderId, price: '64000.00', origQty, executedQty: '0.00000', cummulativeQuoteQty: '0.00000000', status: 'NEW', timeInForce: 'GTC', type: 'LIMIT', side: 'BUY', time: since,
    };
    this.orders.set(orderId, o);
    return o;
  }

  fill(orderId: number, qty: string, maker = true): void {
    const o = this.orders.get(orderId)!;
    const q = parseUnits(qty, LOT_DEC)!;
    const exec = parseUnits(o.executedQty, LOT_DEC)! + q;
    const price = parseUnits(o.price, TICK_DEC)!;
    o.executedQty = fmt(exec, LOT_DEC);
    o.cummulativeQuoteQty = fmt(exec * price, TICK_DEC + LOT_DEC).replace(/(\.\d{8})\d*$/, '$1');
    const prevented = o.preventedQuantity === undefined ? 0 : parseUnits(o.preventedQuantity, LOT_DEC)!;
    o.status = exec + prevented >= parseUnits(o.origQty, LOT_DEC)! ? 'FILLED' : 'PARTIALLY_FILLED';
    this.wsApi.orderTraded(o, fmt(q, LOT_DEC), fmt(price, TICK_DEC), maker);
  }

  // ---- the exchange conformance suite's fill hooks (ConformanceVenue) ---------------------

  private lastFillEvent: Record<string, unknown> | undefined;

  /** Fills part of a working order (fill()) and returns the venue's trade id. */
  fillOrder(o: { venueOrderId: string; qty: string }): string {
    const before = this.wsApi.trades.length;
    this.wsApi.editNextEvent = (ev) => void (this.lastFillEvent = ev);
    this.fill(Number(o.venueOrderId), o.qty);
    this.wsApi.editNextEvent = undefined;
    return String(this.wsApi.trades[before]!.id);
  }

  /** The last fillOrder's executionReport, sent again unchanged to every user-data subscription. */
  repeatLastFill(): void {
    const ev = this.lastFillEvent;
    if (!ev) return;
    for (const s of this.wsApi.sessions) {
      if (s.ws.readyState !== s.ws.OPEN) continue;
      for (const sub of s.subs) s.ws.send(JSON.stringify({ subscriptionId: sub, event: ev }));
    }
  }

  /** Drops the WebSocket API sessions (the user data stream). */
  dropUserStream(): void {
    this.wsApi.dropSessions();
  }

  async close(): Promise<void> {
    if (this.pingTimer) clearInterval(this.pingTimer);
    for (const c of this.conns) c.ws.terminate();
    this.conns.clear();
    this.wss.close();
    this.wsApi.close();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  // ---- ws ------------------------------------------------------------------------------

  private onConn(ws: WebSocket, combined: boolean, streams: string[]): void {
    const c: Conn = { ws, combined, streams: new Set(streams) };
    this.conns.add(c);
    ws.on('pong', () => this.pongs++);
    ws.on('close', () => this.conns.delete(c));
    ws.on('message', (data) => {
      let msg: { method?: string; params?: unknown; id?: unknown };
      try {
        msg = JSON.parse(String(data));
      } catch {
        ws.send(JSON.stringify({ code: 3, msg: 'Invalid JSON: expected value at line 1 column 1' }));
        return;
      }
      if (msg.method === 'SUBSCRIBE' && Array.isArray(msg.params)) {
        for (const s of msg.params) c.streams.add(String(s));
        ws.send(JSON.stringify({ result: null, id: msg.id }));
      } else if (msg.method === 'UNSUBSCRIBE' && Array.isArray(msg.params)) {
        for (const s of msg.params) c.streams.delete(String(s));
        ws.send(JSON.stringify({ result: null, id: msg.id }));
      } else if (msg.method === 'LIST_SUBSCRIPTIONS') ws.send(JSON.stringify({ result: [...c.streams], id: msg.id }));
      else ws.send(JSON.stringify({ code: 2, msg: `Invalid request: unknown variant ${String(msg.method)}`, id: msg.id ?? null }));
    });
  }

  private sent = 0;
  private publish(streams: string[], data: object): void {
    const raw = JSON.stringify(data);
    for (const c of this.conns) {
      const s = streams.find((x) => c.streams.has(x));
      if (!s || c.ws.readyState !== c.ws.OPEN) continue;
      this.sent++;
      c.ws.send(c.combined ? `{"stream":"${s}","data":${raw}}` : raw);
    }
  }

  // ---- REST ----------------------------------------------------------------------------

  /** Sees every HTTP request first, at its arrival (the wire benchmark times REST orders here). */
  onHttpRequest: ((method: string | undefined, url: string | undefined) => void) | undefined;

  private async http(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.onHttpRequest?.(req.method, req.url);
    const chunks: Buffer[] = [];
    for await (const ch of req) chunks.push(ch as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, at: Date.now() });
    const send = (status: number, obj: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', 'x-mbx-used-weight-1m': '1', ...headers });
      res.end(JSON.stringify(obj));
    };
    const err = (status: number, code: number, msg: string, headers: Record<string, string> = {}) => send(status, { code, msg }, headers);
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /api/v3/ping':
        return send(200, {});
      case 'GET /api/v3/time':
        return send(200, { serverTime: Date.now() });
      case 'GET /api/v3/exchangeInfo':
        return this.exchangeInfo(url, send, err);
      case 'GET /api/v3/depth': {
        const b = this.books.get(url.searchParams.get('symbol') ?? '');
        if (!b) return err(400, -1121, 'Invalid symbol.');
        const limit = Math.min(5000, Number(url.searchParams.get('limit') ?? 100));
        const answer = () => {
          this.snapshotsServed++;
          const t = this.truth(b.symbol, limit);
          const snap = { lastUpdateId: b.lastUpdateId, bids: t.bids, asks: t.asks };
          const poison = this.snapshotPoison;
          this.snapshotPoison = undefined;
          poison?.(snap);
          send(200, snap);
        };
        if (this.snapshotHold) this.snapshotHold.push(answer);
        else answer();
        return;
      }
    }
    if (!/^(POST|DELETE|GET) \/api\/v3\/(order|openOrders)$|^GET \/api\/v3\/(myTrades|account|allOrders)$/.test(route)) return err(404, -1000, `unknown endpoint ${route}`);
    // SIGNED endpoint security (rest-api.md "SIGNED Endpoint security", "Timing security")
    const key = req.headers['x-mbx-apikey'];
    if (typeof key !== 'string' || key !== this.opts.apiKey) return err(401, -2015, 'Invalid API-key, IP, or permissions for action.');
    const query = url.search.startsWith('?') ? url.search.slice(1) : '';
    const strip = (s: string) => s.replace(/(^|&)signature=[^&]*/, '');
    const sig = /(?:^|&)signature=([^&]*)/.exec(query)?.[1] ?? /(?:^|&)signature=([^&]*)/.exec(body)?.[1];
    const payload = strip(query) + strip(body);
    const expected = createHmac('sha256', this.opts.apiSecret ?? '').update(payload).digest('hex');
    if (!sig || sig.toLowerCase() !== expected) return err(400, -1022, 'Signature for this request is not valid.');
    const params = new URLSearchParams(`${strip(query)}&${strip(body)}`);
    const ts = Number(params.get('timestamp'));
    const recvWindow = Number(params.get('recvWindow') ?? 5000);
    const now = Date.now();
    if (!(ts < now + 1000 && now - ts <= recvWindow)) return err(400, -1021, 'Timestamp for this request is outside of the recvWindow.');
    if (route === 'GET /api/v3/myTrades' || route === 'GET /api/v3/account') {
      const r = route === 'GET /api/v3/account' ? this.wsApi.account() : this.wsApi.myTrades(params);
      return send(r.status, r.body);
    }
    if (route === 'GET /api/v3/allOrders') {
      // rest-api.md "All orders": one symbol's orders, any status, from startTime
      const symbol = params.get('symbol');
      if (!symbol || !this.books.has(symbol)) return err(400, -1121, 'Invalid symbol.');
      const from = Number(params.get('startTime') ?? 0);
      return send(200, [...this.orders.values()].filter((o) => o.symbol === symbol && o.time >= from).map((o) => this.orderJson(o)));
    }
    if (route === 'GET /api/v3/openOrders') return send(200, [...this.orders.values()].filter((o) => o.status === 'NEW' || o.status === 'PARTIALLY_FILLED').map((o) => this.orderJson(o)));
    if (route === 'POST /api/v3/order') return this.placeOrder(params, send, err, () => res.destroy());
    if (route === 'GET /api/v3/order') {
      if (!this.books.has(params.get('symbol') ?? '')) return err(400, -1121, 'Invalid symbol.');
      const o = this.findOrder(params);
      if (!o) return err(400, -2013, 'Order does not exist.');
      const body = this.orderJson(o);
      if (this.orderQueryHold) this.orderQueryHold.push(() => send(200, body));
      else send(200, body);
      return;
    }
    return this.cancelOrder(params, send, err);
  }

  /** POST /api/v3/order and the WebSocket API's order.place (signature already checked). */
  placeOrder(params: URLSearchParams, send: (s: number, o: unknown) => void, err: (s: number, c: number, m: string, h?: Record<string, string>) => void, drop: () => void): void {
    this.newOrderRequests++;
    if (!this.books.has(params.get('symbol') ?? '')) return err(400, -1121, 'Invalid symbol.');
    const now = Date.now();
    this.orderTimes.push(now);
    const lim = this.opts.orderLimit;
    if (lim && this.ordersInWindow(now) > lim.limit) {
      return err(429, -1015, `Too many new orders; current limit is ${lim.limit} orders per ${lim.intervalMs} ms.`, { 'retry-after': '1' });
    }
    const fate = this.wsApi.orderReceived(params.get('newClientOrderId'));
    if (fate === 'lose') return drop();
    if (fate === 'swallow') return this.newOrder(params, () => {}, err); // executed, never answered: the client times out
    return this.newOrder(params, send, err);
  }

  /** Orders counted in the order-limit window ending now (the venue's ORDERS counter). */
  ordersInWindow(now = Date.now()): number {
    const ms = this.opts.orderLimit?.intervalMs ?? 10_000;
    return this.orderTimes.filter((t) => t > now - ms).length;
  }

  /** DELETE /api/v3/order and the WebSocket API's order.cancel (signature already checked). */
  cancelOrder(params: URLSearchParams, send: (s: number, o: unknown) => void, err: (s: number, c: number, m: string) => void): void {
    if (!this.books.has(params.get('symbol') ?? '')) return err(400, -1121, 'Invalid symbol.');
    const o = this.findOrder(params);
    if (!o || o.status === 'FILLED' || o.status === 'CANCELED') return err(400, -2011, 'Unknown order sent.');
    o.status = 'CANCELED';
    this.wsApi.orderEvent(o, 'CANCELED');
    return send(200, { ...this.orderJson(o), origClientOrderId: o.clientOrderId });
  }

  private findOrder(params: URLSearchParams): FakeOrder | undefined {
    const id = params.get('orderId');
    if (id) return this.orders.get(Number(id));
    const cid = params.get('origClientOrderId');
    return [...this.orders.values()].find((o) => o.clientOrderId === cid);
  }

  private newOrder(params: URLSearchParams, send: (s: number, o: unknown) => void, err: (s: number, c: number, m: string) => void): void {
    const symbol = params.get('symbol')!;
    const side = params.get('side');
    const type = params.get('type');
    if (side !== 'BUY' && side !== 'SELL') return err(400, -1117, 'Invalid side.');
    if (type !== 'LIMIT' && type !== 'MARKET' && type !== 'LIMIT_MAKER') return err(400, -1116, 'Invalid orderType.');
    // a symbol not TRADING takes no new order (cancels still work)
    if ((this.pairStatus.get(symbol) ?? 'TRADING') !== 'TRADING') return err(400, -2010, 'Market is closed.');
    const qtyText = params.get('quantity');
    if (!qtyText) return err(400, -1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.");
    const qty = parseUnits(qtyText, LOT_DEC);
    if (qty === undefined || qty <= 0) return err(400, -1013, 'Filter failure: LOT_SIZE');
    let priceText = params.get('price') ?? '0';
    if (type !== 'MARKET') {
      if (!params.get('price')) return err(400, -1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed.");
      if (parseUnits(priceText, TICK_DEC) === undefined) return err(400, -1013, 'Filter failure: PRICE_FILTER');
      if (type === 'LIMIT' && !params.get('timeInForce')) return err(400, -1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.");
    }
    if (this.failNext === 'balance') {
      this.failNext = undefined;
      return err(400, -2010, 'Account has insufficient balance for requested action.');
    }
    const cid = params.get('newClientOrderId') ?? `fake${this.nextOrderId}`;
    if ([...this.orders.values()].some((o) => o.clientOrderId === cid && (o.status === 'NEW' || o.status === 'PARTIALLY_FILLED'))) return err(400, -2010, 'Duplicate order sent.');
    const b = this.books.get(symbol)!;
    const o: FakeOrder = {
      symbol, orderId: ++this.nextOrderId, clientOrderId: cid, price: type === 'MARKET' ? '0.00000000' : fmt(parseUnits(priceText, TICK_DEC)!, TICK_DEC), origQty: fmt(qty, LOT_DEC),
      executedQty: '0.00000000', cummulativeQuoteQty: '0.00000000', status: 'NEW', timeInForce: params.get('timeInForce') ?? 'GTC', type, side, time: Date.now(),
    };
    this.orders.set(o.orderId, o);
    this.wsApi.orderEvent(o, 'NEW');
    if (type === 'MARKET') {
      const best = side === 'BUY' ? Math.min(...b.asks.keys()) : Math.max(...b.bids.keys());
      priceText = fmt(best, TICK_DEC);
      o.price = priceText;
      this.fill(o.orderId, fmt(qty, LOT_DEC), false);
    }
    const body: Record<string, unknown> = { ...this.orderJson(o), transactTime: o.time, fills: [] };
    const edit = this.editNextOrderAnswer;
    this.editNextOrderAnswer = undefined;
    edit?.(body);
    send(200, body);
  }

  private orderJson(o: FakeOrder): Record<string, unknown> {
    return {
      symbol: o.symbol, orderId: o.orderId, orderListId: -1, clientOrderId: o.clientOrderId, price: o.price, origQty: o.origQty, executedQty: o.executedQty,
      origQuoteOrderQty: '0.00000000', cummulativeQuoteQty: o.cummulativeQuoteQty, status: o.status, timeInForce: o.timeInForce, type: o.type, side: o.side,
      stopPrice: '0.00000000', icebergQty: '0.00000000', time: o.time, updateTime: o.time, isWorking: true, workingTime: o.time, selfTradePreventionMode: 'NONE',
      ...(o.preventedQuantity !== undefined ? { preventedQuantity: o.preventedQuantity } : {}),
    };
  }

  private exchangeInfo(url: URL, send: (s: number, o: unknown) => void, err: (s: number, c: number, m: string) => void): void {
    let wanted: string[] = [...this.books.keys()];
    const one = url.searchParams.get('symbol');
    const many = url.searchParams.get('symbols');
    if (one) wanted = [one];
    else if (many) wanted = JSON.parse(many) as string[];
    const unknown = wanted.filter((s) => !this.books.has(s));
    if (unknown.length > 0) return err(400, -1121, 'Invalid symbol.');
    send(200, {
      timezone: 'UTC',
      serverTime: Date.now(),
      rateLimits: [
        { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 },
        { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100 },
        { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: 200000 },
        { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61000 },
      ],
      exchangeFilters: [],
      symbols: wanted.map((s) => ({
        symbol: s, status: this.pairStatus.get(s) ?? 'TRADING', baseAsset: s.replace(/USDT$/, ''), baseAssetPrecision: 8, quoteAsset: 'USDT', quotePrecision: 8, quoteAssetPrecision: 8,
        baseCommissionPrecision: 8, quoteCommissionPrecision: 8, orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT_LIMIT'],
        icebergAllowed: true, ocoAllowed: true, otoAllowed: true, quoteOrderQtyMarketAllowed: true, allowTrailingStop: true, cancelReplaceAllowed: true, amendAllowed: true,
        isSpotTradingAllowed: true, isMarginTradingAllowed: false,
        filters: [
          { filterType: 'PRICE_FILTER', minPrice: '0.01000000', maxPrice: '1000000.00000000', tickSize: this.tickSizes.get(s) ?? '0.01000000' },
          { filterType: 'LOT_SIZE', minQty: '0.00001000', maxQty: '9000.00000000', stepSize: '0.00001000' },
          { filterType: 'NOTIONAL', minNotional: '5.00000000', applyMinToMarket: true, maxNotional: '9000000.00000000', applyMaxToMarket: false, avgPriceMins: 5 },
        ],
        permissions: [], permissionSets: [['SPOT']], defaultSelfTradePreventionMode: 'EXPIRE_MAKER', allowedSelfTradePreventionModes: ['NONE', 'EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'],
      })),
    });
  }
}
