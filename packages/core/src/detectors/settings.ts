/**
 * Settings tables of the built-in detectors: `[detectors.<name>]` with optional per-symbol
 * overrides under `[detectors.<name>.symbols."<symbol>"]` or `[detectors.<name>.symbols."<exchange>:<symbol>"]`.
 * Every problem is reported with its full key path, all at once, as a ConfigError.
 */
import { ConfigError, joinPath, type ConfigIssue } from '../config/errors.js';

const isTable = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  // In full: a shortened value would slip past the config's redactor (config/redact.ts).
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object') return 'a table';
  return String(v);
}

/** Reads typed values out of one settings table, collecting issues with key paths. */
export class SettingsReader {
  readonly issues: ConfigIssue[];
  private readonly seen = new Set<string>();

  constructor(
    /** Key path of the table, e.g. "detectors.whale". */
    readonly path: string,
    readonly raw: Readonly<Record<string, unknown>>,
    issues?: ConfigIssue[],
  ) {
    this.issues = issues ?? [];
  }

  private take(key: string): unknown {
    this.seen.add(key);
    return this.raw[key];
  }

  private bad(key: string, message: string): void {
    this.issues.push({ path: joinPath(this.path, key), message });
  }

  /** A finite number > 0 (or >= 0 with `allowZero`), at most `max`. */
  positive(key: string, def: number, opts: { allowZero?: boolean; max?: number } = {}): number {
    const v = this.take(key);
    if (v === undefined) return def;
    const what = opts.allowZero ? 'a non-negative number' : 'a positive number';
    if (typeof v !== 'number' || !Number.isFinite(v) || (opts.allowZero ? v < 0 : v <= 0)) {
      this.bad(key, `expected ${what}, got ${describe(v)}`);
      return def;
    }
    if (opts.max !== undefined && v > opts.max) {
      this.bad(key, `must be <= ${opts.max}, got ${v}`);
      return def;
    }
    return v;
  }

  /** A number in (0, 1] (or [0, 1] with allowZero). */
  fraction(key: string, def: number, opts: { allowZero?: boolean } = {}): number {
    const v = this.take(key);
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v > 1 || (opts.allowZero ? v < 0 : v <= 0)) {
      this.bad(key, `expected a number in ${opts.allowZero ? '[0, 1]' : '(0, 1]'}, got ${describe(v)}`);
      return def;
    }
    return v;
  }

  /** A number >= min (strictly greater with `exclusive`). */
  atLeast(key: string, def: number, min: number, exclusive = false): number {
    const v = this.take(key);
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || (exclusive ? v <= min : v < min)) {
      this.bad(key, `expected a number ${exclusive ? '>' : '>='} ${min}, got ${describe(v)}`);
      return def;
    }
    return v;
  }

  integer(key: string, def: number, min: number, max: number): number {
    const v = this.take(key);
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.bad(key, `expected an integer between ${min} and ${max}, got ${describe(v)}`);
      return def;
    }
    return v;
  }

  bool(key: string, def: boolean): boolean {
    const v = this.take(key);
    if (v === undefined) return def;
    if (typeof v !== 'boolean') {
      this.bad(key, `expected true or false, got ${describe(v)}`);
      return def;
    }
    return v;
  }

  oneOf<T extends string>(key: string, def: T, values: readonly T[]): T {
    const v = this.take(key);
    if (v === undefined) return def;
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      this.bad(key, `expected one of ${values.map((x) => JSON.stringify(x)).join(', ')}, got ${describe(v)}`);
      return def;
    }
    return v as T;
  }

  optionalString(key: string): string | undefined {
    const v = this.take(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length === 0) {
      this.bad(key, `expected a non-empty string, got ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  /** A sub-table (or undefined); marks the key as known. */
  table(key: string): Record<string, unknown> | undefined {
    const v = this.take(key);
    if (v === undefined) return undefined;
    if (!isTable(v)) {
      this.bad(key, `expected a table, got ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  /** Reports keys nobody asked for. */
  rejectUnknown(): void {
    const known = [...this.seen].sort();
    for (const k of Object.keys(this.raw)) {
      if (!this.seen.has(k)) this.bad(k, `unknown key (known: ${known.join(', ')})`);
    }
  }
}

/** Throws one ConfigError listing every issue, when there are any. */
export function throwIfIssues(issues: ConfigIssue[]): void {
  if (issues.length > 0) throw new ConfigError(issues);
}

/**
 * Per-symbol overrides: `symbols` is a table of tables keyed by "<symbol>" or "<exchange>:<symbol>",
 * each read with `readOne` (which sees the base values as defaults). The result resolves an
 * exchange/symbol pair to its settings, the exchange-qualified key first.
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
}

export function readPerSymbol<T>(r: SettingsReader, base: T, readOne: (sub: SettingsReader, base: T) => T): PerSymbol<T> {
  const t = r.table('symbols');
  const out = new Map<string, T>();
  if (t) {
    const p = joinPath(r.path, 'symbols');
    for (const [key, v] of Object.entries(t)) {
      const kp = joinPath(p, key);
      if (!isTable(v)) {
        r.issues.push({ path: kp, message: `expected a table of per-symbol settings, got ${describe(v)}` });
        continue;
      }
      const sub = new SettingsReader(kp, v, r.issues);
      out.set(key, readOne(sub, base));
      sub.rejectUnknown();
    }
  }
  return new PerSymbol(base, out);
}
