import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkOptions } from './zod-options.js';

const schema = z.strictObject({
  threshold: z.number().gt(0).optional(),
  window: z.int().gte(1).lte(100).optional(),
  mode: z.enum(['fast', 'safe']).optional(),
  name: z.string().min(1).optional(),
  per_symbol: z.record(z.string(), z.strictObject({ weight: z.number().lte(1).optional() })).optional(),
});

const lines = (v: unknown) => {
  const r = checkOptions(schema, v, 'detectors.acme');
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
};

describe('checkOptions', () => {
  it('returns the parsed value when valid', () => {
    expect(checkOptions(schema, { threshold: 2, mode: 'safe' }, 'p')).toEqual({ ok: true, value: { threshold: 2, mode: 'safe' } });
  });

  it('unknown keys: the likely key when it is a typo, else the known keys', () => {
    expect(lines({ treshold: 1 })).toEqual(['detectors.acme.treshold: unknown key (did you mean threshold?)']);
    expect(lines({ per_symbol: { BTCUSDT: { wieght: 1, zzz: 2 } } })).toEqual([
      'detectors.acme.per_symbol.BTCUSDT.wieght: unknown key (did you mean weight?)',
      'detectors.acme.per_symbol.BTCUSDT.zzz: unknown key (known: weight)',
    ]);
  });

  it('wrong types and ranges in the config wording, one issue per key path', () => {
    expect(lines({ threshold: 0, window: 1.5, mode: 'turbo', name: '', per_symbol: { ETHUSDT: 5, BTCUSDT: { weight: 2 } } }).sort()).toEqual([
      'detectors.acme.mode: expected one of "fast", "safe", got string "turbo"',
      'detectors.acme.name: must not be empty',
      'detectors.acme.per_symbol.BTCUSDT.weight: must be <= 1, got 2',
      'detectors.acme.per_symbol.ETHUSDT: expected a table, got number 5',
      'detectors.acme.threshold: must be > 0, got 0',
      'detectors.acme.window: expected an integer, got number 1.5',
    ]);
    expect(lines({ window: 0 })).toEqual(['detectors.acme.window: must be >= 1, got 0']);
    expect(lines([1])).toEqual(['detectors.acme: expected a table, got an array']);
  });

  it('quotes a non-bare key as TOML would', () => {
    expect(lines({ per_symbol: { 'binance:BTC/USDT': { weight: 3 } } })).toEqual(['detectors.acme.per_symbol."binance:BTC/USDT".weight: must be <= 1, got 3']);
  });
});
