import { closeSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FeedStatusEvent, MarketEvent } from '../domain/events.js';
import type { Instrument, InstrumentSpec } from '../domain/instrument.js';
import type { InstrumentTrading } from '../domain/trading-status.js';
import { journalFileOf } from '../journal/journal-files.js';

export const RECORDING_KIND = 'cwts-recording';
export const RECORDING_VERSION = 1;

/**
 * The header's spec of an instrument, its trading status at load included: a pair the venue had
 * halted or post-only replayed as open without it (the engine's VENUE_NOT_TRADING check found
 * nothing), and the simulated venue filled orders the real one refused.
 */
export function instrumentSpec(i: Instrument): InstrumentSpec {
  return {
    exchange: i.exchange,
    symbol: i.symbol,
    base: i.base,
    quote: i.quote,
    tickSize: i.tickSize,
    lotSize: i.lotSize,
    minNotional: i.minNotional,
    ...(i.trading !== undefined ? { trading: i.trading } : {}),
    ...(i.venueStatus !== undefined ? { venueStatus: i.venueStatus } : {}),
  };
}

/**
 * A recording's line for a pair's trading status changing while it ran: what the engine's
 * pre-trade check reads from then on (the venue's re-read status, else the status at load; none:
 * `open`). Written right before the market event it was first seen at, with that event's times,
 * so a replay applies it exactly there.
 */
export interface TradingStatusRecord {
  type: 'trading_status';
  exchange: string;
  symbol: string;
  trading: InstrumentTrading;
  ts: number;
  recvTs: number;
}

/** What the engine's pre-trade check reads for a pair now (MarketDataClient.tradingStatus); undefined: the status at load applies. */
export type TradingStatusReader = (exchange: string, symbol: string) => InstrumentTrading | undefined;

/**
 * Why a recording must not be written to `path`, or undefined. The recorder truncates its file,
 * so it may never be the journal or one of SQLite's files beside it (that wipes the positions,
 * open orders, HALT and client-id sequence of the engine that journals there, whatever the
 * operator asked), a directory, or an existing non-empty file unless `overwrite` (an empty one,
 * a pipe or a device holds nothing to lose). The journal's files under another name count: a
 * link (a dangling one too: the recorder's open would create its target), a hard link.
 */
export function recordingTargetProblem(path: string, opts: { journal?: string; overwrite?: boolean } = {}): string | undefined {
  if (opts.journal !== undefined) {
    const suffix = journalFileOf(path, opts.journal);
    if (suffix !== undefined) return `${path} is the journal ${opts.journal}${suffix ? ` (its ${suffix} file)` : ''}; a recording would overwrite it: record to another file`;
  }
  let st;
  try {
    st = statSync(path);
  } catch {
    return undefined;
  }
  if (st.isDirectory()) return `${path} is a directory; name the recording's file`;
  if (st.isFile() && st.size > 0 && !opts.overwrite) return `${path} exists (${st.size} bytes) and a recording would overwrite it: record to a new file, or pass --force-record to overwrite it`;
  return undefined;
}

/**
 * `run --record FILE`: every normalized market event (resync snapshots included) and feed
 * status change as JSON lines after a header naming the instruments, so `replay` can rebuild
 * the same books. Buffered; written out every 64 KiB and at close.
 *
 * A write that fails once the recording runs (a full disk) ends the recording, reported once
 * through `onFailure`: the recording is a by-product, and a throw here would reach the engine
 * thread's market-event path at every later event (its buffer only grew), taking the venue down
 * over a file nobody trades on.
 */
export class Recorder {
  private fd: number | undefined;
  private buf: string[] = [];
  private bytes = 0;
  events = 0;
  /** Why the recording ended early (a failed write), or undefined. */
  failure: string | undefined;

  constructor(
    readonly path: string,
    private readonly onFailure?: (message: string) => void,
  ) {}

  /** Per exchange, per recorded symbol: its status at load and the status last recorded. */
  private statuses: Map<string, Map<string, { loaded: InstrumentTrading | undefined; last: InstrumentTrading }>> | undefined;
  private readTradingStatus: TradingStatusReader | undefined;

  /**
   * Writes the header. With `tradingStatus`, a change of a pair's status during the run is recorded
   * (TradingStatusRecord) at the next market event of that pair: statuses are re-read on a timer,
   * and the engine only acts on one when it sends an order, which a replay reproduces from market
   * events. Without it only the status at load is recorded.
   */
  open(instruments: readonly Instrument[], tradingStatus?: TradingStatusReader): void {
    mkdirSync(dirname(this.path), { recursive: true });
    this.fd = openSync(this.path, 'w');
    const header = { kind: RECORDING_KIND, version: RECORDING_VERSION, createdAt: new Date().toISOString(), instruments: instruments.map(instrumentSpec) };
    writeSync(this.fd, JSON.stringify(header) + '\n');
    this.readTradingStatus = tradingStatus;
    if (tradingStatus === undefined) return;
    this.statuses = new Map();
    for (const i of instruments) {
      let bySymbol = this.statuses.get(i.exchange);
      if (!bySymbol) this.statuses.set(i.exchange, (bySymbol = new Map()));
      bySymbol.set(i.symbol, { loaded: i.trading, last: i.trading ?? 'open' });
    }
  }

  write(ev: MarketEvent | FeedStatusEvent): void {
    if (this.fd === undefined) return;
    if (this.statuses !== undefined && ev.type !== 'feed_status') this.noteTradingStatus(ev);
    this.push(JSON.stringify(ev));
    if (ev.type !== 'feed_status') this.events++;
    if (this.bytes >= 65536) this.flush();
  }

  /** Records the pair's status before `ev` when it is not the one recorded last (the engine reads `now ?? at load`, undefined as open). */
  private noteTradingStatus(ev: MarketEvent): void {
    const s = this.statuses!.get(ev.exchange)?.get(ev.symbol);
    if (s === undefined) return;
    let now: InstrumentTrading;
    try {
      now = this.readTradingStatus!(ev.exchange, ev.symbol) ?? s.loaded ?? 'open';
    } catch {
      // a status reader that fails says nothing new; the recording goes on
      return;
    }
    if (now === s.last) return;
    s.last = now;
    // a snapshot without venue time (Binance spot's REST depth) is replayed at its arrival time
    const ts = ev.type === 'book_snapshot' && ev.ts === 0 ? ev.recvTs : ev.ts;
    const rec: TradingStatusRecord = { type: 'trading_status', exchange: ev.exchange, symbol: ev.symbol, trading: now, ts, recvTs: ev.recvTs };
    this.push(JSON.stringify(rec));
  }

  private push(line: string): void {
    this.buf.push(line);
    this.bytes += line.length + 1;
  }

  flush(): void {
    if (this.fd === undefined || this.buf.length === 0) return;
    const text = this.buf.join('\n') + '\n';
    this.buf = [];
    this.bytes = 0;
    try {
      writeSync(this.fd, text);
    } catch (err) {
      this.fail(err);
    }
  }

  close(): void {
    this.flush();
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch (err) {
        this.fail(err);
      }
    }
    this.fd = undefined;
  }

  private fail(err: unknown): void {
    const fd = this.fd;
    this.fd = undefined;
    this.buf = [];
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already failing: the first error is the one reported
      }
    }
    if (this.failure !== undefined) return;
    this.failure = `recording ${this.path} stopped after ${this.events} events: ${(err as Error)?.message ?? String(err)}`;
    this.onFailure?.(this.failure);
  }
}
