import { describe, expect, it } from 'vitest';
import { defineInstrument } from '../domain/instrument.js';
import { ManualClock } from '../contracts/clock.js';
import { addDecimalStrings, balanceToLots, type VenuePositionView } from './polled-execution.js';
import { StubVenue, polledClient } from './polled-execution.fixture.js';

describe('polled execution helpers', () => {
  it('adds decimal strings exactly (free + locked)', () => {
    expect(addDecimalStrings('0.1', '0.2')).toBe('0.3');
    expect(addDecimalStrings('1.50000000', '0')).toBe('1.50000000');
    expect(addDecimalStrings('12', '0.005')).toBe('12.005');
    expect(addDecimalStrings('-0.5', '0.25')).toBe('-0.25');
    expect(addDecimalStrings('9007199254740993', '0.000000001')).toBe('9007199254740993.000000001');
  });

  it('turns a balance into whole lots, rounding toward zero', () => {
    const i = defineInstrument({ exchange: 'x', symbol: 'BTC/USD', base: 'BTC', quote: 'USD', tickSize: '0.1', lotSize: '0.0005' });
    expect(balanceToLots(i, '1.50000000')).toBe(3000);
    expect(balanceToLots(i, '0.00049999')).toBe(0);
    expect(balanceToLots(i, '0.0015')).toBe(3);
  });
});

describe('PolledExecutionClient positions', () => {
  const BTC = defineInstrument({ exchange: 'x', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.1', lotSize: '0.001' });
  const ETH = defineInstrument({ exchange: 'x', symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', tickSize: '0.01', lotSize: '0.01' });
  const instruments = new Map([[BTC.symbol, BTC], [ETH.symbol, ETH]]);

  async function client(positions?: VenuePositionView[]) {
    const asked: string[][] = [];
    const driver = new StubVenue();
    driver.balances = [{ asset: 'BTC', total: '2.5' }, { asset: 'USDT', total: '100' }];
    if (positions) {
      driver.fetchPositions = async (symbols) => {
        asked.push([...symbols]);
        return positions;
      };
    }
    const c = polledClient(driver, {
      exchange: 'x', clock: new ManualClock(0), orderLimit: { limit: 10, intervalMs: 1000 }, pollIntervalMs: 60_000, unknownOrderGraceMs: 1000,
      instrument: (s) => instruments.get(s), symbols: () => [...instruments.keys()],
    });
    await c.start(() => {});
    return { c, asked };
  }

  it('spot (no fetchPositions): the base asset balance in whole lots', async () => {
    const { c } = await client();
    expect(await c.positions(['BTCUSDT', 'ETHUSDT', 'NOPE'])).toEqual([{ symbol: 'BTCUSDT', qty: 2500 }, { symbol: 'ETHUSDT', qty: 0 }]);
    await c.stop();
  });

  it('derivatives: signed venue positions in lots, legs of one symbol netted, absent symbols flat', async () => {
    const { c, asked } = await client([
      { symbol: 'BTCUSDT', qty: '0.250' },
      { symbol: 'BTCUSDT', qty: '-0.105' },
      { symbol: 'SOLUSDT', qty: '7' },
    ]);
    expect(await c.positions(['BTCUSDT', 'ETHUSDT'])).toEqual([{ symbol: 'BTCUSDT', qty: 145 }, { symbol: 'ETHUSDT', qty: 0 }]);
    expect(asked).toEqual([['BTCUSDT', 'ETHUSDT']]);
    await c.stop();
  });
});
