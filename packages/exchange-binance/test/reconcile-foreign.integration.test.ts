/**
 * The engine's restart reconciliation over the Binance client, against the local server, for
 * orders working at the venue that the journal never saw. openOrders lists every working order
 * of the account: one of an id the engine issues is adopted (and asked about: its trades so far
 * are booked once each, by trade id), one placed by hand is left alone, and its trade since the
 * journal began (tradesSince) is booked as an adopted trade under the same client id. So what
 * the client reports of that order later is booked too: followed from the venue's filled
 * quantity without its earlier trades marked as booked, the first read of its trades after it
 * traded again (fromId 0: every trade it ever had) reported the one from a day before the
 * journal began, and the position moved by the account's history. Fills by polling (the stream
 * path books each new trade from its event and reads no trade list unless it counts a gap).
 */
import { SystemClock, type ExecutionReport, type Instrument, type MarketDataClient } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { Engine } from '@cwts/core/engine';
import { MetricsRegistry, silentLogger } from '@cwts/core/observability';
import { waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createBinanceVenue } from '../src/index.js';
import { FakeBinance } from './fake-binance.js';

const KEY = 'test-api-key-not-real';
const SECRET = 'test-api-secret-not-real';
const DAY_MS = 86_400_000;

describe('Binance reconciliation: an order working at the venue that the journal never saw', () => {
  let fake: FakeBinance | undefined;
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.stop('test');
    engine = undefined;
    await fake?.close();
    fake = undefined;
  });

  /** `lots` of order `orderId` trade, dated `at`; returns the trade id. */
  const trade = (f: FakeBinance, orderId: number, lots: number, at: number): number => {
    f.fill(orderId, `0.0000${lots}`);
    const t = f.wsApi.trades.at(-1)!;
    t.time = at;
    return t.id;
  };

  async function start(): Promise<Engine> {
    const clock = new SystemClock();
    const v = createBinanceVenue(
      { api_url: fake!.wsUrl, rest_url: fake!.restUrl, api_key: new Secret(KEY), api_secret: new Secret(SECRET), options: { poll_interval_ms: 50, fills: 'polling' } },
      { exchange: 'binance', clock, logger: silentLogger() },
    );
    const [i] = await v.marketData.loadInstruments(['BTCUSDT']);
    const marketData: MarketDataClient = { exchange: 'binance', loadInstruments: async (): Promise<Instrument[]> => [i!], start: async () => {}, stop: async () => {} };
    engine = new Engine({ clock, logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, onShutdown: 'keep', venues: [{ name: 'binance', symbols: ['BTCUSDT'], marketData, execution: v.execution }] });
    await engine.start();
    return engine;
  }
  /** The mismatches about orders and trades (the spot position, read from balances, is not this test's concern). */
  const found = (e: Engine) =>
    e.reconcileResult!.mismatches.filter((m) => m.kind !== 'position' && m.kind !== 'balance').map((m) => `${m.kind}: ${m.kind === 'unknown_trade' ? /trade (\S+)/.exec(m.detail)?.[1] : /(adopted|left alone)$/.exec(m.detail)?.[1]}`);
  /** Lets the client poll `n` more times (each poll reads every followed order once). */
  const polls = async (n: number) => {
    const reads = () => fake!.requests.filter((r) => r.method === 'GET' && r.path === '/api/v3/order').length;
    const target = reads() + n;
    await waitUntil(() => reads() >= target, `${n} more order reads`);
  };

  it('one placed by hand: its trade from before the journal began is never booked, after reconciliation, after polls, after it trades again', async () => {
    fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET });
    const now = Date.now();
    // placed by hand two days ago: 10 lots, 4 filled (one trade a day before we started, one while we were down)
    fake.restingOrder(5001, 'manual-1', now - 2 * DAY_MS);
    trade(fake, 5001, 2, now - DAY_MS);
    const tNew = trade(fake, 5001, 2, now - 1000);
    const e = await start();
    // reconciliation leaves the order alone and books its trade since the journal began as an adopted trade
    expect(found(e)).toEqual(['unknown_order: left alone', `unknown_trade: ${tNew}`]);
    expect(e.portfolio.qty('binance', 'BTCUSDT')).toBe(2);
    await polls(3);
    expect(e.portfolio.qty('binance', 'BTCUSDT')).toBe(2);
    // it trades again: a poll reads its trades, and reports only the new one
    const lists = fake.wsApi.tradeListRequests;
    trade(fake, 5001, 3, Date.now());
    await waitUntil(() => fake!.wsApi.tradeListRequests > lists, 'its trades read');
    await polls(3);
    // the adopted trade and the new one (the engine books the order's live trades onto the one it adopted); the old one would make 7
    expect(e.portfolio.qty('binance', 'BTCUSDT')).toBe(5);
    expect(e.orders.get('manual-1')).toMatchObject({ filledQty: 5 });
  });

  it('one of our ids: adopted and asked about, its trade from before the trade window is booked once, at once, and the polls book it no second time', async () => {
    fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET });
    const now = Date.now();
    // no journal: tradesSince reads from 10 minutes before now; the trade is an hour old
    fake.restingOrder(5002, 'cw-1', now - 2 * 3_600_000);
    trade(fake, 5002, 5, now - 3_600_000);
    const e = await start();
    expect(found(e)).toEqual(['unknown_order: adopted']);
    expect(e.orders.get('cw-1')).toMatchObject({ status: 'partially_filled', filledQty: 5 });
    expect(e.portfolio.qty('binance', 'BTCUSDT')).toBe(5);
    await polls(3);
    expect(e.portfolio.qty('binance', 'BTCUSDT')).toBe(5);
    trade(fake, 5002, 5, Date.now());
    await waitUntil(() => e.orders.get('cw-1')?.status === 'filled', 'the order filled');
    expect(e.orders.get('cw-1')).toMatchObject({ status: 'filled', filledQty: 10 });
    expect(e.portfolio.qty('binance', 'BTCUSDT')).toBe(10);
  });

  it('one first seen on the user data stream: a read of its trades after a gap reports the missed trade, none from before it was seen', async () => {
    fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET });
    const f = fake;
    const now = Date.now();
    // placed by hand: 4 lots filled before this process started
    f.restingOrder(5003, 'manual-2', now - 2 * DAY_MS);
    trade(f, 5003, 2, now - DAY_MS);
    trade(f, 5003, 2, now - 1000);
    const v = createBinanceVenue(
      { api_url: f.wsUrl, rest_url: f.restUrl, api_key: new Secret(KEY), api_secret: new Secret(SECRET), options: { poll_interval_ms: 50, reconnect_initial_ms: 20, reconnect_max_ms: 100, order_entry: 'rest' } },
      { exchange: 'binance', clock: new SystemClock(), logger: silentLogger() },
    );
    await v.marketData.loadInstruments(['BTCUSDT']);
    const reports: ExecutionReport[] = [];
    await v.execution.start((r) => reports.push(r));
    try {
      const ex = v.execution;
      await waitUntil(() => ex.userStream?.up === true, 'stream up');
      const fills = () => reports.filter((r) => r.kind === 'fill').map((r) => [r.tradeId, r.lastQty]);
      // it trades: the event's trade is reported, and the order followed from the 4 lots before it
      const t3 = trade(f, 5003, 3, Date.now());
      await waitUntil(() => fills().length === 1, 'the first trade');
      // it trades while the stream is down; the next event counts a trade not seen: its trades are read
      f.wsApi.refuse = true;
      f.wsApi.dropSessions();
      await waitUntil(() => ex.userStream?.up === false, 'stream seen down');
      const t4 = trade(f, 5003, 1, Date.now());
      f.wsApi.refuse = false;
      await waitUntil(() => ex.userStream?.up === true, 'stream up again');
      const t5 = trade(f, 5003, 1, Date.now());
      await waitUntil(() => fills().length >= 3, 'the missed trade read');
      expect(ex.streamGaps).toBeGreaterThan(0);
      // the read lists every trade the order had: the two from before it was seen are not reported
      expect(fills()).toEqual([[String(t3), 3], [String(t5), 1], [String(t4), 1]]);
    } finally {
      await v.execution.stop();
    }
  });
});
