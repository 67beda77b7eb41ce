import { describe, expect, it } from 'vitest';
import { defineInstrument } from '../../domain/instrument.js';
import type { MarketEvent } from '../../domain/events.js';
import type { OrderIntent } from '../../domain/orders.js';
import type { BookView, StrategyContext, SubmitResult } from '../../contracts/trading.js';
import { MetricsRegistry } from '../../observability/metrics.js';
import { LoadStrategy, loadStrategySettings, plugin } from './load-strategy.js';
import { snapshotOf, stepFigures } from './measure.js';
import { histogramQuantile, parsePrometheusText, sumOf } from './prom-text.js';
import { checkStep, stepVerdict } from './targets.js';
import { LoadTestArgumentError, parseSteps, runLoadTest } from './index.js';

describe('Prometheus text and histogram_quantile', () => {
  it('parses labels (escaped quotes too), sums over label sets and skips comments', () => {
    const s = parsePrometheusText('# HELP x y\n# TYPE a counter\na{k="1",q="say \\"hi\\""} 2\na{k="2"} 3.5\nb 7 1700000000\n');
    expect(s).toEqual([
      { name: 'a', labels: { k: '1', q: 'say "hi"' }, value: 2 },
      { name: 'a', labels: { k: '2' }, value: 3.5 },
      { name: 'b', labels: {}, value: 7 },
    ]);
    expect(sumOf(s, 'a')).toBe(5.5);
    expect(sumOf(s, 'a', { k: '2' })).toBe(3.5);
  });

  it('interpolates inside the bucket holding the rank, as PromQL does', () => {
    // 100 observations: 50 in (0, 1], 40 in (1, 2], 10 in (2, 4]
    const b = [{ le: 1, count: 50 }, { le: 2, count: 90 }, { le: 4, count: 100 }, { le: Infinity, count: 100 }];
    expect(histogramQuantile(0.5, b)).toBe(1);
    expect(histogramQuantile(0.7, b)).toBeCloseTo(1.5, 10);
    expect(histogramQuantile(0.99, b)).toBeCloseTo(3.8, 10);
    expect(histogramQuantile(0.5, [{ le: 1, count: 0 }, { le: Infinity, count: 0 }])).toBeUndefined();
    // a rank in +Inf answers the highest finite bound
    expect(histogramQuantile(0.99, [{ le: 1, count: 1 }, { le: Infinity, count: 10 }])).toBe(1);
  });

  it('reads the figures of a step from two scrapes of the real registry', async () => {
    const m = new MetricsRegistry({ processMetrics: false });
    m.marketEvents.labels('sim', 'BTCUSDT', 'trade').inc(10);
    m.orders.labels('sim', 'submitted').inc(4);
    const a = snapshotOf(await m.text(), 0);
    m.marketEvents.labels('sim', 'BTCUSDT', 'book_delta').inc(30);
    m.marketEvents.labels('sim', 'BTCUSDT', 'liquidation').inc(5);
    m.orders.labels('sim', 'submitted').inc(20);
    m.orders.labels('sim', 'cancelled').inc(19);
    for (let i = 0; i < 19; i++) m.tickToOrder.observe(0.00004); // in (25 us, 50 us]
    m.tickToOrder.observe(0.003); // in (2.5 ms, 5 ms]
    m.errors.labels('strategy:x').inc();
    const b = snapshotOf(await m.text(), 2000);
    const f = stepFigures(a, b, []);
    expect(f).toMatchObject({ seconds: 2, events: 35, triggerEvents: 30, orders: 20, eventsPerSecond: 17.5, ordersPerSecond: 10, tickToOrderCount: 20, errors: 1 });
    expect(f.tickToOrderP50Ms!).toBeGreaterThan(0.025);
    expect(f.tickToOrderP50Ms!).toBeLessThanOrEqual(0.05);
    expect(f.tickToOrderP99Ms!).toBeGreaterThan(2.5);
    expect(f.tickToOrderP99Ms!).toBeLessThanOrEqual(5);
  });
});

describe('targets', () => {
  const base = { seconds: 1, events: 1000, triggerEvents: 1000, orders: 1000, eventsPerSecond: 1000, ordersPerSecond: 1000, tickToOrderCount: 1000, tickToOrderP50Ms: 0.01, tickToOrderP99Ms: 0.5, eventLoopLagP99Ms: 1, rssMaxBytes: 1, riskRejections: 0, errors: 0, feedErrors: 0 };
  const verdicts = (c: ReturnType<typeof checkStep>) => Object.fromEntries(c.map((x) => [x.id, x.verdict]));

  it('marks the seed throughput n/a where the step cannot offer it, and fails what is missed', () => {
    expect(verdicts(checkStep(base, 1, 10_000))).toEqual({ p99: 'PASS', 'orders-per-second': 'n/a', 'keeps-up': 'PASS', 'event-loop-lag': 'PASS', errors: 'PASS' });
    const slow = checkStep({ ...base, tickToOrderP99Ms: 12, orders: 500, feedErrors: 2 }, 1, null);
    expect(verdicts(slow)).toEqual({ p99: 'FAIL', 'orders-per-second': 'FAIL', 'keeps-up': 'FAIL', 'event-loop-lag': 'PASS', errors: 'FAIL' });
    expect(stepVerdict(slow)).toBe('FAIL');
    // no order at all is never a latency PASS
    expect(verdicts(checkStep({ ...base, orders: 0, tickToOrderP99Ms: null }, null, null)).p99).toBe('FAIL');
  });

  it('parses steps and refuses what is not a rate', () => {
    expect(parseSteps('10000, 50k,max')).toEqual([{ label: '10000', rate: 10_000 }, { label: '50k', rate: 50_000 }, { label: 'max', rate: 1_000_000 }]);
    expect(() => parseSteps('fast')).toThrow(/not an event rate/);
    expect(() => parseSteps('2000000')).toThrow(/up to 1000000/);
  });

  it('refuses a --windows that is not a whole number >= 1 before scraping anything', async () => {
    // 0.5 used to measure no window at all and report "a target missed" (exit 1); 2.5 measured 2.
    // Port 1 on loopback: nothing listens, so a scrape would fail differently.
    for (const windows of ['0.5', '2.5', '0', '-1', '1e1', 'two', 2.5]) {
      await expect(runLoadTest({ url: 'http://127.0.0.1:1/metrics', windows, stepSeconds: 1 }), String(windows)).rejects.toThrow(LoadTestArgumentError);
    }
    await expect(runLoadTest({ url: 'http://127.0.0.1:1/metrics', windows: '0.5', stepSeconds: 1 })).rejects.toThrow(/--windows must be a whole number >= 1, got 0\.5/);
  });
});

describe('the load strategy', () => {
  const I = defineInstrument({ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '5' });
  function ctx(accept = true) {
    const sent: OrderIntent[] = [];
    const book = { synced: true, bestBid: () => 6_000_000, bestAsk: () => 6_000_100 } as unknown as BookView;
    const c = {
      instrument: () => I,
      book: () => book,
      submit: (i: OrderIntent): SubmitResult => (sent.push(i), accept ? { accepted: true, clientOrderId: `cw-${sent.length}` } : { accepted: false, reason: 'RATE_LIMIT' }),
    } as unknown as StrategyContext;
    return { c, sent };
  }
  const trade = (n: number): MarketEvent => ({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: n, recvTs: n, tradeId: String(n), price: 6_000_000, qty: 1, side: 'buy' });

  it('sends IOCs well outside the touch, alternating sides, sized at twice the minimum notional', () => {
    const { c, sent } = ctx();
    const s = new LoadStrategy(loadStrategySettings.parse({}));
    s.onMarketEvent(trade(1), c);
    s.onMarketEvent(trade(2), c);
    // 100 bps of 60,000.00 = 600.00 = 60,000 ticks; 2 x 5 USDT at 60,000 = 0.000167 BTC -> 17 lots
    expect(sent).toEqual([
      expect.objectContaining({ side: 'buy', type: 'limit', tif: 'IOC', price: 6_000_000 - 60_000, qty: 17 }),
      expect.objectContaining({ side: 'sell', tif: 'IOC', price: 6_000_100 + 60_001, qty: 17 }),
    ]);
  });

  it('holds orders back at max_outstanding until the venue finishes with them, and keeps the ratio', () => {
    const { c, sent } = ctx();
    const s = new LoadStrategy(loadStrategySettings.parse({ max_outstanding: 2, events_per_order: 2 }));
    for (let i = 0; i < 10; i++) s.onMarketEvent(trade(i), c);
    expect(sent).toHaveLength(2);
    expect(s.heldBack).toBe(3);
    s.onExecution({ kind: 'ack', clientOrderId: 'cw-1', leavesQty: 17 } as never);
    expect(s.outstandingCount).toBe(2);
    s.onExecution({ kind: 'cancelled', clientOrderId: 'cw-1', leavesQty: 0 } as never);
    for (let i = 0; i < 2; i++) s.onMarketEvent(trade(i), c);
    expect(sent).toHaveLength(3);
  });

  it('does not count refused orders as outstanding', () => {
    const { c } = ctx(false);
    const s = new LoadStrategy(loadStrategySettings.parse({ max_outstanding: 1 }));
    s.onMarketEvent(trade(1), c);
    expect(s.outstandingCount).toBe(0);
  });

  it('validates its settings with key paths, as every plugin does', () => {
    expect(plugin.validateOptions!({ events_per_order: 0, nope: 1 }, 'strategy').map((i) => i.path).sort()).toEqual(['strategy.events_per_order', 'strategy.nope']);
    expect(plugin.validateOptions!({}, 'strategy')).toEqual([]);
  });
});
