/**
 * Binance spot order entry on the WebSocket API (`order.place`, `order.cancel`), written from
 * Binance's web-socket-api docs ("Request format", "SIGNED request security", "Trading requests").
 *
 * Why it exists: through ccxt + its HTTP client an order costs ~1 ms of this thread before any
 * byte leaves (pure-JS HMAC, generic request building, a setImmediate hop before the write).
 * Here one persistent connection carries every order; the request text is concatenated from
 * strings prepared once per symbol (templates), signed with node:crypto, and handed to the
 * socket inside `place()` itself: when `place()` returns, the frame is in the kernel's send
 * buffer (ws writes synchronously when permessage-deflate is off, which it is here).
 *
 * - Responses are matched to requests by `id`; every other frame is ignored.
 * - `rateLimits` in each response (the venue's own counters) go to `onRateLimits`.
 * - Nothing a handler throws leaves the socket's event (it would end the process): an answer whose
 *   handling threw is counted as malformed and handed to `onLost`, so its order is asked for.
 * - A request whose connection drops, or whose answer does not come within
 *   `responseTimeoutMs`, is handed to `onLost`: its outcome is unknown and the caller resolves
 *   it by asking the venue (client order ids make that query exact); nothing is re-sent here.
 * - HMAC-SHA256 keys sign every request. Ed25519 keys (api_secret holding a PKCS#8 PEM private
 *   key) sign every request too; `session.logon` is not used, so a reconnect needs no re-auth
 *   step and a request is never refused for a session that silently lost its login.
 * - No connection is opened into a ban (`holdUntil`, and `blockedUntil` read at start, at every
 *   failed connect attempt and at every loss, planned reconnects included): a connection lost
 *   during one reconnects only after it ends, through WsConnection.holdReconnectUntil (core API
 *   1.13; an older core reconnects on its backoff).
 */
import { createHmac, createPrivateKey, createSecretKey, sign as signAsymmetric, type KeyObject } from 'node:crypto';
import { type Logger } from '@cwts/core';
import { type Secret } from '@cwts/core/config';
import { WsConnection, redactCredentials, type TimerSet } from '@cwts/core/adapter-kit';
import { holdReconnect } from './ip-ban.js';

/** One `rateLimits` entry of a WebSocket API response. */
export interface WsApiRateLimit {
  rateLimitType: string;
  interval: string;
  intervalNum: number;
  limit: number;
  count: number;
}

/** A WebSocket API response (status 200 with `result`, or an `error` with Binance's code). */
export interface WsApiResponse {
  id: unknown;
  status: number;
  result?: Record<string, unknown>;
  error?: { code?: number; msg?: string; data?: { retryAfter?: number } };
  rateLimits?: WsApiRateLimit[];
}

/** A request written to the socket whose answer has not come yet. */
export interface PendingWsRequest {
  readonly id: number;
  readonly method: 'order.place' | 'order.cancel';
  readonly clientOrderId: string;
  /** Clock time (epoch ms) the request was signed with: its recvWindow starts here. */
  readonly sentAt: number;
  /** process.hrtime.bigint() just after the write, for the request -> answer latency. */
  readonly sentNs: bigint;
  /** The caller's own object for this request (the order), handed back with the answer. */
  readonly ref: unknown;
}

export interface PlaceParams {
  symbol: string;
  side: 'BUY' | 'SELL';
  type: 'LIMIT' | 'LIMIT_MAKER' | 'MARKET';
  /** GTC | IOC | FOK for LIMIT; absent otherwise. */
  timeInForce?: string;
  quantity: string;
  price?: string;
  newClientOrderId: string;
}

export interface CancelParams {
  symbol: string;
  /** The venue's id when known, else the client id (origClientOrderId). */
  orderId?: string;
  origClientOrderId: string;
}

export interface WsOrderEntryDeps {
  url: string;
  apiKey: Secret;
  /** An HMAC secret, or an Ed25519 private key as PKCS#8 PEM. */
  apiSecret: Secret;
  recvWindowMs: number;
  /** Epoch ms for `timestamp` (the engine's Clock). */
  now: () => number;
  timers: TimerSet;
  responseTimeoutMs: number;
  pingIntervalMs?: number;
  maxLifetimeMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  logger?: Logger;
  onResponse: (req: PendingWsRequest, res: WsApiResponse) => void;
  /** The request's outcome is unknown (connection lost, no answer in time). */
  onLost: (req: PendingWsRequest, reason: string) => void;
  onRateLimits?: (limits: readonly WsApiRateLimit[]) => void;
  onState?: (up: boolean, reason: string) => void;
  /**
   * When this IP may send again (epoch ms on `now`; 0 or past: now), read at start, at every failed
   * connect attempt and at every connection loss, and (core API 1.13) right before every socket is
   * opened: a ban recorded elsewhere (the per-IP limiter shared with market data) holds the
   * connect too.
   */
  blockedUntil?: () => number;
}

/** Binance's newClientOrderId rule (`^[\.A-Z\:/a-z0-9_-]{1,36}$`): also keeps the JSON template safe. */
const CLIENT_ID = /^[.A-Z:/a-z0-9_-]{1,36}$/;
/** Decimal strings as our formatters write them: digits with at most one dot. */
const DECIMAL = /^\d+(\.\d+)?$/;
const SYMBOL = /^[A-Z0-9_]{1,32}$/;

type Signer = (payload: string) => string;

/** HMAC-SHA256 (hex) or Ed25519 (base64), chosen by the key's form. */
export function binanceSigner(secret: Secret): { sign: Signer; kind: 'hmac' | 'ed25519' } {
  const raw = secret.reveal();
  if (raw.startsWith('-----BEGIN')) {
    let key: KeyObject;
    try {
      key = createPrivateKey(raw);
    } catch {
      throw new Error('api_secret looks like a PEM key but cannot be read as one');
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`api_secret is a ${key.asymmetricKeyType} key; order entry signs with HMAC-SHA256 or Ed25519 keys`);
    return { kind: 'ed25519', sign: (payload) => signAsymmetric(null, Buffer.from(payload), key).toString('base64') };
  }
  const key = createSecretKey(Buffer.from(raw, 'utf8'));
  return { kind: 'hmac', sign: (payload) => createHmac('sha256', key).update(payload).digest('hex') };
}

/** Strings prepared once per symbol, so a request is a handful of concatenations. */
interface SymbolTemplate {
  /** `&side=` ... is per order; `&symbol=BTCUSDT` is not. */
  payloadSymbol: string;
  jsonSymbol: string;
}

export class BinanceWsOrderEntry {
  private readonly conn: WsConnection;
  private readonly signer: ReturnType<typeof binanceSigner>;
  private readonly pending = new Map<number, PendingWsRequest>();
  private readonly templates = new Map<string, SymbolTemplate>();
  private readonly payloadKey: string;
  private readonly jsonKey: string;
  private readonly payloadRecv: string;
  private readonly jsonRecv: string;
  private sweepTimer: NodeJS.Timeout | undefined;
  private nextId = 1;
  private up = false;
  /** Requests written, answers matched, requests lost (unknown outcome), frames (or parts of them) not understood. */
  readonly counts = { sent: 0, answered: 0, lost: 0, malformed: 0, unmatched: 0 };

  constructor(private readonly deps: WsOrderEntryDeps) {
    this.signer = binanceSigner(deps.apiSecret);
    const key = deps.apiKey.reveal();
    // an API key is alphanumeric at Binance; anything else would break the JSON template
    if (!/^[A-Za-z0-9_-]+$/.test(key)) throw new Error('api_key has characters Binance keys do not have');
    this.payloadKey = `apiKey=${key}`;
    this.jsonKey = `"apiKey":"${key}"`;
    this.payloadRecv = `&recvWindow=${deps.recvWindowMs}`;
    this.jsonRecv = `,"recvWindow":${deps.recvWindowMs}`;
    this.conn = new WsConnection({
      name: 'binance order entry (WebSocket API)',
      url: () => deps.url,
      timers: deps.timers,
      now: deps.now,
      pingIntervalMs: deps.pingIntervalMs ?? 30_000,
      maxLifetimeMs: deps.maxLifetimeMs ?? 0,
      ...(deps.backoff ? { backoff: deps.backoff } : {}),
      onOpen: () => this.setUp(true, 'connected'),
      onMessage: (text) => this.onMessage(text),
      onDown: (reason) => this.onDown(reason),
      // a failed attempt (a handshake refused 418) comes here just before its retry is scheduled;
      // onDown only follows a connection that opened, so a first connection that never opened
      // would otherwise retry on its backoff through a ban the per-IP limiter knows
      onError: (m) => {
        this.holdThroughBlock();
        deps.logger?.debug({ component: 'binance-order-entry' }, redactCredentials(m));
      },
      // core API 1.13 reads it right before every socket it opens: a ban recorded while a
      // reconnect is scheduled, or during a first attempt that times out, reaches no callback
      // here. An older core ignores the option (the holds above still apply).
      ...(deps.blockedUntil ? { blockedUntil: deps.blockedUntil } : {}),
    });
  }

  /** True while the connection is open: a request written now reaches the venue's socket. */
  get ready(): boolean {
    return this.up && this.conn.isOpen;
  }

  get keyKind(): 'hmac' | 'ed25519' {
    return this.signer.kind;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Connects; resolves at the first open (keeps retrying with backoff until then). */
  start(): Promise<void> {
    const every = Math.max(10, Math.min(1000, Math.floor(this.deps.responseTimeoutMs / 4)));
    this.sweepTimer ??= this.deps.timers.interval(() => this.sweep(), every);
    this.holdThroughBlock();
    return this.conn.start();
  }

  /**
   * Binance banned or rate limited this IP until `untilMs` (epoch ms on `now`): no connection is
   * opened before then. Each attempt counts against the IP at Binance, and attempts into a ban are
   * what it lengthens bans for. An open connection stays; one lost meanwhile reconnects after the
   * end, then the backoff's delay. Only ever extends.
   */
  holdUntil(untilMs: number, reason: string): void {
    holdReconnect(this.conn, untilMs, reason);
  }

  /** A ban known elsewhere (blockedUntil) holds the next connect too. */
  private holdThroughBlock(): void {
    const blocked = this.deps.blockedUntil?.() ?? 0;
    if (blocked > this.deps.now()) this.holdUntil(blocked, 'IP rate limited or banned');
  }

  async close(): Promise<void> {
    this.deps.timers.clear(this.sweepTimer);
    this.sweepTimer = undefined;
    this.up = false;
    await this.conn.close();
    // whatever was still unanswered is unknown: the caller resolves it by query
    this.loseAll('order entry closed');
  }

  /** Drops the connection (tests; a planned reconnect). In-flight requests become unknown. */
  reconnect(reason: string): void {
    this.conn.reconnect(reason);
  }

  /**
   * Signs and writes one order.place. Returns the pending request, or a reason string when
   * nothing was written (not connected, or a field that cannot be sent as is).
   */
  place(p: PlaceParams, ref?: unknown): PendingWsRequest | string {
    if (!this.ready) return 'order entry not connected';
    if (!CLIENT_ID.test(p.newClientOrderId)) return `client order id ${JSON.stringify(p.newClientOrderId)} is not one Binance accepts`;
    if (!DECIMAL.test(p.quantity) || (p.price !== undefined && !DECIMAL.test(p.price))) return 'price or quantity is not a plain decimal';
    const t = this.template(p.symbol);
    if (!t) return `symbol ${JSON.stringify(p.symbol)} cannot be sent`;
    const ts = this.deps.now();
    // the signature payload lists the parameters sorted by name (SIGNED request security)
    let payload = `${this.payloadKey}&newClientOrderId=${p.newClientOrderId}&newOrderRespType=FULL`;
    let json = `${this.jsonKey},"newClientOrderId":"${p.newClientOrderId}","newOrderRespType":"FULL"`;
    if (p.price !== undefined) {
      payload += `&price=${p.price}`;
      json += `,"price":"${p.price}"`;
    }
    payload += `&quantity=${p.quantity}${this.payloadRecv}&side=${p.side}${t.payloadSymbol}`;
    json += `,"quantity":"${p.quantity}"${this.jsonRecv},"side":"${p.side}"${t.jsonSymbol}`;
    if (p.timeInForce !== undefined) {
      payload += `&timeInForce=${p.timeInForce}`;
      json += `,"timeInForce":"${p.timeInForce}"`;
    }
    payload += `&timestamp=${ts}&type=${p.type}`;
    json += `,"timestamp":${ts},"type":"${p.type}"`;
    return this.write('order.place', p.newClientOrderId, ts, payload, json, ref);
  }

  /** Signs and writes one order.cancel (by orderId when known, else origClientOrderId). */
  cancel(p: CancelParams, ref?: unknown): PendingWsRequest | string {
    if (!this.ready) return 'order entry not connected';
    if (!CLIENT_ID.test(p.origClientOrderId)) return `client order id ${JSON.stringify(p.origClientOrderId)} is not one Binance accepts`;
    if (p.orderId !== undefined && !/^\d{1,20}$/.test(p.orderId)) return `venue order id ${JSON.stringify(p.orderId)} is not a number`;
    const t = this.template(p.symbol);
    if (!t) return `symbol ${JSON.stringify(p.symbol)} cannot be sent`;
    const ts = this.deps.now();
    let payload = this.payloadKey;
    let json = this.jsonKey;
    if (p.orderId !== undefined) {
      payload += `&orderId=${p.orderId}`;
      json += `,"orderId":${p.orderId}`;
    } else {
      payload += `&origClientOrderId=${p.origClientOrderId}`;
      json += `,"origClientOrderId":"${p.origClientOrderId}"`;
    }
    payload += `${this.payloadRecv}${t.payloadSymbol}&timestamp=${ts}`;
    json += `${this.jsonRecv}${t.jsonSymbol},"timestamp":${ts}`;
    return this.write('order.cancel', p.origClientOrderId, ts, payload, json, ref);
  }

  private template(symbol: string): SymbolTemplate | undefined {
    let t = this.templates.get(symbol);
    if (t) return t;
    if (!SYMBOL.test(symbol)) return undefined;
    t = { payloadSymbol: `&symbol=${symbol}`, jsonSymbol: `,"symbol":"${symbol}"` };
    this.templates.set(symbol, t);
    return t;
  }

  private write(method: PendingWsRequest['method'], clientOrderId: string, ts: number, payload: string, params: string, ref: unknown): PendingWsRequest | string {
    const id = this.nextId++;
    const signature = this.signer.sign(payload);
    const frame = `{"id":${id},"method":"${method}","params":{${params},"signature":"${signature}"}}`;
    if (!this.conn.send(frame)) return 'order entry not connected';
    const req: PendingWsRequest = { id, method, clientOrderId, sentAt: ts, sentNs: process.hrtime.bigint(), ref };
    this.pending.set(id, req);
    this.counts.sent++;
    return req;
  }

  private onMessage(text: string): void {
    let msg: WsApiResponse;
    try {
      msg = JSON.parse(text) as WsApiResponse;
    } catch {
      this.counts.malformed++;
      return;
    }
    if (msg === null || typeof msg !== 'object' || typeof msg.id !== 'number' || typeof msg.status !== 'number') {
      this.counts.malformed++;
      return;
    }
    if (Array.isArray(msg.rateLimits) && msg.rateLimits.length > 0) {
      // the venue's counters only tighten our buckets: entries that are not objects are left out
      const limits = (msg.rateLimits as unknown[]).filter((l): l is WsApiRateLimit => l !== null && typeof l === 'object');
      if (limits.length !== msg.rateLimits.length) this.counts.malformed++;
      if (limits.length > 0) this.guarded('rate limits', () => this.deps.onRateLimits?.(limits));
    }
    const req = this.pending.get(msg.id);
    if (!req) {
      // answered after it was given up on (timeout): the query that resolves it has the truth
      this.counts.unmatched++;
      return;
    }
    this.pending.delete(msg.id);
    this.counts.answered++;
    // an answer that could not be applied leaves the request's outcome unknown: it is asked for
    if (!this.guarded(`answer to ${req.method}`, () => this.deps.onResponse(req, msg))) this.lose(req, 'its answer could not be read');
  }

  /**
   * Runs a handler of the caller's; false when it threw. Called from the socket's events, where
   * an exception would escape as an uncaught one and end the process.
   */
  private guarded(what: string, handler: () => void): boolean {
    try {
      handler();
      return true;
    } catch (err) {
      this.counts.malformed++;
      this.deps.logger?.warn({ component: 'binance-order-entry' }, redactCredentials(`${what} not applied: ${String((err as Error)?.message ?? err)}`).slice(0, 500));
      return false;
    }
  }

  private lose(req: PendingWsRequest, reason: string): void {
    this.counts.lost++;
    this.guarded(`lost ${req.method}`, () => this.deps.onLost(req, reason));
  }

  private onDown(reason: string): void {
    // called before the connection schedules its reconnect: a ban known now holds it
    this.holdThroughBlock();
    this.setUp(false, reason);
    this.loseAll(`order entry connection lost (${reason})`);
  }

  private loseAll(reason: string): void {
    if (this.pending.size === 0) return;
    const lost = [...this.pending.values()];
    this.pending.clear();
    for (const r of lost) this.lose(r, reason);
  }

  private sweep(): void {
    if (this.pending.size === 0) return;
    // the injected clock decides (tests advance it), like the recvWindow the request was signed with
    const limit = this.deps.now() - this.deps.responseTimeoutMs;
    for (const [id, r] of this.pending) {
      if (r.sentAt > limit) continue;
      this.pending.delete(id);
      this.lose(r, `no answer within ${this.deps.responseTimeoutMs} ms`);
    }
  }

  private setUp(up: boolean, reason: string): void {
    if (up === this.up) return;
    this.up = up;
    this.deps.onState?.(up, reason);
  }
}
