import WebSocket from 'ws';
import { ExponentialBackoff, type BackoffOptions } from './backoff.js';
import { TimerSet } from './timers.js';

/** setTimeout's largest delay: a longer one fires after 1 ms (Node clamps it, with a warning). */
const MAX_TIMER_MS = 2_147_483_647;

export interface WsConnectionOptions {
  /** For messages, e.g. "binance market data". */
  name: string;
  /** Evaluated at every connect (a combined-stream URL may change with the subscriptions). */
  url: () => string;
  /** After every open: send subscriptions. `reconnect` is false for the first connection. */
  onOpen?: (conn: WsConnection, info: { reconnect: boolean; reason: string }) => void;
  /** Every text frame, in order. Called synchronously from the socket's data event. */
  onMessage: (text: string) => void;
  /** The connection went down and a reconnect is scheduled (never called after close()). */
  onDown?: (reason: string) => void;
  /** A recovered problem worth counting (connect failure, ping timeout). */
  onError?: (message: string) => void;
  /** A binary frame from a text-only venue (dropped); without it, reported through onError. */
  onBinary?: (bytes: number) => void;
  /** Send a ws ping this often (0: never). Servers that ping us get pongs automatically. */
  pingIntervalMs?: number;
  /** Reconnect when a ping gets no pong within this long. Default 10 s. */
  pongTimeoutMs?: number;
  /** Reconnect when no frame at all arrived for this long (0: off). */
  staleAfterMs?: number;
  /** Reconnect on purpose before the venue's connection lifetime ends (0: off). */
  maxLifetimeMs?: number;
  /** Give up one connect attempt after this long. Default 10 s. */
  connectTimeoutMs?: number;
  backoff?: BackoffOptions | ExponentialBackoff;
  /**
   * A connection that stayed open this long (on `now`) has proved healthy: the reconnect after
   * it starts the backoff over at `initialMs`. Shorter ones keep it growing, so a peer that
   * accepts the handshake and drops the connection (or refuses what we send) at once meets
   * longer and longer delays. Default 10 s.
   */
  healthyAfterMs?: number;
  /**
   * When the venue lets this client connect again (on `now`; 0 or past: now), read right before
   * every socket is opened: a ban recorded elsewhere (a limiter the client shares with other
   * connections) after a connect was scheduled, or one no callback of this connection learns of (a
   * first attempt timing out calls neither onError nor onDown), holds that connect as
   * `holdReconnectUntil` would. A time that is not finite, or a throw (reported through onError),
   * holds nothing. Core API 1.13.
   */
  blockedUntil?: () => number;
  timers?: TimerSet;
  now?: () => number;
  wsOptions?: WebSocket.ClientOptions;
}

/**
 * One managed WebSocket: connect, heartbeat (ping/pong both ways), stale-feed detection,
 * reconnect with exponential backoff and jitter, resubscribe through `onOpen`, and a forced
 * reconnect before the venue's connection lifetime ends. `close()` leaves no timer or socket.
 *
 * Backoff rule: every reconnect after a loss waits the backoff's next delay; the delay starts
 * over at `initialMs` only after a connection that stayed open `healthyAfterMs`. A successful
 * handshake alone does not count, since a peer may accept and drop every connection at once.
 *
 * Hold rule (`holdReconnectUntil`, core API 1.13): while a venue bans this client, no socket is
 * opened before the ban's end. A connect due during the hold (a reconnect after a loss, `start`)
 * waits for the hold's end and then its own delay (the backoff's, or none for a first connect
 * or a planned reconnect). A socket open when the hold begins is left alone. The `blockedUntil`
 * option is the same hold, read right before every socket is opened, for a ban this connection
 * is told of by no call.
 */
export class WsConnection {
  private ws: WebSocket | undefined;
  private readonly timers: TimerSet;
  private readonly ownTimers: boolean;
  private readonly backoff: ExponentialBackoff;
  private readonly now: () => number;
  private closing = false;
  private connectTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private pongTimer: NodeJS.Timeout | undefined;
  private staleTimer: NodeJS.Timeout | undefined;
  private lifetimeTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private firstOpen: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private nextReason = 'initial connect';
  /** When the current socket opened (on `now`); undefined while it is not open. */
  private currentOpenedAt: number | undefined;
  private hadOpen = false;
  /** No socket is opened before this (on `now`); 0: no hold. Only ever moves later. */
  private holdUntil = 0;
  /** The pending connect's own delay, kept to reschedule it past a hold that arrives later. */
  private reconnectDelayMs = 0;
  private latestHoldReason = '';
  /** Successful opens so far. */
  opens = 0;
  /** Reconnect attempts scheduled after a loss. */
  reconnects = 0;
  /** Messages (or opens) whose handler threw; each dropped the connection. */
  handlerFailures = 0;
  lastMessageTs = 0;
  openedAt = 0;

  constructor(private readonly opts: WsConnectionOptions) {
    this.ownTimers = opts.timers === undefined;
    this.timers = opts.timers ?? new TimerSet();
    this.backoff = opts.backoff instanceof ExponentialBackoff ? opts.backoff : new ExponentialBackoff(opts.backoff);
    this.now = opts.now ?? Date.now;
  }

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Resolves at the first successful open; keeps retrying with backoff until then. */
  start(): Promise<void> {
    this.closing = false;
    if (this.ownTimers) this.timers.reopen();
    return new Promise((resolve, reject) => {
      this.firstOpen = { resolve, reject };
      if (this.holdUntil > this.now()) this.armConnect(0);
      else {
        // a first connect has no delay of its own: one held by blockedUntil goes at the hold's end
        this.reconnectDelayMs = 0;
        this.connect();
      }
    });
  }

  /**
   * Opens no socket before `untilMs` (on this connection's `now` clock): the venue banned or
   * rate limited this client until then, and a connection attempt into a ban is what venues
   * answer with a longer one. A connect already scheduled moves past the hold's end (plus its own
   * delay); a connection lost during the hold reconnects after the end, then the backoff's delay.
   * The open socket, if any, stays. A later end extends the hold; an earlier one (or a time that
   * is not finite) changes nothing. `reason` says why, for status and logs (`holdReason`).
   * Core API 1.13: a plugin declaring less must feature-detect it.
   */
  holdReconnectUntil(untilMs: number, reason: string): void {
    if (!Number.isFinite(untilMs) || untilMs <= this.holdUntil) return;
    this.holdUntil = untilMs;
    this.latestHoldReason = reason;
    if (this.closing || this.reconnectTimer === undefined) return;
    this.timers.clear(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.armConnect(this.reconnectDelayMs);
  }

  /** The end of the latest hold (on `now`; 0: never held). In the past once it is over. */
  get heldUntil(): number {
    return this.holdUntil;
  }

  /** Why the latest hold was placed ('' when never held). */
  get holdReason(): string {
    return this.latestHoldReason;
  }

  send(text: string): boolean {
    if (!this.isOpen) return false;
    this.ws!.send(text);
    return true;
  }

  /** Drops the current socket and reconnects at once (planned: lifetime, server shutdown, resync). */
  reconnect(reason: string): void {
    if (this.closing) return;
    this.drop(reason, 0);
  }

  /**
   * Drops the current socket and reconnects after the backoff's next delay, as after a lost
   * connection: for a refusal the venue would repeat on an immediate retry (a subscription
   * refused, a stream the venue ended), where reconnecting at once would loop.
   */
  reconnectWithBackoff(reason: string): void {
    if (this.closing) return;
    this.drop(reason, undefined);
  }

  /** Closes for good: no reconnect, every timer cleared, resolves when the socket is closed. */
  async close(): Promise<void> {
    this.closing = true;
    this.clearConnTimers();
    this.timers.clear(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const ws = this.ws;
    this.ws = undefined;
    this.currentOpenedAt = undefined;
    if (this.firstOpen) {
      this.firstOpen.reject(new Error(`${this.opts.name}: closed before the first connection opened`));
      this.firstOpen = undefined;
    }
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 1000);
        ws.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
        else ws.close(1000, 'client closing');
      });
    }
    if (this.ownTimers) this.timers.close();
  }

  /** Timers this connection holds now (heartbeat, stale, lifetime, reconnect). */
  get pendingTimers(): number {
    return [this.connectTimer, this.pingTimer, this.pongTimer, this.staleTimer, this.lifetimeTimer, this.reconnectTimer].filter((t) => t !== undefined).length;
  }

  private connect(): void {
    if (this.closing) return;
    this.reconnectTimer = undefined;
    if (this.heldByBlock()) return;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.opts.url(), { perMessageDeflate: false, ...this.opts.wsOptions });
    } catch (err) {
      this.opts.onError?.(`${this.opts.name}: cannot connect: ${(err as Error).message}`);
      this.scheduleReconnect(`connect failed: ${(err as Error).message}`);
      return;
    }
    this.ws = ws;
    this.connectTimer = this.timers.timeout(() => {
      this.connectTimer = undefined;
      if (this.ws === ws && ws.readyState !== WebSocket.OPEN) this.drop('connect timed out', undefined);
    }, this.opts.connectTimeoutMs ?? 10_000);
    ws.on('open', () => {
      if (this.ws !== ws) return;
      this.timers.clear(this.connectTimer);
      this.connectTimer = undefined;
      this.opens++;
      this.openedAt = this.now();
      this.currentOpenedAt = this.openedAt;
      this.lastMessageTs = this.openedAt;
      // An open is not proof of health: a peer that accepts the handshake and closes at once, or
      // sends a frame our handler cannot take, would otherwise be reconnected every initialMs for
      // ever (venues ban IPs that reconnect that often). The backoff starts over only after a
      // connection that stayed up `healthyAfterMs` (drop()).
      this.armHeartbeat();
      const reconnect = this.hadOpen;
      this.hadOpen = true;
      let failed: unknown;
      try {
        this.opts.onOpen?.(this, { reconnect, reason: this.nextReason });
      } catch (err) {
        failed = err;
      } finally {
        const f = this.firstOpen;
        this.firstOpen = undefined;
        f?.resolve();
      }
      if (failed !== undefined) {
        this.handlerFailures++;
        this.opts.onError?.(`${this.opts.name}: open handler failed (${String((failed as Error)?.message ?? failed).slice(0, 200)}); reconnecting`);
        this.drop('open handler failed', undefined);
      }
    });
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      if (this.ws !== ws) return;
      this.lastMessageTs = this.now();
      const text = isBinary ? '' : typeof data === 'string' ? data : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
      if (isBinary) {
        if (this.opts.onBinary) this.opts.onBinary(Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer | ArrayBuffer).byteLength);
        else this.opts.onError?.(`${this.opts.name}: unexpected binary frame dropped`);
        return;
      }
      try {
        this.opts.onMessage(text);
      } catch (err) {
        // A throw here would escape the socket's listener as an uncaught exception. A message
        // the adapter could not handle leaves its stream's state unknown (a book missing an
        // update, an answer never matched): start over on a new connection, as after a gap.
        this.handlerFailures++;
        this.opts.onError?.(`${this.opts.name}: message handler failed (${String((err as Error)?.message ?? err).slice(0, 200)}); reconnecting`);
        this.drop('message handler failed', undefined);
      }
    });
    ws.on('pong', () => {
      if (this.ws !== ws) return;
      this.lastMessageTs = this.now();
      this.timers.clear(this.pongTimer);
      this.pongTimer = undefined;
    });
    ws.on('ping', () => {
      if (this.ws === ws) this.lastMessageTs = this.now();
    });
    ws.on('error', (err) => {
      if (this.ws !== ws) return;
      this.opts.onError?.(`${this.opts.name}: socket error: ${err.message}`);
    });
    ws.on('close', (code, reason) => {
      if (this.ws !== ws) return;
      this.drop(`connection closed by peer (code ${code}${reason.length ? `: ${reason.toString()}` : ''})`, undefined);
    });
  }

  private armHeartbeat(): void {
    const ping = this.opts.pingIntervalMs ?? 0;
    if (ping > 0) {
      this.pingTimer = this.timers.interval(() => {
        if (!this.isOpen) return;
        this.ws!.ping();
        if (this.pongTimer === undefined) {
          this.pongTimer = this.timers.timeout(() => {
            this.pongTimer = undefined;
            this.opts.onError?.(`${this.opts.name}: no pong within ${this.opts.pongTimeoutMs ?? 10_000} ms`);
            this.drop('heartbeat timeout (no pong)', undefined);
          }, this.opts.pongTimeoutMs ?? 10_000);
        }
      }, ping);
    }
    const stale = this.opts.staleAfterMs ?? 0;
    if (stale > 0) {
      const check = Math.max(10, Math.min(1000, Math.floor(stale / 4)));
      this.staleTimer = this.timers.interval(() => {
        const idle = this.now() - this.lastMessageTs;
        if (idle > stale) {
          this.opts.onError?.(`${this.opts.name}: stale feed, no frame for ${idle} ms`);
          this.drop(`stale feed: no frame for ${idle} ms`, undefined);
        }
      }, check);
    }
    const life = this.opts.maxLifetimeMs ?? 0;
    if (life > 0) {
      this.lifetimeTimer = this.timers.timeout(() => {
        this.lifetimeTimer = undefined;
        this.drop(`planned reconnect before the ${Math.round(life / 1000)} s connection lifetime ends`, 0);
      }, life);
    }
  }

  private clearConnTimers(): void {
    for (const t of [this.connectTimer, this.pingTimer, this.pongTimer, this.staleTimer, this.lifetimeTimer]) this.timers.clear(t);
    this.connectTimer = this.pingTimer = this.pongTimer = this.staleTimer = this.lifetimeTimer = undefined;
  }

  /** Tears the socket down and schedules the next connect (delayMs undefined: backoff). */
  private drop(reason: string, delayMs: number | undefined): void {
    const ws = this.ws;
    this.ws = undefined;
    this.clearConnTimers();
    const openedAt = this.currentOpenedAt;
    this.currentOpenedAt = undefined;
    if (openedAt !== undefined && this.now() - openedAt >= (this.opts.healthyAfterMs ?? 10_000)) this.backoff.reset();
    if (ws) {
      ws.removeAllListeners('message');
      ws.on('error', () => {});
      ws.terminate();
    }
    if (this.closing) return;
    if (this.hadOpen) this.opts.onDown?.(reason);
    this.scheduleReconnect(reason, delayMs);
  }

  /**
   * Reads `blockedUntil` just before a socket would open; a block ending later than the hold this
   * connect already waited through re-arms it past the block's end (plus its own delay). Only a
   * later end re-arms: the timer that fired served the hold it was armed for, whatever the clock
   * says, so a clock that lags the timers cannot keep the connect waiting for ever.
   */
  private heldByBlock(): boolean {
    if (!this.opts.blockedUntil) return false;
    let until: number;
    try {
      until = this.opts.blockedUntil();
    } catch (err) {
      // a broken callback must not end the process (a timer's throw is uncaught) nor stall the
      // connection for ever: it connects as without the option
      this.opts.onError?.(`${this.opts.name}: blockedUntil failed (${String((err as Error)?.message ?? err).slice(0, 200)}); connecting`);
      return false;
    }
    if (!Number.isFinite(until) || until <= this.holdUntil || until <= this.now()) return false;
    this.holdUntil = until;
    this.latestHoldReason = 'venue block (blockedUntil)';
    this.armConnect(this.reconnectDelayMs);
    return true;
  }

  private scheduleReconnect(reason: string, delayMs?: number): void {
    if (this.closing || this.reconnectTimer !== undefined) return;
    this.reconnects++;
    this.nextReason = reason;
    this.armConnect(delayMs ?? this.backoff.next());
  }

  /**
   * Connects after `delayMs`, counted from the hold's end while one lasts. The timer firing serves
   * the wait (the clock is not read again), except past a delay too long for one timer.
   */
  private armConnect(delayMs: number): void {
    this.reconnectDelayMs = delayMs;
    const held = Math.max(0, this.holdUntil - this.now());
    if (held === 0 || held + delayMs <= MAX_TIMER_MS) {
      this.reconnectTimer = this.timers.timeout(() => this.connect(), Math.min(held + delayMs, MAX_TIMER_MS));
      return;
    }
    // a hold longer than one timer can wait (a venue's far-off ban end): wait what one timer
    // can, then read the clock again
    this.reconnectTimer = this.timers.timeout(() => {
      this.reconnectTimer = undefined;
      if (!this.closing) this.armConnect(delayMs);
    }, MAX_TIMER_MS);
  }
}
