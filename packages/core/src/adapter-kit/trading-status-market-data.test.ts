import { afterEach, describe, expect, it, vi } from 'vitest';
import { defineInstrument, type Instrument, type InstrumentTrading } from '../index.js';
import { TimerSet } from './timers.js';
import { TradingStatusMarketData } from './trading-status-market-data.js';

const pair = (trading: InstrumentTrading): Instrument => ({ ...defineInstrument({ exchange: 'x', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' }), trading, venueStatus: trading === 'open' ? 'TRADING' : 'HALT' });

/** A venue whose instruments read answers with `status`, counting the reads. */
class Venue extends TradingStatusMarketData {
  status: InstrumentTrading = 'open';
  reads: string[][] = [];
  constructor(private readonly refreshMs: number) {
    super({ exchange: 'x', now: () => 0 });
  }
  protected async reloadInstruments(symbols: readonly string[]): Promise<Instrument[]> {
    this.reads.push([...symbols]);
    return [pair(this.status)];
  }
  protected get instrumentRefreshMs(): number {
    return this.refreshMs;
  }
  load(): void {
    this.trading.note([pair(this.status)]);
  }
  startWithFeed(timers: TimerSet, symbols: string[]): void {
    this.startTradingStatusRefresh(timers, symbols);
  }
}

describe('TradingStatusMarketData: the trading status methods every venue shares', () => {
  afterEach(() => vi.useRealTimers());

  it('keepTradingStatusFresh re-reads every instrument_refresh_ms until stopped (the feed on an intake worker)', async () => {
    vi.useFakeTimers();
    const v = new Venue(1000);
    v.load();
    expect(v.tradingStatus('BTCUSDT')).toBe('open');
    const stop = v.keepTradingStatusFresh(['BTCUSDT']);
    v.status = 'closed';
    await vi.advanceTimersByTimeAsync(999);
    expect(v.reads).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(v.reads).toEqual([['BTCUSDT']]);
    expect(v.tradingStatus('BTCUSDT')).toBe('closed');
    stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(v.reads).toHaveLength(1);
    // a refusal still re-reads at once after the timer stopped (the same reload)
    v.status = 'open';
    v.refreshTradingStatusSoon();
    await vi.advanceTimersByTimeAsync(0);
    expect(v.tradingStatus('BTCUSDT')).toBe('open');
  });

  it("with the feed: the re-read runs on the feed's timers and stops with them; refreshTradingStatus reads now", async () => {
    vi.useFakeTimers();
    const v = new Venue(500);
    const timers = new TimerSet();
    v.startWithFeed(timers, ['BTCUSDT']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(v.reads).toHaveLength(2);
    timers.close();
    await vi.advanceTimersByTimeAsync(1000);
    expect(v.reads).toHaveLength(2);
    v.status = 'post_only';
    await v.refreshTradingStatus();
    expect(v.reads).toHaveLength(3);
    expect(v.tradingStatus('BTCUSDT')).toBe('post_only');
  });

  it('instrument_refresh_ms = 0 starts no timer (an intake worker\'s copy), yet a refresh on demand still reads', async () => {
    vi.useFakeTimers();
    const v = new Venue(0);
    const stop = v.keepTradingStatusFresh(['BTCUSDT']);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(v.reads).toEqual([]);
    await v.refreshTradingStatus();
    expect(v.reads).toHaveLength(1);
    stop();
  });
});
