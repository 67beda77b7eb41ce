/**
 * `[<venue>.options]` of the simulated venue: validation (key paths in every message) and
 * resolution to a fully defaulted, typed object.
 */
import { defineInstrument, parseDecimal, type Instrument } from '@cwts/core';
import { checkOptions, describeOptionValue } from '@cwts/core/config';
import { z } from 'zod';

export type RegimeName = 'calm' | 'normal' | 'volatile';
export const REGIME_NAMES: readonly RegimeName[] = ['calm', 'normal', 'volatile'];

export interface RegimeParams {
  /** Standard deviation of mid returns per second, basis points. */
  volatilityBps: number;
  /** Expected time spent in the regime before switching, seconds. */
  meanDurationS: number;
  /** Quoted spread (best ask - best bid) in ticks while in this regime. */
  spreadTicks: number;
}

export interface InstrumentOverride {
  tickSize?: string;
  lotSize?: string;
  minNotional?: string;
  base?: string;
  quote?: string;
}

export type ReplayFormat = 'jsonl' | 'tardis';
export type DriveMode = 'timers' | 'manual';

export interface SimOptions {
  seed: number;
  eventsPerSecond: number;
  whaleProbability: number;
  cascadeProbability: number;
  whaleMultiplier: number;
  levels: number;
  levelSpacingBps: number;
  regimes: Record<RegimeName, RegimeParams>;
  instruments: Record<string, InstrumentOverride>;
  /** Decimal strings per symbol. */
  startPrice: Record<string, string>;
  latencyMs: number;
  /** Decimal strings (exact fee arithmetic). */
  makerFeeBps: string;
  takerFeeBps: string;
  replayFile: string[] | undefined;
  replayFormat: ReplayFormat | undefined;
  replaySpeed: number;
  drive: DriveMode;
}

export interface OptionProblem {
  path: string;
  message: string;
}

export const DEFAULT_REGIMES: Readonly<Record<RegimeName, RegimeParams>> = Object.freeze({
  calm: { volatilityBps: 1, meanDurationS: 60, spreadTicks: 1 },
  normal: { volatilityBps: 3, meanDurationS: 45, spreadTicks: 2 },
  volatile: { volatilityBps: 10, meanDurationS: 15, spreadTicks: 4 },
});

export const DEFAULT_SIM_OPTIONS: Readonly<Omit<SimOptions, 'regimes' | 'instruments' | 'startPrice'>> = Object.freeze({
  seed: 1,
  eventsPerSecond: 200,
  whaleProbability: 0.0005,
  cascadeProbability: 0.0001,
  whaleMultiplier: 30,
  levels: 20,
  levelSpacingBps: 0.5,
  latencyMs: 5,
  makerFeeBps: '2',
  takerFeeBps: '5',
  replayFile: undefined,
  replayFormat: undefined,
  replaySpeed: 1,
  drive: 'timers',
});

const DEFAULT_INSTRUMENTS: Record<string, Required<InstrumentOverride>> = {
  BTCUSDT: { tickSize: '0.01', lotSize: '0.00001', minNotional: '5', base: 'BTC', quote: 'USDT' },
  ETHUSDT: { tickSize: '0.01', lotSize: '0.0001', minNotional: '5', base: 'ETH', quote: 'USDT' },
};
const DEFAULT_START_PRICES: Record<string, string> = { BTCUSDT: '60000', ETHUSDT: '3000' };
const OTHER_START_PRICE = '100';

const KNOWN_QUOTES = ['USDT', 'USDC', 'BUSD', 'FDUSD', 'USD', 'EUR', 'BTC', 'ETH'];

/** Splits "SOLUSDT" / "BTC-USD" / "ETH/USDC" into base and quote; best effort. */
export function splitSymbol(symbol: string): { base: string; quote: string } {
  const sep = /[-/_]/.exec(symbol);
  if (sep) {
    const i = sep.index;
    return { base: symbol.slice(0, i), quote: symbol.slice(i + 1).split(/[-/_]/)[0] || 'USD' };
  }
  for (const q of KNOWN_QUOTES) {
    if (symbol.length > q.length && symbol.toUpperCase().endsWith(q)) {
      return { base: symbol.slice(0, symbol.length - q.length), quote: symbol.slice(symbol.length - q.length) };
    }
  }
  return { base: symbol, quote: 'USD' };
}

/** Number or string -> plain decimal string ("1e-7" -> "0.0000001"); undefined when not a decimal. */
/** Largest decimal exponent toPlainDecimal expands (beyond it the value is refused). */
const MAX_DECIMAL_EXPONENT = 400;

export function toPlainDecimal(x: unknown): string | undefined {
  let text: string;
  if (typeof x === 'number') {
    if (!Number.isFinite(x)) return undefined;
    text = String(x);
  } else if (typeof x === 'string') {
    text = x.trim();
  } else return undefined;
  const m = /^(-)?(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return undefined;
  const neg = m[1] === '-';
  let intPart = m[2]!;
  let frac = m[3] ?? '';
  const exp = m[4] ? Number(m[4]) : 0;
  // No price or quantity needs more than a few hundred digits; a fuzzed "1e999999999" would
  // otherwise ask padEnd for a string longer than V8 allows (RangeError, not a counted record).
  if (Math.abs(exp) > MAX_DECIMAL_EXPONENT) return undefined;
  if (exp > 0) {
    frac = frac.padEnd(exp, '0');
    intPart += frac.slice(0, exp);
    frac = frac.slice(exp);
  } else if (exp < 0) {
    intPart = intPart.padStart(-exp + 1, '0');
    frac = intPart.slice(intPart.length + exp) + frac;
    intPart = intPart.slice(0, intPart.length + exp);
  }
  intPart = intPart.replace(/^0+(?=\d)/, '');
  frac = frac.replace(/0+$/, '');
  const out = frac.length > 0 ? `${intPart}.${frac}` : intPart;
  return neg && /[1-9]/.test(out) ? `-${out}` : out;
}

/** A finite number in [min, max] (or (min, max] with minExclusive). */
const num = (min: number, max = Infinity, minExclusive = false) => {
  const n = minExclusive ? z.number().gt(min) : z.number().gte(min);
  return max === Infinity ? n : n.lte(max);
};
const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.int({ error: (iss) => (iss.code === 'invalid_type' ? `expected an integer, got ${describeOptionValue(iss.input)}` : undefined) }).gte(min).lte(max);

/** A decimal as a string or a number (exact: parsed once into a plain decimal string). */
const decimal = (test: (mantissa: bigint) => boolean, rule: string) =>
  z
    .custom<string | number>((v) => toPlainDecimal(v) !== undefined, { error: (iss) => `expected a decimal number (string or number), got ${describeOptionValue(iss.input)}`, abort: true })
    .refine((v) => test(parseDecimal(toPlainDecimal(v)!).mantissa), { error: (iss) => `must be ${rule}, got ${toPlainDecimal(iss.input)}` });
/** Parsed once here into a plain decimal string ("1e-7" -> "0.0000001"). */
const positiveDecimal = decimal((m) => m > 0n, '> 0').transform((v) => toPlainDecimal(v)!);
const nonNegDecimal = decimal((m) => m >= 0n, '>= 0').transform((v) => toPlainDecimal(v)!);
const feeBps = z
  .custom<string | number>((v) => typeof v !== 'boolean' && toPlainDecimal(v) !== undefined, { error: (iss) => `expected a number of basis points, got ${describeOptionValue(iss.input)}`, abort: true })
  .refine((v) => {
    const n = Number(toPlainDecimal(v));
    return n >= -100 && n <= 1000;
  }, { error: (iss) => `must be between -100 and 1000 basis points, got ${toPlainDecimal(iss.input)}` })
  .transform((v) => toPlainDecimal(v)!);
const fileList = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
  error: (iss) => `expected a file path or a non-empty list of file paths, got ${iss.input === '' ? 'an empty string' : describeOptionValue(iss.input)}`,
}).transform((v) => (Array.isArray(v) ? [...v] : [v]));
const nonEmptyString = z.string({ error: (iss) => `expected a non-empty string, got ${describeOptionValue(iss.input)}` }).min(1, { error: 'expected a non-empty string, got an empty string' });

const regimeSchema = z.strictObject({
  volatility_bps: num(0, 100_000).optional(),
  mean_duration_s: num(0, 1e9, true).optional(),
  spread_ticks: int(1, 1_000_000).optional(),
});
const instrumentSchema = z
  .strictObject({
    tick_size: positiveDecimal.optional(),
    lot_size: positiveDecimal.optional(),
    min_notional: nonNegDecimal.optional(),
    base: nonEmptyString.optional(),
    quote: nonEmptyString.optional(),
  })
  .transform(
    (o): InstrumentOverride => ({
      ...(o.tick_size !== undefined ? { tickSize: o.tick_size } : {}),
      ...(o.lot_size !== undefined ? { lotSize: o.lot_size } : {}),
      ...(o.min_notional !== undefined ? { minNotional: o.min_notional } : {}),
      ...(o.base !== undefined ? { base: o.base } : {}),
      ...(o.quote !== undefined ? { quote: o.quote } : {}),
    }),
  );

/** `[<venue>.options]` of the sim venue, as written. */
const simOptionsTable = z.strictObject({
  seed: int(-2147483648, 4294967295).optional(),
  events_per_second: num(0, 1_000_000, true).optional(),
  whale_probability: num(0, 1).optional(),
  cascade_probability: num(0, 1).optional(),
  whale_multiplier: num(1, 10_000).optional(),
  levels: int(1, 1000).optional(),
  level_spacing_bps: num(0, 10_000).optional(),
  regimes: z.strictObject(Object.fromEntries(REGIME_NAMES.map((n) => [n, regimeSchema.optional()])) as Record<RegimeName, z.ZodOptional<typeof regimeSchema>>).optional(),
  instruments: z.record(z.string(), instrumentSchema).optional(),
  start_price: z.record(z.string(), positiveDecimal, { error: (iss) => `expected a table of symbol = price, got ${describeOptionValue(iss.input)}` }).optional(),
  latency_ms: num(0, 60_000).optional(),
  maker_fee_bps: feeBps.optional(),
  taker_fee_bps: feeBps.optional(),
  replay_file: fileList.optional(),
  replay_format: z.enum(['jsonl', 'tardis']).optional(),
  replay_speed: num(0, 1_000_000).optional(),
  drive: z.enum(['timers', 'manual']).optional(),
});

/** `[<venue>.options]` of the sim venue, resolved: every default filled in, decimals as plain strings. */
const simOptionsSchema = simOptionsTable.transform((o): SimOptions => {
  const d = DEFAULT_SIM_OPTIONS;
  const regimes = {} as Record<RegimeName, RegimeParams>;
  for (const name of REGIME_NAMES) {
    const r = o.regimes?.[name] ?? {};
    regimes[name] = {
      volatilityBps: r.volatility_bps ?? DEFAULT_REGIMES[name].volatilityBps,
      meanDurationS: r.mean_duration_s ?? DEFAULT_REGIMES[name].meanDurationS,
      spreadTicks: r.spread_ticks ?? DEFAULT_REGIMES[name].spreadTicks,
    };
  }
  return {
    seed: o.seed ?? d.seed,
    eventsPerSecond: o.events_per_second ?? d.eventsPerSecond,
    whaleProbability: o.whale_probability ?? d.whaleProbability,
    cascadeProbability: o.cascade_probability ?? d.cascadeProbability,
    whaleMultiplier: o.whale_multiplier ?? d.whaleMultiplier,
    levels: o.levels ?? d.levels,
    levelSpacingBps: o.level_spacing_bps ?? d.levelSpacingBps,
    regimes,
    instruments: o.instruments ?? {},
    startPrice: o.start_price ?? {},
    latencyMs: o.latency_ms ?? d.latencyMs,
    makerFeeBps: o.maker_fee_bps ?? d.makerFeeBps,
    takerFeeBps: o.taker_fee_bps ?? d.takerFeeBps,
    replayFile: o.replay_file,
    replayFormat: o.replay_format,
    replaySpeed: o.replay_speed ?? d.replaySpeed,
    drive: o.drive ?? d.drive,
  };
});

/** The keys `[<venue>.options]` accepts, for documentation and `cwts-ultra validate-config`. */
export const SIM_OPTION_KEYS: readonly string[] = Object.keys(simOptionsTable.shape);

/**
 * Validates `[<venue>.options]` of the sim venue. Returns one problem per unknown key or bad
 * value, each with its full key path (`sim.options.sede: unknown key (did you mean seed?)`);
 * empty when valid.
 */
export function validateSimOptions(options: unknown, path: string): OptionProblem[] {
  return checkSimOptions(options, path).problems;
}

function checkSimOptions(options: unknown, path: string): { problems: OptionProblem[]; value?: SimOptions } {
  const r = checkOptions(simOptionsSchema, options === undefined ? {} : options, path);
  if (!r.ok) return { problems: r.issues };
  // Tick and lot size must define a valid instrument together.
  const out: OptionProblem[] = [];
  for (const [sym, spec] of Object.entries(r.value.instruments)) {
    try {
      defineInstrument({ exchange: 'x', symbol: sym, base: 'B', quote: 'Q', tickSize: spec.tickSize ?? '0.01', lotSize: spec.lotSize ?? '0.001' });
    } catch (e) {
      out.push({ path: `${path}.instruments.${sym}`, message: (e as Error).message });
    }
  }
  return out.length > 0 ? { problems: out } : { problems: [], value: r.value };
}

export class SimOptionsError extends Error {
  constructor(readonly problems: OptionProblem[]) {
    super(`invalid sim options:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
    this.name = 'SimOptionsError';
  }
}

/** Validates and fills defaults; throws SimOptionsError (every problem listed) when invalid. */
export function resolveSimOptions(options: unknown, path = 'options'): SimOptions {
  const r = checkSimOptions(options, path);
  if (r.value === undefined) throw new SimOptionsError(r.problems);
  return r.value;
}

/** Instrument of a sim symbol: options.instruments override, then the built-in defaults. */
export function simInstrument(exchange: string, symbol: string, opts: Pick<SimOptions, 'instruments'>): Instrument {
  // own entries only: a symbol named like an Object member ("constructor") finds nothing
  const o = (Object.hasOwn(opts.instruments, symbol) ? opts.instruments[symbol] : undefined) ?? {};
  const def = Object.hasOwn(DEFAULT_INSTRUMENTS, symbol) ? DEFAULT_INSTRUMENTS[symbol] : undefined;
  const split = splitSymbol(symbol);
  return defineInstrument({
    exchange,
    symbol,
    base: o.base ?? def?.base ?? split.base,
    quote: o.quote ?? def?.quote ?? split.quote,
    tickSize: o.tickSize ?? def?.tickSize ?? '0.01',
    lotSize: o.lotSize ?? def?.lotSize ?? '0.001',
    minNotional: o.minNotional ?? def?.minNotional ?? '0',
  });
}

/** Start price (decimal string) of a sim symbol. */
export function simStartPrice(symbol: string, opts: Pick<SimOptions, 'startPrice'>): string {
  const own = (t: Readonly<Record<string, string>>) => (Object.hasOwn(t, symbol) ? t[symbol] : undefined);
  return own(opts.startPrice) ?? own(DEFAULT_START_PRICES) ?? OTHER_START_PRICE;
}
