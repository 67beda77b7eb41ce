/**
 * The simulated venue at its maximum rate (events_per_second = 1,000,000): the market's virtual
 * clock falls far behind the wall clock, and paper orders must still be acknowledged. Orders wait
 * for the market to reach their arrival time; a market more than MAX_MARKET_BACKLOG_MS behind
 * after a full step budget drops its backlog (venue.ts advanceTo), so they are not held for ever.
 */
import { describe, expect, it, vi } from 'vitest';
import { CORE_API_VERSION, ManualClock, TOKENS, type ExecutionReport, type MarketEventSink, type Order, type Signal, type Strategy, type StrategyContext, type SubmitResult } from '@cwts/core';
import { CwtsContainer } from '@cwts/core/di';
import { Engine } from '@cwts/core/engine';
import { MetricsRegistry, silentLogger } from '@cwts/core/observability';
import { plugin } from '../src/plugin.js';
import { BACKLOG_DROPPED_COMPONENT, type SimExecutionClient, type SimMarketDataClient } from '../src/venue.js';

const START = 1_700_000_000_000;
const MAX_RATE = 1_000_000;

function sim(clock: ManualClock, options: Record<string, unknown>) {
  const root = CwtsContainer.createRoot();
  root.registerValue(TOKENS.Clock, clock, 'core');
  const child = root.createChild('sim');
  child.registerValue(TOKENS.VenueName, 'sim', 'core');
  plugin.register({ registrar: child.as(plugin.name), instanceName: 'sim', config: { name: 'sim', plugin: plugin.name, symbols: ['BTCUSDT'], options } });
  return { md: child.resolve(TOKENS.MarketDataClient) as SimMarketDataClient, ex: child.resolve(TOKENS.ExecutionClient) as SimExecutionClient };
}

const countingSink = (): MarketEventSink & { events: number } => {
  const s = { events: 0, onMarketEvent: () => void s.events++, onFeedStatus: () => {}, onFeedError: () => {} };
  return s;
};

let n = 0;
const marketBuy = (qty: number): Order => ({
  exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'market', qty, tif: 'IOC', source: 'test', clientOrderId: `m${++n}`,
  status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0,
});

describe('simulated venue at its maximum rate', () => {
  it('manual drive: a market 10 s behind drops its backlog, and an order due by the target is answered within one step budget', async () => {
    expect(CORE_API_VERSION).toBeTruthy();
    const clock = new ManualClock(START);
    const { md, ex } = sim(clock, { drive: 'manual', events_per_second: MAX_RATE, latency_ms: 5, seed: 9 });
    const reports: ExecutionReport[] = [];
    await ex.start((r) => reports.push(r));
    const sink = countingSink();
    await md.start(['BTCUSDT'], sink);
    // The wall clock runs 10 s ahead of what the generator has produced: 10M events of backlog.
    clock.set(START + 10_000);
    const o = marketBuy(1000);
    ex.submit(o); // sent at the wall clock: due at START + 10_005
    const steps = md.advanceTo(clock.now() + 5, 20_000);
    expect(steps).toBe(20_000);
    // the market was too far behind to catch up: it skipped to the target, then answered the order
    expect(md.venue.droppedBacklog.count).toBe(1);
    expect(md.venue.generator!.nextTs()).toBeGreaterThanOrEqual(START + 10_005);
    expect(reports.map((r) => r.kind)[0]).toBe('ack');
    expect(reports.every((r) => r.clientOrderId === o.clientOrderId)).toBe(true);
    expect(reports.at(-1)!.kind).toBe('fill');
    expect(reports[0]!.ts).toBe(START + 10_005);
    // Not before it is due: an order sent now, due 5 ms later, waits for a target that reaches it.
    const o2 = marketBuy(1000);
    const due = md.venue.sendTime() + 5;
    ex.submit(o2);
    md.advanceTo(due - 1, 20_000);
    expect(reports.some((r) => r.clientOrderId === o2.clientOrderId)).toBe(false);
    md.advanceTo(due, 20_000);
    expect(reports.some((r) => r.clientOrderId === o2.clientOrderId && r.kind === 'ack')).toBe(true);
    await md.stop();
  });

  it('through the engine: every dropped backlog is counted in cwts_errors_total{component="sim:backlog_dropped"}', async () => {
    const clock = new ManualClock(START);
    const { md, ex } = sim(clock, { drive: 'manual', events_per_second: 100_000, latency_ms: 5, seed: 9 });
    const metrics = new MetricsRegistry({ processMetrics: false });
    const engine = new Engine({ clock, logger: silentLogger(), metrics, watchdog: false, venues: [{ name: 'sim', symbols: ['BTCUSDT'], marketData: md, execution: ex }] });
    await engine.start();
    const dropped = async () => Number(new RegExp(`^cwts_errors_total\\{component="sim:${BACKLOG_DROPPED_COMPONENT}"\\} (\\d+)$`, 'm').exec(await metrics.text())?.[1] ?? 0);
    md.advanceTo(START + 500, 2_000); // behind by less than MAX_MARKET_BACKLOG_MS: kept, worked off later
    expect(md.droppedBacklog.count).toBe(0);
    expect(await dropped()).toBe(0);
    // the host stalls three times, 5 s each: each time the backlog is too long to work off
    for (let k = 1; k <= 3; k++) {
      clock.set(START + k * 5_000);
      md.advanceTo(clock.now(), 2_000);
      expect(md.droppedBacklog.count).toBe(k);
      expect(await dropped()).toBe(k);
    }
    expect(md.droppedBacklog.ms).toBeGreaterThan(3 * 4_000);
    await engine.stop();
  });

  it('manual drive, keeping up: orders and market events still interleave in time order', async () => {
    const clock = new ManualClock(START);
    const { md, ex } = sim(clock, { drive: 'manual', events_per_second: MAX_RATE, latency_ms: 5, seed: 9 });
    const order: string[] = [];
    await ex.start((r) => order.push(`report@${r.ts}`));
    const sink: MarketEventSink = { onMarketEvent: (e) => order.push(`event@${e.ts}`), onFeedStatus: () => {}, onFeedError: () => {} };
    await md.start(['BTCUSDT'], sink);
    ex.submit(marketBuy(1000)); // due START + 5
    md.advanceTo(START + 10); // 10 ms at 1M/s = 10k events: within an unlimited budget
    const first = order.findIndex((x) => x.startsWith('report'));
    expect(first).toBeGreaterThan(0);
    expect(order.slice(0, first).every((x) => Number(x.split('@')[1]) <= START + 5)).toBe(true);
    expect(order.slice(first).filter((x) => x.startsWith('event')).every((x) => Number(x.split('@')[1]) >= START + 5)).toBe(true);
    await md.stop();
  });

  it('through the engine with the timers driving at 1M events/s: every paper order is acknowledged and its ack latency observed', async () => {
    // The wall clock is a ManualClock 60 s ahead of the venue's start: the sim can never catch up.
    const clock = new ManualClock(START);
    const { md, ex } = sim(clock, { drive: 'timers', events_per_second: MAX_RATE, latency_ms: 5, seed: 4 });
    const metrics = new MetricsRegistry({ processMetrics: false });
    const results: SubmitResult[] = [];
    const strategy: Strategy & { next: Parameters<StrategyContext['submit']>[0][] } = {
      name: 'probe',
      next: [],
      onSignal(_s: Signal, ctx: StrategyContext) {
        for (const i of this.next.splice(0)) results.push(ctx.submit(i));
      },
    };
    const engine = new Engine({ clock, logger: silentLogger(), metrics, strategy, watchdog: false, venues: [{ name: 'sim', symbols: ['BTCUSDT'], marketData: md, execution: ex }] });
    await engine.start();
    clock.set(START + 60_000);
    await vi.waitFor(() => expect(engine.books.get('sim', 'BTCUSDT')?.state).toBe('synced'), { timeout: 20_000, interval: 5 });
    for (let k = 0; k < 3; k++) {
      strategy.next.push({ exchange: 'sim', symbol: 'BTCUSDT', side: k % 2 ? 'sell' : 'buy', type: 'market', qty: 1000, tif: 'IOC', source: 'test' });
      engine.emit({ id: `p${k}`, detector: 't', kind: 'k', exchange: 'sim', symbol: 'BTCUSDT', ts: clock.now(), direction: 1, strength: 1, evidence: {} });
      expect(results[k]).toMatchObject({ accepted: true });
      const id = (results[k] as { clientOrderId: string }).clientOrderId;
      // Wall time passes (the paper latency is 5 ms); the venue's market stays a minute behind.
      clock.set(clock.now() + 10);
      await vi.waitFor(() => expect(engine.orders.get(id)?.status).toMatch(/^(filled|cancelled|expired|rejected)$/), { timeout: 20_000, interval: 5 });
    }
    expect(md.venue.droppedBacklog.count).toBeGreaterThan(0); // a minute behind: the backlog was dropped, the orders did not wait for it
    expect([...engine.orders.all()].map((o) => o.status)).toEqual(['filled', 'filled', 'filled']);
    const text = await metrics.text();
    expect(Number(/^cwts_order_ack_seconds_count\{exchange="sim"\} (\d+)$/m.exec(text)?.[1])).toBe(3);
    expect(engine.orders.openCount()).toBe(0);
    await engine.stop();
  }, 60_000);
});
