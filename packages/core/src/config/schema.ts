import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { readComputeTable } from '../compute/config-schema.js';
import { isPlainTable, UNRESOLVED } from './env.js';
import type { ConfigIssue } from './errors.js';
import { indexPath, joinPath } from './errors.js';
import { Secret } from './secret.js';
import { closestMatch } from './suggest.js';
import {
  FSYNC_POLICIES,
  LOG_LEVELS,
  MARKET_TYPES,
  SHUTDOWN_POLICIES,
  TRADING_MODES,
  type ComputeConfig,
  type CwtsConfig,
  type DetectorConfig,
  type JournalConfig,
  type ReconcileConfig,
  type MonitoringConfig,
  type PerformanceConfig,
  type RiskConfig,
  type StrategyConfig,
  type SystemConfig,
  type VenueConfig,
  type PaperConfig,
} from './types.js';

/** Top-level tables that are not venues. A venue may not take one of these names. */
export const SECTIONS = [
  'system', 'performance', 'exchanges', 'risk', 'monitoring', 'compute', 'detectors', 'strategy', 'journal', 'reconcile', 'paper',
] as const;

const NAME_RE = /^[a-z][a-z0-9_-]*$/;
const NAME_RULE = 'lowercase letters, digits, _ and -, starting with a letter';
/** npm name (optionally scoped) with an optional subpath export, e.g. "@cwts/reference-app/strategy". */
const PACKAGE_RE = /^(?:@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*(?:\/[A-Za-z0-9._~-]+)*$/;
const HOST_RE = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;

/** The journal file when `[journal] path` is not set: `<data dir>/<system.name>.db`. */
export const DEFAULT_JOURNAL_PATH = '<data dir>/<system.name>.db';

const VENUE_KEYS = [
  'plugin', 'api_url', 'rest_url', 'api_key', 'api_secret', 'passphrase', 'testnet', 'symbols', 'market', 'options',
] as const;

type Table = Record<string, unknown>;

/** The TOML type name of a value, as used in "expected X, got Y". Never looks at the content. */
export function tomlTypeName(v: unknown): string {
  if (v instanceof Secret || typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'float';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'bigint') return 'integer';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Date) return 'datetime';
  if (isPlainTable(v)) return 'table';
  return typeof v;
}

/** Paths that are or sit below a secret-named key: their values are never displayed. */
const SECRETISH_PATH = /secret|password|token|passphrase|_key(?![a-z0-9])/i;

class Checker {
  readonly issues: ConfigIssue[] = [];
  readonly warnings: string[] = [];

  constructor(private readonly rawStrings: ReadonlyMap<string, string>) {}

  add(path: string, message: string): undefined {
    this.issues.push({ path, message });
    return undefined;
  }

  typeError(path: string, expected: string, v: unknown): undefined {
    return this.add(path, `expected ${expected}, got ${tomlTypeName(v)}`);
  }

  /** A value for an error message: the string as written in the file, never a secret. */
  show(v: unknown, path: string): string {
    if (v instanceof Secret || SECRETISH_PATH.test(path)) return '[redacted]';
    if (typeof v === 'string') {
      const s = this.rawStrings.get(path) ?? v;
      return JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);
    }
    return String(v);
  }

  unknownKeys(tbl: Table, parent: string, known: readonly string[]): void {
    for (const k of Object.keys(tbl)) {
      if (known.includes(k)) continue;
      const s = closestMatch(k, known);
      this.add(joinPath(parent, k), `unknown key${s === undefined ? '' : ` (did you mean ${s}?)`}`);
    }
  }

  /** The table at root[name]; undefined (after reporting when required or mistyped) otherwise. */
  section(root: Table, name: string, required: boolean): Table | undefined {
    const v = root[name];
    if (v === undefined) {
      if (required) this.add(name, 'required section is missing');
      return undefined;
    }
    if (!isPlainTable(v)) return this.typeError(name, 'a table', v);
    return v;
  }
}

type Reader<T> = (v: unknown, path: string, c: Checker) => T | undefined;

function read<T>(c: Checker, tbl: Table, parent: string, key: string, reader: Reader<T>): T | undefined {
  const v = tbl[key];
  if (v === undefined || v === UNRESOLVED) return undefined;
  return reader(v, joinPath(parent, key), c);
}

/** `tbl` undefined: the whole section is missing or mistyped, which is reported already. */
function required<T>(c: Checker, tbl: Table | undefined, parent: string, key: string, reader: Reader<T>): T {
  if (tbl === undefined) return undefined as T;
  if (tbl[key] === undefined) c.add(joinPath(parent, key), 'required key is missing');
  // On failure an issue is recorded and the caller throws; the placeholder is never seen.
  return read(c, tbl, parent, key, reader) as T;
}

function withDefault<T>(c: Checker, tbl: Table, parent: string, key: string, reader: Reader<T>, def: T): T {
  return read(c, tbl, parent, key, reader) ?? def;
}

// ---- readers ----

const str = (opts: { nonEmpty?: boolean } = {}): Reader<string> => (v, p, c) => {
  if (typeof v !== 'string') return c.typeError(p, 'a string', v);
  if (opts.nonEmpty && v.trim() === '') return c.add(p, 'must not be empty');
  return v;
};

const bool: Reader<boolean> = (v, p, c) => (typeof v === 'boolean' ? v : c.typeError(p, 'a boolean', v));

function oneOf<T extends string>(values: readonly T[]): Reader<T> {
  return (v, p, c) => {
    if (typeof v !== 'string') return c.typeError(p, 'a string', v);
    if ((values as readonly string[]).includes(v)) return v as T;
    const caseHint = values.some((x) => x.toLowerCase() === v.toLowerCase()) ? ' (values are case-sensitive)' : '';
    return c.add(p, `must be one of ${values.map((x) => `"${x}"`).join(', ')}, got ${c.show(v, p)}${caseHint}`);
  };
}

interface Range {
  min?: number;
  minExclusive?: boolean;
  max?: number;
  maxExclusive?: boolean;
}

function describeRange(r: Range): string {
  if (r.min !== undefined && r.max !== undefined) {
    return `must be in ${r.minExclusive ? '(' : '['}${r.min}, ${r.max}${r.maxExclusive ? ')' : ']'}`;
  }
  if (r.min !== undefined) return `must be ${r.minExclusive ? '>' : '>='} ${r.min}`;
  return `must be ${r.maxExclusive ? '<' : '<='} ${r.max}`;
}

function inRange(x: number, r: Range): boolean {
  if (r.min !== undefined && (r.minExclusive ? !(x > r.min) : !(x >= r.min))) return false;
  if (r.max !== undefined && (r.maxExclusive ? !(x < r.max) : !(x <= r.max))) return false;
  return true;
}

const num = (r: Range): Reader<number> => (v, p, c) => {
  if (typeof v !== 'number') return c.typeError(p, 'a number', v);
  if (!Number.isFinite(v)) return c.add(p, `must be a finite number, got ${v}`);
  return inRange(v, r) ? v : c.add(p, `${describeRange(r)}, got ${v}`);
};

const int = (r: Range): Reader<number> => (v, p, c) => {
  if (typeof v !== 'number') return c.typeError(p, 'an integer', v);
  if (!Number.isInteger(v)) return c.add(p, `expected an integer, got ${v}`);
  return inRange(v, r) ? v : c.add(p, `${describeRange(r)}, got ${v}`);
};

const positive: Range = { min: 0, minExclusive: true };
const unitInterval: Range = { min: 0, minExclusive: true, max: 1 };

interface NameListOptions {
  /** What one entry is, for messages: "venue", "backend". */
  what: string;
  nonEmpty?: boolean;
  reserved?: readonly string[];
}

/**
 * An array of unique names matching NAME_RE. Returns the valid entries (so later checks can go
 * on) even when some entries were rejected.
 */
function nameList(opts: NameListOptions): Reader<string[]> {
  return (v, p, c) => {
    if (!Array.isArray(v)) return c.typeError(p, 'an array', v);
    if (opts.nonEmpty && v.length === 0) c.add(p, `must list at least one ${opts.what}`);
    const out: string[] = [];
    v.forEach((item, i) => {
      const ip = indexPath(p, i);
      if (item === UNRESOLVED) return;
      if (typeof item !== 'string') return c.typeError(ip, 'a string', item);
      if (!NAME_RE.test(item)) return c.add(ip, `${c.show(item, ip)} is not a valid ${opts.what} name (${NAME_RULE})`);
      if (opts.reserved?.includes(item)) return c.add(ip, `"${item}" is a section name and cannot be a ${opts.what}`);
      if (out.includes(item)) return c.add(ip, `duplicate ${opts.what} "${item}"`);
      out.push(item);
    });
    return out;
  };
}

const symbolList: Reader<string[]> = (v, p, c) => {
  if (!Array.isArray(v)) return c.typeError(p, 'an array', v);
  const out: string[] = [];
  v.forEach((item, i) => {
    const ip = indexPath(p, i);
    if (item === UNRESOLVED) return;
    if (typeof item !== 'string') return c.typeError(ip, 'a string', item);
    if (item.trim() === '') return c.add(ip, 'must not be empty');
    if (out.includes(item)) return c.add(ip, `duplicate symbol ${c.show(item, ip)}`);
    out.push(item);
  });
  return out;
};

function url(protocols: readonly string[]): Reader<string> {
  const expected = `a ${protocols.map((x) => `${x}//`).join(' or ')} URL`;
  return (v, p, c) => {
    if (typeof v !== 'string') return c.typeError(p, 'a string', v);
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      return c.add(p, `expected ${expected}, got ${c.show(v, p)}`);
    }
    if (!protocols.includes(u.protocol)) return c.add(p, `expected ${expected}, got ${c.show(v, p)}`);
    return v;
  };
}

const pluginSpec: Reader<string> = (v, p, c) => {
  if (typeof v !== 'string') return c.typeError(p, 'a string', v);
  const isPath = v.startsWith('./') || v.startsWith('../') || v.startsWith('/');
  if ((isPath && v.length > 1 && !v.endsWith('/')) || (!isPath && PACKAGE_RE.test(v))) return v;
  return c.add(p, `expected an npm package name or a path starting with ./, ../ or /, got ${c.show(v, p)}`);
};

const host: Reader<string> = (v, p, c) => {
  if (typeof v !== 'string') return c.typeError(p, 'a string', v);
  if (isIP(v) !== 0 || HOST_RE.test(v)) return v;
  return c.add(p, `expected an IP address or host name, got ${c.show(v, p)}`);
};

const secret: Reader<Secret> = (v, p, c) =>
  // expandTree wrapped every string under a secret-named key; anything else is a wrong type.
  v instanceof Secret ? v : c.typeError(p, 'a string', v);

const table: Reader<Table> = (v, p, c) => (isPlainTable(v) ? v : c.typeError(p, 'a table', v));

function omit(tbl: Table, keys: readonly string[]): Table {
  const out: Table = {};
  for (const [k, v] of Object.entries(tbl)) if (!keys.includes(k)) out[k] = v;
  return out;
}

/** Whether `address` only accepts connections from this host. */
export function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^127\./.test(address);
}

// ---- sections ----

function readSystem(c: Checker, root: Table): SystemConfig {
  const s = c.section(root, 'system', true);
  const t = s ?? {};
  const P = 'system';
  c.unknownKeys(t, P, ['name', 'environment', 'log_level', 'mode', 'on_shutdown']);
  return {
    name: required(c, s, P, 'name', str({ nonEmpty: true })),
    environment: withDefault(c, t, P, 'environment', str(), 'development'),
    log_level: withDefault(c, t, P, 'log_level', oneOf(LOG_LEVELS), 'info'),
    mode: withDefault(c, t, P, 'mode', oneOf(TRADING_MODES), 'paper'),
    on_shutdown: withDefault(c, t, P, 'on_shutdown', oneOf(SHUTDOWN_POLICIES), 'cancel'),
  };
}

function readPerformance(c: Checker, root: Table): PerformanceConfig {
  const t = c.section(root, 'performance', false) ?? {};
  const P = 'performance';
  c.unknownKeys(t, P, ['max_latency_ms', 'simd_enabled', 'gpu_enabled', 'thread_pool_size', 'memory_pool_gb']);
  return {
    max_latency_ms: withDefault(c, t, P, 'max_latency_ms', num(positive), 10),
    simd_enabled: withDefault(c, t, P, 'simd_enabled', bool, true),
    gpu_enabled: withDefault(c, t, P, 'gpu_enabled', bool, false),
    thread_pool_size: withDefault(c, t, P, 'thread_pool_size', int({ min: 1, max: 1024 }), availableParallelism()),
    memory_pool_gb: withDefault(c, t, P, 'memory_pool_gb', num(positive), 1),
  };
}

/** The enabled venues that could be read, and whether the list itself was readable. */
function readExchanges(c: Checker, root: Table): { enabled: string[]; known: boolean } {
  const t = c.section(root, 'exchanges', true);
  if (t === undefined) return { enabled: [], known: false };
  c.unknownKeys(t, 'exchanges', ['enabled']);
  if (t.enabled === UNRESOLVED) return { enabled: [], known: false };
  const enabled = required(c, t, 'exchanges', 'enabled', nameList({ what: 'venue', nonEmpty: true, reserved: SECTIONS }));
  return enabled === undefined ? { enabled: [], known: false } : { enabled, known: true };
}

function readVenue(c: Checker, root: Table, name: string): VenueConfig {
  const raw = root[name];
  let t: Table = {};
  if (raw !== undefined) {
    if (isPlainTable(raw)) t = raw;
    else c.typeError(name, 'a table', raw);
  }
  c.unknownKeys(t, name, VENUE_KEYS);
  const venue: VenueConfig = {
    name,
    plugin: withDefault(c, t, name, 'plugin', pluginSpec, `@cwts/exchange-${name}`),
    hasCredentials: false,
    api_url: read(c, t, name, 'api_url', url(['ws:', 'wss:'])),
    rest_url: read(c, t, name, 'rest_url', url(['http:', 'https:'])),
    api_key: read(c, t, name, 'api_key', secret),
    api_secret: read(c, t, name, 'api_secret', secret),
    passphrase: read(c, t, name, 'passphrase', secret),
    testnet: withDefault(c, t, name, 'testnet', bool, false),
    symbols: withDefault(c, t, name, 'symbols', symbolList, []),
    market: withDefault(c, t, name, 'market', oneOf(MARKET_TYPES), 'spot'),
    options: withDefault(c, t, name, 'options', table, {}),
  };
  const present = (x?: Secret) => x !== undefined && !x.isEmpty;
  venue.hasCredentials = present(venue.api_key) && present(venue.api_secret);
  for (const k of ['api_url', 'rest_url', 'api_key', 'api_secret', 'passphrase'] as const) {
    if (venue[k] === undefined) delete venue[k];
  }
  if (!venue.hasCredentials) c.warnings.push(`${name}: no api_key/api_secret; market data only, orders on this venue will be refused`);
  return venue;
}

function readRisk(c: Checker, root: Table): RiskConfig {
  const s = c.section(root, 'risk', true);
  const t = s ?? {};
  const P = 'risk';
  c.unknownKeys(t, P, [
    'max_position', 'max_drawdown', 'kelly_fraction', 'var_confidence', 'max_total_position',
    'max_order_notional', 'max_open_orders', 'price_band_bps', 'orders_per_second',
    'initial_equity', 'reduce_at_drawdown', 'mark', 'stale_after_ms', 'feed_loss_grace_ms', 'feed_loss_action',
    'var_method', 'var_budget', 'var_horizon', 'var_sample_ms', 'var_interval_s',
  ]);
  const risk: RiskConfig = {
    max_position: required(c, s, P, 'max_position', num(positive)),
    max_drawdown: required(c, s, P, 'max_drawdown', num(unitInterval)),
    kelly_fraction: required(c, s, P, 'kelly_fraction', num(unitInterval)),
    var_confidence: required(c, s, P, 'var_confidence', num({ min: 0, minExclusive: true, max: 1, maxExclusive: true })),
    max_total_position: read(c, t, P, 'max_total_position', num(positive)),
    max_order_notional: read(c, t, P, 'max_order_notional', num(positive)),
    max_open_orders: withDefault(c, t, P, 'max_open_orders', int({ min: 1 }), 50),
    price_band_bps: withDefault(c, t, P, 'price_band_bps', num(positive), 500),
    orders_per_second: withDefault(c, t, P, 'orders_per_second', num(positive), 50),
    initial_equity: read(c, t, P, 'initial_equity', num(positive)),
    reduce_at_drawdown: withDefault(c, t, P, 'reduce_at_drawdown', num(unitInterval), 0.8),
    mark: withDefault(c, t, P, 'mark', oneOf(['mid', 'last'] as const), 'mid'),
    stale_after_ms: withDefault(c, t, P, 'stale_after_ms', int({ min: 1 }), 10_000),
    feed_loss_grace_ms: withDefault(c, t, P, 'feed_loss_grace_ms', int({ min: 0 }), 5000),
    feed_loss_action: withDefault(c, t, P, 'feed_loss_action', oneOf(['reduce', 'halt'] as const), 'reduce'),
    var_method: withDefault(c, t, P, 'var_method', oneOf(['historical', 'parametric', 'montecarlo'] as const), 'historical'),
    var_budget: read(c, t, P, 'var_budget', num(positive)),
    var_horizon: withDefault(c, t, P, 'var_horizon', int({ min: 1 }), 1),
    var_sample_ms: withDefault(c, t, P, 'var_sample_ms', int({ min: 1 }), 60_000),
    var_interval_s: withDefault(c, t, P, 'var_interval_s', num(positive), 60),
  };
  for (const k of ['max_total_position', 'max_order_notional', 'initial_equity', 'var_budget'] as const) if (risk[k] === undefined) delete risk[k];
  return risk;
}

function readMonitoring(c: Checker, root: Table): MonitoringConfig {
  const t = c.section(root, 'monitoring', false) ?? {};
  const P = 'monitoring';
  c.unknownKeys(t, P, ['metrics_port', 'health_check_port', 'bind_address', 'enable_tracing', 'control_bind_address', 'control_port']);
  const port = int({ min: 0, max: 65535 });
  const m: MonitoringConfig = {
    metrics_port: withDefault(c, t, P, 'metrics_port', port, 9090),
    health_check_port: withDefault(c, t, P, 'health_check_port', port, 8080),
    bind_address: withDefault(c, t, P, 'bind_address', host, '127.0.0.1'),
    enable_tracing: withDefault(c, t, P, 'enable_tracing', bool, false),
    control_bind_address: withDefault(c, t, P, 'control_bind_address', host, '127.0.0.1'),
    control_port: withDefault(c, t, P, 'control_port', port, 8081),
  };
  if (!isLoopback(m.control_bind_address)) {
    c.warnings.push(
      `monitoring.control_bind_address: ${m.control_bind_address} is not a loopback address; ` +
        'the manual kill switch can be reached from other hosts',
    );
  }
  return m;
}

function readCompute(c: Checker, root: Table): ComputeConfig {
  return readComputeTable(c.section(root, 'compute', false) ?? {}, { issue: (i) => c.add(i.path, i.message), warn: (m) => c.warnings.push(m) });
}

function readDetectors(c: Checker, root: Table): DetectorConfig[] {
  const t = c.section(root, 'detectors', false) ?? {};
  const out: DetectorConfig[] = [];
  for (const [name, v] of Object.entries(t)) {
    const p = joinPath('detectors', name);
    if (!isPlainTable(v)) {
      c.add(p, `expected a [detectors.${name}] table, got ${tomlTypeName(v)}`);
      continue;
    }
    if (!NAME_RE.test(name)) c.add(p, `"${name}" is not a valid detector name (${NAME_RULE})`);
    const d: DetectorConfig = {
      name,
      enabled: withDefault(c, v, p, 'enabled', bool, true),
      plugin: read(c, v, p, 'plugin', pluginSpec),
      settings: omit(v, ['enabled', 'plugin']),
    };
    if (d.plugin === undefined) delete d.plugin;
    out.push(d);
  }
  return out;
}

function readStrategy(c: Checker, root: Table): StrategyConfig | undefined {
  const t = c.section(root, 'strategy', false);
  if (t === undefined) return undefined;
  return {
    plugin: required(c, t, 'strategy', 'plugin', pluginSpec),
    settings: omit(t, ['plugin']),
  };
}

function readJournal(c: Checker, root: Table): JournalConfig {
  const t = c.section(root, 'journal', false) ?? {};
  c.unknownKeys(t, 'journal', ['path', 'fsync', 'batch_ms']);
  return {
    path: t.path === undefined ? undefined : required(c, t, 'journal', 'path', str({ nonEmpty: true })),
    fsync: withDefault(c, t, 'journal', 'fsync', oneOf(FSYNC_POLICIES), 'batch'),
    batch_ms: withDefault(c, t, 'journal', 'batch_ms', int({ min: 1, max: 10_000 }), 50),
  };
}

function readReconcile(c: Checker, root: Table): ReconcileConfig {
  const t = c.section(root, 'reconcile', false) ?? {};
  c.unknownKeys(t, 'reconcile', ['on_mismatch']);
  return { on_mismatch: withDefault(c, t, 'reconcile', 'on_mismatch', oneOf(['adopt-venue', 'halt'] as const), 'adopt-venue') };
}

function readPaper(c: Checker, root: Table): PaperConfig {
  const t = c.section(root, 'paper', false) ?? {};
  const P = 'paper';
  c.unknownKeys(t, P, ['latency_ms', 'maker_fee_bps', 'taker_fee_bps']);
  const bps = num({ min: -100, max: 1000 });
  return {
    latency_ms: withDefault(c, t, P, 'latency_ms', int({ min: 0, max: 60_000 }), 5),
    maker_fee_bps: withDefault(c, t, P, 'maker_fee_bps', bps, 2),
    taker_fee_bps: withDefault(c, t, P, 'taker_fee_bps', bps, 10),
  };
}

export interface ValidationResult {
  /** Complete only when `issues` is empty. */
  config: CwtsConfig;
  issues: ConfigIssue[];
  warnings: string[];
}

/** Validates an expanded tree (see expandTree) and applies defaults. */
export function validateConfig(root: Table, rawStrings: ReadonlyMap<string, string>): ValidationResult {
  const c = new Checker(rawStrings);
  const system = readSystem(c, root);
  const performance = readPerformance(c, root);
  const exchanges = readExchanges(c, root);

  for (const [key, v] of Object.entries(root)) {
    if ((SECTIONS as readonly string[]).includes(key) || exchanges.enabled.includes(key)) continue;
    if (!isPlainTable(v)) {
      const s = closestMatch(key, SECTIONS);
      c.add(joinPath('', key), `unknown key${s === undefined ? '' : ` (did you mean ${s}?)`}`);
      continue;
    }
    if (!exchanges.known) continue; // cannot tell a venue table from a stray one
    const s = closestMatch(key, [...SECTIONS, ...exchanges.enabled]);
    c.add(
      joinPath('', key),
      `unknown section ${key}${s === undefined ? '' : ` (did you mean ${s}?)`}; if it is a venue, add it to exchanges.enabled`,
    );
  }

  const venues = exchanges.enabled.map((name) => readVenue(c, root, name));
  if (system.mode === 'live' && venues.length > 0 && !venues.some((v) => v.hasCredentials)) {
    c.add('system.mode', '"live" needs api_key and api_secret for at least one enabled venue');
  }

  const config: CwtsConfig = {
    system,
    performance,
    exchanges: { enabled: exchanges.enabled },
    venues,
    risk: readRisk(c, root),
    monitoring: readMonitoring(c, root),
    compute: readCompute(c, root),
    detectors: readDetectors(c, root),
    journal: readJournal(c, root),
    reconcile: readReconcile(c, root),
    paper: readPaper(c, root),
  };
  const strategy = readStrategy(c, root);
  if (strategy !== undefined) config.strategy = strategy;
  return { config, issues: c.issues, warnings: c.warnings };
}
