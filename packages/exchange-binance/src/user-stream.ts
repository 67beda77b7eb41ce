/**
 * Binance spot user data stream over the WebSocket API.
 *
 * The listenKey stream was discontinued for spot on 2026-02-20; the replacement is a
 * subscription on a WebSocket API connection (`userDataStream.subscribe.signature`: apiKey,
 * timestamp and a signature over the alphabetically sorted parameters: HMAC-SHA256, or Ed25519
 * for an Ed25519 key, as order entry signs; ws-order-entry.ts). Events
 * arrive as `{"subscriptionId": n, "event": {...}}`.
 *
 * - Every (re)connect subscribes again: a subscription dies with its connection.
 * - Rotation without a gap: before Binance's 24-hour connection limit a second connection is
 *   opened and subscribed; only once it is subscribed does the old one close. Reports seen on
 *   both during the overlap are delivered once (deduplicated by symbol + execution id `I`).
 * - `up` is true while the active connection holds a live subscription; the execution client
 *   polls REST only while it is false.
 * - A refused subscription or a stream the venue ended reconnects through the connection's
 *   backoff (growing while no connection stays up long), never at once: Binance bans IPs that
 *   connect too often.
 * - A subscription unanswered within `subscribeAnswerTimeoutMs` (a lost frame) reconnects the
 *   same way: waiting on it left the stream down, and fills on 1 s REST polling, for up to 24 h.
 * - A 418 / 429 / -1003 answer (rate limited, IP banned) goes to `onRateLimited` (the execution
 *   client holds every request back) and no subscription is sent again before the ban ends.
 * - Nor is a connection opened before it ends (`holdUntil`, also for a ban the execution client
 *   or market data learned): a connection lost during a ban reconnects only after it, through
 *   WsConnection.holdReconnectUntil (core API 1.13; on an older core it reconnects on its backoff
 *   as before, still without subscribing into the ban). A ban only the per-IP limiter knows
 *   (`blockedUntil`) is read before every new connection (start, rotation) and after every failed
 *   or lost one, since market data's 418 reaches this stream by no other way; on core API 1.13
 *   WsConnection also reads it right before every socket it opens (a ban recorded while a
 *   reconnect is scheduled, a first attempt that timed out).
 */
import { BoundedIdSet, type Instrument, type Logger } from '@cwts/core';
import { type Secret } from '@cwts/core/config';
import { WsConnection, redactCredentials, type TimerSet } from '@cwts/core/adapter-kit';
import { capBanEnd, holdReconnect } from './ip-ban.js';
import type { BinanceEndpoints } from './market-data.js';
import { binanceSigner } from './ws-order-entry.js';
import { BinanceUserStreamParser, type BinanceOrderUpdate } from './user-stream-parse.js';

/** Timers the rotation uses (a TimerSet in production; tests fire them by hand). */
export interface RotationScheduler {
  timeout(fn: () => void, ms: number): unknown;
  clear(handle: never): void;
}

export interface UserStreamDeps {
  url: string;
  apiKey: Secret;
  apiSecret: Secret;
  recvWindowMs: number;
  rotationMs: number;
  /** After a rotation the old connection is still read this long (events on both are deduplicated). Default 5 s. */
  overlapMs?: number;
  now: () => number;
  timers: TimerSet;
  backoff?: { initialMs: number; maxMs: number };
  /** Defaults to `timers`. */
  rotationScheduler?: RotationScheduler;
  logger?: Logger;
  /** The instruments this process trades: reports on other symbols are not ours to follow. */
  instrument: (symbol: string) => Instrument | undefined;
  /** A checked executionReport (delivered once, also across a rotation's overlap). */
  onReport: (update: BinanceOrderUpdate) => void;
  /**
   * A frame refused by the reader (user-stream-parse.ts): it may have carried a fill or an end.
   * `symbol` / `clientOrderId` name the order when they could be read.
   */
  onRejected: (r: { reason: string; message: string; symbol: string | undefined; clientOrderId: string | undefined }) => void;
  /** The stream went up (subscribed) or down; `up` true after a gap means events may have been missed. */
  onState: (up: boolean, reason: string) => void;
  /** How long a subscription's answer is waited for before reconnecting. Default 10 s (a connect's timeout). */
  subscribeAnswerTimeoutMs?: number;
  /**
   * The venue answered the subscription rate limited or banned (418, 429, -1003): nothing should
   * be sent from this IP before `untilMs` (epoch ms; 0 when the answer named no time).
   */
  onRateLimited?: (untilMs: number) => void;
  /**
   * When this IP may send again (epoch ms; 0 or past: now), read before every new connection
   * (start, rotation), at every failed connect attempt and at every connection loss, and (core API
   * 1.13) right before every socket is opened: a ban recorded elsewhere (the per-IP limiter market
   * data shares) holds the connect too.
   */
  blockedUntil?: () => number;
}

/** Binance's "IP banned until <epoch ms>" (a 418's -1003 message), or 0 when the text names no such time. */
export function bannedUntil(text: string): number {
  const at = Number(/banned until (\d{10,16})/i.exec(text)?.[1]);
  return Number.isSafeInteger(at) ? at : 0;
}

/** The WebSocket API URL for these endpoints: Binance's own, or the test server's /ws-api/v3. */
export function binanceWsApiUrl(endpoints: BinanceEndpoints, testnet: boolean, override?: string): string {
  if (override) return override;
  const root = endpoints.restRoot;
  if (root === 'https://api.binance.com') return 'wss://ws-api.binance.com:443/ws-api/v3';
  if (root === 'https://testnet.binance.vision' || (testnet && /binance\.vision$/.test(new URL(root).host))) return 'wss://ws-api.testnet.binance.vision/ws-api/v3';
  return `${root.replace(/^http/, 'ws')}/ws-api/v3`;
}

interface Session {
  conn: WsConnection;
  subscribed: boolean;
  pendingId: string | undefined;
  label: string;
  /** Gives up on the pending subscription's answer (subscribeAnswerTimeoutMs). */
  answerTimer?: NodeJS.Timeout | undefined;
  /** Subscribes once a ban the venue named has ended. */
  banTimer?: NodeJS.Timeout | undefined;
}

const DEDUPE_WINDOW = 4096;
/** setTimeout's largest delay: Node fires a longer one after 1 ms (with a warning). */
const MAX_TIMER_MS = 2_147_483_647;

export class BinanceUserStream {
  private active: Session | undefined;
  private incoming: Session | undefined;
  /** The replaced connection, still read for `overlapMs` so nothing in flight on it is lost. */
  private draining: Session | undefined;
  private drainTimer: unknown;
  private rotationTimer: unknown;
  private reqSeq = 0;
  private signer: ReturnType<typeof binanceSigner> | undefined;
  private sessionSeq = 0;
  private closed = true;
  private wasUp = false;
  /** No subscription is sent before this (epoch ms): the end of a ban the venue answered with. */
  private banUntil = 0;
  /** Keys of events already delivered, oldest first (bounded). */
  private readonly seen = new BoundedIdSet(DEDUPE_WINDOW);
  /** Successful subscriptions so far (each connect and each rotation adds one). */
  subscriptions = 0;
  rotations = 0;
  duplicatesDropped = 0;
  /** Reads and checks every frame; its counts are the stream's (frames, refused by reason). */
  readonly parser: BinanceUserStreamParser;

  constructor(private readonly deps: UserStreamDeps) {
    this.parser = new BinanceUserStreamParser(deps.instrument);
  }

  get up(): boolean {
    return this.active?.subscribed === true;
  }

  /** Opens the first connection; resolves once it is subscribed (or rejects when it cannot connect at all). */
  async start(): Promise<void> {
    this.closed = false;
    this.active = this.open();
    await this.active.conn.start();
  }

  /**
   * The venue banned or rate limited this IP until `untilMs` (epoch ms on `now`): no connection is
   * opened and no subscription sent before then. An open connection stays (a live subscription
   * costs nothing); one lost meanwhile reconnects after the end. Only ever extends.
   */
  holdUntil(untilMs: number, reason: string): void {
    if (!(untilMs > this.banUntil) || !Number.isFinite(untilMs)) return;
    this.banUntil = untilMs;
    for (const s of [this.active, this.incoming, this.draining]) if (s) holdReconnect(s.conn, untilMs, reason);
  }

  /** Replaces the connection now (the timer calls this before the 24-hour limit). */
  rotate(): void {
    if (this.closed || this.incoming) return;
    this.deps.logger?.info({ component: 'binance-user-stream' }, 'user data stream: rotating the connection (new one subscribes before the old closes)');
    this.incoming = this.open();
    void this.incoming.conn.start().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clearRotation();
    if (this.drainTimer !== undefined) this.rotationScheduler().clear(this.drainTimer as never);
    this.drainTimer = undefined;
    const s = [this.active, this.incoming, this.draining];
    this.active = this.incoming = this.draining = undefined;
    for (const x of s) if (x) this.clearSessionTimers(x);
    await Promise.all(s.map((x) => x?.conn.close()));
  }

  private rotationScheduler(): RotationScheduler {
    return this.deps.rotationScheduler ?? (this.deps.timers as unknown as RotationScheduler);
  }

  private clearRotation(): void {
    if (this.rotationTimer !== undefined) this.rotationScheduler().clear(this.rotationTimer as never);
    this.rotationTimer = undefined;
  }

  private armRotation(): void {
    this.clearRotation();
    if (this.closed) return;
    this.rotationTimer = this.rotationScheduler().timeout(() => {
      this.rotationTimer = undefined;
      this.rotate();
    }, this.deps.rotationMs);
  }

  /**
   * A ban on the per-IP limiter (market data met a 418) is known only there: it is read wherever a
   * connect is about to be scheduled, since WsConnection reports a connection that never opened
   * through onError alone (onDown only follows an open), and a rotation's new one through neither.
   */
  private holdThroughBlock(): void {
    const blocked = this.deps.blockedUntil?.() ?? 0;
    if (blocked > this.deps.now()) this.holdUntil(blocked, 'IP rate limited or banned');
  }

  private open(): Session {
    const label = `binance user stream #${++this.sessionSeq}`;
    const s: Session = { subscribed: false, pendingId: undefined, label, conn: undefined as unknown as WsConnection };
    s.conn = new WsConnection({
      name: label,
      url: () => this.deps.url,
      timers: this.deps.timers,
      now: this.deps.now,
      pingIntervalMs: 30_000,
      ...(this.deps.backoff ? { backoff: this.deps.backoff } : {}),
      // the lifetime is ours to manage (rotation); WsConnection must not drop it on its own
      maxLifetimeMs: 0,
      onOpen: (conn) => this.subscribe(s, conn),
      onMessage: (text) => this.onMessage(s, text),
      onDown: (reason) => this.onDown(s, reason),
      // a failed attempt (a handshake refused 418) comes here just before its retry is scheduled
      onError: (m) => {
        this.holdThroughBlock();
        this.deps.logger?.debug({ component: 'binance-user-stream' }, redactCredentials(m));
      },
      // core API 1.13 reads it right before every socket it opens: a ban market data records
      // while a reconnect is scheduled, or during a first attempt that times out, reaches no
      // callback here. An older core ignores the option (the holds above still apply).
      ...(this.deps.blockedUntil ? { blockedUntil: this.deps.blockedUntil } : {}),
    });
    this.holdThroughBlock();
    // a rotation (or restart) during a ban: the new connection waits for its end too
    if (this.banUntil > 0) holdReconnect(s.conn, this.banUntil, 'IP rate limited or banned');
    return s;
  }

  private clearSessionTimers(s: Session): void {
    this.deps.timers.clear(s.answerTimer);
    this.deps.timers.clear(s.banTimer);
    s.answerTimer = s.banTimer = undefined;
  }

  /** `waited`: the ban's wait is served (its timer fired), whatever the clock says now. */
  private subscribe(s: Session, conn: WsConnection, waited = false): void {
    s.subscribed = false;
    this.clearSessionTimers(s);
    const wait = this.banUntil - this.deps.now();
    if (wait > 0 && !waited) {
      // a subscription sent into the ban is answered 418 again, and Binance lengthens the ban.
      // A wait longer than one timer holds (a ban end not capped on its way here) waits what one
      // timer can and reads the clock again: handed to setTimeout whole it fired after 1 ms.
      const whole = wait <= MAX_TIMER_MS;
      s.banTimer = this.deps.timers.timeout(() => {
        s.banTimer = undefined;
        if (conn.isOpen && !this.closed) this.subscribe(s, conn, whole);
      }, whole ? wait : MAX_TIMER_MS);
      return;
    }
    const params: Record<string, string | number> = { apiKey: this.deps.apiKey.reveal(), recvWindow: this.deps.recvWindowMs, timestamp: this.deps.now() };
    const payload = Object.keys(params).sort().map((k) => `${k}=${params[k]}`).join('&');
    let signature: string;
    try {
      signature = (this.signer ??= binanceSigner(this.deps.apiSecret)).sign(payload);
    } catch (err) {
      // a key we cannot sign with (e.g. RSA) never subscribes: fills by polling, said once per connect
      this.deps.logger?.error({ component: 'binance-user-stream' }, redactCredentials(`user data stream not subscribed: ${(err as Error).message}; fills by REST polling`));
      return;
    }
    const id = (s.pendingId = `uds-${++this.reqSeq}`);
    conn.send(JSON.stringify({ id, method: 'userDataStream.subscribe.signature', params: { ...params, signature } }));
    s.answerTimer = this.deps.timers.timeout(() => {
      s.answerTimer = undefined;
      if (s.pendingId !== id) return;
      s.pendingId = undefined;
      this.deps.logger?.warn({ component: 'binance-user-stream' }, `user data stream: no answer to the subscription within ${this.answerTimeoutMs()} ms; reconnecting after the backoff`);
      s.conn.reconnectWithBackoff('subscription unanswered');
    }, this.answerTimeoutMs());
  }

  private answerTimeoutMs(): number {
    return this.deps.subscribeAnswerTimeoutMs ?? 10_000;
  }

  private onMessage(s: Session, text: string): void {
    const m = this.parser.parse(text);
    switch (m.kind) {
      case 'answer':
        if (m.id === undefined || m.id !== s.pendingId) return;
        s.pendingId = undefined;
        this.clearSessionTimers(s);
        if (m.status === 200) {
          s.subscribed = true;
          this.subscriptions++;
          this.onSubscribed(s);
        } else if (m.status === 418 || m.status === 429 || m.error?.code === -1003) {
          this.onBanned(s, m.error);
        } else {
          // e.g. -1022 bad signature, -2015 key refused: retrying at once would only repeat it, and
          // Binance counts connections per IP (300 per 5 min) before it bans the IP, which takes
          // market data and order entry down too. Polling carries fills while the backoff grows.
          this.deps.logger?.error({ component: 'binance-user-stream', code: m.error?.code }, redactCredentials(`user data stream subscription refused: ${m.error?.msg ?? 'no message'}; fills fall back to polling, subscribing again after the reconnect backoff`));
          s.conn.reconnectWithBackoff('subscription refused');
        }
        return;
      case 'terminated':
        s.subscribed = false;
        if (s === this.active) this.setState(false, 'event stream terminated by the venue');
        // through the backoff, like a refusal: a venue that ends every stream right after it
        // starts would otherwise be reconnected to at once, in a loop (after a healthy session the
        // backoff has started over, so this waits only its initial delay)
        s.conn.reconnectWithBackoff('event stream terminated');
        return;
      case 'order': {
        if (this.seen.has(m.update.key)) {
          this.duplicatesDropped++;
          return;
        }
        this.seen.add(m.update.key);
        this.deps.onReport(m.update);
        return;
      }
      case 'rejected':
        this.deps.onRejected(m);
        return;
      default:
        return;
    }
  }

  private onSubscribed(s: Session): void {
    if (s === this.incoming) {
      // the new connection is live: only now does the old one go, after a grace period in which
      // events already in flight on it still arrive (and those sent on both are dropped once)
      const old = this.active;
      this.active = s;
      this.incoming = undefined;
      this.rotations++;
      if (old) {
        void this.draining?.conn.close();
        this.draining = old;
        this.drainTimer = this.rotationScheduler().timeout(() => {
          this.drainTimer = undefined;
          if (this.draining === old) this.draining = undefined;
          void old.conn.close();
        }, this.deps.overlapMs ?? 5000);
      }
      this.armRotation();
      this.setState(true, 'rotated');
      return;
    }
    if (s === this.active) {
      this.armRotation();
      this.setState(true, 'subscribed');
    }
  }

  /**
   * The subscription was answered rate limited or banned. The ban covers every request from this
   * IP: the execution client is told (onRateLimited: its limiters hold orders, cancels and reads
   * back), and this connection subscribes again only once it has ended (subscribe). Reconnected
   * through the backoff instead, it subscribed into the ban at every step, which Binance answers
   * by lengthening it. A 429 that names no time is held back for a second, then the backoff.
   */
  private onBanned(s: Session, error: { code?: number; msg?: string; retryAfter?: number } | undefined): void {
    const raw = Math.max(error?.retryAfter ?? 0, bannedUntil(error?.msg ?? ''));
    // a hostile "banned until" years away would hold the stream for years (and past 8.64e15 make
    // the log line's toISOString throw): held to Binance's longest ban, as execution does
    const until = raw > 0 ? capBanEnd(raw, this.deps.now()).untilMs : raw;
    this.deps.logger?.error({ component: 'binance-user-stream', code: error?.code }, redactCredentials(`user data stream subscription rate limited: ${error?.msg ?? 'no message'}; ${until > 0 ? `subscribing again after ${new Date(until).toISOString()}` : 'subscribing again after the reconnect backoff'}; fills by REST polling meanwhile`));
    this.deps.onRateLimited?.(until);
    if (until <= this.deps.now()) {
      s.conn.reconnectWithBackoff('subscription rate limited');
      return;
    }
    this.holdUntil(until, 'user data stream subscription answered rate limited or banned');
    if (s.conn.isOpen) this.subscribe(s, s.conn);
    else s.conn.reconnectWithBackoff('subscription rate limited');
  }

  private onDown(s: Session, reason: string): void {
    // called before the connection schedules its reconnect: a ban known now holds it
    this.holdThroughBlock();
    s.subscribed = false;
    s.pendingId = undefined;
    this.clearSessionTimers(s);
    if (s === this.active) {
      if (this.incoming?.subscribed) this.onSubscribed(this.incoming);
      else this.setState(false, reason);
    }
  }

  private setState(up: boolean, reason: string): void {
    if (up === this.wasUp && reason !== 'rotated') return;
    const was = this.wasUp;
    this.wasUp = up;
    if (up !== was) this.deps.onState(up, reason);
  }
}
