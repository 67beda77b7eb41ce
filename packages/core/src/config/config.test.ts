import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { format, inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../observability/logger.js';
import {
  ConfigError,
  loadConfigFile,
  parseConfig,
  resolveConfigPath,
  resolvePluginSpecifier,
  Secret,
  type ConfigIssue,
  type LoadedConfig,
} from './index.js';

const here = dirname(fileURLToPath(import.meta.url));
const configDir = resolve(here, '../../../../examples/reference-app/config');
const PRODUCTION = join(configDir, 'production.toml');
const SIM = join(configDir, 'sim.toml');

const PROD_ENV = {
  BINANCE_API_KEY: 'bn-key-AAAA1111',
  BINANCE_API_SECRET: 'bn-secret-BBBB2222',
  KRAKEN_API_KEY: 'kr-key-CCCC3333',
  KRAKEN_API_SECRET: 'kr-secret-DDDD4444',
};

/** Sections of a small valid config; tests replace or add sections. */
const BASE: Record<string, string> = {
  system: 'name = "t"',
  exchanges: 'enabled = ["sim"]',
  risk: 'max_position = 1000\nmax_drawdown = 0.1\nkelly_fraction = 0.5\nvar_confidence = 0.95',
};

function toml(sections: Record<string, string | undefined>): string {
  const all = { ...BASE, ...sections };
  return Object.entries(all)
    .filter(([, body]) => body !== undefined)
    .map(([name, body]) => `[${name}]\n${body}\n`)
    .join('\n');
}

/** The ConfigError thrown by fn (fails the test if none is thrown). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): ConfigIssue[] {
  return configError(() => parseConfig(text, env, 'test.toml')).issues;
}

/** Everything a careless caller might print about a loaded config or an error. */
function everyRendering(x: unknown): string {
  const out: string[] = [JSON.stringify(x), inspect(x, { depth: null, showHidden: true }), format('%o', x), format('%s', x), String(x)];
  if (x instanceof Error) out.push(x.message, x.stack ?? '', JSON.stringify((x as ConfigError).issues));
  return out.join('\n');
}

describe('production.toml (the seed config)', () => {
  it('is the seed guide\'s block byte for byte', () => {
    // The guide lives outside the repository; check only where it exists.
    const guidePath = '/work/shared/SEED-deployment-guide.md';
    if (!existsSync(guidePath)) return;
    const m = /### 1\. Create Configuration File\n```toml\n([\s\S]*?)```/.exec(readFileSync(guidePath, 'utf8'));
    expect(m).not.toBeNull();
    expect(readFileSync(PRODUCTION, 'utf8')).toBe(m![1]);
  });

  it('loads with the four keys in the environment', () => {
    const { config, warnings, sourcePath, configDir: dir } = loadConfigFile(PRODUCTION, PROD_ENV);
    expect(sourcePath).toBe(PRODUCTION);
    expect(dir).toBe(configDir);
    expect(config.system).toEqual({
      name: 'cwts-ultra-prod', environment: 'production', log_level: 'info', mode: 'paper', on_shutdown: 'cancel',
      plugin_init_timeout_ms: 60_000, plugin_dispose_timeout_ms: 5_000,
    });
    expect(config.performance).toEqual({
      max_latency_ms: 10, simd_enabled: true, gpu_enabled: true, thread_pool_size: 16, memory_pool_gb: 8,
      intake: 'worker', intake_ring_records: 65536, intake_hung_after_ms: 2000, intake_max_restarts: 5,
    });
    expect(config.risk).toEqual({
      max_position: 100000, max_drawdown: 0.15, kelly_fraction: 0.25, var_confidence: 0.99,
      max_open_orders: 50, price_band_bps: 500, orders_per_second: 50,
      reduce_at_drawdown: 0.8, mark: 'mid', stale_after_ms: 10_000, feed_loss_grace_ms: 5000, feed_loss_action: 'reduce',
      var_method: 'historical', var_horizon: 1, var_sample_ms: 60_000, var_interval_s: 60,
    });
    expect(config.monitoring).toEqual({
      metrics_port: 9090, health_check_port: 8080, bind_address: '127.0.0.1', enable_tracing: true,
      control_bind_address: '127.0.0.1', control_port: 8081,
    });
    expect(config.exchanges.enabled).toEqual(['binance', 'coinbase', 'kraken', 'bybit']);
    expect(config.venues.map((v) => [v.name, v.plugin, v.hasCredentials])).toEqual([
      ['binance', '@cwts/exchange-binance', true],
      ['coinbase', '@cwts/exchange-coinbase', false],
      ['kraken', '@cwts/exchange-kraken', true],
      ['bybit', '@cwts/exchange-bybit', false],
    ]);
    const [binance, coinbase] = config.venues;
    expect(binance.api_url).toBe('wss://stream.binance.com:9443/ws');
    expect(binance.api_key).toBeInstanceOf(Secret);
    expect(binance.api_key?.reveal()).toBe(PROD_ENV.BINANCE_API_KEY);
    expect(binance.api_secret?.reveal()).toBe(PROD_ENV.BINANCE_API_SECRET);
    expect(config.venues[2].api_secret?.reveal()).toBe(PROD_ENV.KRAKEN_API_SECRET);
    expect(coinbase).toEqual({
      name: 'coinbase', plugin: '@cwts/exchange-coinbase', hasCredentials: false, testnet: false, symbols: [],
      market: 'spot', options: {},
    });
    expect(warnings).toEqual([
      'coinbase: no api_key/api_secret; market data only, orders on this venue will be refused',
      'bybit: no api_key/api_secret; market data only, orders on this venue will be refused',
      // The seed's keys nothing enforces yet say so instead of being silently ignored.
      'performance.memory_pool_gb: reserved; nothing allocates a memory pool from it, so it has no effect',
    ]);
    expect(config.compute).toEqual({ backends: undefined, backendOptions: {}, plugins: {} });
    expect(config.detectors).toEqual([]);
    expect(config.strategy).toBeUndefined();
    expect(config.journal).toEqual({ path: undefined, fsync: 'batch', batch_ms: 50 });
    expect(config.reconcile).toEqual({ on_mismatch: 'adopt-venue' });
  });

  it('fails naming BINANCE_API_KEY and its key path when it is unset', () => {
    const { BINANCE_API_KEY: _unset, ...env } = PROD_ENV;
    const err = configError(() => loadConfigFile(PRODUCTION, env));
    expect(err.issues).toEqual([{ path: 'binance.api_key', message: 'environment variable BINANCE_API_KEY is not set' }]);
    expect(err.message).toContain('binance.api_key: environment variable BINANCE_API_KEY is not set');
    expect(err.message).toContain('production.toml');
  });

  it('reports every unset variable at once', () => {
    const err = configError(() => loadConfigFile(PRODUCTION, {}));
    expect(err.issues.map((i) => i.path)).toEqual(['binance.api_key', 'binance.api_secret', 'kraken.api_key', 'kraken.api_secret']);
    expect(err.message.split('\n')).toHaveLength(5);
    expect(err.message).toContain('kraken.api_secret: environment variable KRAKEN_API_SECRET is not set');
  });
});

describe('sim.toml (the embedded default)', () => {
  it('loads with no environment at all', () => {
    const { config, warnings } = loadConfigFile(SIM, {});
    expect(config.system).toMatchObject({ name: 'cwts-ultra-sim', mode: 'paper' });
    expect(config.performance).toMatchObject({ gpu_enabled: false, thread_pool_size: 2 });
    expect(config.venues).toEqual([
      {
        name: 'sim', plugin: '@cwts/exchange-sim', hasCredentials: false, testnet: false,
        symbols: ['BTCUSDT', 'ETHUSDT'], market: 'spot', options: { seed: 42 },
      },
    ]);
    expect(config.risk).toMatchObject({ max_position: 100000, max_drawdown: 0.15, kelly_fraction: 0.25, var_confidence: 0.99 });
    expect(config.monitoring).toMatchObject({ metrics_port: 9090, health_check_port: 8080, bind_address: '127.0.0.1' });
    expect(config.compute.backends).toEqual(['cpu-simd', 'js']);
    expect(config.detectors).toEqual([
      { name: 'whale', enabled: true, plugin: '../dist/detectors/index.js', settings: { z_threshold: 4, warmup_trades: 200, min_notional: 10000 } },
      { name: 'cascade', enabled: true, settings: {} },
    ]);
    expect(config.strategy).toEqual({
      plugin: '../dist/strategy/index.js',
      settings: { order_notional: 1000, cooldown_ms: 5000, hold_ms: 20000, slippage_bps: 10, max_signal_age_ms: 2000 },
    });
    expect(config.journal.path).toBeUndefined();
    expect(warnings).toEqual(['sim: no api_key/api_secret; market data only, orders on this venue will be refused']);
    expect(resolvePluginSpecifier(config.strategy!.plugin, configDir)).toBe(
      resolve(configDir, '../dist/strategy/index.js'),
    );
  });
});

describe('environment substitution', () => {
  it('substitutes inside longer strings and unescapes $${', () => {
    const { config } = parseConfig(
      toml({
        system: 'name = "cost $${NOT_A_VAR} and $$ and ${WHO}"',
        sim: 'api_url = "wss://${HOST}:${PORT}/ws"\nsymbols = ["${SYM}", "ETHUSDT"]',
      }),
      { HOST: 'localhost', PORT: '9443', SYM: 'BTCUSDT', WHO: 'me' },
    );
    expect(config.system.name).toBe('cost ${NOT_A_VAR} and $$ and me');
    expect(config.venues[0].api_url).toBe('wss://localhost:9443/ws');
    expect(config.venues[0].symbols).toEqual(['BTCUSDT', 'ETHUSDT']);
  });

  it('reports each missing variable with its key path, array items included', () => {
    const issues = issuesOf(toml({ sim: 'api_url = "wss://${HOST}/${PATH_PART}"\nsymbols = ["${SYM}"]' }));
    expect(issues).toEqual([
      { path: 'sim.api_url', message: 'environment variable HOST is not set' },
      { path: 'sim.api_url', message: 'environment variable PATH_PART is not set' },
      { path: 'sim.symbols[0]', message: 'environment variable SYM is not set' },
    ]);
  });

  it('rejects a malformed reference', () => {
    const issues = issuesOf(toml({ system: 'name = "x ${oops"' }));
    expect(issues).toHaveLength(1);
    expect(issues[0].path).toBe('system.name');
    expect(issues[0].message).toMatch(/malformed \$\{\.\.\.\} reference/);
  });

  it('shows a string as written (with its ${...}) in error messages', () => {
    const issues = issuesOf(toml({ sim: 'api_url = "http://${HOST}/ws"' }), { HOST: 'internal.example' });
    expect(issues).toEqual([{ path: 'sim.api_url', message: 'expected a ws:// or wss:// URL, got "http://${HOST}/ws"' }]);
  });
});

describe('validation', () => {
  it('names an unknown key with its path and suggests the closest known key', () => {
    const issues = issuesOf(toml({ risk: 'max_postion = 1\nmax_position = 1\nmax_drawdown = 0.1\nkelly_fraction = 0.5\nvar_confidence = 0.9' }));
    expect(issues).toEqual([{ path: 'risk.max_postion', message: 'unknown key (did you mean max_position?)' }]);
    const err = configError(() => parseConfig(toml({ risk: 'max_postion = 1\nmax_drawdown = 0.1\nkelly_fraction = 0.5\nvar_confidence = 0.9' }), {}));
    expect(err.message).toContain('risk.max_postion: unknown key (did you mean max_position?)');
    expect(err.message).toContain('risk.max_position: required key is missing');
  });

  it('does not suggest when nothing is close', () => {
    const issues = issuesOf(toml({ performance: 'turbo = true' }));
    expect(issues).toEqual([{ path: 'performance.turbo', message: 'unknown key' }]);
  });

  it('rejects unknown keys in a venue table, but passes options through', () => {
    const { config } = parseConfig(toml({ sim: 'testnet = true\nmarket = "usdm"', 'sim.options': 'anything = [1, "x"]\nnested = { a = 1 }' }), {});
    expect(config.venues[0]).toMatchObject({ testnet: true, market: 'usdm', options: { anything: [1, 'x'], nested: { a: 1 } } });
    expect(issuesOf(toml({ sim: 'api_sekret = "x"' }))).toEqual([{ path: 'sim.api_sekret', message: 'unknown key (did you mean api_secret?)' }]);
  });

  it('names wrong types', () => {
    expect(issuesOf(toml({ performance: 'thread_pool_size = "16"' }))).toEqual([
      { path: 'performance.thread_pool_size', message: 'expected an integer, got string' },
    ]);
    expect(issuesOf(toml({ performance: 'thread_pool_size = 2.5\nsimd_enabled = "yes"\nmax_latency_ms = true' }))).toEqual([
      { path: 'performance.max_latency_ms', message: 'expected a number, got boolean' },
      { path: 'performance.simd_enabled', message: 'expected a boolean, got string' },
      { path: 'performance.thread_pool_size', message: 'expected an integer, got 2.5' },
    ]);
    expect(issuesOf(toml({ exchanges: 'enabled = "sim"' }))).toEqual([{ path: 'exchanges.enabled', message: 'expected an array, got string' }]);
    expect(issuesOf(`risk = 5\n${toml({ risk: undefined })}`)).toEqual([{ path: 'risk', message: 'expected a table, got integer' }]);
    expect(issuesOf(toml({ sim: 'symbols = ["BTCUSDT", 7, ""]' }))).toEqual([
      { path: 'sim.symbols[1]', message: 'expected a string, got integer' },
      { path: 'sim.symbols[2]', message: 'must not be empty' },
    ]);
  });

  const riskBody = (over: Record<string, string>) => {
    const fields = { max_position: '1000', max_drawdown: '0.1', kelly_fraction: '0.5', var_confidence: '0.95', ...over };
    return Object.entries(fields).map(([k, v]) => `${k} = ${v}`).join('\n');
  };

  it.each([
    ['risk', 'max_drawdown', '1.5', 'must be in (0, 1], got 1.5'],
    ['risk', 'max_drawdown', '0', 'must be in (0, 1], got 0'],
    ['risk', 'max_drawdown', '-0.1', 'must be in (0, 1], got -0.1'],
    ['risk', 'kelly_fraction', '0', 'must be in (0, 1], got 0'],
    ['risk', 'kelly_fraction', '1.01', 'must be in (0, 1], got 1.01'],
    ['risk', 'var_confidence', '1', 'must be in (0, 1), got 1'],
    ['risk', 'var_confidence', '0', 'must be in (0, 1), got 0'],
    ['risk', 'max_position', '0', 'must be > 0, got 0'],
    ['risk', 'max_position', '-5', 'must be > 0, got -5'],
    ['risk', 'max_position', 'inf', 'must be a finite number, got Infinity'],
    ['risk', 'max_total_position', '0', 'must be > 0, got 0'],
    ['risk', 'max_order_notional', '-1', 'must be > 0, got -1'],
    ['risk', 'max_open_orders', '0', 'must be >= 1, got 0'],
    ['risk', 'price_band_bps', '0', 'must be > 0, got 0'],
    ['risk', 'orders_per_second', '0', 'must be > 0, got 0'],
    // an H-period VaR needs H sampled returns; the window keeps 500: 600 once meant REDUCING for ever
    ['risk', 'var_horizon', '501', 'must be at most 500 (the sampled returns kept per instrument for VaR: an H-period VaR needs H of them, so a longer horizon never has a VaR), got 501'],
    ['performance', 'thread_pool_size', '0', 'must be in [1, 1024], got 0'],
    ['performance', 'thread_pool_size', '1025', 'must be in [1, 1024], got 1025'],
    ['performance', 'max_latency_ms', '0', 'must be > 0, got 0'],
    ['performance', 'memory_pool_gb', '-1', 'must be > 0, got -1'],
    ['monitoring', 'metrics_port', '65536', 'must be in [0, 65535], got 65536'],
    ['monitoring', 'health_check_port', '-1', 'must be in [0, 65535], got -1'],
  ])('rejects %s.%s = %s', (section, key, value, message) => {
    const text = section === 'risk' ? toml({ risk: riskBody({ [key]: value }) }) : toml({ [section]: `${key} = ${value}` });
    expect(issuesOf(text)).toEqual([{ path: `${section}.${key}`, message }]);
  });

  it('accepts the boundaries of each range', () => {
    const { config } = parseConfig(
      toml({
        risk: riskBody({ max_drawdown: '1', kelly_fraction: '1', var_confidence: '0.999999', max_open_orders: '1', var_horizon: '500' }),
        performance: 'thread_pool_size = 1024',
        monitoring: 'metrics_port = 0\nhealth_check_port = 65535',
      }),
      {},
    );
    expect(config.risk).toMatchObject({ max_drawdown: 1, kelly_fraction: 1, max_open_orders: 1, var_horizon: 500 });
    expect(config.performance.thread_pool_size).toBe(1024);
    expect(config.monitoring).toMatchObject({ metrics_port: 0, health_check_port: 65535 });
  });

  it('requires the required keys and sections', () => {
    expect(issuesOf('[system]\nname = "x"\n')).toEqual([
      { path: 'exchanges', message: 'required section is missing' },
      { path: 'risk', message: 'required section is missing' },
    ]);
    expect(issuesOf(toml({ system: 'environment = "x"', risk: riskBody({}).replace(/^var_confidence.*$/m, '') }))).toEqual([
      { path: 'system.name', message: 'required key is missing' },
      { path: 'risk.var_confidence', message: 'required key is missing' },
    ]);
  });

  it('rejects mode = "Live": only the exact word enables live trading', () => {
    expect(issuesOf(toml({ system: 'name = "t"\nmode = "Live"' }))).toEqual([
      { path: 'system.mode', message: 'must be one of "paper", "live", got "Live" (values are case-sensitive)' },
    ]);
  });

  it('accepts mode = "live" only with credentials for some venue', () => {
    expect(issuesOf(toml({ system: 'name = "t"\nmode = "live"' }))).toEqual([
      { path: 'system.mode', message: '"live" needs api_key and api_secret for at least one enabled venue' },
    ]);
    const { config } = parseConfig(
      toml({ system: 'name = "t"\nmode = "live"\non_shutdown = "keep"', sim: 'api_key = "${K}"\napi_secret = "${S}"' }),
      { K: 'k', S: 's' },
    );
    expect(config.system).toMatchObject({ mode: 'live', on_shutdown: 'keep' });
    expect(config.venues[0].hasCredentials).toBe(true);
  });

  it('counts an empty key as no credentials', () => {
    const { config, warnings } = parseConfig(toml({ sim: 'api_key = "${K}"\napi_secret = "${S}"' }), { K: '', S: 's' });
    expect(config.venues[0].hasCredentials).toBe(false);
    expect(warnings).toHaveLength(1);
  });

  it('rejects an unknown section, hinting at exchanges.enabled', () => {
    expect(issuesOf(toml({ foo: 'x = 1' }))).toEqual([
      { path: 'foo', message: 'unknown section foo; if it is a venue, add it to exchanges.enabled' },
    ]);
    expect(issuesOf(toml({ exchanges: 'enabled = ["binance"]', binanse: 'testnet = true' }))).toEqual([
      { path: 'binanse', message: 'unknown section binanse (did you mean binance?); if it is a venue, add it to exchanges.enabled' },
    ]);
    expect(issuesOf(`title = "x"\n${toml({})}`)).toEqual([{ path: 'title', message: 'unknown key' }]);
  });

  it('checks venue names, urls and plugins', () => {
    expect(issuesOf(toml({ exchanges: 'enabled = []' }))).toEqual([{ path: 'exchanges.enabled', message: 'must list at least one venue' }]);
    expect(issuesOf(toml({ exchanges: 'enabled = ["sim", "Binance", "sim", "risk"]' }))).toEqual([
      { path: 'exchanges.enabled[1]', message: '"Binance" is not a valid venue name (lowercase letters, digits, _ and -, starting with a letter)' },
      { path: 'exchanges.enabled[2]', message: 'duplicate venue "sim"' },
      { path: 'exchanges.enabled[3]', message: '"risk" is a section name and cannot be a venue' },
    ]);
    expect(issuesOf(toml({ sim: 'plugin = "not a package"\nrest_url = "wss://x"\napi_url = "nope"' }))).toEqual([
      { path: 'sim.plugin', message: 'expected an npm package name or a path starting with ./, ../ or /, got "not a package"' },
      { path: 'sim.api_url', message: 'expected a ws:// or wss:// URL, got "nope"' },
      { path: 'sim.rest_url', message: 'expected a http:// or https:// URL, got "wss://x"' },
    ]);
    for (const plugin of ['@acme/exchange-x', 'exchange-x', '@cwts/reference-app/strategy', './x.js', '../dist/x.js', '/opt/x.js']) {
      expect(parseConfig(toml({ sim: `plugin = "${plugin}"` }), {}).config.venues[0].plugin).toBe(plugin);
    }
  });

  it('reads compute, detectors, strategy and journal', () => {
    const { config, warnings } = parseConfig(
      toml({
        compute: 'backends = ["vulkan", "js"]',
        'compute.vulkan': 'device = 0',
        'compute.cuda': 'device = 1',
        'detectors.whale': 'min_notional = 250000',
        'detectors.custom': 'enabled = false\nplugin = "./detectors/custom.js"\nwindow = [1, 2]',
        strategy: 'plugin = "@acme/strategy"\naggression = 0.5',
        journal: 'path = "/var/lib/cwts/journal.jsonl"\nfsync = "always"',
      }),
      {},
    );
    expect(config.compute).toEqual({ backends: ['vulkan', 'js'], backendOptions: { vulkan: { device: 0 }, cuda: { device: 1 } }, plugins: {} });
    expect(warnings).toContain('compute.cuda: settings for backend cuda, which compute.backends does not list; ignored');
    expect(config.detectors).toEqual([
      { name: 'whale', enabled: true, settings: { min_notional: 250000 } },
      { name: 'custom', enabled: false, plugin: './detectors/custom.js', settings: { window: [1, 2] } },
    ]);
    expect(config.strategy).toEqual({ plugin: '@acme/strategy', settings: { aggression: 0.5 } });
    expect(config.journal).toEqual({ path: '/var/lib/cwts/journal.jsonl', fsync: 'always', batch_ms: 50 });
    expect(resolveConfigPath(config.journal.path, '/etc/cwts')).toBe('/var/lib/cwts/journal.jsonl');
    expect(resolveConfigPath('./j.jsonl', '/etc/cwts')).toBe('/etc/cwts/j.jsonl');
    expect(resolvePluginSpecifier('@acme/strategy', '/etc/cwts')).toBe('@acme/strategy');
  });

  it('rejects bad compute, detector, strategy and journal tables', () => {
    expect(
      issuesOf(
        toml({
          compute: 'backend = ["js"]\ndevice = 0',
          detectors: 'whale = true',
          'detectors.x': 'enabled = "no"',
          strategy: 'aggression = 1',
          journal: 'fsync = "sometimes"',
        }),
      ),
    ).toEqual([
      { path: 'compute.backend', message: 'unknown key (did you mean backends?)' },
      { path: 'compute.device', message: 'expected a [compute.device] table of settings for backend device, got integer' },
      { path: 'detectors.whale', message: 'expected a [detectors.whale] table, got boolean' },
      { path: 'detectors.x.enabled', message: 'expected a boolean, got string' },
      { path: 'journal.fsync', message: 'must be one of "always", "batch", "never", got "sometimes"' },
      { path: 'strategy.plugin', message: 'required key is missing' },
    ]);
  });

  it('reports several problems together, one per line', () => {
    const err = configError(() =>
      parseConfig(
        toml({
          system: 'name = "t"\nmode = "Live"\nlog_level = "verbose"',
          performance: 'thread_pool_size = "8"',
          risk: 'max_postion = 1\nmax_drawdown = 1.5\nkelly_fraction = 0.5\nvar_confidence = 0.95',
          foo: 'x = 1',
          sim: 'api_key = "${SIM_KEY}"',
        }),
        {},
        'several.toml',
      ),
    );
    const expected = [
      'sim.api_key: environment variable SIM_KEY is not set',
      'system.log_level: must be one of "trace", "debug", "info", "warn", "error", "fatal", got "verbose"',
      'system.mode: must be one of "paper", "live", got "Live" (values are case-sensitive)',
      'performance.thread_pool_size: expected an integer, got string',
      'foo: unknown section foo; if it is a venue, add it to exchanges.enabled',
      'risk.max_postion: unknown key (did you mean max_position?)',
      'risk.max_position: required key is missing',
      'risk.max_drawdown: must be in (0, 1], got 1.5',
    ];
    expect(err.message.split('\n')).toEqual(['invalid configuration several.toml (8 problems):', ...expected.map((l) => `  ${l}`)]);
    expect(err.issues).toHaveLength(8);
  });

  it('turns a TOML syntax error into a ConfigError with line and column', () => {
    const err = configError(() => parseConfig('[system]\nname = "t"\nthread_pool_size = = 3\n', {}, 'bad.toml'));
    expect(err.line).toBe(3);
    expect(err.column).toBeGreaterThan(0);
    expect(err.issues).toHaveLength(1);
    expect(err.message).toMatch(/^invalid configuration bad\.toml \(1 problem\):\n {2}TOML syntax error at line 3, column \d+: /);
  });

  it('reports a file that cannot be read', () => {
    const err = configError(() => loadConfigFile('/nonexistent/cwts.toml', {}));
    expect(err.message).toContain('cannot read config file /nonexistent/cwts.toml: no such file');
  });
});

describe('secrets', () => {
  const KEY = 'Zq9-very-secret-key-value';
  const SECRET = 'Xw7-very-secret-secret-value';
  const TOKEN = 'Tk3-token-in-plugin-options';

  it('never show up in a loaded config however it is printed', () => {
    const text = toml({
      sim: 'api_key = "${K}"\napi_secret = "${S}"\npassphrase = "pp-${S}"',
      'sim.options': 'auth_token = "${T}"\nsigning_key = "${T}"\nnested = { db_password = "${T}" }\nsecrets = ["${T}"]',
      'detectors.whale': 'webhook_token = "${T}"',
    });
    const loaded: LoadedConfig = parseConfig(text, { K: KEY, S: SECRET, T: TOKEN });
    const venue = loaded.config.venues[0];
    expect(venue.api_key?.reveal()).toBe(KEY);
    expect(venue.passphrase?.reveal()).toBe(`pp-${SECRET}`);
    expect((venue.options.auth_token as Secret).reveal()).toBe(TOKEN);
    expect(((venue.options.nested as Record<string, unknown>).db_password as Secret).reveal()).toBe(TOKEN);
    expect(`${venue.api_key}`).toBe('[redacted]');

    const printed = everyRendering(loaded);
    for (const s of [KEY, SECRET, TOKEN]) expect(printed).not.toContain(s);
    expect(printed).toContain('[redacted]');

    // console.log goes through util.format/inspect.
    const logged: string[] = [];
    const orig = console.log;
    console.log = (...args: unknown[]) => void logged.push(format(...args));
    try {
      console.log(loaded);
      console.log('%j', loaded.config);
    } finally {
      console.log = orig;
    }
    // And a pino logger given the whole config.
    let pinoOut = '';
    const sink = new Writable({ write(chunk, _enc, cb) { pinoOut += String(chunk); cb(); } });
    createLogger({ destination: sink }).info({ config: loaded.config }, 'config loaded');
    for (const s of [KEY, SECRET, TOKEN]) {
      expect(logged.join('\n')).not.toContain(s);
      expect(pinoOut).not.toContain(s);
    }
    expect(pinoOut).toContain('config loaded');
  });

  it('never show up in errors: wrong type, missing variable, bad neighbours, syntax errors', () => {
    const err = configError(() =>
      parseConfig(
        toml({
          system: 'name = "t"\nmode = "Live"',
          sim: `api_key = 918273645\napi_secret = "\${MISSING_SECRET}"\npassphrase = ["${SECRET}"]\napi_url = "wss://h/\${S}"\nrest_url = "ftp://x/\${S}"`,
          'sim.options': 'token = "${NOPE}"',
        }),
        { S: SECRET },
      ),
    );
    expect(err.issues).toEqual([
      { path: 'sim.api_secret', message: 'environment variable MISSING_SECRET is not set' },
      { path: 'sim.options.token', message: 'environment variable NOPE is not set' },
      { path: 'system.mode', message: 'must be one of "paper", "live", got "Live" (values are case-sensitive)' },
      { path: 'sim.rest_url', message: 'expected a http:// or https:// URL, got "ftp://x/${S}"' },
      { path: 'sim.api_key', message: 'expected a string, got integer' },
      { path: 'sim.passphrase', message: 'expected a string, got array' },
    ]);
    const printed = everyRendering(err);
    expect(printed).not.toContain('918273645');
    expect(printed).not.toContain(SECRET);

    const syntax = configError(() => parseConfig(`[sim]\napi_key = "${SECRET}\n`, {}));
    expect(everyRendering(syntax)).not.toContain(SECRET);
    expect(syntax.line).toBe(2);
  });

  it('redact the Secret class itself', () => {
    const s = new Secret('hunter2');
    expect([String(s), `${s}`, JSON.stringify({ s }), inspect(s), inspect({ s }, { showHidden: true })].join()).not.toContain('hunter2');
    expect(s.reveal()).toBe('hunter2');
    expect(s.isEmpty).toBe(false);
    expect(new Secret('').isEmpty).toBe(true);
  });
});

describe('loadConfigFile', () => {
  it('gives configDir and sourcePath of the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-config-'));
    const file = join(dir, 'c.toml');
    writeFileSync(file, `\uFEFF${toml({ strategy: 'plugin = "./s.js"' })}`);
    const loaded = loadConfigFile(file, {});
    expect(loaded.sourcePath).toBe(file);
    expect(loaded.configDir).toBe(dir);
    expect(resolvePluginSpecifier(loaded.config.strategy!.plugin, loaded.configDir)).toBe(join(dir, 's.js'));
  });
});

describe('risk and monitoring additions', () => {
  const base = readFileSync(SIM, 'utf8');
  it('reads the documented [risk] additions and rejects bad values with key paths', () => {
    const ok = parseConfig(base.replace('var_confidence = 0.99', 'var_confidence = 0.99\ninitial_equity = 50000\nvar_method = "montecarlo"\nfeed_loss_action = "halt"'), {}, 'x');
    expect(ok.config.risk).toMatchObject({ initial_equity: 50000, var_method: 'montecarlo', feed_loss_action: 'halt' });
    const bad = () => parseConfig(base.replace('var_confidence = 0.99', 'var_confidence = 0.99\nvar_method = "magic"\nreduce_at_drawdown = 1.5\nvar_horizon = 0'), {}, 'x');
    expect(bad).toThrowError(/risk\.var_method/);
    expect(bad).toThrowError(/risk\.reduce_at_drawdown/);
    expect(bad).toThrowError(/risk\.var_horizon/);
  });
});

describe('[monitoring] ports that clash', () => {
  // run listens only after composing everything (plugins initialized, venues connected): a clash
  // would fail there with EADDRINUSE, so validate-config refuses it, naming both keys.
  const ports = (body: string) => toml({ monitoring: body });

  it('two equal non-zero ports on the same address, naming both keys', () => {
    expect(issuesOf(ports('metrics_port = 39217\nhealth_check_port = 39217\ncontrol_port = 0'))).toEqual([
      { path: 'monitoring.health_check_port', message: '39217 is also monitoring.metrics_port on 127.0.0.1: run cannot listen on both; use another port, or 0 to pick a free one' },
    ]);
    expect(issuesOf(ports('metrics_port = 9100\nhealth_check_port = 0\ncontrol_port = 9100'))).toEqual([
      { path: 'monitoring.control_port', message: '9100 is also monitoring.metrics_port on 127.0.0.1: run cannot listen on both; use another port, or 0 to pick a free one' },
    ]);
  });

  it('a wildcard address covers the loopback one; distinct addresses and port 0 do not clash', () => {
    expect(issuesOf(ports('bind_address = "0.0.0.0"\nhealth_check_port = 8081'))).toEqual([
      { path: 'monitoring.control_port', message: '8081 is also monitoring.health_check_port (0.0.0.0 and 127.0.0.1 overlap): run cannot listen on both; use another port, or 0 to pick a free one' },
    ]);
    expect(parseConfig(ports('bind_address = "127.0.0.2"\nhealth_check_port = 8081'), {}, 'x').config.monitoring).toMatchObject({ health_check_port: 8081, control_port: 8081 });
    expect(parseConfig(ports('metrics_port = 0\nhealth_check_port = 0\ncontrol_port = 0'), {}, 'x').config.monitoring.metrics_port).toBe(0);
  });
});

describe('[paper]', () => {
  const base = readFileSync(SIM, 'utf8');
  it('has defaults and validates its keys with paths', () => {
    expect(parseConfig(base, {}, 'x').config.paper).toEqual({ latency_ms: 5, maker_fee_bps: 2, taker_fee_bps: 10 });
    const ok = parseConfig(`${base}\n[paper]\nlatency_ms = 0\nmaker_fee_bps = -0.5\n`, {}, 'x');
    expect(ok.config.paper).toEqual({ latency_ms: 0, maker_fee_bps: -0.5, taker_fee_bps: 10 });
    const bad = () => parseConfig(`${base}\n[paper]\nlatency = 3\ntaker_fee_bps = "ten"\n`, {}, 'x');
    expect(bad).toThrowError(/paper\.latency: unknown key/);
    expect(bad).toThrowError(/paper\.taker_fee_bps/);
  });
});

describe('seed keys nothing enforces yet', () => {
  const base = readFileSync(SIM, 'utf8');
  const load = (text: string) => parseConfig(text, {}, 'x');
  const notices = (w: string[]) => w.filter((x) => !x.includes('no api_key'));

  it('the reference sim config sets none of them, so it starts without notices', () => {
    expect(notices(load(base).warnings)).toEqual([]);
  });

  it('memory_pool_gb says at startup that it does nothing yet; max_latency_ms (back-pressure) and enable_tracing = true are acted on, so they say nothing', () => {
    const text = base
      .replace(/^\[performance\]$/m, '[performance]\nmax_latency_ms = 5\nmemory_pool_gb = 4')
      .replace('enable_tracing = false', 'enable_tracing = true');
    const { config, warnings } = load(text);
    expect(config.performance).toMatchObject({ max_latency_ms: 5, memory_pool_gb: 4 });
    expect(notices(warnings)).toEqual([
      expect.stringMatching(/^performance\.memory_pool_gb: reserved/),
    ]);
    // Still validated: a bad value is an error, not a notice.
    expect(() => load(text.replace('memory_pool_gb = 4', 'memory_pool_gb = 0'))).toThrowError(/performance\.memory_pool_gb: must be > 0, got 0/);
  });

  it('kelly_fraction is optional (default 0.25, quarter Kelly) and still range-checked', () => {
    const without = base.replace(/^kelly_fraction = .*$/m, '');
    expect(without).not.toMatch(/kelly_fraction/);
    expect(load(without).config.risk.kelly_fraction).toBe(0.25);
    expect(() => load(base.replace(/^kelly_fraction = .*$/m, 'kelly_fraction = 2'))).toThrowError(/risk\.kelly_fraction: must be in \(0, 1\], got 2/);
  });
});

describe('docs/configuration.md', () => {
  it('lists every key of every config table schema', async () => {
    const doc = readFileSync(resolve(here, '../../../../docs/configuration.md'), 'utf8');
    const tables = await import('./tables.js');
    const { routingSchema } = await import('./routing-schema.js');
    const keysOf = (s: unknown): string[] => Object.keys((s as { shape?: Record<string, unknown> }).shape ?? {});
    // [routing.venue.<name>]: the value schema of the (defaulted) record
    const routingVenue = (routingSchema.shape.venue.unwrap() as unknown as { valueType: unknown }).valueType;
    const keys = [
      ...keysOf(tables.systemTable), ...keysOf(tables.performanceTable), ...keysOf(tables.exchangesTable),
      ...keysOf(tables.venueTable('x')), ...keysOf(tables.riskTable), ...keysOf(tables.monitoringTable),
      ...keysOf(tables.journalTable), ...keysOf(tables.reconcileTable), ...keysOf(tables.paperTable),
      'backends', 'enabled', 'plugin',
    ];
    expect(keys.length).toBeGreaterThan(50);
    const missing = keys.filter((k) => !doc.includes(`\`${k}\``));
    expect(missing).toEqual([]);
    // [routing] has its own section: each of its keys is in the table there, not only named elsewhere on the page.
    const routingKeys = [...keysOf(routingSchema), ...keysOf(routingVenue)];
    expect(routingKeys).toEqual(expect.arrayContaining(['default_taker_fee_bps', 'max_program_cells', 'venue', 'taker_fee_bps', 'latency_penalty_bps', 'max_orders_per_second']));
    const routingSection = /\n## \[routing\]\n([\s\S]*?)\n## /.exec(doc)?.[1] ?? '';
    expect(routingKeys.filter((k) => !routingSection.includes(`| \`${k}\` |`))).toEqual([]);
  });
});

describe('[compute] (config/compute-schema.ts)', () => {
  const compute = (body: Record<string, string>) => parseConfig(toml(body), {});

  it('without backends auto-detects; [compute.<name>] plugin is where the backend loads from', () => {
    const { config, warnings } = compute({ 'compute.acme': 'plugin = "./backends/acme.js"\nlanes = 8', 'compute.vulkan': 'device = 1' });
    expect(config.compute).toEqual({ backends: undefined, backendOptions: { acme: { lanes: 8 }, vulkan: { device: 1 } }, plugins: { acme: './backends/acme.js' } });
    expect(warnings.filter((w) => w.startsWith('compute'))).toEqual([]);
  });

  it('rejects a duplicate or invalid backend, an empty list, a bad plugin and a plugin for js', () => {
    expect(issuesOf(toml({ compute: 'backends = ["cuda", "cuda", "Bad!"]' }))).toEqual([
      { path: 'compute.backends[1]', message: 'duplicate backend "cuda"' },
      { path: 'compute.backends[2]', message: '"Bad!" is not a valid backend name (lowercase letters, digits, _ and -, starting with a letter)' },
    ]);
    expect(issuesOf(toml({ compute: 'backends = []' }))).toEqual([{ path: 'compute.backends', message: 'must list at least one backend' }]);
    expect(issuesOf(toml({ 'compute.acme': 'plugin = 3' }))).toEqual([{ path: 'compute.acme.plugin', message: 'expected a string, got number 3' }]);
    expect(issuesOf(toml({ 'compute.js': 'plugin = "x"' }))).toEqual([{ path: 'compute.js.plugin', message: 'js is built into @cwts/core and cannot be loaded from a plugin' }]);
  });
});

describe('[monitoring] tracing keys', () => {
  const base = readFileSync(SIM, 'utf8');
  const load = (text: string) => parseConfig(text, {}, 'x');
  it('are optional (defaults applied where tracing starts), and range- and URL-checked', () => {
    expect(load(base).config.monitoring.tracing_endpoint).toBeUndefined();
    const on = base.replace('enable_tracing = false', 'enable_tracing = true\ntracing_endpoint = "http://127.0.0.1:4318"\ntracing_sample_ratio = 0.01');
    expect(load(on).config.monitoring).toMatchObject({ enable_tracing: true, tracing_endpoint: 'http://127.0.0.1:4318', tracing_sample_ratio: 0.01 });
    expect(() => load(on.replace('tracing_sample_ratio = 0.01', 'tracing_sample_ratio = 0'))).toThrowError(/monitoring\.tracing_sample_ratio/);
    expect(() => load(on.replace('tracing_sample_ratio = 0.01', 'tracing_sample_ratio = 1.5'))).toThrowError(/monitoring\.tracing_sample_ratio/);
    expect(() => load(on.replace('"http://127.0.0.1:4318"', '"grpc://x:4317"'))).toThrowError(/monitoring\.tracing_endpoint: expected a http:\/\/ or https:\/\/ URL/);
  });
});
