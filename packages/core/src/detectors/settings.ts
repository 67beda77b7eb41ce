/**
 * Settings tables of the built-in detectors as zod schemas: `[detectors.<name>]` with optional
 * per-symbol overrides under `[detectors.<name>.symbols."<symbol>"]` or
 * `[detectors.<name>.symbols."<exchange>:<symbol>"]`. Every problem is reported with its full
 * key path, all at once, as a ConfigError. Field schemas word their own messages
 * ("expected a positive number, got \"high\"").
 */
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../config/errors.js';
import { closestMatch } from '../config/suggest.js';
import { checkOptions } from '../config/zod-options.js';

const isTable = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  // In full: a shortened value would slip past the config's redactor (config/redact.ts).
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object') return 'a table';
  return String(v);
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** A field: a predicate on the raw value and the rule it words as "expected <rule>, got <value>". */
function field<T>(ok: (v: unknown) => v is T, rule: string) {
  return z.custom<T>((v) => ok(v), { error: (iss) => `expected ${rule}, got ${describe(iss.input)}` });
}

/** The field schemas detector settings are built from. */
export const settingFields = {
  /** A finite number > 0 (or >= 0 with `allowZero`), at most `max`. */
  positive(opts: { allowZero?: boolean; max?: number } = {}) {
    const s = field((v): v is number => isNumber(v) && (opts.allowZero ? v >= 0 : v > 0), opts.allowZero ? 'a non-negative number' : 'a positive number');
    const max = opts.max;
    return max === undefined ? s : s.refine((v) => v <= max, { error: (iss) => `must be <= ${max}, got ${String(iss.input)}` });
  },
  /** A number in (0, 1] (or [0, 1] with allowZero). */
  fraction(opts: { allowZero?: boolean } = {}) {
    return field((v): v is number => isNumber(v) && v <= 1 && (opts.allowZero ? v >= 0 : v > 0), `a number in ${opts.allowZero ? '[0, 1]' : '(0, 1]'}`);
  },
  /** A number >= min (strictly greater with `exclusive`), at most `max` when given. */
  atLeast(min: number, opts: { exclusive?: boolean; max?: number } = {}) {
    const { exclusive = false, max } = opts;
    const rule = max === undefined ? `a number ${exclusive ? '>' : '>='} ${min}` : `a number in ${exclusive ? '(' : '['}${min}, ${max}]`;
    return field((v): v is number => isNumber(v) && (exclusive ? v > min : v >= min) && (max === undefined || v <= max), rule);
  },
  integer(min: number, max: number) {
    return field((v): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max, `an integer between ${min} and ${max}`);
  },
  bool() {
    return field((v): v is boolean => typeof v === 'boolean', 'true or false');
  },
  oneOf<const T extends string>(values: readonly T[]) {
    return field((v): v is T => typeof v === 'string' && (values as readonly string[]).includes(v), `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`);
  },
  nonEmptyString() {
    return field((v): v is string => typeof v === 'string' && v.length > 0, 'a non-empty string');
  },
};

/**
 * `symbols`: a table of per-symbol tables keyed by "<symbol>" or "<exchange>:<symbol>", each
 * holding any of `fields` (the detector's values are the defaults of the missing ones).
 */
export function perSymbolTable<F extends z.ZodRawShape>(fields: F) {
  const partial = z.strictObject(fields).partial();
  return z.record(z.string(), z.custom<Record<string, unknown>>(isTable, { error: (iss) => `expected a table of per-symbol settings, got ${describe(iss.input)}` }).pipe(partial));
}

/**
 * Validates `[detectors.<name>]` with `schema` (a `z.strictObject`, so unknown keys are
 * reported with the likely key); `refine` adds checks across keys. Throws one ConfigError
 * listing every issue.
 */
export function parseDetectorSettings<S extends z.ZodType>(
  schema: S,
  raw: Readonly<Record<string, unknown>>,
  name: string,
  refine?: (value: z.output<S>, path: string) => ConfigIssue[],
): z.output<S> {
  const path = `detectors.${name}`;
  const r = checkOptions(schema, raw, path);
  if (!r.ok) throw new ConfigError(r.issues);
  const issues = refine?.(r.value, path) ?? [];
  if (issues.length > 0) throw new ConfigError(issues);
  return r.value;
}

/**
 * Per-symbol overrides resolved against the detector's values: `resolve` gives an
 * exchange/symbol pair its settings, the exchange-qualified key first.
 */
export class PerSymbol<T> {
  constructor(
    readonly base: T,
    private readonly overrides: ReadonlyMap<string, T>,
  ) {}

  resolve(exchange: string, symbol: string): T {
    return this.overrides.get(`${exchange}:${symbol}`) ?? this.overrides.get(symbol) ?? this.base;
  }

  get overrideKeys(): string[] {
    return [...this.overrides.keys()];
  }

  /** From the parsed `symbols` table: each override is `read(table, base)`. */
  static from<T, R>(base: T, symbols: Readonly<Record<string, R>> | undefined, read: (table: R, base: T) => T): PerSymbol<T> {
    const out = new Map<string, T>();
    for (const [key, t] of Object.entries(symbols ?? {})) out.set(key, read(t, base));
    return new PerSymbol(base, out);
  }
}

/**
 * Override keys that name no configured instrument: `"<symbol>"` traded by no venue, or
 * `"<exchange>:<symbol>"` whose venue is not configured or does not trade the symbol. Such an
 * override never applies (a typo leaves the detector's values, e.g. whale's `min_notional`, in
 * force without a word), so the caller reports each as a ConfigIssue. `venues`: each configured
 * venue's name and its symbols after the plugin's defaults are applied. `path`: the table the keys
 * are under, e.g. `detectors.whale.symbols`.
 */
export function unknownSymbolKeys(keys: Iterable<string>, venues: readonly { readonly name: string; readonly symbols: readonly string[] }[], path: string): ConfigIssue[] {
  const all = new Set<string>();
  const qualified = new Set<string>();
  for (const v of venues) {
    for (const sym of v.symbols) {
      all.add(sym);
      qualified.add(`${v.name}:${sym}`);
    }
  }
  const issues: ConfigIssue[] = [];
  for (const key of keys) {
    if (all.has(key) || qualified.has(key)) continue;
    const colon = key.indexOf(':');
    const venue = colon > 0 ? venues.find((v) => v.name === key.slice(0, colon)) : undefined;
    let why: string;
    let hint: string | undefined;
    if (venue !== undefined) {
      const sym = key.slice(colon + 1);
      why = `venue ${venue.name} does not trade ${sym}`;
      const m = closestMatch(sym, venue.symbols);
      hint = m === undefined ? undefined : `${venue.name}:${m}`;
    } else if (colon > 0) {
      why = `no configured venue ${key.slice(0, colon)} trades ${key.slice(colon + 1)}`;
      // a misspelt venue name: the venue it is closest to, if that one trades the symbol
      const named = closestMatch(key.slice(0, colon), venues.map((v) => v.name));
      hint = named !== undefined && qualified.has(`${named}:${key.slice(colon + 1)}`) ? `${named}:${key.slice(colon + 1)}` : closestMatch(key, qualified);
    } else {
      why = `no configured venue trades ${key}`;
      hint = closestMatch(key, all);
    }
    issues.push({ path: `${path}.${key}`, message: `${why}${hint === undefined ? '' : ` (did you mean ${hint}?)`}: the override would never apply` });
  }
  return issues;
}
