import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ManualClock,
  TOKENS,
  type Clock,
  type ExecutionReport,
  type FeedStatusEvent,
  type MarketEvent,
  type MarketEventSink,
  type Order,
} from '@cwts/core';
import { CwtsContainer } from '@cwts/core/di';
import { Engine } from '@cwts/core/engine';
import { MetricsRegistry, silentLogger } from '@cwts/core/observability';
import { plugin } from './plugin.js';
import { bookLevels } from './generator.js';
import { resolveSimOptions } from './options.js';
import { SimExecutionClient, SimMarketDataClient, SimVenue } from './venue.js';

const START = 1_700_000_000_000;

function collector() {
  const events: MarketEvent[] = [];
  const statuses: FeedStatusEvent[] = [];
  const errors: string[] = [];
  let ended = 0;
  const sink: MarketEventSink = {
    onMarketEvent: (e) => events.push(e),
    onFeedStatus: (s) => statuses.push(s),
    onFeedError: (c, m) => errors.push(`${c}: ${m}`),
    onEndOfStream: () => ended++,
  };
  return { sink, events, statuses, errors, ended: () => ended };
}

function registerSim(clock: Clock, options: Record<string, unknown>, symbols = ['BTCUSDT', 'ETHUSDT']) {
  const root = CwtsContainer.createRoot();
  root.registerValue(TOKENS.Clock, clock, 'core');
  const child = root.createChild('sim');
  child.registerValue(TOKENS.VenueName, 'sim', 'core');
  plugin.register({ registrar: child.as(plugin.name), instanceName: 'sim', config: { name: 'sim', plugin: plugin.name, symbols, options } });
  return {
    md: child.resolve(TOKENS.MarketDataClient) as SimMarketDataClient,
    ex: child.resolve(TOKENS.ExecutionClient) as SimExecutionClient,
  };
}

let n = 0;
const order = (o: Partial<Order> & Pick<Order, 'side' | 'type' | 'qty' | 'tif'>): Order => ({
  exchange: 'sim', symbol: 'BTCUSDT', source: 'test', clientOrderId: `v${++n}`, status: 'pending_new',
  filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0, ...o,
});

afterEach(() => {
  vi.useRealTimers();
});

describe('plugin manifest', () => {
  it('is an exchange plugin declaring the core API it needs (1.4), and registers both clients on one venue', () => {
    expect(plugin).toMatchObject({ name: '@cwts/exchange-sim', kind: 'exchange', coreApi: '1.4' });
    expect(typeof plugin.validateOptions).toBe('function');
    const { md, ex } = registerSim(new ManualClock(START), { drive: 'manual' });
    expect(md).toBeInstanceOf(SimMarketDataClient);
    expect(ex).toBeInstanceOf(SimExecutionClient);
    expect(md.venue).toBe(ex.venue);
    expect(md.exchange).toBe('sim');
    expect(ex.simulated).toBe(true);
    expect(ex.availability()).toEqual({ canTrade: true });
  });

  it('rejects invalid options at registration with key paths', () => {
    expect(() => registerSim(new ManualClock(), { sede: 1, levels: 'many' })).toThrowError(/sim\.options\.sede: unknown key[\s\S]*sim\.options\.levels: expected an integer/);
  });

  it('loads instruments for the configured symbols', async () => {
    const { md } = registerSim(new ManualClock(START), { drive: 'manual' });
    const inst = await md.loadInstruments(['BTCUSDT', 'ETHUSDT']);
    expect(inst.map((i) => [i.exchange, i.symbol, i.tickSize, i.lotSize])).toEqual([
      ['sim', 'BTCUSDT', '0.01', '0.00001'],
      ['sim', 'ETHUSDT', '0.01', '0.0001'],
    ]);
  });
});

describe('synthetic venue, manual drive', () => {
  it('respects the paper latency and fills market orders against the generated book', async () => {
    const clock = new ManualClock(START);
    const { md, ex } = registerSim(clock, { drive: 'manual', latency_ms: 7, events_per_second: 50, seed: 3 });
    const c = collector();
    const reports: ExecutionReport[] = [];
    await ex.start((r) => reports.push(r));
    await md.start(['BTCUSDT'], c.sink);
    expect(c.events[0]!.type).toBe('book_snapshot');
    expect(c.statuses[0]).toMatchObject({ symbol: 'BTCUSDT', state: 'synced' });

    const book = md.venue.book('BTCUSDT')!;
    const asks = bookLevels(book, 'ask', 2);
    const qty = asks[0]!.qty + Math.floor(asks[1]!.qty / 2);
    ex.submit(order({ side: 'buy', type: 'market', qty, tif: 'IOC' }));
    md.advanceTo(START + 6);
    expect(reports).toEqual([]);
    const before = c.events.length;
    md.advanceTo(START + 7);
    expect(reports.map((r) => [r.kind, r.ts])).toEqual([['ack', START + 7], ['fill', START + 7], ['fill', START + 7]]);
    expect(reports[1]).toMatchObject({ lastPrice: asks[0]!.price, lastQty: asks[0]!.qty, liquidity: 'taker' });
    expect(reports[2]).toMatchObject({ lastPrice: asks[1]!.price, leavesQty: 0, cumQty: qty });
    const fee = (p: number, q: number) => (BigInt(p) * BigInt(q) * 5n + 9_999n) / 10_000n; // tick and lot mantissas are 1
    expect(reports[1]!.feeAtoms).toBe(fee(asks[0]!.price, asks[0]!.qty));
    expect(reports[2]!.feeAtoms).toBe(fee(asks[1]!.price, qty - asks[0]!.qty));
    // the taken liquidity left the venue book and was published as a delta
    const delta = c.events[before] as Extract<MarketEvent, { type: 'book_delta' }>;
    expect(delta).toMatchObject({ type: 'book_delta', ts: START + 7 });
    expect(delta.asks).toEqual([{ price: asks[0]!.price, qty: 0 }, { price: asks[1]!.price, qty: asks[1]!.qty - (qty - asks[0]!.qty) }]);
    await md.stop();
  });

  it('fills a resting limit later, as the market moves through it, deterministically', async () => {
    const runOnce = async () => {
      const clock = new ManualClock(START);
      const { md, ex } = registerSim(clock, { drive: 'manual', seed: 21 });
      const c = collector();
      const reports: ExecutionReport[] = [];
      await ex.start((r) => reports.push(r));
      await md.start(['BTCUSDT'], c.sink);
      const bid = md.venue.book('BTCUSDT')!.bestBid()!;
      const o = order({ side: 'buy', type: 'limit', qty: 500, tif: 'GTC', price: bid - 2000, clientOrderId: 'rest-1' });
      ex.submit(o);
      md.advanceTo(START + 10);
      expect((await ex.openOrders()).map((x) => x.clientOrderId)).toEqual([o.clientOrderId]);
      for (let t = START; t <= START + 600_000 && (await ex.openOrders()).length > 0; t += 1000) {
        clock.set(t);
        md.advanceTo(t);
      }
      await md.stop();
      return reports;
    };
    const reports = await runOnce();
    const fills = reports.filter((r) => r.kind === 'fill');
    expect(fills.length).toBeGreaterThan(0);
    expect(fills.every((f) => f.liquidity === 'maker')).toBe(true);
    expect(fills.at(-1)).toMatchObject({ leavesQty: 0, cumQty: 500 });
    expect(fills[0]!.ts).toBeGreaterThan(START + 10);
    expect(JSON.stringify(await runOnce(), (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))).toBe(
      JSON.stringify(reports, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)),
    );
  });
});

describe('synthetic venue, timers', () => {
  it('generates on timers at events_per_second from the clock, and stop() leaves no timer', async () => {
    vi.useFakeTimers({ now: START });
    const clock: Clock = { now: () => Date.now(), monoNs: () => BigInt(Date.now()) * 1_000_000n };
    const { md, ex } = registerSim(clock, { events_per_second: 100, seed: 1 });
    const c = collector();
    const reports: ExecutionReport[] = [];
    await ex.start((r) => reports.push(r));
    const timersBefore = vi.getTimerCount();
    await md.start(['BTCUSDT', 'ETHUSDT'], c.sink);
    expect(vi.getTimerCount()).toBeGreaterThan(timersBefore);
    vi.advanceTimersByTime(1000);
    const steps = c.events.filter((e) => e.ts > START);
    const stepTs = new Set(steps.map((e) => `${e.symbol}@${e.ts}`));
    expect(stepTs.size).toBe(200); // 100 steps per second per symbol
    ex.submit(order({ side: 'sell', type: 'market', qty: 10, tif: 'IOC' }));
    vi.advanceTimersByTime(20);
    expect(reports.map((r) => r.kind)).toEqual(['ack', 'fill']);
    expect(reports[0]!.ts - (START + 1000)).toBe(5);
    await md.stop();
    expect(md.venue.activeTimers()).toBe(0);
    expect(vi.getTimerCount()).toBe(timersBefore);
    const count = c.events.length;
    vi.advanceTimersByTime(1000);
    expect(c.events.length).toBe(count);
  });
});

describe('sim venue behind the engine', () => {
  it('on_shutdown = cancel: a resting paper order is cancelled at stop, its cancel processed like any other', async () => {
    vi.useFakeTimers({ now: START });
    const clock: Clock = { now: () => Date.now(), monoNs: () => BigInt(Date.now()) * 1_000_000n };
    const sim = new SimVenue({ exchange: 'sim', clock, options: resolveSimOptions({ latency_ms: 1, events_per_second: 50, seed: 1 }), symbols: ['BTCUSDT'] });
    const engine = new Engine({
      clock, logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, onShutdown: 'cancel',
      venues: [{ name: 'sim', symbols: ['BTCUSDT'], marketData: sim.marketData, execution: sim.execution }],
    });
    await engine.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(engine.books.get('sim', 'BTCUSDT')?.state).toBe('synced');
    const bid = engine.book('sim', 'BTCUSDT')!.bestBid()!;
    const res = engine.submit({ exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: Math.floor(bid / 2), qty: 1000, tif: 'GTC', source: 'test' }); // 0.01 BTC: above the 5 USDT minimum
    expect(res.accepted, res.message).toBe(true);
    const id = res.clientOrderId!;
    await vi.advanceTimersByTimeAsync(100);
    expect(engine.orders.get(id)?.status).toBe('open');

    const stopped = engine.stop('test');
    try {
      // well inside the 5 s the engine would wait for it
      await vi.advanceTimersByTimeAsync(100);
      expect(engine.orders.get(id)?.status).toBe('cancelled');
      expect(await sim.execution.openOrders()).toEqual([]);
    } finally {
      await vi.advanceTimersByTimeAsync(6000);
      await stopped;
    }
    expect(sim.activeTimers()).toBe(0);
  });
});

describe('SimVenue API', () => {
  it('exposes the generator ground truth', async () => {
    const clock = new ManualClock(START);
    const venue = new SimVenue({ exchange: 'sim', clock, options: resolveSimOptions({ drive: 'manual', whale_probability: 0.01 }), symbols: ['ETHUSDT'] });
    venue.start([], collector().sink);
    venue.advanceTo(START + 10_000);
    expect(venue.episodes.length).toBeGreaterThan(0);
    expect(venue.episodes.every((e) => e.symbol === 'ETHUSDT')).toBe(true);
    venue.stop();
  });
});

describe('sim venue with a regime quoted wider than a low start price', () => {
  // a $0.20 coin on the 0.01 grid (20 ticks), normal regime (the first) quoted 60 ticks wide
  const OPTIONS = { seed: 3, drive: 'manual', latency_ms: 5, start_price: { XUSDT: '0.2' }, regimes: { normal: { spread_ticks: 60 } } };

  it('a paper market sell never fills at a non-positive price; the raised start price is logged at warn', () => {
    const clock = new ManualClock(START);
    const logger = silentLogger();
    const warn = vi.spyOn(logger, 'warn');
    const venue = new SimVenue({ exchange: 'sim', clock, logger, options: resolveSimOptions(OPTIONS), symbols: ['XUSDT'] });
    const reports: ExecutionReport[] = [];
    void venue.execution.start((r) => reports.push(r));
    const { sink } = collector();
    venue.start(['XUSDT'], sink);
    venue.advanceTo(START);
    const sell: Order = {
      exchange: 'sim', symbol: 'XUSDT', side: 'sell', type: 'market', qty: 1000, tif: 'IOC', source: 't', clientOrderId: 'r1',
      status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0,
    };
    venue.execution.submit(sell);
    venue.advanceTo(START + 10);
    const fills = reports.filter((r) => r.kind === 'fill');
    expect(fills.length).toBeGreaterThan(0);
    expect(fills.filter((f) => f.lastPrice <= 0).map((f) => f.lastPrice)).toEqual([]);
    expect(fills.filter((f) => f.feeAtoms <= 0n)).toEqual([]); // taker fee 5 bps: a negative notional made it a rebate
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toEqual({ exchange: 'sim', symbol: 'XUSDT' });
    expect(String(warn.mock.calls[0]![1])).toContain('the market starts at 2.4');
    venue.stop();
  });
});
