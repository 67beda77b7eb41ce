/**
 * The risk layer counts limits, equity, the drawdown and VaR in one account currency and has no
 * FX conversion: a deployment that trades (or holds a restored position on) an instrument quoted
 * in another currency is refused at start, with the instrument, its quote and the account
 * currency named. ETH/BTC beside BTC/USDT once had its BTC PnL added as USDT: a loss of 0.1 BTC
 * (6000 USDT) on 10 000 USDT read as 0.1 USDT, and the max_drawdown halt never fired.
 */
import { describe, expect, it } from 'vitest';

import { ManualClock } from '../contracts/clock.js';
import type { RiskConfig } from '../config/types.js';
import { defineInstrument, type Instrument } from '../domain/instrument.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from '../engine/engine.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import { checkAccountCurrency } from './account-currency.js';
import { RiskManager } from './manager.js';

const pair = (exchange: string, symbol: string, base: string, quote: string): Instrument => defineInstrument({ exchange, symbol, base, quote, tickSize: '0.01', lotSize: '0.001' });
const BTCUSDT = pair('v', 'BTCUSDT', 'BTC', 'USDT');
const ETHBTC = defineInstrument({ exchange: 'v', symbol: 'ETHBTC', base: 'ETH', quote: 'BTC', tickSize: '0.00001', lotSize: '0.001' });
const RISK: RiskConfig = { max_position: 100_000, max_drawdown: 0.1, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 5000, orders_per_second: 1000 };

function engineWith(venues: { name: string; instruments: Instrument[]; canTrade?: boolean }[], accountCurrency?: string) {
  const metrics = new MetricsRegistry({ processMetrics: false });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 10_000, timers: false, ...(accountCurrency !== undefined ? { accountCurrency } : {}) });
  const engine = new Engine({
    clock: new ManualClock(1_000_000), logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, onShutdown: 'keep',
    venues: venues.map((v) => {
      const venue = new ScriptedVenue(v.name, v.instruments, v.canTrade === false ? { canTrade: false, reason: 'no keys' } : { canTrade: true });
      return { name: v.name, symbols: v.instruments.map((i) => i.symbol), marketData: venue, execution: venue };
    }),
  });
  return { engine, risk };
}

describe('instruments quoted in another currency than the account', () => {
  it('trading ETH/BTC beside BTC/USDT refuses the start, naming the instrument, its quote and the account currency', async () => {
    const { engine } = engineWith([{ name: 'v', instruments: [BTCUSDT, ETHBTC] }]);
    try {
      await expect(engine.start()).rejects.toThrow(/v:ETHBTC \(traded\) is quoted in BTC, not in the account currency USDT \(the quote of v:BTCUSDT/);
      expect(engine.started).toBe(false);
    } finally {
      await engine.stop('test');
    }
  });

  it('an explicit account currency is held to as well, and named as the source', async () => {
    const { engine } = engineWith([{ name: 'v', instruments: [BTCUSDT] }], 'EUR');
    try {
      await expect(engine.start()).rejects.toThrow(/v:BTCUSDT \(traded\) is quoted in USDT, not in the account currency EUR \(RiskManagerOptions.accountCurrency\)/);
    } finally {
      await engine.stop('test');
    }
  });

  it('a venue that cannot trade (market data only) may list any quote; USD and the dollar stablecoins count as one', async () => {
    const { engine, risk } = engineWith([
      { name: 'binance', instruments: [pair('binance', 'BTCUSDT', 'BTC', 'USDT')] },
      { name: 'kraken', instruments: [pair('kraken', 'BTC/USD', 'BTC', 'USD'), pair('kraken', 'ETH/USDC', 'ETH', 'USDC')] },
      { name: 'data', instruments: [pair('data', 'ETHBTC', 'ETH', 'BTC'), pair('data', 'BTCEUR', 'BTC', 'EUR')], canTrade: false },
    ]);
    try {
      await engine.start();
      expect(engine.started).toBe(true);
      expect(risk.accountCurrency).toBe('USDT');
      expect(risk.status().accountCurrency).toBe('USDT');
    } finally {
      await engine.stop('test');
    }
  });

  it('a position restored on a foreign-quoted instrument is refused like a traded one', () => {
    expect(() => checkAccountCurrency(undefined, [BTCUSDT], [ETHBTC])).toThrow(/v:ETHBTC \(a position restored from the journal\) is quoted in BTC, not in the account currency USDT/);
    // with nothing traded, the first held instrument sets it
    expect(checkAccountCurrency(undefined, [], [ETHBTC])).toMatchObject({ currency: 'BTC' });
    expect(checkAccountCurrency(undefined, [], [])).toBeUndefined();
  });
});
