/**
 * A local Kraken WebSocket v2 server for tests, written from Kraken's public docs (docs.kraken.com:
 * "Spot WebSocket v2" book, trade, instrument, heartbeat, status and ping pages, and the
 * "Book checksum (v2)" guide):
 *
 * - One endpoint, `/v2`. Requests are `{"method":"subscribe"|"unsubscribe"|"ping","params":..,"req_id":..}`;
 *   every request is acknowledged (`success`, `time_in`, `time_out`, `req_id`; one ack per
 *   symbol for subscriptions) or answered with `success: false` and an `error`.
 * - `instrument`: snapshot of assets and pairs (symbols, precisions, increments).
 * - `book`: depth 10/25/100/500/1000; a snapshot at the subscribed depth, then updates holding
 *   only the levels that changed within that depth (qty 0 = delete; no delete for a level pushed
 *   out of scope: the client truncates), each with the CRC32 checksum of the top 10 levels with
 *   prices and quantities formatted at the pair's precision. Prices and quantities are JSON
 *   numbers, so trailing zeros are lost on the wire (and tiny quantities use exponent form).
 * - `trade`: updates (and, on request, a snapshot of the last 50 trades) with trade_id.
 * - `heartbeat` about every second, a `status` message on connect.
 * - `executions` (private, "Spot WebSocket v2 - Executions"): subscribe with a token from REST
 *   GetWebSocketsToken (checked by the account half), `snap_orders`/`snap_trades`; a snapshot
 *   then one update per account event, each message with a per-connection `sequence`.
 * - Scenario hooks: a skipped book update (the client misses one), a corrupted checksum,
 *   dropped connections, raw frames, a silent stall.
 *
 * Deterministic: a seeded PRNG drives the book. Listens on 127.0.0.1 only.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ConformanceVenue } from '@cwts/core/testing';
import { FakeKrakenAccount, wireJson, type KrakenPairRest } from './fake-kraken-account.js';

const DEPTHS = [10, 25, 100, 500, 1000];

interface PairSpec {
  symbol: string;
  base: string;
  quote: string;
  pricePrecision: number;
  qtyPrecision: number;
  /** Mid price in price units (10^-pricePrecision). */
  mid: number;
}

export const DEFAULT_PAIRS: PairSpec[] = [{ symbol: 'BTC/USD', base: 'BTC', quote: 'USD', pricePrecision: 1, qtyPrecision: 8, mid: 640_000 }];

/** Fixed-point text with `dec` decimals (what Kraken's checksum guide formats). */
function fixed(units: number, dec: number): string {
  const s = units.toString().padStart(dec + 1, '0');
  return dec === 0 ? s : `${s.slice(0, s.length - dec)}.${s.slice(s.length - dec)}`;
}
/** The same value as a JSON number: trailing zeros gone, tiny values in exponent form. */
function wireNumber(units: number, dec: number): string {
  if (units > 0 && units < 100 && dec >= 8) return `${units}e-${dec}`;
  const t = fixed(units, dec);
  return t.includes('.') ? t.replace(/0+$/, '').replace(/\.$/, '') : t;
}
function parseUnits(text: string, dec: number): number {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new Error(`bad decimal ${text}`);
  const frac = (m[2] ?? '').replace(/0+$/, '');
  if (frac.length > dec) throw new Error(`${text} has more than ${dec} decimals`);
  return Number(m[1]) * 10 ** dec + Number(frac.padEnd(dec, '0') || '0');
}

/** CRC32 as the guide specifies (ISO 3309), written here independently of the adapter's. */
function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) {
    crc ^= text.charCodeAt(i);
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** The guide's algorithm on decimal strings: remove ".", strip leading zeros, asks then bids. */
export function checksumFromStrings(asks: [string, string][], bids: [string, string][]): number {
  const part = (v: string) => v.replace('.', '').replace(/^0+/, '');
  let s = '';
  for (const [p, q] of asks.slice(0, 10)) s += part(p) + part(q);
  for (const [p, q] of bids.slice(0, 10)) s += part(p) + part(q);
  return crc32(s);
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
  spec: PairSpec;
  bids: Map<number, number>;
  asks: Map<number, number>;
  tradeId: number;
  trades: Record<string, unknown>[];
  skipNext: boolean;
  corruptNext: boolean;
  /** The checksum of the top 10 as of the last update published. */
  publishedChecksum: number | undefined;
  updates: number;
}

interface BookSub {
  depth: number;
  /** What this client holds, as the venue tracks it (top `depth` per side). */
  bids: Map<number, number>;
  asks: Map<number, number>;
}

interface Conn {
  ws: WebSocket;
  books: Map<string, BookSub>;
  trades: Set<string>;
  /** The token of this connection's executions subscription (private channel). */
  execToken?: string;
  execSeq: number;
}

const now = () => new Date().toISOString().replace('Z', '000Z');

export class FakeKraken implements ConformanceVenue {
  readonly books = new Map<string, SymBook>();
  private readonly conns = new Set<Conn>();
  private heartbeat: NodeJS.Timeout | undefined;
  private stalled = false;
  /** Trades sent to at least one subscriber. */
  tradesDelivered = 0;
  /** Every request received (method + params), for assertions. */
  readonly requests: { method: string; params?: Record<string, unknown>; at: number }[] = [];
  /** The next n book snapshots carry a wrong checksum. */
  badSnapshots = 0;
  connectionsOpened = 0;

  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    private readonly random: () => number,
    readonly port: number,
  ) {}

  /** The private REST half (orders, trades, balances): fake-kraken-account.ts. */
  account: FakeKrakenAccount | undefined;
  /** Pair `status` in the instrument channel per symbol (online when absent); tests halt a pair with it. */
  readonly pairStatus = new Map<string, string>();

  /** `accountPairs`: the pairs the private REST half knows (AssetPairs, orders), when not REST_PAIRS. */
  static async start(opts: { seed?: number; heartbeatMs?: number; pairs?: PairSpec[]; apiKey?: string; apiSecret?: string; accountPairs?: KrakenPairRest[] } = {}): Promise<FakeKraken> {
    const account = opts.apiKey && opts.apiSecret ? new FakeKrakenAccount(opts.apiKey, opts.apiSecret, opts.accountPairs) : undefined;
    const server = createServer((req, res) => {
      if (account?.handle(req, res)) return;
      res.writeHead(404).end();
    });
    const wss = new WebSocketServer({ server, path: '/v2' });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const f = new FakeKraken(server, wss, rng(opts.seed ?? 1), (server.address() as AddressInfo).port);
    f.account = account;
    if (account) account.onExecution = (events) => f.publishExecutions(events);
    for (const p of opts.pairs ?? DEFAULT_PAIRS) f.books.set(p.symbol, f.seedBook(p));
    wss.on('connection', (ws) => f.onConnection(ws));
    f.heartbeat = setInterval(() => {
      for (const c of f.conns) if (c.books.size + c.trades.size > 0 || c.execToken) f.send(c, '{"channel":"heartbeat"}');
    }, opts.heartbeatMs ?? 1000);
    return f;
  }

  get restUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  orderRequestTimes(): number[] {
    return this.account?.orderRequestTimes ?? [];
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/v2`;
  }

  private seedBook(spec: PairSpec): SymBook {
    const b: SymBook = { spec, bids: new Map(), asks: new Map(), tradeId: 1000, trades: [], skipNext: false, corruptNext: false, publishedChecksum: undefined, updates: 0 };
    for (let k = 1; k <= 40; k++) {
      b.bids.set(spec.mid - k * 5, this.qty());
      b.asks.set(spec.mid + k * 5, this.qty());
    }
    return b;
  }

  /** Quantities with trailing zeros at the precision (0.00100000 goes on the wire as 0.001), and now and then a tiny one. */
  private qty(): number {
    const r = this.random();
    if (r < 0.1) return 1 + Math.floor(this.random() * 90); // 1e-8 .. 9e-7: exponent form on the wire
    if (r < 0.6) return (1 + Math.floor(this.random() * 500)) * 100_000; // 0.001 steps
    return 1 + Math.floor(this.random() * 300_000_000);
  }

  private sorted(b: SymBook, side: 'bid' | 'ask', n: number): [number, number][] {
    const m = side === 'bid' ? b.bids : b.asks;
    return [...m.entries()].sort((x, y) => (side === 'bid' ? y[0] - x[0] : x[0] - y[0])).slice(0, n);
  }

  private checksum(b: SymBook): number {
    const s = b.spec;
    const f = (l: [number, number][]) => l.map(([p, q]): [string, string] => [fixed(p, s.pricePrecision), fixed(q, s.qtyPrecision)]);
    return checksumFromStrings(f(this.sorted(b, 'ask', 10)), f(this.sorted(b, 'bid', 10)));
  }

  private level(b: SymBook, p: number, q: number): string {
    return `{"price":${wireNumber(p, b.spec.pricePrecision)},"qty":${wireNumber(q, b.spec.qtyPrecision)}}`;
  }

  // ---- ConformanceVenue ----

  truth(symbol: string, n: number): { bids: [string, string][]; asks: [string, string][] } {
    const b = this.books.get(symbol)!;
    const s = b.spec;
    const f = (l: [number, number][]) => l.map(([p, q]): [string, string] => [fixed(p, s.pricePrecision), fixed(q, s.qtyPrecision)]);
    return { bids: f(this.sorted(b, 'bid', n)), asks: f(this.sorted(b, 'ask', n)) };
  }

  step(symbol: string, n: number): void {
    const b = this.books.get(symbol)!;
    for (let k = 0; k < n; k++) {
      this.mutate(b);
      this.publishBook(b);
    }
  }

  private mutate(b: SymBook): void {
    const bid = this.random() < 0.5;
    const side = bid ? b.bids : b.asks;
    const best = bid ? Math.max(...b.bids.keys()) : Math.min(...b.asks.keys());
    const other = bid ? Math.min(...b.asks.keys()) : Math.max(...b.bids.keys());
    const r = this.random();
    if (r < 0.45) {
      // change a level near the top
      const lv = this.sorted(b, bid ? 'bid' : 'ask', 15);
      const [p] = lv[Math.floor(this.random() * lv.length)]!;
      side.set(p, this.qty());
    } else if (r < 0.75 || side.size < 12) {
      // a new level: inside the spread, or among the top levels
      const off = Math.floor(this.random() * 60) - 10;
      let p = bid ? best - off : best + off;
      if (bid && p >= other) p = other - 1;
      if (!bid && p <= other) p = other + 1;
      if (p > 0) side.set(p, this.qty());
    } else {
      const lv = this.sorted(b, bid ? 'bid' : 'ask', 12);
      side.delete(lv[Math.floor(this.random() * lv.length)]![0]);
    }
  }

  private publishBook(b: SymBook): void {
    const sym = b.spec.symbol;
    const top = this.checksum(b);
    const skip = b.skipNext && top !== b.publishedChecksum;
    const corrupt = b.corruptNext;
    let sent = false;
    for (const c of this.conns) {
      const sub = c.books.get(sym);
      if (!sub) continue;
      const parts: string[][] = [[], []];
      (['bid', 'ask'] as const).forEach((sideName, i) => {
        const view = sideName === 'bid' ? sub.bids : sub.asks;
        const next = new Map(this.sorted(b, sideName, sub.depth));
        for (const [p, q] of next) if (view.get(p) !== q) parts[i]!.push(this.level(b, p, q));
        // deleted from the book: qty 0; merely pushed out of the subscribed depth: nothing
        for (const p of view.keys()) if (!next.has(p) && !(sideName === 'bid' ? b.bids : b.asks).has(p)) parts[i]!.push(this.level(b, p, 0));
        view.clear();
        for (const [p, q] of next) view.set(p, q);
      });
      if (parts[0]!.length + parts[1]!.length === 0) continue;
      sent = true;
      if (skip) continue;
      const ck = corrupt ? (top ^ 0x5a5a) >>> 0 : top;
      this.send(c, `{"channel":"book","type":"update","data":[{"symbol":"${sym}","bids":[${parts[0]!.join(',')}],"asks":[${parts[1]!.join(',')}],"checksum":${ck},"timestamp":"${now()}"}]}`);
    }
    if (sent) {
      b.updates++;
      if (skip) b.skipNext = false;
      b.corruptNext = false;
      b.publishedChecksum = top;
    }
  }

  trade(symbol: string, t: { price: string; qty: string; side: 'buy' | 'sell' }): string {
    const b = this.books.get(symbol)!;
    const id = ++b.tradeId;
    const entry = {
      symbol,
      side: t.side,
      price: Number(wireNumber(parseUnits(t.price, b.spec.pricePrecision), b.spec.pricePrecision)),
      qty: Number(wireNumber(parseUnits(t.qty, b.spec.qtyPrecision), b.spec.qtyPrecision)),
      ord_type: 'limit',
      trade_id: id,
      timestamp: now(),
    };
    b.trades.push(entry);
    if (b.trades.length > 50) b.trades.shift();
    let delivered = false;
    for (const c of this.conns) {
      if (!c.trades.has(symbol)) continue;
      delivered = this.send(c, JSON.stringify({ channel: 'trade', type: 'update', data: [entry] })) || delivered;
    }
    if (delivered) this.tradesDelivered++;
    return String(id);
  }

  /** The next book update is not sent (the client misses it; only the checksum can tell). */
  /**
   * Loses the next update that changes the top 10 (what Kraken's checksum covers). An update
   * that changes only deeper levels is sent as usual: losing one would go unseen by any client
   * until that level reached the top 10, and with a ticker-driven venue which update comes next
   * depends on timing (a test that lost a deep update flaked under load).
   */
  skipSequence(symbol: string): void {
    this.books.get(symbol)!.skipNext = true;
  }

  corruptChecksum(symbol: string): void {
    this.books.get(symbol)!.corruptNext = true;
  }

  dropConnections(): void {
    for (const c of this.conns) c.ws.terminate();
  }

  /** The next n executions subscriptions get no answer at all (a venue that swallows the request). */
  ignoreExecutionsSubscribes = 0;

  /** The next update's sequence on every executions connection, and a way to skip ahead (a lost message). */
  skipExecutionsSequence(n: number): void {
    for (const c of this.conns) if (c.execToken) c.execSeq += n;
  }

  /** Drops every connection holding an executions subscription (the private stream goes down). */
  dropExecutions(): void {
    for (const c of this.conns) if (c.execToken) c.ws.terminate();
  }

  /** Connections with a live executions subscription. */
  executionsSubscribers(): number {
    return [...this.conns].filter((c) => c.execToken && c.ws.readyState === c.ws.OPEN).length;
  }

  /** Raw text to every executions subscriber, numbered like a real update (hostile frames). */
  sendExecutionsRaw(text: string): void {
    for (const c of this.conns) if (c.execToken) this.send(c, text);
  }

  private publishExecutions(events: Record<string, unknown>[]): void {
    for (const c of this.conns) {
      if (!c.execToken) continue;
      this.send(c, wireJson({ channel: 'executions', type: 'update', data: events, sequence: ++c.execSeq }));
    }
  }

  sendRaw(text: string): void {
    for (const c of this.conns) this.send(c, text);
  }

  /** Silent stall: the connection stays open but nothing (not even heartbeats) is sent. */
  stall(on = true): void {
    this.stalled = on;
  }

  connectionCount(): number {
    return this.conns.size;
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    for (const c of this.conns) c.ws.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  // ---- protocol ----

  private send(c: Conn, text: string): boolean {
    if (this.stalled || c.ws.readyState !== c.ws.OPEN) return false;
    c.ws.send(text);
    return true;
  }

  private onConnection(ws: WebSocket): void {
    const c: Conn = { ws, books: new Map(), trades: new Set(), execSeq: 0 };
    this.conns.add(c);
    this.connectionsOpened++;
    ws.on('close', () => {
      this.conns.delete(c);
      if (c.execToken) this.account?.releaseToken(c.execToken);
    });
    ws.on('error', () => {});
    ws.on('message', (data) => this.onRequest(c, data.toString()));
    this.send(c, JSON.stringify({ channel: 'status', type: 'update', data: [{ api_version: 'v2', connection_id: this.connectionsOpened, system: 'online', version: '2.0.0' }] }));
  }

  private reply(c: Conn, method: string, reqId: unknown, body: Record<string, unknown>): void {
    const t = now();
    this.send(c, JSON.stringify({ method, ...body, time_in: t, time_out: t, ...(typeof reqId === 'number' ? { req_id: reqId } : {}) }));
  }

  private onRequest(c: Conn, text: string): void {
    let msg: { method?: unknown; params?: Record<string, unknown>; req_id?: unknown };
    try {
      msg = JSON.parse(text);
    } catch {
      this.send(c, JSON.stringify({ error: 'Malformed request', success: false, time_in: now(), time_out: now() }));
      return;
    }
    const method = String(msg.method);
    this.requests.push({ method, ...(msg.params ? { params: msg.params } : {}), at: Date.now() });
    const p = msg.params ?? {};
    if (method === 'ping') {
      this.reply(c, 'pong', msg.req_id, {});
      return;
    }
    if (method !== 'subscribe' && method !== 'unsubscribe') {
      this.reply(c, method, msg.req_id, { success: false, error: 'Method not found' });
      return;
    }
    const channel = p.channel;
    if (channel === 'executions') {
      this.onExecutionsRequest(c, method, p, msg.req_id);
      return;
    }
    if (channel === 'instrument') {
      this.reply(c, method, msg.req_id, { success: true, result: { channel: 'instrument', snapshot: true } });
      if (method === 'subscribe' && p.snapshot !== false) this.send(c, JSON.stringify(this.instrumentSnapshot()));
      return;
    }
    const symbols = Array.isArray(p.symbol) ? (p.symbol as unknown[]).map(String) : [];
    if ((channel !== 'book' && channel !== 'trade') || symbols.length === 0) {
      this.reply(c, method, msg.req_id, { success: false, error: channel === 'book' || channel === 'trade' ? 'Missing symbol' : 'Channel not found' });
      return;
    }
    const depth = p.depth === undefined ? 10 : Number(p.depth);
    if (channel === 'book' && !DEPTHS.includes(depth)) {
      this.reply(c, method, msg.req_id, { success: false, error: `Invalid depth ${String(p.depth)}` });
      return;
    }
    for (const sym of symbols) {
      const b = this.books.get(sym);
      if (!b) {
        this.reply(c, method, msg.req_id, { success: false, error: `Currency pair not supported ${sym}`, symbol: sym });
        continue;
      }
      const subscribed = channel === 'book' ? c.books.has(sym) : c.trades.has(sym);
      if (method === 'unsubscribe') {
        if (!subscribed) {
          this.reply(c, method, msg.req_id, { success: false, error: 'Subscription Not Found', symbol: sym });
          continue;
        }
        if (channel === 'book') c.books.delete(sym);
        else c.trades.delete(sym);
        this.reply(c, method, msg.req_id, { success: true, result: { channel, symbol: sym, ...(channel === 'book' ? { depth } : {}) } });
        continue;
      }
      if (subscribed) {
        this.reply(c, method, msg.req_id, { success: false, error: 'Already subscribed', symbol: sym });
        continue;
      }
      const snapshot = channel === 'book' ? p.snapshot !== false : p.snapshot === true;
      this.reply(c, method, msg.req_id, { success: true, result: { channel, symbol: sym, snapshot, ...(channel === 'book' ? { depth } : {}) } });
      if (channel === 'trade') {
        c.trades.add(sym);
        if (snapshot) this.send(c, JSON.stringify({ channel: 'trade', type: 'snapshot', data: b.trades }));
        continue;
      }
      const sub: BookSub = { depth, bids: new Map(this.sorted(b, 'bid', depth)), asks: new Map(this.sorted(b, 'ask', depth)) };
      c.books.set(sym, sub);
      const lv = (m: Map<number, number>) => [...m].map(([px, q]) => this.level(b, px, q)).join(',');
      const ck = this.badSnapshots > 0 ? (this.checksum(b) ^ 0x77) >>> 0 : this.checksum(b);
      if (this.badSnapshots > 0) this.badSnapshots--;
      this.send(c, `{"channel":"book","type":"snapshot","data":[{"symbol":"${sym}","bids":[${lv(sub.bids)}],"asks":[${lv(sub.asks)}],"checksum":${ck}}]}`);
    }
  }

  private onExecutionsRequest(c: Conn, method: string, p: Record<string, unknown>, reqId: unknown): void {
    if (!this.account) return this.reply(c, method, reqId, { success: false, error: 'EGeneral:Permission denied' });
    if (method === 'unsubscribe') {
      if (!c.execToken) return this.reply(c, method, reqId, { success: false, error: 'Subscription Not Found' });
      this.account.releaseToken(c.execToken);
      delete c.execToken;
      return this.reply(c, method, reqId, { success: true, result: { channel: 'executions' } });
    }
    if (c.execToken) return this.reply(c, method, reqId, { success: false, error: 'Already subscribed' });
    if (this.ignoreExecutionsSubscribes > 0) {
      this.ignoreExecutionsSubscribes--;
      return;
    }
    const use = this.account.useToken(p.token);
    if (!use.ok) return this.reply(c, method, reqId, { success: false, error: use.error });
    c.execToken = String(p.token);
    const snapOrders = p.snap_orders !== false;
    const snapTrades = p.snap_trades === true;
    this.reply(c, method, reqId, { success: true, result: { channel: 'executions', maxratecount: 125, snap_orders: snapOrders, snap_trades: snapTrades } });
    const snap = this.account.executionsSnapshot().filter((e) => (e.exec_type === 'trade' ? snapTrades : snapOrders));
    this.send(c, wireJson({ channel: 'executions', type: 'snapshot', data: snap, sequence: ++c.execSeq }));
  }

  private instrumentSnapshot(): Record<string, unknown> {
    const pairs = [...this.books.values()].map(({ spec: s }) => ({
      symbol: s.symbol,
      base: s.base,
      quote: s.quote,
      status: this.pairStatus.get(s.symbol) ?? 'online',
      qty_precision: s.qtyPrecision,
      qty_increment: 10 ** -s.qtyPrecision,
      price_precision: s.pricePrecision,
      cost_precision: 5,
      marginable: false,
      has_index: true,
      cost_min: 0.5,
      tick_size: 10 ** -s.pricePrecision,
      price_increment: 10 ** -s.pricePrecision,
      qty_min: 0.0001,
    }));
    return { channel: 'instrument', type: 'snapshot', data: { assets: [{ id: 'BTC', status: 'enabled', precision: 10, precision_display: 5 }, { id: 'USD', status: 'enabled', precision: 4, precision_display: 2 }], pairs } };
  }
}
