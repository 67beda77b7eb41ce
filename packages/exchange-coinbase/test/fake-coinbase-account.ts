/**
 * The private half of the local Coinbase server: the Advanced Trade REST endpoints an order
 * client calls, written from Coinbase's public docs (docs.cdp.coinbase.com: "API key
 * authentication" (JWT), Create Order, Cancel Orders, Get Order, List Orders, List Fills,
 * List Accounts):
 *
 * - Auth: `Authorization: Bearer <JWT>`, ES256 over the CDP key, header `kid` = key name and a
 *   `nonce`, claims `sub` = key name, `nbf`/`exp` (at most 2 minutes), `uri` = "METHOD host/path".
 *   A refused token is HTTP 401 "Unauthorized".
 * - `POST /api/v3/brokerage/orders` {client_order_id, product_id, side BUY|SELL,
 *   order_configuration: market_market_ioc | limit_limit_gtc | limit_limit_fok | sor_limit_ioc}:
 *   HTTP 200 `{success:true, success_response:{order_id,...}}` or `{success:false,
 *   error_response:{error, message, preview_failure_reason, ...}}`.
 * - `POST /api/v3/brokerage/orders/batch_cancel` {order_ids}: `{results:[{success, failure_reason, order_id}]}`.
 * - `GET /api/v3/brokerage/orders/historical/{order_id}` `{order}` (404 NOT_FOUND when unknown);
 *   `GET .../historical/batch` (order_status, product_ids, start_date, limit, cursor); `GET .../historical/fills`
 *   (order_ids, product_ids, start_sequence_timestamp, limit, cursor), commission in quote.
 * - `GET /api/v3/brokerage/accounts`: available_balance and hold per currency.
 * - The `user` WebSocket channel's order view (`userOrderJson`, "User channel" in the
 *   Advanced Trade WebSocket docs): cumulative_quantity, leaves_quantity, avg_price, total_fees,
 *   status, ...; every change of an order is announced to `onOrderChange` (fake-coinbase.ts
 *   pushes it to user-channel subscribers).
 * Test hooks: fills on demand, venue-side cancels, one-shot create failures.
 */
import { verify, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface FakeOrder {
  order_id: string;
  client_order_id: string;
  product_id: string;
  side: 'BUY' | 'SELL';
  config: string;
  base_size: string;
  limit_price?: string;
  post_only: boolean;
  status: 'OPEN' | 'FILLED' | 'CANCELLED' | 'EXPIRED' | 'FAILED';
  filledUnits: bigint;
  created_time: string;
}
interface FakeFill {
  trade_id: string;
  order: FakeOrder;
  price: string;
  size: string;
  commission: string;
  liquidity: 'MAKER' | 'TAKER';
  time: string;
}

const QTY_DEC = 8;
function scaled(text: string, dec: number): bigint | undefined {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return undefined;
  const frac = (m[2] ?? '').replace(/0+$/, '');
  if (frac.length > dec) return undefined;
  return BigInt(m[1]!) * 10n ** BigInt(dec) + BigInt(frac.padEnd(dec, '0') || '0');
}
const units = (text: string): bigint | undefined => scaled(text, QTY_DEC);
function decimal(u: bigint): string {
  const s = u.toString().padStart(QTY_DEC + 1, '0');
  return `${s.slice(0, s.length - QTY_DEC)}.${s.slice(s.length - QTY_DEC)}`.replace(/0+$/, '').replace(/\.$/, '');
}

export class FakeCoinbaseAccount {
  private readonly orders = new Map<string, FakeOrder>();
  private readonly fills: FakeFill[] = [];
  private seq = 0;
  private failNext: { error: string; preview?: string; message: string } | undefined;
  private bookThenFailNext: { status: number; body: Record<string, unknown> } | undefined;
  /** Local times (ms) at which create-order requests arrived. */
  readonly orderRequestTimes: number[] = [];
  authFailures = 0;
  /** Every JWT `uri` claim seen (tests check what was signed). */
  readonly signedUris: string[] = [];
  /** "METHOD path" of every authorized request (tests tell a poll from a push this way). */
  readonly requests: string[] = [];
  /** While set, answers to the fills endpoint wait for it (two readers of one trade, in flight together). */
  fillsGate: Promise<void> | undefined;
  /** Every order change (create, fill, cancel): the user channel's update feed. */
  onOrderChange: ((o: FakeOrder) => void) | undefined;
  accounts = [
    { currency: 'BTC', available: '1.25', hold: '0.25' },
    { currency: 'USD', available: '50000.00', hold: '1000' },
  ];

  constructor(
    private readonly publicKey: KeyObject,
    private readonly keyName: string,
    private readonly isProduct: (id: string) => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  failNextOrder(f: { error: string; preview?: string; message: string }): void {
    this.failNext = f;
  }

  /** The next create is booked (the order works), then answered with this error (a failure after the matching engine took it). */
  bookNextOrderThenFail(status: number, body: Record<string, unknown>): void {
    this.bookThenFailNext = { status, body };
  }

  find(id: string): FakeOrder | undefined {
    return this.orders.get(id) ?? [...this.orders.values()].find((o) => o.client_order_id === id);
  }

  fill(id: string, t: { size: string; price: string; commission: string; maker: boolean }): string {
    const o = this.find(id);
    if (!o || o.status !== 'OPEN') throw new Error(`fake coinbase: no open order ${id}`);
    const q = units(t.size)!;
    if (o.filledUnits + q > units(o.base_size)!) throw new Error('fake coinbase: overfill');
    const f: FakeFill = { trade_id: `${++this.seq}-trade`, order: o, price: t.price, size: t.size, commission: t.commission, liquidity: t.maker ? 'MAKER' : 'TAKER', time: new Date(this.now()).toISOString() };
    this.fills.push(f);
    o.filledUnits += q;
    if (o.filledUnits === units(o.base_size)) o.status = 'FILLED';
    this.onOrderChange?.(o);
    return f.trade_id;
  }

  /** The venue cancels or expires an order on its own (e.g. self-trade prevention, end of a GTD). */
  venueCancel(id: string, status: 'CANCELLED' | 'EXPIRED' = 'CANCELLED'): void {
    const o = this.find(id);
    if (!o || o.status !== 'OPEN') throw new Error(`fake coinbase: no open order ${id}`);
    o.status = status;
    this.onOrderChange?.(o);
  }

  /** Open orders of these products (the user channel's snapshot). */
  openOrders(products: readonly string[]): FakeOrder[] {
    return [...this.orders.values()].filter((o) => o.status === 'OPEN' && (products.length === 0 || products.includes(o.product_id)));
  }

  /** An order as the user channel writes it (cumulative state, no trade ids). */
  userOrderJson(o: FakeOrder): Record<string, unknown> {
    const fills = this.fills.filter((f) => f.order === o);
    // quote value and fees in 10^-10 (price 2 decimals x size 8 decimals), exact
    let value = 0n;
    let fees = 0n;
    for (const f of fills) {
      value += scaled(f.price, 2)! * units(f.size)!;
      fees += units(f.commission)!;
    }
    const cum = o.filledUnits;
    const leaves = o.status === 'OPEN' ? units(o.base_size)! - cum : 0n;
    const q10 = (v: bigint) => { const t = v.toString().padStart(11, '0'); return `${t.slice(0, -10)}.${t.slice(-10)}`; };
    return {
      order_id: o.order_id, client_order_id: o.client_order_id, cumulative_quantity: decimal(cum) || '0', leaves_quantity: decimal(leaves) || '0',
      avg_price: cum > 0n ? q10(((value / cum) * 10n ** 8n)) : '0', total_fees: decimal(fees) || '0', status: o.status, product_id: o.product_id, product_type: 'SPOT',
      creation_time: o.created_time, order_side: o.side, order_type: o.config.startsWith('market') ? 'Market' : 'Limit', cancel_reason: '', reject_reason: '',
      time_in_force: o.config === 'sor_limit_ioc' || o.config === 'market_market_ioc' ? 'IMMEDIATE_OR_CANCEL' : o.config === 'limit_limit_fok' ? 'FILL_OR_KILL' : 'GOOD_UNTIL_CANCELLED',
      number_of_fills: String(fills.length), filled_value: q10(value), limit_price: o.limit_price ?? '0', post_only: o.post_only, outstanding_hold_amount: '0',
    };
  }

  private authorized(req: IncomingMessage, path: string): boolean {
    const m = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''));
    if (!m) return false;
    const parts = m[1]!.split('.');
    if (parts.length !== 3) return false;
    try {
      const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString()) as Record<string, unknown>;
      const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString()) as Record<string, unknown>;
      if (header.alg !== 'ES256' || header.kid !== this.keyName || typeof header.nonce !== 'string') return false;
      const nowS = Math.floor(this.now() / 1000);
      if (claims.sub !== this.keyName || typeof claims.exp !== 'number' || typeof claims.nbf !== 'number') return false;
      if (claims.exp < nowS || claims.nbf > nowS + 5 || claims.exp - claims.nbf > 120) return false;
      // the docs' form is "POST api.coinbase.com/api/v3/..."; a client on this plain-http test
      // server may keep the scheme, which is not what is being checked here
      const uri = String(claims.uri ?? '').replace(/^(\S+ )https?:\/\//, '$1');
      this.signedUris.push(String(claims.uri));
      if (uri !== `${req.method} ${req.headers.host}${path}`) return false;
      return verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), { key: this.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2]!, 'base64url'));
    } catch {
      return false;
    }
  }

  /** Handles the request when it is ours; false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://x');
    const p = url.pathname;
    if (!/^\/api\/v3\/brokerage\/(orders|accounts)/.test(p)) return false;
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (!this.authorized(req, p)) {
        this.authFailures++;
        res.writeHead(401, { 'content-type': 'text/plain' });
        res.end('Unauthorized');
        return;
      }
      this.route(req.method ?? 'GET', p, url.searchParams, body, res);
    });
    return true;
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private route(method: string, p: string, q: URLSearchParams, body: string, res: ServerResponse): void {
    this.requests.push(`${method} ${p}`);
    if (method === 'GET' && p === '/api/v3/brokerage/orders/historical/fills' && this.fillsGate) {
      const gate = this.fillsGate;
      void gate.then(() => this.routeNow(method, p, q, body, res));
      return;
    }
    this.routeNow(method, p, q, body, res);
  }

  private routeNow(method: string, p: string, q: URLSearchParams, body: string, res: ServerResponse): void {
    if (method === 'POST' && p === '/api/v3/brokerage/orders') return this.create(body, res);
    if (method === 'POST' && p === '/api/v3/brokerage/orders/batch_cancel') {
      const ids = ((JSON.parse(body || '{}') as { order_ids?: string[] }).order_ids ?? []).map(String);
      const results = ids.map((id) => {
        const o = this.orders.get(id);
        if (!o) return { success: false, failure_reason: 'UNKNOWN_CANCEL_ORDER', order_id: id };
        if (o.status !== 'OPEN') return { success: false, failure_reason: 'INVALID_CANCEL_REQUEST', order_id: id };
        o.status = 'CANCELLED';
        this.onOrderChange?.(o);
        return { success: true, failure_reason: 'UNKNOWN_CANCEL_FAILURE_REASON', order_id: id };
      });
      return this.json(res, 200, { results });
    }
    if (method === 'GET' && p === '/api/v3/brokerage/orders/historical/batch') {
      const statuses = q.getAll('order_status');
      const products = q.getAll('product_ids');
      const from = q.get('start_date');
      const all = [...this.orders.values()]
        .filter((o) => (statuses.length === 0 || statuses.includes(o.status)) && (products.length === 0 || products.includes(o.product_id)) && (!from || Date.parse(o.created_time) >= Date.parse(from)))
        .reverse(); // newest first
      const limit = Number(q.get('limit') ?? 100);
      const start = Number(q.get('cursor') || 0);
      const page = all.slice(start, start + limit);
      const next = start + limit < all.length;
      return this.json(res, 200, { orders: page.map((o) => this.orderJson(o)), sequence: '0', has_next: next, cursor: next ? String(start + limit) : '' });
    }
    if (method === 'GET' && p === '/api/v3/brokerage/orders/historical/fills') {
      const ids = q.getAll('order_ids');
      const products = q.getAll('product_ids');
      const since = q.get('start_sequence_timestamp');
      const all = this.fills
        .filter((f) => (ids.length === 0 || ids.includes(f.order.order_id)) && (products.length === 0 || products.includes(f.order.product_id)) && (!since || Date.parse(f.time) >= Date.parse(since)))
        .reverse();
      const limit = Number(q.get('limit') ?? 100);
      const start = Number(q.get('cursor') || 0);
      const page = all.slice(start, start + limit);
      return this.json(res, 200, { fills: page.map((f) => this.fillJson(f)), cursor: start + limit < all.length ? String(start + limit) : '' });
    }
    const one = /^\/api\/v3\/brokerage\/orders\/historical\/([^/]+)$/.exec(p);
    if (method === 'GET' && one) {
      const o = this.orders.get(decodeURIComponent(one[1]!));
      if (!o) return this.json(res, 404, { error: 'NOT_FOUND', error_details: 'order not found', message: 'order not found' });
      return this.json(res, 200, { order: this.orderJson(o) });
    }
    if (method === 'GET' && p === '/api/v3/brokerage/accounts') {
      const accounts = this.accounts.map((a, k) => ({
        uuid: `acct-${k}`, name: `${a.currency} Wallet`, currency: a.currency, available_balance: { value: a.available, currency: a.currency },
        default: true, active: true, type: a.currency === 'USD' ? 'ACCOUNT_TYPE_FIAT' : 'ACCOUNT_TYPE_CRYPTO', ready: true, hold: { value: a.hold, currency: a.currency },
      }));
      return this.json(res, 200, { accounts, has_next: false, cursor: '', size: accounts.length });
    }
    this.json(res, 404, { error: 'NOT_FOUND', message: 'not found' });
  }

  private create(body: string, res: ServerResponse): void {
    this.orderRequestTimes.push(Date.now());
    let r: { client_order_id?: string; product_id?: string; side?: string; order_configuration?: Record<string, Record<string, unknown>> };
    try {
      r = JSON.parse(body) as typeof r;
    } catch {
      return this.json(res, 400, { error: 'INVALID_ARGUMENT', message: 'malformed body' });
    }
    const fail = (error: string, message: string, preview = 'UNKNOWN_PREVIEW_FAILURE_REASON') =>
      this.json(res, 200, { success: false, failure_reason: 'UNKNOWN_FAILURE_REASON', order_id: '', error_response: { error, message, error_details: '', preview_failure_reason: preview }, order_configuration: r.order_configuration });
    if (!r.client_order_id || !r.product_id || (r.side !== 'BUY' && r.side !== 'SELL') || !r.order_configuration) return this.json(res, 400, { error: 'INVALID_ARGUMENT', message: 'missing field' });
    if (!this.isProduct(r.product_id)) return fail('INVALID_PRODUCT_ID', 'unknown product');
    const entries = Object.entries(r.order_configuration);
    if (entries.length !== 1) return fail('UNSUPPORTED_ORDER_CONFIGURATION', 'exactly one order configuration');
    const [config, c] = entries[0]!;
    if (!['market_market_ioc', 'limit_limit_gtc', 'limit_limit_fok', 'sor_limit_ioc'].includes(config)) return fail('UNSUPPORTED_ORDER_CONFIGURATION', config);
    if (units(String(c.base_size ?? '')) === undefined) return fail('INVALID_SIZE_PRECISION', 'base_size');
    if (config !== 'market_market_ioc' && !/^\d+(\.\d{1,2})?$/.test(String(c.limit_price ?? ''))) return fail('INVALID_PRICE_PRECISION', 'limit_price');
    if (this.failNext) {
      const f = this.failNext;
      this.failNext = undefined;
      return fail(f.error, f.message, f.preview);
    }
    const o: FakeOrder = {
      order_id: `${(++this.seq).toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`, client_order_id: r.client_order_id, product_id: r.product_id, side: r.side,
      config, base_size: String(c.base_size), post_only: c.post_only === true, status: 'OPEN', filledUnits: 0n, created_time: new Date(this.now()).toISOString(),
    };
    if (c.limit_price !== undefined) o.limit_price = String(c.limit_price);
    // nothing to match against here: immediate-or-cancel and fill-or-kill orders end unfilled
    if (config === 'sor_limit_ioc' || config === 'limit_limit_fok' || config === 'market_market_ioc') o.status = 'EXPIRED';
    this.orders.set(o.order_id, o);
    this.onOrderChange?.(o);
    if (this.bookThenFailNext) {
      const f = this.bookThenFailNext;
      this.bookThenFailNext = undefined;
      return this.json(res, f.status, f.body);
    }
    this.json(res, 200, { success: true, success_response: { order_id: o.order_id, product_id: o.product_id, side: o.side, client_order_id: o.client_order_id }, order_configuration: r.order_configuration });
  }

  private orderJson(o: FakeOrder): Record<string, unknown> {
    const cfg: Record<string, unknown> = { base_size: o.base_size };
    if (o.limit_price !== undefined) cfg.limit_price = o.limit_price;
    if (o.config === 'limit_limit_gtc') cfg.post_only = o.post_only;
    return {
      order_id: o.order_id, product_id: o.product_id, user_id: 'user-1', order_configuration: { [o.config]: cfg }, side: o.side, client_order_id: o.client_order_id, status: o.status,
      time_in_force: o.config === 'sor_limit_ioc' || o.config === 'market_market_ioc' ? 'IMMEDIATE_OR_CANCEL' : o.config === 'limit_limit_fok' ? 'FILL_OR_KILL' : 'GOOD_UNTIL_CANCELLED',
      created_time: o.created_time, completion_percentage: '0', filled_size: decimal(o.filledUnits) || '0', average_filled_price: '0', number_of_fills: String(this.fills.filter((f) => f.order === o).length),
      filled_value: '0', pending_cancel: false, size_in_quote: false, total_fees: '0', order_type: o.config.startsWith('market') ? 'MARKET' : 'LIMIT',
      // the venue writes the enum's zero value on every order it did not reject, never ''
      reject_reason: o.status === 'FAILED' ? 'INSUFFICIENT_FUND' : 'REJECT_REASON_UNSPECIFIED', cancel_message: '', product_type: 'SPOT',
    };
  }

  private fillJson(f: FakeFill): Record<string, unknown> {
    return {
      entry_id: `e-${f.trade_id}`, trade_id: f.trade_id, order_id: f.order.order_id, trade_time: f.time, trade_type: 'FILL', price: f.price, size: f.size, commission: f.commission,
      product_id: f.order.product_id, sequence_timestamp: f.time, liquidity_indicator: f.liquidity, size_in_quote: false, user_id: 'user-1', side: f.order.side,
    };
  }
}
