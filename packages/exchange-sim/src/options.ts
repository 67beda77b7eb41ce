/**
 * `[<venue>.options]` of the simulated venue: validation (key paths in every message) and
 * resolution to a fully defaulted, typed object.
 */
import { closestMatch, defineInstrument, parseDecimal, type Instrument } from '@cwts/core';

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

type Check = (v: unknown) => string | undefined;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (min: number, max = Infinity, minExclusive = false): Check => (v) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) return `expected a number, got ${describe(v)}`;
  if (minExclusive ? v <= min : v < min) return `must be ${minExclusive ? '>' : '>='} ${min}, got ${v}`;
  if (v > max) return `must be <= ${max}, got ${v}`;
  return undefined;
};
const int = (min: number, max = Number.MAX_SAFE_INTEGER): Check => (v) => {
  if (typeof v !== 'number' || !Number.isInteger(v)) return `expected an integer, got ${describe(v)}`;
  if (v < min || v > max) return `must be between ${min} and ${max}, got ${v}`;
  return undefined;
};
const oneOf = (...values: string[]): Check => (v) =>
  typeof v === 'string' && values.includes(v) ? undefined : `expected one of ${values.map((x) => JSON.stringify(x)).join(', ')}, got ${describe(v)}`;
const positiveDecimal: Check = (v) => {
  const d = toPlainDecimal(v);
  if (d === undefined) return `expected a decimal number (string or number), got ${describe(v)}`;
  if (parseDecimal(d).mantissa <= 0n) return `must be > 0, got ${d}`;
  return undefined;
};
const nonNegDecimal: Check = (v) => {
  const d = toPlainDecimal(v);
  if (d === undefined) return `expected a decimal number (string or number), got ${describe(v)}`;
  if (parseDecimal(d).mantissa < 0n) return `must be >= 0, got ${d}`;
  return undefined;
};
const str: Check = (v) => (typeof v === 'string' && v.length > 0 ? undefined : `expected a non-empty string, got ${describe(v)}`);
const fileList: Check = (v) => {
  if (typeof v === 'string') return v.length > 0 ? undefined : 'expected a file path, got an empty string';
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && x.length > 0)) return undefined;
  return `expected a file path or a non-empty list of file paths, got ${describe(v)}`;
};
const feeBps: Check = (v) => {
  const d = toPlainDecimal(v);
  if (d === undefined || typeof v === 'boolean') return `expected a number of basis points, got ${describe(v)}`;
  const n = Number(d);
  if (n < -100 || n > 1000) return `must be between -100 and 1000 basis points, got ${d}`;
  return undefined;
};

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  if (typeof v === 'object') return 'a table';
  return `${typeof v} ${String(v)}`;
}

const TOP_LEVEL: Record<string, Check | 'regimes' | 'instruments' | 'start_price'> = {
  seed: int(-2147483648, 4294967295),
  events_per_second: num(0, 1_000_000, true),
  whale_probability: num(0, 1),
  cascade_probability: num(0, 1),
  whale_multiplier: num(1, 10_000),
  levels: int(1, 1000),
  level_spacing_bps: num(0, 10_000),
  regimes: 'regimes',
  instruments: 'instruments',
  start_price: 'start_price',
  latency_ms: num(0, 60_000),
  maker_fee_bps: feeBps,
  taker_fee_bps: feeBps,
  replay_file: fileList,
  replay_format: oneOf('jsonl', 'tardis'),
  replay_speed: num(0, 1_000_000),
  drive: oneOf('timers', 'manual'),
};
const REGIME_KEYS: Record<string, Check> = {
  volatility_bps: num(0, 100_000),
  mean_duration_s: num(0, 1e9, true),
  spread_ticks: int(1, 1_000_000),
};
const INSTRUMENT_KEYS: Record<string, Check> = {
  tick_size: positiveDecimal,
  lot_size: positiveDecimal,
  min_notional: nonNegDecimal,
  base: str,
  quote: str,
};

/** The keys `[<venue>.options]` accepts, for documentation and `cwts-ultra validate-config`. */
export const SIM_OPTION_KEYS: readonly string[] = Object.keys(TOP_LEVEL);

/** "unknown key", with the likely intended key when one is a small typo away. */
function unknownKey(key: string, known: readonly string[]): string {
  const s = closestMatch(key, known);
  return s === undefined ? 'unknown key' : `unknown key (did you mean ${s}?)`;
}

function checkTable(value: unknown, path: string, keys: Record<string, Check>, out: OptionProblem[]): void {
  if (!isObj(value)) {
    out.push({ path, message: `expected a table, got ${describe(value)}` });
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    const check = keys[k];
    if (!check) {
      out.push({ path: `${path}.${k}`, message: unknownKey(k, Object.keys(keys)) });
      continue;
    }
    const msg = check(v);
    if (msg) out.push({ path: `${path}.${k}`, message: msg });
  }
}

/**
 * Validates `[<venue>.options]` of the sim venue. Returns one problem per unknown key or bad
 * value, each with its full key path (`sim.options.sede: unknown key`); empty when valid.
 */
export function validateSimOptions(options: unknown, path: string): OptionProblem[] {
  const out: OptionProblem[] = [];
  if (options === undefined) return out;
  if (!isObj(options)) {
    out.push({ path, message: `expected a table, got ${describe(options)}` });
    return out;
  }
  for (const [k, v] of Object.entries(options)) {
    const p = `${path}.${k}`;
    const check = TOP_LEVEL[k];
    if (check === undefined) {
      out.push({ path: p, message: unknownKey(k, SIM_OPTION_KEYS) });
    } else if (check === 'regimes') {
      if (!isObj(v)) {
        out.push({ path: p, message: `expected a table, got ${describe(v)}` });
        continue;
      }
      for (const [name, params] of Object.entries(v)) {
        if (!(REGIME_NAMES as string[]).includes(name)) out.push({ path: `${p}.${name}`, message: `unknown key (regimes are ${REGIME_NAMES.join(', ')})` });
        else checkTable(params, `${p}.${name}`, REGIME_KEYS, out);
      }
    } else if (check === 'instruments') {
      if (!isObj(v)) {
        out.push({ path: p, message: `expected a table, got ${describe(v)}` });
        continue;
      }
      for (const [sym, spec] of Object.entries(v)) {
        const before = out.length;
        checkTable(spec, `${p}.${sym}`, INSTRUMENT_KEYS, out);
        if (out.length === before && isObj(spec)) {
          // tick/lot must define a valid instrument together
          const t = toPlainDecimal(spec.tick_size ?? '0.01');
          const l = toPlainDecimal(spec.lot_size ?? '0.001');
          try {
            defineInstrument({ exchange: 'x', symbol: sym, base: 'B', quote: 'Q', tickSize: t!, lotSize: l! });
          } catch (e) {
            out.push({ path: `${p}.${sym}`, message: (e as Error).message });
          }
        }
      }
    } else if (check === 'start_price') {
      if (!isObj(v)) {
        out.push({ path: p, message: `expected a table of symbol = price, got ${describe(v)}` });
        continue;
      }
      for (const [sym, price] of Object.entries(v)) {
        const msg = positiveDecimal(price);
        if (msg) out.push({ path: `${p}.${sym}`, message: msg });
      }
    } else {
      const msg = check(v);
      if (msg) out.push({ path: p, message: msg });
    }
  }
  return out;
}

export class SimOptionsError extends Error {
  constructor(readonly problems: OptionProblem[]) {
    super(`invalid sim options:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
    this.name = 'SimOptionsError';
  }
}

/** Validates and fills defaults; throws SimOptionsError (every problem listed) when invalid. */
export function resolveSimOptions(options: unknown, path = 'options'): SimOptions {
  const problems = validateSimOptions(options, path);
  if (problems.length > 0) throw new SimOptionsError(problems);
  const o = (options ?? {}) as Record<string, any>;
  const regimes = {} as Record<RegimeName, RegimeParams>;
  for (const name of REGIME_NAMES) {
    const r = (o.regimes?.[name] ?? {}) as Record<string, number>;
    regimes[name] = {
      volatilityBps: r.volatility_bps ?? DEFAULT_REGIMES[name].volatilityBps,
      meanDurationS: r.mean_duration_s ?? DEFAULT_REGIMES[name].meanDurationS,
      spreadTicks: r.spread_ticks ?? DEFAULT_REGIMES[name].spreadTicks,
    };
  }
  const instruments: Record<string, InstrumentOverride> = {};
  for (const [sym, spec] of Object.entries((o.instruments ?? {}) as Record<string, Record<string, unknown>>)) {
    instruments[sym] = {
      ...(spec.tick_size !== undefined ? { tickSize: toPlainDecimal(spec.tick_size)! } : {}),
      ...(spec.lot_size !== undefined ? { lotSize: toPlainDecimal(spec.lot_size)! } : {}),
      ...(spec.min_notional !== undefined ? { minNotional: toPlainDecimal(spec.min_notional)! } : {}),
      ...(spec.base !== undefined ? { base: spec.base as string } : {}),
      ...(spec.quote !== undefined ? { quote: spec.quote as string } : {}),
    };
  }
  const startPrice: Record<string, string> = {};
  for (const [sym, p] of Object.entries((o.start_price ?? {}) as Record<string, unknown>)) startPrice[sym] = toPlainDecimal(p)!;
  const d = DEFAULT_SIM_OPTIONS;
  return {
    seed: o.seed ?? d.seed,
    eventsPerSecond: o.events_per_second ?? d.eventsPerSecond,
    whaleProbability: o.whale_probability ?? d.whaleProbability,
    cascadeProbability: o.cascade_probability ?? d.cascadeProbability,
    whaleMultiplier: o.whale_multiplier ?? d.whaleMultiplier,
    levels: o.levels ?? d.levels,
    levelSpacingBps: o.level_spacing_bps ?? d.levelSpacingBps,
    regimes,
    instruments,
    startPrice,
    latencyMs: o.latency_ms ?? d.latencyMs,
    makerFeeBps: o.maker_fee_bps !== undefined ? toPlainDecimal(o.maker_fee_bps)! : d.makerFeeBps,
    takerFeeBps: o.taker_fee_bps !== undefined ? toPlainDecimal(o.taker_fee_bps)! : d.takerFeeBps,
    replayFile: o.replay_file === undefined ? undefined : Array.isArray(o.replay_file) ? [...o.replay_file] : [o.replay_file],
    replayFormat: o.replay_format,
    replaySpeed: o.replay_speed ?? d.replaySpeed,
    drive: o.drive ?? d.drive,
  };
}

/** Instrument of a sim symbol: options.instruments override, then the built-in defaults. */
export function simInstrument(exchange: string, symbol: string, opts: Pick<SimOptions, 'instruments'>): Instrument {
  const o = opts.instruments[symbol] ?? {};
  const def = DEFAULT_INSTRUMENTS[symbol];
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
  return opts.startPrice[symbol] ?? DEFAULT_START_PRICES[symbol] ?? OTHER_START_PRICE;
}
