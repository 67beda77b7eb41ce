import type { MarketEvent } from '../domain/events.js';
import { instrumentKey, type Instrument } from '../domain/instrument.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import type { Signal } from '../domain/signal.js';
import type { Engine, EngineObserver } from '../engine/engine.js';
import type { RiskState } from '../risk/risk-state.js';
import type { MetricsRegistry } from '../observability/metrics.js';
import type { SessionRecord, PnlSample, SessionFill, SessionOrders, SessionSignal } from './session.js';

/**
 * The session time of a market event: its venue time `ts`, except a book snapshot without one
 * (ts 0: Binance spot's REST depth snapshot has no event time), which counts at its arrival
 * time `recvTs`. @cwts/exchange-sim replays such a snapshot at that time too; a replay from an
 * older one still delivers ts 0, and the session must not start in 1970 for it.
 */
export function sessionTime(ev: Pick<MarketEvent, 'type' | 'ts' | 'recvTs'>): number {
  return ev.type === 'book_snapshot' && ev.ts === 0 ? ev.recvTs : ev.ts;
}

/** Orders tracked at least, before those that ended are counted and let go. */
const MIN_ORDERS_TRACKED = 1024;

/**
 * Builds a SessionRecord while a replay runs: the engine's observer taps give signals, fills,
 * orders sent and risk changes as they happen; PnL and marks are sampled every `sampleMs` of
 * session time (from `onEvent`, which replay calls before each market event) and after every
 * fill. Work per event is one comparison unless a sample is due.
 *
 * Session time is venue time (sessionTime): fills and risk changes count at the session time of
 * the latest market event, as marks and PnL samples do. The replayed engine's clock runs on the
 * recorded receive times instead (as it did live), so its `now` is not taken here: a feed that
 * arrived 3 s late would put each fill 3 s after the prices it traded at.
 */
export class SessionCollector implements EngineObserver {
  private engine: Engine | undefined;
  private readonly pnl: PnlSample[] = [];
  private readonly fills: SessionFill[] = [];
  private readonly signals: SessionSignal[] = [];
  private readonly marks: SessionRecord['marks'] = {};
  private readonly risk: SessionRecord['risk'] = [];
  private nextSampleTs = -Infinity;
  private first: number | undefined;
  private last = 0;
  /**
   * Orders sent and not yet counted, as the engine holds them (it updates their status with every
   * report): what became of each is read once it ended. Those that ended are counted and let go
   * whenever the list has doubled, so a long replay does not hold every order it sent.
   */
  private tracked: Readonly<Order>[] = [];
  private countAt = MIN_ORDERS_TRACKED;
  private readonly ended = { sent: 0, filled: 0, cancelled: 0, rejected: 0, rejectReasons: {} as Record<string, number> };
  /** Market events seen (for progress). */
  events = 0;

  constructor(private readonly sampleMs = 1000) {}

  attach(engine: Engine): void {
    this.engine = engine;
  }

  /** Before each market event. */
  onEvent(ev: Pick<MarketEvent, 'type' | 'ts' | 'recvTs'>): void {
    const ts = sessionTime(ev);
    this.events++;
    this.first ??= ts;
    if (ts > this.last) this.last = ts;
    if (ts < this.nextSampleTs) return;
    this.nextSampleTs = (Math.floor(ts / this.sampleMs) + 1) * this.sampleMs;
    this.sample(ts);
  }

  signal(s: Signal): void {
    this.signals.push({ ts: s.ts, id: s.id, detector: s.detector, exchange: s.exchange, symbol: s.symbol, direction: s.direction, strength: s.strength });
  }

  fill(r: ExecutionReport, _instrument: Instrument): void {
    const ts = this.first === undefined ? r.ts : this.last;
    this.fills.push({ ts, exchange: r.exchange, symbol: r.symbol, clientOrderId: r.clientOrderId, side: r.side, price: r.lastPrice, qty: r.lastQty, feeAtoms: r.feeAtoms });
    this.samplePnl(ts);
  }

  riskState(s: RiskState, now: number): void {
    this.risk.push({ ts: this.first === undefined ? now : this.last, state: s.state, reason: s.reason });
  }

  order(o: Readonly<Order>): void {
    this.ended.sent++;
    this.tracked.push(o);
    if (this.tracked.length < this.countAt) return;
    this.countEnded();
    this.countAt = Math.max(MIN_ORDERS_TRACKED, 2 * this.tracked.length);
  }

  /**
   * Counts the tracked orders that ended and lets them go. Their state is final (the order
   * manager never moves an order back from filled, cancelled or rejected; a venue's fill after
   * its cancel could make a cancelled one filled, and the simulated venue sends none).
   */
  private countEnded(): void {
    const e = this.ended;
    const keep: Readonly<Order>[] = [];
    for (const o of this.tracked) {
      if (o.status === 'filled') e.filled++;
      else if (o.status === 'cancelled') e.cancelled++;
      else if (o.status === 'rejected') {
        e.rejected++;
        const why = o.rejectReason ?? 'unknown';
        e.rejectReasons[why] = (e.rejectReasons[why] ?? 0) + 1;
      } else keep.push(o);
    }
    this.tracked = keep;
  }

  /** What became of the orders sent so far (the engine's refusals from its summary). */
  orders(): SessionOrders {
    this.countEnded();
    const e = this.ended;
    const reasons = Object.keys(e.rejectReasons).sort();
    return {
      sent: e.sent,
      filled: e.filled,
      cancelled: e.cancelled,
      rejected: e.rejected,
      rejectReasons: Object.fromEntries(reasons.map((k) => [k, e.rejectReasons[k]!])),
      open: this.tracked.length,
      refused: this.engine?.summary().rejected ?? 0,
    };
  }

  private sample(ts: number): void {
    const e = this.engine;
    if (!e) return;
    this.samplePnl(ts);
    for (const i of e.allInstruments()) {
      const mark = this.markOf(i);
      if (mark === undefined) continue;
      const k = instrumentKey(i.exchange, i.symbol);
      const series = (this.marks[k] ??= { ts: [], halfTicks: [] });
      series.ts.push(ts);
      series.halfTicks.push(mark);
    }
  }

  private samplePnl(ts: number): void {
    const e = this.engine;
    if (!e) return;
    const t = e.totals();
    this.pnl.push({ ts, realized: t.realized, unrealized: t.unrealized, fees: t.fees });
  }

  private markOf(i: Instrument): number | undefined {
    const e = this.engine!;
    const p = e.portfolio.find(i.exchange, i.symbol);
    if (p) return e.markHalfTicks(p);
    const b = e.book(i.exchange, i.symbol);
    const bid = b?.bestBid();
    const ask = b?.bestAsk();
    return b?.synced && bid !== undefined && ask !== undefined ? bid + ask : undefined;
  }

  /**
   * The record once the stream ended; reads the tick-to-order histogram from `metrics`. Throws
   * when no market event came: there is no session, and one of zero length in 1970 (epoch 0 as
   * its start) would read as a clean report of nothing; `report --journal` refuses an empty
   * journal the same way.
   */
  async finish(initialEquity: bigint, metrics?: MetricsRegistry): Promise<SessionRecord> {
    const e = this.engine;
    if (!e) throw new Error('SessionCollector.finish before attach');
    if (this.first === undefined) throw new Error('no market event was replayed: there is no session to take statistics of or report');
    const start = this.first;
    const end = Math.max(this.last, start);
    this.samplePnl(end);
    const finalMarks: Record<string, number> = {};
    for (const i of e.allInstruments()) {
      const m = this.markOf(i);
      if (m !== undefined) finalMarks[instrumentKey(i.exchange, i.symbol)] = m;
    }
    const risk = [{ ts: start, state: 'ACTIVE' as const, reason: 'start' }, ...this.risk.filter((r) => r.ts >= start)];
    return {
      instruments: e.allInstruments(),
      initialEquity,
      start,
      end,
      pnl: this.pnl.filter((p) => p.ts >= start),
      fills: this.fills,
      signals: this.signals,
      marks: this.marks,
      finalMarks,
      risk,
      orders: this.orders(),
      latency: metrics ? await latencyHistogram(metrics) : undefined,
    };
  }
}

/** The tick-to-order histogram as non-cumulative counts; undefined when nothing was measured. */
export async function latencyHistogram(metrics: MetricsRegistry): Promise<SessionRecord['latency']> {
  const got = await metrics.tickToOrder.get();
  const buckets = got.values.filter((v) => v.metricName?.endsWith('_bucket')).map((v) => ({ le: v.labels.le === '+Inf' ? Infinity : Number(v.labels.le), n: v.value }));
  buckets.sort((a, b) => a.le - b.le);
  const le: number[] = [];
  const counts: number[] = [];
  let prev = 0;
  for (const b of buckets) {
    le.push(b.le);
    counts.push(b.n - prev);
    prev = b.n;
  }
  return prev > 0 ? { le, counts } : undefined;
}
