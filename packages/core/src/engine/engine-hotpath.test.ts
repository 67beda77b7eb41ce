import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { ManualClock } from '../contracts/clock.js';
import type { Strategy, StrategyContext, SubmitResult } from '../contracts/trading.js';
import { defineInstrument } from '../domain/instrument.js';
import type { BookSnapshotEvent, MarketEvent } from '../domain/events.js';
import type { Signal } from '../domain/signal.js';
import { BackpressureMonitor } from '../observability/backpressure.js';
import { createLogger, silentLogger, type Logger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const snapshot = (): BookSnapshotEvent => ({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 10, reason: 'initial', bids: [{ price: 5_000_000, qty: 1000 }], asks: [{ price: 5_000_100, qty: 1000 }] });
const order = (side: 'buy' | 'sell', qty: number) => ({ exchange: 'v', symbol: 'BTCUSDT', side, type: 'limit' as const, price: side === 'buy' ? 5_000_100 : 5_000_000, qty, tif: 'IOC' as const, source: 'test' });

class QueueStrategy implements Strategy {
  readonly name = 'queue';
  results: SubmitResult[] = [];
  next: Parameters<StrategyContext['submit']>[0][] = [];
  /** Sent on the next market event (inside its dispatch: what tick-to-order measures). */
  onTick: Parameters<StrategyContext['submit']>[0][] = [];
  onSignal(_s: Signal, ctx: StrategyContext): void {
    for (const i of this.next.splice(0)) this.results.push(ctx.submit(i));
  }
  onMarketEvent(_ev: MarketEvent, ctx: StrategyContext): void {
    for (const i of this.onTick.splice(0)) this.results.push(ctx.submit(i));
  }
}

function logCapture() {
  const msgs: string[] = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).trim().split('\n')) msgs.push((JSON.parse(l) as { msg: string }).msg);
      cb();
    },
  });
  return { msgs, logger: createLogger({ level: 'info', destination: dest, pretty: false }) };
}

async function setup(opts: { logger?: Logger; digest?: boolean; backpressure?: boolean } = {}) {
  const venue = new ScriptedVenue('v', [BTC]);
  const strategy = new QueueStrategy();
  const metrics = new MetricsRegistry({ processMetrics: false });
  const logger = opts.logger ?? silentLogger();
  let t = 0;
  const monitor = opts.backpressure ? new BackpressureMonitor({ budgetMs: 10, metrics, logger, now: () => t, busy: () => 1, recoverAfterMs: 100 }) : undefined;
  const engine = new Engine({
    clock: new ManualClock(1000), logger, metrics, strategy, watchdog: false, digest: opts.digest,
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
    backpressure: monitor,
  });
  await engine.start();
  // The timer the engine started is not what these tests drive: they sample by hand.
  monitor?.stop();
  venue.sink!.onMarketEvent(snapshot());
  let n = 0;
  const signal = (): void => engine.emit({ id: `s${++n}`, detector: 't', kind: 'k', exchange: 'v', symbol: 'BTCUSDT', ts: 1, direction: 1, strength: 1, evidence: {} });
  const submit = (i: ReturnType<typeof order>) => {
    strategy.next.push(i);
    signal();
    return strategy.results.at(-1)!;
  };
  /** Sends the order from the strategy's handling of a market event (a trade print). */
  const submitOnTick = (i: ReturnType<typeof order>) => {
    strategy.onTick.push(i);
    venue.sink!.onMarketEvent({ type: 'trade', exchange: 'v', symbol: 'BTCUSDT', ts: 2, recvTs: 2, price: 5_000_000, qty: 1, side: 'sell', tradeId: `p${++n}` });
    return strategy.results.at(-1)!;
  };
  /** Samples the monitor `lateMs` after it was due. */
  const lag = (lateMs: number) => {
    t += 10 + lateMs;
    monitor!.sample();
  };
  return { venue, engine, metrics, monitor, submit, submitOnTick, signal, lag };
}

const counter = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

describe('Engine hot path', () => {
  it('under back-pressure refuses new risk with BACKPRESSURE, lets exposure-reducing orders through, and accepts again once it recovers', async () => {
    const { venue, engine, metrics, monitor, submit, lag } = await setup({ backpressure: true });
    expect(submit(order('buy', 100))).toMatchObject({ accepted: true });
    venue.report(venue.submitted[0]!, { kind: 'fill', lastPrice: 5_000_100, lastQty: 100, cumQty: 100, leavesQty: 0, feeAtoms: 0n, tradeId: 't1' });
    expect(engine.portfolio.qty('v', 'BTCUSDT')).toBe(100);
    monitor!.sample();
    lag(30);
    lag(30);
    expect(monitor!.active).toBe(true);
    // More exposure: refused. Flipping through zero (sell 150 of a 100 long) adds exposure: refused.
    expect(submit(order('buy', 10))).toMatchObject({ accepted: false, reason: 'BACKPRESSURE' });
    expect(submit(order('sell', 150))).toMatchObject({ accepted: false, reason: 'BACKPRESSURE' });
    // Reducing the long: accepted.
    expect(submit(order('sell', 40))).toMatchObject({ accepted: true });
    expect(venue.submitted).toHaveLength(2);
    expect(counter(await metrics.text(), 'cwts_risk_rejections_total{reason="BACKPRESSURE"}')).toBe(2);
    expect(counter(await metrics.text(), 'cwts_backpressure')).toBe(1);
    for (let i = 0; i < 11; i++) lag(0);
    expect(monitor!.active).toBe(false);
    expect(submit(order('buy', 10))).toMatchObject({ accepted: true });
    await engine.stop();
  });

  it('observes tick-to-order when submit() returns and the ack latency per exchange at the first report', async () => {
    const { venue, engine, metrics, submitOnTick } = await setup();
    expect(submitOnTick(order('buy', 5))).toMatchObject({ accepted: true });
    let text = await metrics.text();
    expect(counter(text, 'cwts_tick_to_order_seconds_count')).toBe(1);
    expect(counter(text, 'cwts_order_ack_seconds_count{exchange="v"}')).toBeNaN();
    const o = venue.submitted[0]!;
    venue.report(o, { kind: 'ack' });
    venue.report(o, { kind: 'fill', lastPrice: 5_000_100, lastQty: 5, cumQty: 5, leavesQty: 0, feeAtoms: 0n, tradeId: 't1' });
    text = await metrics.text();
    // One order, one ack observation (the fill after the ack is not a second one).
    expect(counter(text, 'cwts_order_ack_seconds_count{exchange="v"}')).toBe(1);
    await engine.stop();
  });

  it('a venue that answers inside submit() is observed as an ack in no time, and leaves nothing waiting', async () => {
    const { venue, engine, metrics, submit } = await setup();
    const plain = venue.submit.bind(venue);
    venue.submit = (o) => {
      plain(o);
      venue.report(o, { kind: 'rejected', rejectReason: 'INSUFFICIENT_BALANCE' });
    };
    expect(submit(order('buy', 5))).toMatchObject({ accepted: true });
    const text = await metrics.text();
    expect(counter(text, 'cwts_order_ack_seconds_count{exchange="v"}')).toBe(1);
    expect(counter(text, 'cwts_order_ack_seconds_sum{exchange="v"}')).toBe(0);
    // nothing left waiting: a later report of the order is not a second ack
    venue.report(venue.submitted[0]!, { kind: 'rejected', rejects: 'order', rejectReason: 'INSUFFICIENT_BALANCE' });
    expect(counter(await metrics.text(), 'cwts_order_ack_seconds_count{exchange="v"}')).toBe(1);
    await engine.stop();
  });

  it('counts a refused cancel apart from a rejected order (cwts_orders_total status request_rejected) and says so in its log line', async () => {
    const { msgs, logger } = logCapture();
    const { venue, engine, metrics, submit } = await setup({ logger });
    venue.autoCancel = false;
    const kept = submit(order('buy', 5)).clientOrderId!;
    const refused = submit(order('buy', 6)).clientOrderId!;
    const [a, b] = venue.submitted;
    venue.report(a!, { kind: 'ack', leavesQty: 5 });
    engine.cancel(kept);
    venue.report(a!, { kind: 'rejected', rejects: 'request', rejectReason: 'UNKNOWN_ORDER', leavesQty: 5 });
    venue.report(b!, { kind: 'rejected', rejects: 'order', rejectReason: 'INSUFFICIENT_BALANCE' });
    // an adapter without the field: a rejection while the cancel is pending answers the cancel
    engine.cancel(kept);
    venue.report(a!, { kind: 'rejected', rejectReason: 'RATE_LIMITED', leavesQty: 5 });
    expect(engine.orders.get(kept)!.status).toBe('open');
    expect(engine.orders.get(refused)!.status).toBe('rejected');
    const text = await metrics.text();
    expect(counter(text, 'cwts_orders_total{exchange="v",status="request_rejected"}')).toBe(2);
    expect(counter(text, 'cwts_orders_total{exchange="v",status="rejected"}')).toBe(1);
    await engine.stop();
    expect(msgs.filter((m) => m.startsWith(`v refused a request about order ${kept}`))).toHaveLength(2);
    expect(msgs.filter((m) => m.startsWith(`order ${refused} rejected by v: INSUFFICIENT_BALANCE`))).toHaveLength(1);
  });

  it('keeps the digest of signals and fills only when asked', async () => {
    const off = await setup();
    off.signal();
    expect(off.engine.summary().digest).toBeUndefined();
    await off.engine.stop();
    const on = await setup({ digest: true });
    const before = on.engine.summary().digest;
    on.signal();
    expect(on.engine.summary().digest).toMatch(/^[0-9a-f]{64}$/);
    expect(on.engine.summary().digest).not.toBe(before);
    await on.engine.stop();
  });

  it('formats signal and fill log lines after the event, not inside it, and flushes them at stop', async () => {
    const { msgs, logger } = logCapture();
    const { venue, engine, submit } = await setup({ logger });
    const before = msgs.length;
    expect(submit(order('buy', 5))).toMatchObject({ accepted: true });
    venue.report(venue.submitted[0]!, { kind: 'fill', lastPrice: 5_000_100, lastQty: 5, cumQty: 5, leavesQty: 0, feeAtoms: 0n, tradeId: 't1', liquidity: 'taker' });
    await new Promise((r) => setImmediate(r));
    // pino writes to the destination synchronously: nothing was formatted until the drain ran.
    const lines = msgs.slice(before);
    expect(lines.find((m) => m.startsWith('signal t/k v:BTCUSDT buy'))).toBeDefined();
    expect(lines.find((m) => m.startsWith('fill ') && m.includes('position 0.005 BTC'))).toBeDefined();
    const n = msgs.length;
    submit(order('buy', 1));
    expect(msgs.length).toBe(n);
    await engine.stop();
    expect(msgs.some((m, i) => i >= n && /^signal t\/k/.test(m))).toBe(true);
  });
});
