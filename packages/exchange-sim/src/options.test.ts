import { describe, expect, it } from 'vitest';
import { DEFAULT_SIM_OPTIONS, resolveSimOptions, SimOptionsError, simInstrument, simStartPrice, toPlainDecimal, validateSimOptions } from './options.js';
import { plugin } from './plugin.js';

describe('validateSimOptions', () => {
  it('accepts the documented keys', () => {
    const ok = {
      seed: 42, events_per_second: 500, whale_probability: 0.001, cascade_probability: 0.0001, whale_multiplier: 40,
      levels: 25, level_spacing_bps: 1,
      regimes: { calm: { volatility_bps: 0.5, mean_duration_s: 120, spread_ticks: 1 }, volatile: { volatility_bps: 20 } },
      instruments: { SOLUSDT: { tick_size: '0.001', lot_size: 0.01, min_notional: '5', base: 'SOL', quote: 'USDT' } },
      start_price: { SOLUSDT: 150, BTCUSDT: '65000.5' },
      latency_ms: 3, maker_fee_bps: 1, taker_fee_bps: 4.5,
      replay_file: ['a.csv', 'b.csv'], replay_format: 'tardis', replay_speed: 0, drive: 'manual',
    };
    expect(validateSimOptions(ok, 'sim.options')).toEqual([]);
    expect(validateSimOptions(undefined, 'sim.options')).toEqual([]);
    expect(plugin.validateOptions(ok, 'sim.options')).toEqual([]);
  });

  it('names the key path of every unknown key and wrong type', () => {
    const problems = validateSimOptions(
      {
        sede: 1, seed: 1.5, events_per_second: 0, whale_probability: 2, levels: 'many', latency_ms: -1, taker_fee_bps: 'x',
        regimes: { calm: { volatility: 1 }, stormy: {} }, instruments: { BTCUSDT: { tick_size: '0', lots: 1 }, ETHUSDT: 5 },
        start_price: { BTCUSDT: 'abc' }, replay_file: 3, replay_format: 'csv', replay_speed: -2, drive: 'auto',
      },
      'sim.options',
    );
    // In file order, one per key path.
    expect(problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'sim.options.sede: unknown key (did you mean seed?)',
      'sim.options.seed: expected an integer, got number 1.5',
      'sim.options.events_per_second: must be > 0, got 0',
      'sim.options.whale_probability: must be <= 1, got 2',
      'sim.options.levels: expected an integer, got string "many"',
      'sim.options.latency_ms: must be >= 0, got -1',
      'sim.options.taker_fee_bps: expected a number of basis points, got string "x"',
      'sim.options.regimes.calm.volatility: unknown key (known: volatility_bps, mean_duration_s, spread_ticks)',
      'sim.options.regimes.stormy: unknown key (known: calm, normal, volatile)',
      'sim.options.instruments.BTCUSDT.tick_size: must be > 0, got 0',
      'sim.options.instruments.BTCUSDT.lots: unknown key (known: tick_size, lot_size, min_notional, base, quote)',
      'sim.options.instruments.ETHUSDT: expected a table, got number 5',
      'sim.options.start_price.BTCUSDT: expected a decimal number (string or number), got string "abc"',
      'sim.options.replay_file: expected a file path or a non-empty list of file paths, got number 3',
      'sim.options.replay_format: expected one of "jsonl", "tardis", got string "csv"',
      'sim.options.replay_speed: must be >= 0, got -2',
      'sim.options.drive: expected one of "timers", "manual", got string "auto"',
    ]);
    expect(validateSimOptions([], 'x.options')).toEqual([{ path: 'x.options', message: 'expected a table, got an array' }]);
  });

  it('resolves defaults and throws every problem at once', () => {
    const o = resolveSimOptions({ replay_file: 'rec.jsonl', maker_fee_bps: 0.75 });
    expect(o).toMatchObject({ seed: DEFAULT_SIM_OPTIONS.seed, eventsPerSecond: 200, latencyMs: 5, makerFeeBps: '0.75', takerFeeBps: '5', replayFile: ['rec.jsonl'], replaySpeed: 1, drive: 'timers', levels: 20 });
    expect(o.regimes.volatile.volatilityBps).toBeGreaterThan(o.regimes.calm.volatilityBps);
    expect(() => resolveSimOptions({ a: 1, b: 2 }, 'sim.options')).toThrowError(SimOptionsError);
    try {
      resolveSimOptions({ a: 1, b: 2 }, 'sim.options');
    } catch (e) {
      expect((e as SimOptionsError).problems.map((p) => p.path)).toEqual(['sim.options.a', 'sim.options.b']);
    }
  });

  it('turns numbers into exact decimal strings', () => {
    expect(toPlainDecimal(0.01)).toBe('0.01');
    expect(toPlainDecimal(1e-7)).toBe('0.0000001');
    expect(toPlainDecimal('2.50')).toBe('2.5');
    expect(toPlainDecimal(1.5e3)).toBe('1500');
    expect(toPlainDecimal('-0.5')).toBe('-0.5');
    expect(toPlainDecimal('abc')).toBeUndefined();
  });

  it('refuses exponents no price or quantity has, instead of throwing (fuzzed tardis amount)', () => {
    expect(toPlainDecimal('99999999e99919999999999999')).toBeUndefined();
    expect(toPlainDecimal('1e-999999999')).toBeUndefined();
    expect(toPlainDecimal('1e400')).toBe('1' + '0'.repeat(400));
  });
});

describe('sim symbols named like an Object member', () => {
  it('find no built-in instrument or start price: the defaults apply, never an Object.prototype member', () => {
    const opts = resolveSimOptions({});
    for (const symbol of ['constructor', 'toString', 'valueOf']) {
      expect(simStartPrice(symbol, opts), symbol).toBe(simStartPrice('XYZUSDT', opts));
      expect(simInstrument('sim', symbol, opts), symbol).toMatchObject({ tickSize: '0.01', lotSize: '0.001' });
    }
    expect(simStartPrice('BTCUSDT', opts)).toBe('60000');
  });
});

