/**
 * A local Coinbase Advanced Trade server for tests, written from Coinbase's public docs
 * (docs.cdp.coinbase.com: Advanced Trade WebSocket overview and channels, level2, market_trades,
 * heartbeats; "Get Public Products"):
 *
 * - WebSocket market data: `{"type":"subscribe"|"unsubscribe","product_ids":[..],"channel":..,"jwt"?}`,
 *   one channel per message; the server disconnects a connection that has not subscribed within
 *   5 s; every message is an envelope `{channel, client_id, timestamp, sequence_num, events}` with
 *   `sequence_num` counted per connection across all channels; `level2` answers with channel
 *   `l2_data`, a `snapshot` event then `update` events (`new_quantity` is the new size, "0"
 *   removes the level; sides "bid"/"offer"); `market_trades` sends a snapshot of recent trades
 *   then updates; `heartbeats` ticks every second with a `heartbeat_counter`; `subscriptions`
 *   confirms (un)subscribes; `{"type":"error","message":..}` on bad requests.
 * - `-USDC` products (WebSocket channels page): the public channels answer a `-USDC` product with
 *   the `-USD` product's data, named `-USD` ("Subscribing to '-USDC' based products are only
 *   available on the user channel"), except USDT-USDC and EURC-USDC.
 * - REST: GET /api/v3/brokerage/market/products?product_ids=.. (price_increment, base_increment).
 * - JWT: with `publicKey` set, every subscribe must carry an ES256 JWT signed by the matching key.
 * - The private `user` channel (with `restKey`; docs: WebSocket overview, "User channel",
 *   "WebSocket authentication"): the subscribe must carry a valid JWT of that key (ES256, header
 *   `kid` = key name and a `nonce`, no `uri` claim), else `{"type":"error"}`; it answers with a
 *   `snapshot` event of the open orders (batched by 50), then an `update` event per order change,
 *   each on the connection's `sequence_num`. Hooks: lose user updates (a sequence gap).
 * - Scenario hooks: sequence gaps, dropped connections, raw frames, lost subscribes, stalls.
 *
 * Deterministic: a seeded PRNG drives the book. Listens on 127.0.0.1 only.
 */
import { verify, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ConformanceVenue } from '@cwts/core/testing';
import { FakeCoinbaseAccount, type FakeOrder } from './fake-coinbase-account.js';

const PRICE_DEC = 2; // price_increment 0.01
const QTY_DEC = 8; // base_increment 0.00000001
const MID = 6_500_000; // 65000.00

function fmt(units: number, dec: number): string {
  const s = units.toString().padStart(dec + 1, '0');
  return `${s.slice(0, s.length - dec)}.${s.slice(s.length - dec)}`;
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

/** The server's timers: injectable so the 5-second subscribe rule can be tested without waiting. */
export interface FakeTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}
const realTimers: FakeTimers = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };

interface ProductBook {
  id: string;
  bids: Map<number, number>;
  asks: Map<number, number>;
  nextTradeId: number;
  recentTrades: { trade_id: string; product_id: string; price: string; size: string; side: 'BUY' | 'SELL'; time: string }[];
  skipNext: boolean;
}

interface Conn {
  ws: WebSocket;
  seq: number;
  subs: Map<string, Set<string>>;
  subscribed: boolean;
  subscribeTimer: unknown;
  heartbeat: NodeJS.Timeout | undefined;
  heartbeatCounter: number;
}

export interface FakeCoinbaseOptions {
  seed?: number;
  products?: string[];
  /** Disconnect a connection with no subscribe within this long (Coinbase: 5000 ms). */
  subscribeTimeoutMs?: number;
  timers?: FakeTimers;
  heartbeatMs?: number;
  /** With a key: every subscribe must carry an ES256 JWT by this key, with this `kid`. */
  publicKey?: KeyObject;
  keyName?: string;
  now?: () => number;
  /** Serve the private REST endpoints (orders, fills, accounts) for this key: fake-coinbase-account.ts. */
  restKey?: { publicKey: KeyObject; keyName: string };
}

export class FakeCoinbase implements ConformanceVenue {
  readonly books = new Map<string, ProductBook>();
  private readonly conns = new Set<Conn>();
  private readonly rand: () => number;
  private readonly timers: FakeTimers;
  private readonly now: () => number;
  private stalled = false;
  /** Subscribe messages to ignore (as if lost on the way). */
  ignoreSubscribes = 0;
  /** Trades published while at least one connection had market_trades subscribed, or later. */
  tradesPublished = 0;
  subscribeMessages: Record<string, unknown>[] = [];
  /** Status fields per product merged into the products answer (`status`, `post_only`, `trading_disabled`...); tests halt a pair with it. */
  readonly productStatus = new Map<string, Record<string, unknown>>();
  /** Connections the server closed for not subscribing in time. */
  subscribeTimeouts = 0;
  authFailures = 0;
  /** User-channel subscribes whose JWT verified: their header and claims (tests check the form). */
  readonly userJwts: { header: Record<string, unknown>; claims: Record<string, unknown> }[] = [];
  /** User updates to swallow (the sequence number still advances: the client sees a gap). */
  loseUserUpdates = 0;
  /** User updates sent. */
  userUpdatesSent = 0;
  wsUrl = '';
  restUrl = '';
  readonly account: FakeCoinbaseAccount | undefined;

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    private readonly opts: FakeCoinbaseOptions,
  ) {
    this.rand = rng(opts.seed ?? 1);
    this.timers = opts.timers ?? realTimers;
    this.now = opts.now ?? Date.now;
    for (const id of opts.products ?? ['BTC-USD']) this.books.set(id, this.initialBook(id));
    if (opts.restKey) {
      this.account = new FakeCoinbaseAccount(opts.restKey.publicKey, opts.restKey.keyName, (id) => this.books.has(id), this.now);
      this.account.onOrderChange = (o) => this.pushUserUpdate(o);
    }
  }

  orderRequestTimes(): number[] {
    return this.account?.orderRequestTimes ?? [];
  }

  static async start(opts: FakeCoinbaseOptions = {}): Promise<FakeCoinbase> {
    const http = createServer();
    const wss = new WebSocketServer({ server: http });
    const f = new FakeCoinbase(http, wss, opts);
    http.on('request', (req, res) => f.onRest(req, res));
    wss.on('connection', (ws) => f.onConnection(ws));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const port = (http.address() as AddressInfo).port;
    f.wsUrl = `ws://127.0.0.1:${port}`;
    f.restUrl = `http://127.0.0.1:${port}`;
    return f;
  }

  private initialBook(id: string): ProductBook {
    const b: ProductBook = { id, bids: new Map(), asks: new Map(), nextTradeId: 1000, recentTrades: [], skipNext: false };
    for (let k = 1; k <= 30; k++) {
      b.bids.set(MID - k * 3, this.qty());
      b.asks.set(MID + k * 3, this.qty());
    }
    return b;
  }

  private qty(): number {
    return 1 + Math.floor(this.rand() * 200_000_000);
  }

  private book(id: string): ProductBook {
    const b = this.books.get(id);
    if (!b) throw new Error(`fake coinbase: no product ${id}`);
    return b;
  }

  // ---- REST ----

  private onRest(req: IncomingMessage, res: ServerResponse): void {
    if (this.account?.handle(req, res)) return;
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/api/v3/brokerage/market/products') {
      const wanted = url.searchParams.getAll('product_ids');
      const ids = wanted.length > 0 ? wanted.filter((w) => this.books.has(w)) : [...this.books.keys()];
      const products = ids.map((id) => {
        const [base, quote] = id.split('-');
        return { product_id: id, price: '65000.00', price_increment: '0.01', base_increment: '0.00000001', quote_increment: '0.01', quote_min_size: '1', base_min_size: '0.00000001', base_currency_id: base, quote_currency_id: quote, status: 'online', product_type: 'SPOT', is_disabled: false, trading_disabled: false, cancel_only: false, post_only: false, limit_only: false, ...this.productStatus.get(id) };
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ products, num_products: products.length }));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'NOT_FOUND', message: 'not found' }));
  }

  // ---- WebSocket ----

  private onConnection(ws: WebSocket): void {
    const c: Conn = { ws, seq: 0, subs: new Map(), subscribed: false, subscribeTimer: undefined, heartbeat: undefined, heartbeatCounter: 0 };
    this.conns.add(c);
    c.subscribeTimer = this.timers.setTimeout(() => {
      if (c.subscribed) return;
      this.subscribeTimeouts++;
      ws.close(1000, 'subscribe timeout');
    }, this.opts.subscribeTimeoutMs ?? 5000);
    ws.on('message', (data) => this.onMessage(c, data.toString()));
    ws.on('close', () => {
      this.timers.clearTimeout(c.subscribeTimer);
      if (c.heartbeat) clearInterval(c.heartbeat);
      this.conns.delete(c);
    });
    ws.on('error', () => {});
  }

  private send(c: Conn, channel: string, events: unknown[]): void {
    if (this.stalled || c.ws.readyState !== c.ws.OPEN) return;
    c.ws.send(JSON.stringify({ channel, client_id: '', timestamp: new Date(this.now()).toISOString(), sequence_num: c.seq++, events }));
  }

  private sendError(c: Conn, message: string): void {
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify({ type: 'error', message }));
  }

  private jwtValid(token: unknown, key = this.opts.publicKey, keyName = this.opts.keyName, seen?: (h: Record<string, unknown>, c: Record<string, unknown>) => void): boolean {
    if (!key) return true;
    if (typeof token !== 'string') return false;
    const parts = token.split('.');
    if (parts.length !== 3) return false;
    try {
      const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString()) as Record<string, unknown>;
      const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString()) as Record<string, unknown>;
      if (header.alg !== 'ES256' || header.kid !== keyName || typeof header.nonce !== 'string') return false;
      const nowS = Math.floor(this.now() / 1000);
      if (payload.iss !== 'cdp' || payload.sub !== keyName || typeof payload.exp !== 'number' || payload.exp < nowS || typeof payload.nbf !== 'number' || payload.nbf > nowS + 5) return false;
      const ok = verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2]!, 'base64url'));
      if (ok) seen?.(header, payload);
      return ok;
    } catch {
      return false;
    }
  }

  private onMessage(c: Conn, text: string): void {
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(text) as Record<string, unknown>;
    } catch {
      this.sendError(c, 'malformed request');
      return;
    }
    if (m.type !== 'subscribe' && m.type !== 'unsubscribe') {
      this.sendError(c, `unknown message type ${String(m.type)}`);
      return;
    }
    if (m.type === 'subscribe') {
      this.subscribeMessages.push(m);
      if (this.ignoreSubscribes > 0) {
        this.ignoreSubscribes--;
        return;
      }
    }
    if (m.channel === 'user') {
      this.onUserSubscription(c, m);
      return;
    }
    if (!this.jwtValid(m.jwt)) {
      this.authFailures++;
      this.sendError(c, 'authentication failure');
      return;
    }
    const channel = m.channel;
    const ids = Array.isArray(m.product_ids) ? (m.product_ids as unknown[]).map((id) => this.publicId(String(id))) : [];
    if (typeof channel !== 'string' || !['heartbeats', 'level2', 'market_trades'].includes(channel) || ids.some((id) => !this.books.has(id))) {
      this.sendError(c, `bad subscription ${String(channel)} ${ids.join(',')}`);
      return;
    }
    if (m.type === 'subscribe') {
      c.subscribed = true;
      const set = c.subs.get(channel) ?? new Set<string>();
      c.subs.set(channel, set);
      for (const id of ids) set.add(id);
      this.send(c, 'subscriptions', [{ subscriptions: this.subsOf(c) }]);
      if (channel === 'heartbeats' && !c.heartbeat) c.heartbeat = setInterval(() => this.send(c, 'heartbeats', [{ current_time: new Date(this.now()).toISOString(), heartbeat_counter: ++c.heartbeatCounter }]), this.opts.heartbeatMs ?? 1000);
      if (channel === 'level2') for (const id of ids) this.send(c, 'l2_data', [{ type: 'snapshot', product_id: id, updates: this.levels(this.book(id)) }]);
      if (channel === 'market_trades') this.send(c, 'market_trades', [{ type: 'snapshot', trades: ids.flatMap((id) => [...this.book(id).recentTrades].reverse()) }]);
    } else {
      const set = c.subs.get(channel);
      for (const id of ids) set?.delete(id);
      if (channel === 'heartbeats' && c.heartbeat) {
        clearInterval(c.heartbeat);
        c.heartbeat = undefined;
      }
      this.send(c, 'subscriptions', [{ subscriptions: this.subsOf(c) }]);
    }
  }

  /** The product whose data the public channels send for `id`. */
  private publicId(id: string): string {
    const usd = id.slice(0, -1);
    return id.endsWith('-USDC') && id !== 'USDT-USDC' && id !== 'EURC-USDC' && this.books.has(usd) ? usd : id;
  }

  /** The private channel: a JWT of the account's key is required (the docs: "Requires Authentication: Yes"). */
  private onUserSubscription(c: Conn, m: Record<string, unknown>): void {
    const rk = this.opts.restKey;
    if (!rk || !this.jwtValid(m.jwt, rk.publicKey, rk.keyName, (header, claims) => this.userJwts.push({ header, claims }))) {
      this.authFailures++;
      this.sendError(c, 'authentication failure');
      return;
    }
    const ids = Array.isArray(m.product_ids) ? (m.product_ids as unknown[]).map(String) : [];
    const set = c.subs.get('user') ?? new Set<string>();
    c.subs.set('user', set);
    if (m.type === 'unsubscribe') {
      set.clear();
      this.send(c, 'subscriptions', [{ subscriptions: this.subsOf(c) }]);
      return;
    }
    c.subscribed = true;
    // product_ids optional: none means every product
    for (const id of ids.length > 0 ? ids : [...this.books.keys()]) set.add(id);
    this.send(c, 'subscriptions', [{ subscriptions: this.subsOf(c) }]);
    const open = this.account!.openOrders([...set]).map((o) => this.account!.userOrderJson(o));
    const positions = { perpetual_futures_positions: [], expiring_futures_positions: [] };
    // open orders come in snapshot events of at most 50
    const batches = open.length === 0 ? [[]] : Array.from({ length: Math.ceil(open.length / 50) }, (_, k) => open.slice(k * 50, k * 50 + 50));
    for (const orders of batches) this.send(c, 'user', [{ type: 'snapshot', orders, positions }]);
  }

  private pushUserUpdate(o: FakeOrder): void {
    const json = this.account!.userOrderJson(o);
    for (const c of this.subscribers('user', o.product_id)) {
      if (this.loseUserUpdates > 0) {
        this.loseUserUpdates--;
        c.seq++; // sent into the void: the next message shows the gap
        continue;
      }
      this.userUpdatesSent++;
      this.send(c, 'user', [{ type: 'update', orders: [json], positions: { perpetual_futures_positions: [], expiring_futures_positions: [] } }]);
    }
  }

  private subsOf(c: Conn): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [ch, set] of c.subs) if (set.size > 0 || ch === 'heartbeats') out[ch] = [...set];
    return out;
  }

  private levels(b: ProductBook): { side: string; event_time: string; price_level: string; new_quantity: string }[] {
    const t = new Date(this.now()).toISOString();
    const bids = [...b.bids].sort((x, y) => y[0] - x[0]).map(([p, q]) => ({ side: 'bid', event_time: t, price_level: fmt(p, PRICE_DEC), new_quantity: fmt(q, QTY_DEC) }));
    const asks = [...b.asks].sort((x, y) => x[0] - y[0]).map(([p, q]) => ({ side: 'offer', event_time: t, price_level: fmt(p, PRICE_DEC), new_quantity: fmt(q, QTY_DEC) }));
    return [...bids, ...asks];
  }

  private subscribers(channel: string, id: string): Conn[] {
    return [...this.conns].filter((c) => c.subs.get(channel)?.has(id));
  }

  // ---- ConformanceVenue ----

  truth(symbol: string, n: number): { bids: [string, string][]; asks: [string, string][] } {
    const b = this.book(symbol);
    const bids = [...b.bids].sort((x, y) => y[0] - x[0]).slice(0, n).map(([p, q]): [string, string] => [fmt(p, PRICE_DEC), fmt(q, QTY_DEC)]);
    const asks = [...b.asks].sort((x, y) => x[0] - y[0]).slice(0, n).map(([p, q]): [string, string] => [fmt(p, PRICE_DEC), fmt(q, QTY_DEC)]);
    return { bids, asks };
  }

  step(symbol: string, n: number): void {
    const b = this.book(symbol);
    for (let k = 0; k < n; k++) {
      const bid = this.rand() < 0.5;
      const side = bid ? b.bids : b.asks;
      const price = bid ? MID - 1 - Math.floor(this.rand() * 120) : MID + 1 + Math.floor(this.rand() * 120);
      const remove = side.has(price) && side.size > 15 && this.rand() < 0.4;
      const qty = remove ? 0 : this.qty();
      if (remove) side.delete(price);
      else side.set(price, qty);
      const update = { side: bid ? 'bid' : 'offer', event_time: new Date(this.now()).toISOString(), price_level: fmt(price, PRICE_DEC), new_quantity: qty === 0 ? '0' : fmt(qty, QTY_DEC) };
      const skip = b.skipNext;
      b.skipNext = false;
      for (const c of this.subscribers('level2', symbol)) {
        if (skip) c.seq++; // one message the client never sees
        this.send(c, 'l2_data', [{ type: 'update', product_id: symbol, updates: [update] }]);
      }
    }
  }

  trade(symbol: string, t: { price: string; qty: string; side: 'buy' | 'sell' }): string {
    const b = this.book(symbol);
    const id = String(b.nextTradeId++);
    const row = { trade_id: id, product_id: symbol, price: t.price, size: t.qty, side: t.side === 'buy' ? ('BUY' as const) : ('SELL' as const), time: new Date(this.now()).toISOString() };
    b.recentTrades.push(row);
    if (b.recentTrades.length > 100) b.recentTrades.shift();
    this.tradesPublished++;
    for (const c of this.subscribers('market_trades', symbol)) this.send(c, 'market_trades', [{ type: 'update', trades: [row] }]);
    return id;
  }

  skipSequence(symbol: string): void {
    this.book(symbol).skipNext = true;
  }

  dropConnections(): void {
    for (const c of this.conns) c.ws.terminate();
  }

  sendRaw(text: string): void {
    for (const c of this.conns) if (c.ws.readyState === c.ws.OPEN) c.ws.send(text);
  }

  /** Keeps connections open but sends nothing at all (a silent stall). */
  stall(on: boolean): void {
    this.stalled = on;
  }

  connectionCount(): number {
    return this.conns.size;
  }

  async close(): Promise<void> {
    for (const c of this.conns) {
      this.timers.clearTimeout(c.subscribeTimer);
      if (c.heartbeat) clearInterval(c.heartbeat);
      c.ws.terminate();
    }
    this.conns.clear();
    await new Promise<void>((r) => this.wss.close(() => r()));
    await new Promise<void>((r) => this.http.close(() => r()));
  }
}
