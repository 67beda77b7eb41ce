/**
 * A venue's intake on a worker thread, seen from the engine thread as an ordinary
 * MarketDataClient. The worker (worker-main.ts) owns the socket, frame parsing, edge
 * validation, sequence checks and the book sync (REST snapshots included) and writes what the
 * feed tells its sink as feed records into an SPSC ring on a SharedArrayBuffer; this side drains
 * the ring into the engine (records.ts IntakeRecordReader: no allocation per record) in batches,
 * sleeping on Atomics.waitAsync when it is empty.
 *
 * - Back-pressure: the ring's fill ratio is watched by the BackpressureMonitor
 *   (`cwts_ring_fill_ratio{exchange}`, BACKPRESSURE over the high-water mark); a full ring makes
 *   the worker wait, so the socket is read no faster than the engine consumes.
 * - A worker that dies (exit, uncaught error) or hangs (no heartbeat for `hungAfterMs`; a
 *   worker waiting for ring space keeps beating) is taken down: what it published is delivered,
 *   a torn group is dropped, the ring is released and counts as empty (fillRatio: a venue down
 *   holds no BACKPRESSURE), every book of the venue goes `disconnected` (never traded on), the
 *   failure is counted (`cwts_errors_total{component="<venue>:intake"}`) and logged, and a
 *   fresh worker starts after a backoff and syncs from a snapshot. A restart that cannot even
 *   start a worker (the venue's worker spec throws, its compiled module is missing, the ring
 *   cannot be allocated) is a failure of the same kind: counted, logged, retried after the
 *   backoff. After `maxRestarts` failures in a row with no snapshot in between it stops trying
 *   (a crash loop) and the venue stays `stopped`. A snapshot the engine applied resets the count
 *   and the backoff: a failure hours after the last one restarts after the first delay.
 * - The engine throwing while it applies the records (a book, the execution client, risk, the
 *   recorder on a full disk) is a failure of the same kind, as the inline path's WsConnection
 *   reconnects on a throwing handler: the records up to the throw are consumed (never handed out
 *   twice), the rest are dropped, the worker is replaced and the venue resyncs from a snapshot.
 *   Nothing the engine throws leaves the pump or a worker's listeners, and a sink that throws
 *   while told of a failure costs neither the `disconnected` status nor the restart.
 * - What outlives a worker (protocol.ts IntakeResume) goes to the next one in its start data
 *   (IntakeWorkerEnv.resume): per symbol the last trades the engine was handed (one it threw on
 *   included: it may have acted on it) or the feed marked as seen (IntakeTradeMarkSink: the
 *   history snapshot a session starts with), so a feed that backfills by id resumes after them:
 *   trades printed while no worker ran are not lost, none is handed out twice. And the time until
 *   which the venue refuses our requests (a worker's `venueBlocked` call; its successor's limiter
 *   starts blocked, and the engine-thread client hears of it through MarketDataClient.intakeVenueBlocked).
 * - The worker runs the venue plugin's code, which shares `parentPort`: a message the engine
 *   thread does not expect (not an object with a known `t`, a second `started`, a `start-failed`
 *   after start) is ignored, counted (`ignoredMessages`) and warned about, rate-limited; a log
 *   line's level goes through a whitelist. Nothing a worker posts can throw on the engine thread.
 * - stop(): delivery ends at once; the worker stops its client and exits; a worker that does not
 *   exit within `stopTimeoutMs` is terminated. No thread is left running.
 */
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Clock } from '../contracts/clock.js';
import type { IntakeWorkerSpec, MarketDataClient, MarketEventSink, RecordingIntegrity } from '../contracts/exchange.js';
import type { Instrument } from '../domain/instrument.js';
import type { InstrumentTrading } from '../domain/trading-status.js';
import { ExponentialBackoff } from '../adapter-kit/backoff.js';
import { FEED_RECORD_BYTES } from '../microstructure/feed-records.js';
import { SpscRing } from '../microstructure/ring-buffer.js';
import { LogThrottle } from '../observability/log-throttle.js';
import type { Logger } from '../observability/logger.js';
import { CONTROL, CONTROL_BYTES, RESUME_TRADES, type IntakeHostMessage, type IntakeResume, type IntakeWorkerData } from './protocol.js';
import { IntakeRecordReader } from './records.js';

export interface WorkerIntakeOptions {
  exchange: string;
  logger: Logger;
  /** The engine's clock: timestamps of the statuses this side emits (worker down). */
  clock: Clock;
  /** Records in the ring (rounded up to a power of two; 64 bytes each). Default 65536 (4 MiB). */
  ringRecords?: number;
  /** No heartbeat for this long: the worker is hung (default 2000). */
  hungAfterMs?: number;
  /** How often the worker beats (default hungAfterMs / 8). */
  heartbeatMs?: number;
  /** Failures in a row (no snapshot between) before it stops restarting (default 5). */
  maxRestarts?: number;
  /** Restart delays (default 100 ms doubling to 5 s). */
  restartBackoff?: { initialMs: number; maxMs: number };
  /** Records applied per event-loop turn before yielding to timers and sockets (default 4096). */
  batch?: number;
  /** Health checks on a timer every this many ms (default hungAfterMs / 4); 0: only checkHealth() calls (tests). */
  checkEveryMs?: number;
  /** Monotonic ms for hang detection (default performance.now); tests inject one. */
  now?: () => number;
  /** Registers the ring with the back-pressure monitor; returns the unwatch. */
  watchRing?: (exchange: string, fill: () => number) => () => void;
  /** pino level name for the worker's own logger (default 'info'). */
  logLevel?: string;
  /** Bound on waiting for the worker to exit at stop (default 5000). */
  stopTimeoutMs?: number;
  /** Drain the ring on the event loop (default true); false: the caller drains with drainEvents() (the e2e bench). */
  pump?: boolean;
}

/** One worker's lifetime. */
interface Generation {
  id: number;
  worker: Worker;
  ring: SpscRing;
  reader: IntakeRecordReader;
  control: Int32Array;
  lastBeat: number;
  lastBeatAt: number;
  down: boolean;
  /** It said `started` or `start-failed` (each at most once, and only before it started). */
  reported: boolean;
  exited: Promise<void>;
}

type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** The levels a worker's log line may name, and what each becomes on the engine thread's logger. */
const WORKER_LOG_LEVELS: ReadonlyMap<string, LogLevel> = new Map([['trace', 'debug'], ['debug', 'debug'], ['info', 'info'], ['warn', 'warn'], ['error', 'error'], ['fatal', 'error']]);

export class WorkerIntake implements MarketDataClient {
  readonly exchange: string;
  private readonly opts: Required<Omit<WorkerIntakeOptions, 'watchRing' | 'restartBackoff'>> & Pick<WorkerIntakeOptions, 'watchRing'>;
  private readonly backoff: ExponentialBackoff;
  private gen: Generation | undefined;
  private generations = 0;
  private sink: MarketEventSink | undefined;
  private symbols: readonly string[] = [];
  private stopped = true;
  private halted = false;
  private failuresInARow = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  private stopStatusRefresh: (() => void) | undefined;
  private detachEngineSink: (() => void) | undefined;
  private pumping = false;
  /** Worker failures (deaths and hangs) since construction. */
  failures = 0;
  /** Workers started since construction (1 + restarts). */
  starts = 0;
  /** Messages from workers that were not understood or came at the wrong time (ignored). */
  ignoredMessages = 0;
  private readonly throttle: LogThrottle;
  /** Workers whose thread has not exited yet. */
  private readonly alive = new Set<Generation>();
  /** What the next worker starts from (the trades of this start() only; a venue's block outlives a stop). */
  private readonly resumeState: IntakeResume = { trades: Object.create(null) as IntakeResume['trades'], blockedUntilMs: 0 };

  /** What the next worker will start from (tests, diagnostics): a copy. */
  get resume(): IntakeResume {
    return structuredClone(this.resumeState);
  }

  /** Worker threads started and not yet exited (0 after stop). */
  get threadsAlive(): number {
    return this.alive.size;
  }
  /** Called after a failure was handled (tests wait on it instead of on time). */
  onFailure: ((reason: string) => void) | undefined;
  /** Called when a worker reported started. */
  onStarted: (() => void) | undefined;

  constructor(
    /** The same venue's client on this thread: instruments, and the spec to build it on the worker. */
    private readonly inline: MarketDataClient,
    opts: WorkerIntakeOptions,
  ) {
    this.exchange = opts.exchange;
    this.requestResync = inline.requestResync === undefined ? undefined : (symbol, reason) => {
      const g = this.gen;
      if (g === undefined || g.down || this.stopped) return;
      g.worker.postMessage({ t: 'resync', symbol, reason } satisfies IntakeHostMessage);
    };
    const hung = opts.hungAfterMs ?? 2000;
    this.opts = {
      exchange: opts.exchange,
      logger: opts.logger,
      clock: opts.clock,
      ringRecords: opts.ringRecords ?? 65536,
      hungAfterMs: hung,
      heartbeatMs: opts.heartbeatMs ?? Math.max(10, Math.floor(hung / 8)),
      maxRestarts: opts.maxRestarts ?? 5,
      batch: opts.batch ?? 4096,
      checkEveryMs: opts.checkEveryMs ?? Math.max(10, Math.floor(hung / 4)),
      now: opts.now ?? (() => performance.now()),
      watchRing: opts.watchRing,
      logLevel: opts.logLevel ?? 'info',
      stopTimeoutMs: opts.stopTimeoutMs ?? 5000,
      pump: opts.pump ?? true,
    };
    this.backoff = new ExponentialBackoff({ initialMs: opts.restartBackoff?.initialMs ?? 100, maxMs: opts.restartBackoff?.maxMs ?? 5000 });
    this.throttle = new LogThrottle(this.opts.now);
  }

  /** True when a client can run on a worker (it offers an intake spec). */
  static supports(client: MarketDataClient): boolean {
    return typeof client.intakeWorker === 'function';
  }

  loadInstruments(symbols: readonly string[]): Promise<Instrument[]> {
    return this.inline.loadInstruments(symbols);
  }

  /** The venue client's bound on update-id jumps (its books run on the worker with the same options). */
  get maxSequenceJump(): number | undefined {
    return this.inline.maxSequenceJump;
  }

  /** The pairs' trading status is kept on the engine thread, by the venue's own client. */
  tradingStatus(symbol: string): InstrumentTrading | undefined {
    return this.inline.tradingStatus?.(symbol);
  }

  /**
   * Offered when the venue's client offers it. The books live on the worker: the request crosses
   * to it (a worker starting or restarting has none yet, and its fresh connection begins with
   * snapshots anyway).
   */
  readonly requestResync: ((symbol: string, reason: string) => void) | undefined;

  recordingIntegrity(): RecordingIntegrity | undefined {
    return undefined;
  }

  /** The current worker's heartbeat counter (tests; -1 without a worker). */
  get heartbeats(): number {
    return this.gen ? Atomics.load(this.gen.control, CONTROL.HEARTBEAT) : -1;
  }

  /**
   * Fill ratio 0..1 of the running worker's ring: the records the engine has still to apply.
   * 0 without a running worker: one taken down (restart backoff, or the venue halted) had what
   * it published delivered or discarded, and nothing in its ring is work the engine is behind on;
   * counted, it would hold BACKPRESSURE on for every venue. Read from the reader's own position
   * (consumerBacklog), not the shared read counter, which the reader publishes lazily (up to
   * capacity/8 records late): this costs one atomic load per sample and nothing per batch, where
   * publishing the counter after every batch would add a store (and a producer wake-up) to it.
   */
  fillRatio(): number {
    const g = this.gen;
    return g && !g.down ? g.ring.consumerBacklog() / g.ring.capacity : 0;
  }

  /** The running worker's thread id (tests), undefined when none runs. */
  get threadId(): number | undefined {
    return this.gen && !this.gen.down ? this.gen.worker.threadId : undefined;
  }

  get state(): 'running' | 'restarting' | 'halted' | 'stopped' {
    if (this.stopped) return 'stopped';
    if (this.halted) return 'halted';
    return this.gen && !this.gen.down ? 'running' : 'restarting';
  }

  async start(symbols: readonly string[], sink: MarketEventSink): Promise<void> {
    this.sink = sink;
    this.symbols = [...symbols];
    this.stopped = false;
    this.halted = false;
    this.failuresInARow = 0;
    this.backoff.reset();
    // A new session's first trades snapshot is history, as for an inline client's first connection.
    this.resumeState.trades = Object.create(null) as IntakeResume['trades'];
    this.unwatch = this.opts.watchRing?.(this.exchange, () => this.fillRatio());
    this.stopStatusRefresh = this.inline.keepTradingStatusFresh?.(symbols);
    // The engine-thread client never starts under worker intake: what it still reports (a
    // private stream's rejections) would otherwise reach no counter.
    this.detachEngineSink = this.inline.attachEngineSink?.(sink);
    if (this.opts.checkEveryMs > 0) {
      this.healthTimer = setInterval(() => this.checkHealth(), this.opts.checkEveryMs);
      this.healthTimer.unref();
    }
    this.opts.logger.info({ exchange: this.exchange, ringRecords: this.opts.ringRecords }, `${this.exchange}: market data intake on a worker thread (feed ring of ${this.opts.ringRecords} records)`);
    // Draining starts with the worker: one that fills the ring before it reports started must not wait for ever.
    let ready: Promise<void>;
    try {
      ready = this.spawn();
    } catch (err) {
      // No worker could be built at all (a deployment problem): start() fails, nothing left running.
      await this.stop();
      throw err;
    }
    if (this.opts.pump) void this.pump();
    await ready;
  }

  /** Blocks this thread until the ring has a record, for at most `timeoutMs` (a caller that drains itself). */
  waitForRecords(timeoutMs: number, spin = 256): void {
    const g = this.gen;
    if (g && !g.down && !this.stopped) g.ring.waitReadable(timeoutMs, spin);
  }

  /**
   * Applies what the ring holds now, up to `maxEvents` market events; returns the market events
   * dispatched. For a caller that drains itself (`pump: false`).
   */
  drainEvents(maxEvents = Infinity): number {
    const g = this.gen;
    if (!g || g.down || this.stopped) return 0;
    const before = g.reader.marketEvents;
    try {
      g.reader.drain(Infinity, maxEvents);
    } catch (err) {
      this.applyFailed(g, err);
    }
    return g.reader.marketEvents - before;
  }

  private spec(): IntakeWorkerSpec {
    const spec = this.inline.intakeWorker?.();
    if (!spec) throw new Error(`${this.exchange}: this venue's market data cannot run on a worker thread`);
    return spec;
  }

  /**
   * Starts a worker and resolves once it reported started (or failed to); the promise never
   * rejects. Throws, before any thread exists, when no worker can be built (the spec, the worker's
   * module, the ring): the caller treats that as a failure.
   */
  private spawn(): Promise<void> {
    // Everything that can fail comes before the thread: a throw leaves nothing behind.
    const spec = this.spec();
    const file = workerMainFile();
    const ring = SpscRing.create(this.opts.ringRecords, FEED_RECORD_BYTES);
    const controlBuf = new SharedArrayBuffer(CONTROL_BYTES);
    const reader = new IntakeRecordReader(ring, this.exchange, this.symbols, this.forwardingSink());
    const data: IntakeWorkerData = {
      exchange: this.exchange, symbols: [...this.symbols], ring: ring.buffer, control: controlBuf, heartbeatMs: this.opts.heartbeatMs,
      module: spec.module, factory: spec.factory, args: spec.args, logLevel: this.opts.logLevel, resume: this.resumeState,
    };
    const worker = new Worker(file, { workerData: data, execArgv: [] });
    // The engine's own handles keep the process; a forgotten intake must not.
    worker.unref();
    this.starts++;
    let exited!: () => void;
    const g: Generation = {
      id: ++this.generations, worker, ring, control: new Int32Array(controlBuf), reader,
      lastBeat: -1, lastBeatAt: this.opts.now(), down: false, reported: false, exited: new Promise<void>((r) => (exited = r)),
    };
    this.gen = g;
    this.alive.add(g);
    return new Promise<void>((resolve) => {
      let settled = false;
      const settle = (): void => {
        if (!settled) {
          settled = true;
          resolve();
        }
      };
      worker.on('message', (m: unknown) => {
        try {
          this.onWorkerMessage(g, m, settle);
        } catch (err) {
          // Nothing a worker posts may throw on the engine thread (a hook, the logger).
          this.ignored(`handling a message failed: ${errorText(err)}`);
        }
      });
      worker.on('error', (err: unknown) => {
        this.workerDown(g, `failed: ${errorText(err)}`);
        settle();
      });
      worker.on('exit', (code) => {
        this.alive.delete(g);
        exited();
        this.workerDown(g, `exited (code ${code})`);
        settle();
      });
    });
  }

  /**
   * One message from a worker (protocol.ts, IntakeWorkerMessage). Only worker-main.ts should post, but the venue plugin's code (and
   * its dependencies) share `parentPort`: anything else is ignored and counted, never trusted.
   */
  private onWorkerMessage(g: Generation, m: unknown, settle: () => void): void {
    const msg = typeof m === 'object' && m !== null && !Array.isArray(m) ? (m as Record<string, unknown>) : undefined;
    switch (msg?.t) {
      case 'log':
        return this.forwardLog(msg);
      case 'started':
        if (g.reported) return this.ignored(`'started' from a worker that already ${g.down ? 'failed' : 'started'}`);
        g.reported = true;
        if (g.down) return; // taken down meanwhile (hung): its exit ends it
        settle();
        this.onStarted?.();
        return;
      case 'start-failed':
        if (g.reported) return this.ignored(`'start-failed' from a worker that already started`);
        g.reported = true;
        // worker-main exits after saying it; a worker that says it and runs on is ended here.
        this.workerDown(g, `failed to start: ${truncate(typeof msg.message === 'string' ? msg.message : errorText(msg.message), 500)}`);
        g.worker.terminate().catch(() => {});
        settle();
        return;
      case 'stopped':
        return;
      case 'blocked':
        // From any of the venue's workers, a failed one's included: the block is the venue's, not the worker's.
        // 8.64e15: the last instant a Date can hold (a time past it is no time, and would throw when logged)
        if (typeof msg.untilMs !== 'number' || !(msg.untilMs > 0 && msg.untilMs <= 8.64e15)) return this.ignored(`'blocked' without a time (${truncate(errorText(msg.untilMs), 40)})`);
        return this.venueBlocked(msg.untilMs);
      default:
        return this.ignored(msg ? `a message with t = ${truncate(errorText(msg.t), 40)}` : `a message that is not an object (${m === null ? 'null' : typeof m})`);
    }
  }

  /** A worker's log line, on the engine thread's logger at a whitelisted level. */
  private forwardLog(m: Record<string, unknown>): void {
    const level = typeof m.level === 'string' ? WORKER_LOG_LEVELS.get(m.level) : undefined;
    const obj = typeof m.obj === 'object' && m.obj !== null && !Array.isArray(m.obj) ? (m.obj as Record<string, unknown>) : {};
    const text = typeof m.msg === 'string' ? m.msg : m.msg === undefined ? '' : errorText(m.msg);
    this.opts.logger[level ?? 'info']({ ...obj, exchange: this.exchange, intake: 'worker', ...(level ? {} : { workerLevel: truncate(errorText(m.level), 40) }) }, text);
  }

  /** A worker was told by the venue to send nothing until `untilMs` (wall-clock ms): kept for the next worker, passed to the engine thread's client. */
  private venueBlocked(untilMs: number): void {
    if (untilMs > this.resumeState.blockedUntilMs) {
      this.resumeState.blockedUntilMs = untilMs;
      this.opts.logger.warn({ exchange: this.exchange, blockedUntil: new Date(untilMs).toISOString() }, `${this.exchange}: the venue refuses requests until ${new Date(untilMs).toISOString()} (told to the intake worker); a replacement worker waits too`);
    }
    if (typeof this.inline.intakeVenueBlocked !== 'function') return;
    try {
      this.inline.intakeVenueBlocked(untilMs);
    } catch (err) {
      this.opts.logger.error({ exchange: this.exchange, err: errorText(err) }, `${this.exchange}: telling the engine thread's client of the venue's block failed: ${errorText(err)}`);
    }
  }

  /** Keeps the last trades a worker that is gone handed the engine or marked as seen, for the next one (IntakeResume.trades). */
  private keepTakenTrades(g: Generation): void {
    for (let i = 0; i < this.symbols.length; i++) {
      const taken = g.reader.takenTrades(i);
      if (taken.length === 0) continue;
      const symbol = this.symbols[i]!;
      this.resumeState.trades[symbol] = [...(this.resumeState.trades[symbol] ?? []), ...taken].slice(-RESUME_TRADES);
    }
  }

  /** Counts a worker message that was not acted on; warns at most once per 10 s. */
  private ignored(what: string): void {
    this.ignoredMessages++;
    const more = this.throttle.take('ignored');
    if (more !== undefined) this.opts.logger.warn({ exchange: this.exchange, ignored: this.ignoredMessages }, `${this.exchange}: intake worker message ignored: ${what}${more}`);
  }

  /** Market data reaches the engine only while this intake runs; a snapshot the engine applied means the worker synced. */
  private forwardingSink(): MarketEventSink {
    return {
      onMarketEvent: (ev) => {
        this.sink?.onMarketEvent(ev);
        // After the call: a snapshot the engine threw on is no sync (an engine that always throws is a crash loop).
        if (ev.type === 'book_snapshot') {
          this.failuresInARow = 0;
          this.backoff.reset();
        }
      },
      onFeedStatus: (st) => this.sink?.onFeedStatus(st),
      onFeedError: (c, m) => this.sink?.onFeedError(c, m),
      onFeedReject: (r) => this.sink?.onFeedReject?.(r),
      onEndOfStream: (e) => this.sink?.onEndOfStream?.(e),
    };
  }

  /**
   * Drains the ring into the engine: a batch per turn while records keep coming (timers,
   * order acks and HTTP get their turns between batches), Atomics.waitAsync while it is empty.
   */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.stopped) {
        const g = this.gen;
        if (!g || g.down) {
          await new Promise<void>((r) => setTimeout(r, Math.max(10, this.opts.checkEveryMs || 10)).unref());
          continue;
        }
        let n: number;
        try {
          n = g.reader.drain(this.opts.batch);
        } catch (err) {
          this.applyFailed(g, err);
          continue;
        }
        if (n === this.opts.batch) {
          await new Promise<void>((r) => setImmediate(r));
          continue;
        }
        await g.ring.waitReadableAsync(this.opts.checkEveryMs > 0 ? this.opts.checkEveryMs : 50);
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Reads the heartbeat; a worker silent for hungAfterMs is terminated and handled as failed. */
  checkHealth(now = this.opts.now()): void {
    const g = this.gen;
    if (!g || g.down || this.stopped) return;
    const beat = Atomics.load(g.control, CONTROL.HEARTBEAT);
    if (beat !== g.lastBeat) {
      g.lastBeat = beat;
      g.lastBeatAt = now;
      return;
    }
    const silent = now - g.lastBeatAt;
    if (silent > this.opts.hungAfterMs) {
      this.workerDown(g, `hung (no heartbeat for ${Math.round(silent)} ms)`);
      void g.worker.terminate();
    }
  }

  /**
   * The engine threw while applying this worker's records: the books may hold half an event and
   * the records behind it follow one the engine never took. Start over, as WsConnection does
   * inline: the rest is dropped, the worker ended, the venue resyncs from a fresh worker's snapshot.
   */
  private applyFailed(g: Generation, err: unknown): void {
    this.workerDown(g, `replaced: applying its records on the engine thread failed (${truncate(errorText(err), 200)})`, false);
    g.worker.terminate().catch(() => {});
  }

  /** Once per worker: deliver what it published (`deliver`), discard the rest, mark the venue down, count, restart or halt. */
  private workerDown(g: Generation, why: string, deliver = true): void {
    if (g.down) return;
    g.down = true;
    Atomics.store(g.control, CONTROL.STOP, 1);
    g.ring.close();
    if (this.stopped) return;
    // Complete events it published before failing are real venue data; a torn group is not.
    if (deliver) {
      try {
        g.reader.drain();
      } catch (err) {
        // Called from a worker's listener: a throw would escape as an uncaught exception and failed() would never run.
        why += `; applying its last records failed (${truncate(errorText(err), 200)})`;
      }
    }
    // What is left (the rest after a throw, a torn group) is released: nobody reads this ring again.
    const discarded = g.reader.discardRest();
    if (discarded > 0) why += `; ${discarded} feed records it published were dropped`;
    this.keepTakenTrades(g);
    this.failed(`${this.exchange} intake worker ${why}`);
  }

  /** A failure (a worker down, or a restart that could not start one): count, report, then restart after the backoff or halt. */
  private failed(what: string): void {
    this.failures++;
    this.failuresInARow++;
    const halt = this.failuresInARow > this.opts.maxRestarts;
    const reason = `${what}; ${halt ? `stopped after ${this.failuresInARow} failures in a row without a sync` : 'restarting'}`;
    // The restart is set before the sink hears of the failure: a sink that throws (the recorder on a full disk) must not cost the venue its market data.
    if (halt) {
      this.halted = true;
      this.opts.logger.error({ exchange: this.exchange, failures: this.failuresInARow }, `${reason}: the venue gets no market data until a restart of the app`);
    } else {
      const delay = this.backoff.next();
      this.restartTimer = setTimeout(() => this.restart(), delay);
      this.restartTimer.unref();
    }
    try {
      this.sink?.onFeedError(`${this.exchange}:intake`, reason);
    } catch (err) {
      this.sinkThrew('the failure', err);
    }
    // Separately: the status is what takes the venue's books out of SYNCED.
    try {
      this.sink?.onFeedStatus({ type: 'feed_status', exchange: this.exchange, symbol: '', state: halt ? 'stopped' : 'disconnected', reason, ts: this.opts.clock.now() });
    } catch (err) {
      this.sinkThrew(`the '${halt ? 'stopped' : 'disconnected'}' status`, err);
    }
    this.onFailure?.(reason);
  }

  private sinkThrew(what: string, err: unknown): void {
    const why = errorText(err);
    this.opts.logger.error({ exchange: this.exchange, err: why }, `${this.exchange}: telling the engine ${what} of its intake failed: ${why}`);
  }

  /** The restart timer: a fresh worker, or, when none can be built, one more failure (never a throw out of a timer). */
  private restart(): void {
    this.restartTimer = undefined;
    if (this.stopped) return;
    try {
      void this.spawn();
    } catch (err) {
      const why = errorText(err);
      this.opts.logger.error({ exchange: this.exchange, err: why }, `${this.exchange}: intake worker restart failed: ${why}`);
      try {
        this.failed(`${this.exchange} intake worker restart failed: ${why}`);
      } catch (again) {
        this.opts.logger.error({ exchange: this.exchange, err: errorText(again) }, `${this.exchange}: handling a failed intake worker restart failed: ${errorText(again)}`);
      }
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.restartTimer = this.healthTimer = undefined;
    this.unwatch?.();
    this.unwatch = undefined;
    this.stopStatusRefresh?.();
    this.stopStatusRefresh = undefined;
    this.detachEngineSink?.();
    this.detachEngineSink = undefined;
    this.sink = undefined;
    const g = this.gen;
    if (g && !g.down) {
      Atomics.store(g.control, CONTROL.STOP, 1);
      g.ring.close();
      g.worker.postMessage({ t: 'stop' } satisfies IntakeHostMessage);
    }
    // The running worker, and any failed one whose thread has not exited yet (a terminated hung
    // worker, a crashed one still unwinding): none is left when stop() resolves.
    await Promise.all([...this.alive].map((a) => this.awaitExit(a)));
    if (g) g.down = true;
  }

  private async awaitExit(g: Generation): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), this.opts.stopTimeoutMs)));
    if ((await Promise.race([g.exited, late])) === 'late') {
      this.opts.logger.warn({ exchange: this.exchange }, `${this.exchange}: intake worker did not exit within ${this.opts.stopTimeoutMs} ms of stop; terminated`);
      await g.worker.terminate();
      await g.exited;
    }
    clearTimeout(timer);
  }
}

/** An error's message, whatever was thrown (a throwing toString included). */
function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') return (err as { message: string }).message;
  try {
    return String(err);
  } catch {
    return 'unprintable value';
  }
}

function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** The compiled worker entry (tests run the TypeScript sources; the worker needs dist). */
function workerMainFile(): URL {
  const beside = new URL('./worker-main.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  const built = new URL('../../dist/intake/worker-main.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new Error(`the intake worker's module is missing (${fileURLToPath(beside)}); build @cwts/core first (pnpm build)`);
}

/**
 * A module's compiled file URL for an IntakeWorkerSpec, from its own import.meta.url: the file
 * beside it when running compiled, else `<package>/dist/...` when running from `src/` (tests).
 */
export function compiledModuleUrl(name: string, importMetaUrl: string): string {
  const beside = new URL(name, importMetaUrl);
  if (existsSync(fileURLToPath(beside))) return beside.href;
  const fromSrc = importMetaUrl.replace(/\/src\/((?:[^/]+\/)*)[^/]+$/, '/dist/$1');
  const built = new URL(name, fromSrc);
  if (fromSrc !== importMetaUrl && existsSync(fileURLToPath(built))) return built.href;
  throw new Error(`${fileURLToPath(beside)} is missing; build the package first (pnpm build)`);
}
