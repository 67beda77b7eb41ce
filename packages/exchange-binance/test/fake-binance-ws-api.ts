/**
 * The account half of the local Binance server, written from Binance's spot API docs
 * (binance-spot-api-docs: web-socket-api.md "Request security / SIGNED requests",
 * websocket-api/user-data-stream-requests.md, user-data-stream.md "Order Update", rest-api.md
 * "Account trade list" and "Account information"):
 *
 * - WebSocket API at `/ws-api/v3`: `userDataStream.subscribe.signature` (apiKey + timestamp +
 *   HMAC-SHA256 signature over the alphabetically sorted params), `userDataStream.unsubscribe`,
 *   `session.subscriptions`; events arrive as `{"subscriptionId": n, "event": {...}}`.
 * - executionReport events for NEW, TRADE (with commission `n`, commission asset `N`, maker
 *   flag `m`, trade id `t`, execution id `I`) and CANCELED.
 * - REST (signed, checked by fake-binance.ts): GET /api/v3/myTrades, GET /api/v3/account.
 * - Records every order request it received (client id), for duplicate-order checks.
 * - Scenario hooks: drop every WebSocket API session, refuse new ones, swallow an order's answer.
 *
 * Plugged into FakeBinance (fake-binance.ts) through a few one-line hooks.
 */
import { createHmac, createPublicKey, verify } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

type Answer = (status: number, body: unknown) => void;
type Refuse = (status: number, code: number, msg: string) => void;

/** What the WebSocket API needs from the order-book server it extends. */
export interface FakeVenueAccount {
  readonly opts: { apiKey?: string; apiSecret?: string; ed25519PublicKey?: string; orderLimit?: { limit: number; intervalMs: number } };
  /** The REST order logic (fake-binance.ts), shared by order.place. */
  placeOrder(params: URLSearchParams, send: Answer, err: Refuse, drop: () => void): void;
  cancelOrder(params: URLSearchParams, send: Answer, err: Refuse): void;
  ordersInWindow(): number;
}

/** The order fields an executionReport carries (FakeOrder in fake-binance.ts fits). */
export interface FakeOrderView {
  symbol: string;
  orderId: number;
  clientOrderId: string;
  price: string;
  origQty: string;
  executedQty: string;
  cummulativeQuoteQty: string;
  status: string;
  timeInForce: string;
  type: string;
  side: 'BUY' | 'SELL';
  time: number;
}

export interface FakeTrade {
  symbol: string;
  id: number;
  orderId: number;
  clientOrderId: string;
  side: 'BUY' | 'SELL';
  price: string;
  qty: string;
  quoteQty: string;
  commission: string;
  commissionAsset: string;
  isMaker: boolean;
  time: number;
}

interface Session {
  ws: WebSocket;
  /** subscriptionId -> subscribed */
  subs: Set<number>;
  nextSub: number;
}

/** Commission as the venue charges it: a rate in hundredths of a basis point and the asset. */
export interface FakeCommission {
  makerRate1e6: number;
  takerRate1e6: number;
  /** 'quote' (USDT), 'base' (e.g. BTC on a buy) or a third asset name (e.g. 'BNB'). */
  asset: 'quote' | 'base' | string;
}

/** Exact decimal helpers on strings (the fake must not round through floats either). */
function dec(text: string): { m: bigint; e: number } {
  const [i, f = ''] = text.split('.');
  return { m: BigInt(`${i}${f}`), e: f.length };
}
function fmtDec(m: bigint, e: number, places = 8): string {
  // the fake lets a spot balance go negative (selling first): keep the sign out of the digits
  if (m < 0n) return `-${fmtDec(-m, e, places)}`;
  // rounds half up to `places` decimals
  let v = m;
  if (e > places) {
    const d = 10n ** BigInt(e - places);
    v = (m + d / 2n) / d;
  } else v = m * 10n ** BigInt(places - e);
  const s = v.toString().padStart(places + 1, '0');
  return `${s.slice(0, s.length - places)}.${s.slice(s.length - places)}`;
}
function mul(a: string, b: string): { m: bigint; e: number } {
  const x = dec(a);
  const y = dec(b);
  return { m: x.m * y.m, e: x.e + y.e };
}

export class FakeWsApi {
  readonly sessions = new Set<Session>();
  readonly trades: FakeTrade[] = [];
  /** Every client order id an order request carried, in arrival order (duplicates included). */
  readonly orderRequests: string[] = [];
  /** executionReports sent (counted once per event, not per subscriber). */
  eventsSent = 0;
  subscribeRequests = 0;
  /** While true, new WebSocket API connections are refused (a venue-side outage). */
  refuse = false;
  commission: FakeCommission = { makerRate1e6: 750, takerRate1e6: 1000, asset: 'quote' };
  /** Starting balances per asset (decimal strings) for GET /api/v3/account. */
  readonly startBalances = new Map<string, string>([['USDT', '1000000.00000000']]);
  /** WebSocket API order requests (order.place / order.cancel) received, whatever their fate. */
  wsOrderRequests = 0;
  /** Sees every WebSocket API frame first, before it is parsed (the wire benchmark times arrivals here). */
  onRequestFrame: ((data: unknown) => void) | undefined;
  /** Runs right after a subscription is confirmed (tests: an event while two connections are subscribed). */
  afterSubscribe: ((subscriptionCount: number) => void) | undefined;
  /** GET /api/v3/myTrades leaves out this many of the newest trades it would list (a trade list that lags the order's status). */
  tradeListLag = 0;
  /** Trade lists answered with trades left out (tradeListLag). */
  laggedTradeLists = 0;
  /** The next `n` GET /api/v3/myTrades requests are answered HTTP 500 (-1000, an error on the venue's side). */
  failTradeLists = 0;
  /** GET /api/v3/myTrades requests received (answered or not). */
  tradeListRequests = 0;
  /** Edits the trades of the next GET /api/v3/myTrades answers (a broken venue); each call returns whether to keep editing. */
  editTradeList: ((trades: Record<string, unknown>[]) => boolean) | undefined;
  /** The next order.place is not executed: this is sent as its answer instead (a hostile or broken venue); used once. */
  answerNextOrder: Record<string, unknown> | undefined;
  /** The next order.cancel is executed, but this is sent as its answer instead (a hostile or broken venue); used once. */
  answerNextCancel: Record<string, unknown> | undefined;
  /** The next `n` executionReports are lost on the way (a subscription that missed them). */
  dropEvents = 0;
  /** Edits the next executionReport before it is sent (a hostile or broken venue); used once. */
  editNextEvent: ((ev: Record<string, unknown>) => void) | undefined;
  private swallowNext = 0;
  private loseNext = 0;
  private nextTradeId = 7000;
  private nextExecId = 90000;
  private readonly wss = new WebSocketServer({ noServer: true });

  constructor(private readonly venue: FakeVenueAccount) {}

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.refuse) {
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConn(ws));
  }

  /** Closes every WebSocket API connection abruptly (no close frame), as a network drop would. */
  dropSessions(): void {
    for (const s of this.sessions) s.ws.terminate();
    this.sessions.clear();
  }

  /** Connections with at least one live subscription. */
  subscribedSessions(): number {
    return [...this.sessions].filter((s) => s.subs.size > 0).length;
  }

  /** The next `n` order requests are executed but their HTTP answer never comes (a timeout). */
  swallowOrderResponses(n = 1): void {
    this.swallowNext += n;
  }

  /** The next `n` order requests are lost before the matching engine sees them (connection reset). */
  loseOrderRequests(n = 1): void {
    this.loseNext += n;
  }

  /** Hook: an order request arrived. 'swallow': execute it, never answer; 'lose': drop the connection, execute nothing. */
  orderReceived(clientOrderId: string | null): 'swallow' | 'lose' | undefined {
    if (this.loseNext > 0) {
      this.loseNext--;
      return 'lose';
    }
    this.orderRequests.push(clientOrderId ?? '');
    if (this.swallowNext > 0) {
      this.swallowNext--;
      return 'swallow';
    }
    return undefined;
  }

  /** Hook: an order was accepted or cancelled. */
  orderEvent(o: FakeOrderView, x: 'NEW' | 'CANCELED'): void {
    this.emit(o, x, undefined);
  }

  /** Hook: part of an order traded. Records the trade with its commission and reports it. */
  orderTraded(o: FakeOrderView, qty: string, price: string, maker: boolean): FakeTrade {
    const quote = mul(qty, price);
    const rate = BigInt(maker ? this.commission.makerRate1e6 : this.commission.takerRate1e6);
    const base = o.symbol.replace(/USDT$/, '');
    let asset = this.commission.asset;
    let commission: string;
    if (asset === 'quote') {
      asset = 'USDT';
      commission = fmtDec(quote.m * rate, quote.e + 6);
    } else if (asset === 'base') {
      asset = base;
      const q = dec(qty);
      commission = fmtDec(q.m * rate, q.e + 6);
    } else commission = fmtDec(quote.m * rate, quote.e + 6 + 3); // a token worth 1000 quote
    const t: FakeTrade = {
      symbol: o.symbol, id: ++this.nextTradeId, orderId: o.orderId, clientOrderId: o.clientOrderId, side: o.side, price, qty, quoteQty: fmtDec(quote.m, quote.e),
      commission, commissionAsset: asset, isMaker: maker, time: Date.now(),
    };
    this.trades.push(t);
    this.emit(o, 'TRADE', t);
    return t;
  }

  /**
   * GET /api/v3/myTrades (symbol required; orderId, fromId, startTime, endTime, limit), oldest
   * first. Only the documented combinations are taken: symbol; + orderId; + startTime and/or
   * endTime (at most 24 h apart); + fromId; + orderId + fromId.
   */
  myTrades(params: URLSearchParams): { status: number; body: unknown } {
    this.tradeListRequests++;
    const symbol = params.get('symbol');
    if (!symbol) return { status: 400, body: { code: -1102, msg: "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed." } };
    if (this.failTradeLists > 0) {
      this.failTradeLists--;
      return { status: 500, body: { code: -1000, msg: 'An unknown error occurred while processing the request.' } };
    }
    const orderId = params.get('orderId');
    const fromId = params.get('fromId');
    const startTime = params.get('startTime');
    const endTime = params.get('endTime');
    if ((startTime || endTime) && (orderId || fromId)) return { status: 400, body: { code: -1128, msg: 'Combination of optional parameters invalid.' } };
    if (startTime && endTime && Number(endTime) - Number(startTime) > 86_400_000) return { status: 400, body: { code: -1127, msg: 'More than 24 hours between startTime and endTime.' } };
    const limit = Math.min(1000, Number(params.get('limit') ?? 500));
    let list = this.trades.filter((t) => t.symbol === symbol);
    if (orderId) list = list.filter((t) => t.orderId === Number(orderId));
    if (fromId) list = list.filter((t) => t.id >= Number(fromId));
    if (startTime) list = list.filter((t) => t.time >= Number(startTime));
    if (endTime) list = list.filter((t) => t.time <= Number(endTime));
    if (this.tradeListLag > 0 && list.length > 0) {
      list = list.slice(0, Math.max(0, list.length - this.tradeListLag));
      this.laggedTradeLists++;
    }
    // "If fromId is set, it will get trades >= that fromId. Otherwise most recent trades are returned."
    list = fromId || startTime ? list.slice(0, limit) : list.slice(Math.max(0, list.length - limit));
    const body: Record<string, unknown>[] = list.map((t) => ({
      symbol: t.symbol, id: t.id, orderId: t.orderId, orderListId: -1, price: t.price, qty: t.qty, quoteQty: t.quoteQty, commission: t.commission,
      commissionAsset: t.commissionAsset, time: t.time, isBuyer: t.side === 'BUY', isMaker: t.isMaker, isBestMatch: true,
    }));
    if (this.editTradeList && body.length > 0 && !this.editTradeList(body)) this.editTradeList = undefined;
    return { status: 200, body };
  }

  /** GET /api/v3/account: balances are the starting balances moved by every trade and commission. */
  account(): { status: number; body: unknown } {
    const bal = new Map<string, { m: bigint; e: number }>();
    const add = (asset: string, v: { m: bigint; e: number }, sign: 1n | -1n) => {
      const cur = bal.get(asset) ?? { m: 0n, e: 8 };
      const e = Math.max(cur.e, v.e);
      bal.set(asset, { m: cur.m * 10n ** BigInt(e - cur.e) + sign * v.m * 10n ** BigInt(e - v.e), e });
    };
    for (const [a, v] of this.startBalances) add(a, dec(v), 1n);
    for (const t of this.trades) {
      const base = t.symbol.replace(/USDT$/, '');
      add(base, dec(t.qty), t.side === 'BUY' ? 1n : -1n);
      add('USDT', dec(t.quoteQty), t.side === 'BUY' ? -1n : 1n);
      add(t.commissionAsset, dec(t.commission), -1n);
    }
    return {
      status: 200,
      body: {
        makerCommission: 0, takerCommission: 0, canTrade: true, canWithdraw: true, canDeposit: true, updateTime: Date.now(), accountType: 'SPOT',
        balances: [...bal].map(([asset, v]) => ({ asset, free: fmtDec(v.m, v.e), locked: '0.00000000' })), permissions: ['SPOT'],
      },
    };
  }

  close(): void {
    for (const s of this.sessions) s.ws.terminate();
    this.sessions.clear();
    this.wss.close();
  }

  private onConn(ws: WebSocket): void {
    const s: Session = { ws, subs: new Set(), nextSub: 0 };
    this.sessions.add(s);
    ws.on('close', () => this.sessions.delete(s));
    ws.on('message', (data) => {
      this.onRequestFrame?.(data);
      let msg: { id?: unknown; method?: unknown; params?: Record<string, unknown> };
      try {
        msg = JSON.parse(String(data));
      } catch {
        ws.send(JSON.stringify({ id: null, status: 400, error: { code: -1100, msg: 'Malformed request.' } }));
        return;
      }
      const id = msg.id ?? null;
      const answer = (status: number, body: { result?: unknown; error?: { code: number; msg: string } }) => ws.send(JSON.stringify({ id, status, ...body, rateLimits: [] }));
      switch (msg.method) {
        case 'userDataStream.subscribe.signature': {
          this.subscribeRequests++;
          const problem = this.checkSignature(msg.params ?? {});
          if (problem) return answer(problem.code === -2015 ? 401 : 400, { error: problem });
          const sub = s.nextSub++;
          s.subs.add(sub);
          answer(200, { result: { subscriptionId: sub } });
          this.afterSubscribe?.(this.subscribeRequests);
          return;
        }
        case 'userDataStream.unsubscribe': {
          const sub = msg.params?.subscriptionId;
          if (sub === undefined) s.subs.clear();
          else s.subs.delete(Number(sub));
          return answer(200, { result: {} });
        }
        case 'order.place':
        case 'order.cancel': {
          // web-socket-api.md "Trading requests": SIGNED (TRADE), the REST endpoint's parameters
          this.wsOrderRequests++;
          const params = msg.params ?? {};
          const problem = this.checkSignature(params);
          if (problem) return answer(problem.code === -2015 ? 401 : 400, { error: problem });
          const q = new URLSearchParams();
          for (const [k, v] of Object.entries(params)) if (k !== 'signature' && k !== 'apiKey') q.set(k, String(v));
          const limits = () => this.rateLimits();
          const ok: Answer = (status, result) => ws.send(JSON.stringify({ id, status, result, rateLimits: limits() }));
          const refuse: Refuse = (status, code, text) => ws.send(JSON.stringify({ id, status, error: status === 429 ? { code, msg: text, data: { retryAfter: Date.now() + 1000 } } : { code, msg: text }, rateLimits: limits() }));
          if (msg.method === 'order.cancel') {
            const cannedCancel = this.answerNextCancel;
            this.answerNextCancel = undefined;
            return this.venue.cancelOrder(q, cannedCancel ? () => ws.send(JSON.stringify({ id, ...cannedCancel })) : ok, refuse);
          }
          const canned = this.answerNextOrder;
          this.answerNextOrder = undefined;
          if (canned) return ws.send(JSON.stringify({ id, ...canned }));
          return this.venue.placeOrder(q, ok, refuse, () => ws.terminate());
        }
        case 'session.subscriptions':
          return answer(200, { result: [...s.subs].map((subscriptionId) => ({ subscriptionId })) });
        default:
          return answer(400, { error: { code: -1100, msg: `Unknown method: ${String(msg.method)}` } });
      }
    });
  }

  /** The rateLimits block of an answer: the account's ORDERS count in its window (web-socket-api.md "Rate limits"). */
  private rateLimits(): unknown[] {
    const lim = this.venue.opts.orderLimit ?? { limit: 100, intervalMs: 10_000 };
    return [
      { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: Math.max(1, Math.round(lim.intervalMs / 1000)), limit: lim.limit, count: this.venue.ordersInWindow() },
      { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000, count: 1 },
    ];
  }

  /**
   * web-socket-api.md: SIGNED params sorted by name, joined as a query string; HMAC-SHA256 hex,
   * or (an Ed25519 key registered) Ed25519 over the same payload, base64.
   */
  private checkSignature(params: Record<string, unknown>): { code: number; msg: string } | undefined {
    const { signature, ...rest } = params;
    if (rest.apiKey !== this.venue.opts.apiKey) return { code: -2015, msg: 'Invalid API-key, IP, or permissions for action.' };
    const payload = Object.keys(rest).sort().map((k) => `${k}=${String(rest[k])}`).join('&');
    const pub = this.venue.opts.ed25519PublicKey;
    const valid =
      typeof signature === 'string' &&
      (pub
        ? verify(null, Buffer.from(payload), createPublicKey(pub), Buffer.from(signature, 'base64'))
        : signature.toLowerCase() === createHmac('sha256', this.venue.opts.apiSecret ?? '').update(payload).digest('hex'));
    if (!valid) return { code: -1022, msg: 'Signature for this request is not valid.' };
    const ts = Number(rest.timestamp);
    const recvWindow = Number(rest.recvWindow ?? 5000);
    const now = Date.now();
    if (!(ts < now + 1000 && now - ts <= recvWindow)) return { code: -1021, msg: 'Timestamp for this request is outside of the recvWindow.' };
    return undefined;
  }

  /** user-data-stream.md "Order Update": one executionReport to every live subscription. */
  private emit(o: FakeOrderView, x: 'NEW' | 'CANCELED' | 'TRADE', t: FakeTrade | undefined): void {
    const now = Date.now();
    const ev = {
      e: 'executionReport', E: now, s: o.symbol, c: x === 'CANCELED' ? `cancel${o.orderId}` : o.clientOrderId, S: o.side, o: o.type, f: o.timeInForce, q: o.origQty, p: o.price,
      P: '0.00000000', F: '0.00000000', g: -1, C: x === 'CANCELED' ? o.clientOrderId : '', x, X: o.status, r: 'NONE', i: o.orderId,
      l: t?.qty ?? '0.00000000', z: o.executedQty, L: t?.price ?? '0.00000000', n: t?.commission ?? '0', N: t?.commissionAsset ?? null, T: t?.time ?? now,
      t: t?.id ?? -1, I: ++this.nextExecId, w: o.status === 'NEW' || o.status === 'PARTIALLY_FILLED', m: t?.isMaker ?? false, M: false, O: o.time,
      Z: o.cummulativeQuoteQty, Y: t?.quoteQty ?? '0.00000000', Q: '0.00000000', W: o.time, V: 'NONE',
    };
    this.eventsSent++;
    if (this.dropEvents > 0) {
      this.dropEvents--;
      return;
    }
    const edit = this.editNextEvent;
    this.editNextEvent = undefined;
    edit?.(ev);
    for (const s of this.sessions) {
      if (s.ws.readyState !== s.ws.OPEN) continue;
      for (const sub of s.subs) s.ws.send(JSON.stringify({ subscriptionId: sub, event: ev }));
    }
  }
}
