/**
 * A detector, `[strategy]` or `[risk_checks.<name>]` table is a promise that the engine runs what
 * its plugin provides: a plugin whose register() registers nothing for its table must fail
 * startup naming the table and the plugin, never start without it (a configured risk limit that
 * does not apply, an engine without its strategy).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../config/errors.js';
import type { Deployment } from './compose.js';
import { composeFile, deploymentToml, pluginFolder } from './compose.fixture.js';
import { validateConfigCommand } from '../cli/validate.js';
import { TOKENS } from '../di/tokens.js';
import { UnregisteredTokenError } from '../di/errors.js';

const { file, remove } = pluginFolder('cwts-compose-registrations-');
afterAll(remove);

const config = (extra: string): string => file('config.toml', deploymentToml({ name: 'registrations', extra }));
/** The error compose failed with (or a failure of the test when it composed). */
const refusal = (configPath: string) =>
  composeFile(configPath).then(
    (d) => {
      dep = d;
      throw new Error('composed');
    },
    (e: unknown) => e as Error,
  );

let dep: Deployment | undefined;
afterEach(async () => {
  await dep?.dispose();
  dep = undefined;
});

/** A risk plugin registering one RiskCheck per table, or none when `none` is in its table. */
const CAP = `const RiskCheck = { symbol: Symbol.for('cwts.RiskCheck'), description: 'RiskCheck', multi: true };
  export const plugin = {
    name: 'acme-cap', kind: 'risk', coreApi: '1.0',
    register({ registrar, instanceName, config }) {
      if (config.none) return;
      registrar.value(RiskCheck, { name: instanceName, check: (i) => (i.qty <= config.max_lots ? { ok: true } : { ok: false, reason: 'RISK_CUSTOM', message: 'over the cap' }) });
    },
  };`;

describe('a configured plugin that registers nothing fails startup', () => {
  it('a [risk_checks.<name>] whose plugin registers no RiskCheck names the table and the plugin', async () => {
    const risk = file('no-check-risk.mjs', `export const plugin = { name: 'acme-cap', kind: 'risk', coreApi: '1.0', register() {} };`);
    const err = await refusal(config(`[risk_checks.cap]\nplugin = ${JSON.stringify(risk)}\nmax_lots = 50\n`));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/risk_checks\.cap: acme-cap registered no RiskCheck/);
  });

  it('a [strategy] whose plugin registers no Strategy names it', async () => {
    const strat = file('no-strategy.mjs', `export const plugin = { name: 'acme-strat', kind: 'strategy', coreApi: '1.0', register() {} };`);
    const err = await refusal(config(`[strategy]\nplugin = ${JSON.stringify(strat)}\n`));
    expect(err.message).toMatch(/strategy: acme-strat registered no Strategy/);
  });

  it('a [detectors.<name>] whose plugin registers no Detector names it', async () => {
    const det = file('no-detector.mjs', `export const plugin = { name: 'acme-det', kind: 'detector', coreApi: '1.0', register() {} };`);
    const err = await refusal(config(`[detectors.spoof]\nplugin = ${JSON.stringify(det)}\n`));
    expect(err.message).toMatch(/detectors\.spoof: acme-det registered no Detector/);
  });

  it('one plugin under two tables must register for each: one table registering nothing is refused', async () => {
    const cap = file('cap.mjs', CAP);
    const err = await refusal(config(`[risk_checks.a]\nplugin = ${JSON.stringify(cap)}\nmax_lots = 50\n\n[risk_checks.b]\nplugin = ${JSON.stringify(cap)}\nnone = true\n`));
    expect(err.message).toMatch(/risk_checks\.b: acme-cap registered no RiskCheck for this table \(it registered 1 for risk_checks\.a;/);
    expect(err.message).not.toMatch(/risk_checks\.a: /);
  });

  it('counted per table: a table registering nothing is refused even when another table of the same plugin registered two', async () => {
    // One RiskCheck per `caps` entry; `fat_finger` misspells the key (`cap`), so its register()
    // reads no caps and registers nothing: its 5-lot cap would never apply. Counted across the
    // plugin's tables (2 registrations >= 2 tables), it composed without it.
    const caps = file(
      'symbol-caps.mjs',
      `const RiskCheck = { symbol: Symbol.for('cwts.RiskCheck'), description: 'RiskCheck', multi: true };
       export const plugin = {
         name: 'acme-symbol-caps', kind: 'risk', coreApi: '1.0',
         register({ registrar, instanceName, config }) {
           for (const [symbol, max] of Object.entries(config.caps ?? {})) {
             registrar.value(RiskCheck, { name: instanceName + ':' + symbol, check: (i) => (i.symbol !== symbol || i.qty <= max ? { ok: true } : { ok: false, reason: 'RISK_CUSTOM', message: 'over the cap' }) });
           }
         },
       };`,
    );
    const cfg = config(
      `[risk_checks.majors]\nplugin = ${JSON.stringify(caps)}\ncaps = { BTCUSDT = 50, ETHUSDT = 500 }\n\n` + `[risk_checks.fat_finger]\nplugin = ${JSON.stringify(caps)}\ncap = { BTCUSDT = 5 }\n`,
    );
    const err = await refusal(cfg);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/risk_checks\.fat_finger: acme-symbol-caps registered no RiskCheck for this table \(it registered 2 for risk_checks\.majors;/);
    // validate-config refuses it the same way
    const validated = await validateConfigCommand({ config: cfg }, () => {}).then(
      () => new Error('validated'),
      (e: unknown) => e as Error,
    );
    expect(validated).toBeInstanceOf(ConfigError);
    expect(validated.message).toMatch(/risk_checks\.fat_finger: acme-symbol-caps registered no RiskCheck for this table/);
  });

  it('plugins that register what their tables ask for compose, their checks in the chain', async () => {
    const cap = file('cap.mjs', CAP);
    dep = await composeFile(config(`[risk_checks.a]\nplugin = ${JSON.stringify(cap)}\nmax_lots = 50\n\n[risk_checks.b]\nplugin = ${JSON.stringify(cap)}\nmax_lots = 10\n\n[detectors.whale]\n`));
    expect(dep.container.resolveAll(TOKENS.RiskCheck).map((c) => c.name)).toEqual(expect.arrayContaining(['a', 'b']));
  });
});

describe('validate-config refuses what run would refuse', () => {
  it('a [risk_checks.<name>] whose plugin registers no RiskCheck fails validate-config with the same message', async () => {
    const risk = file('no-check-risk.mjs', `export const plugin = { name: 'acme-cap', kind: 'risk', coreApi: '1.0', register() {} };`);
    const err = await validateConfigCommand({ config: config(`[risk_checks.cap]\nplugin = ${JSON.stringify(risk)}\nmax_lots = 50\n`) }, () => {}).then(
      () => new Error('validated'),
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/risk_checks\.cap: acme-cap registered no RiskCheck/);
    const cap = file('cap.mjs', CAP);
    expect(await validateConfigCommand({ config: config(`[risk_checks.a]\nplugin = ${JSON.stringify(cap)}\nmax_lots = 50\n`) }, () => {})).toBe(0);
  });
});

describe('whale per-symbol overrides must name what the deployment trades', () => {
  it('a typo in [detectors.whale.symbols."<key>"] fails run and validate-config alike, with a did-you-mean; keys that match compose', async () => {
    const typo = config(`[detectors.whale]\n[detectors.whale.symbols."BTCUSTD"]\nmin_notional = 250000\n[detectors.whale.symbols."smi:BTCUSDT"]\nmin_notional = 250000\n[detectors.whale.symbols."sim:ETHUSDT"]\nmin_notional = 250000\n`);
    const err = await refusal(typo);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain('detectors.whale.symbols.BTCUSTD: no configured venue trades BTCUSTD (did you mean BTCUSDT?): the override would never apply');
    expect(err.message).toContain('detectors.whale.symbols.smi:BTCUSDT: no configured venue smi trades BTCUSDT (did you mean sim:BTCUSDT?)');
    expect(err.message).toContain('detectors.whale.symbols.sim:ETHUSDT: venue sim does not trade ETHUSDT');
    const validated = await validateConfigCommand({ config: typo }, () => {}).then(
      () => new Error('validated'),
      (e: unknown) => e as Error,
    );
    expect(validated).toBeInstanceOf(ConfigError);
    expect(validated.message).toContain('detectors.whale.symbols.BTCUSTD: no configured venue trades BTCUSTD');
    dep = await composeFile(config(`[detectors.whale]\n[detectors.whale.symbols."BTCUSDT"]\nmin_notional = 250000\n[detectors.whale.symbols."sim:BTCUSDT"]\nmin_notional = 100000\n`));
    expect(dep.container.resolveAll(TOKENS.Detector).map((d) => d.name)).toContain('whale');
  });
});

describe('TOKENS.ComputeBackend is core\'s alone', () => {
  // A backend author may register the public single-slot token instead of a ComputeBackendProvider.
  const directBackend = () =>
    file(
      'direct-backend.mjs',
      `const ComputeBackend = { symbol: Symbol.for('cwts.ComputeBackend'), description: 'ComputeBackend', multi: false };
       const Strategy = { symbol: Symbol.for('cwts.Strategy'), description: 'Strategy', multi: false };
       export const plugin = {
         name: 'acme-direct-backend', kind: 'strategy', coreApi: '1.0', overrides: [ComputeBackend],
         register({ registrar }) {
           registrar.value(Strategy, { name: 's', onSignal() {} });
           registrar.value(ComputeBackend, { name: 'mine' });
         },
         async initialize() { globalThis.__directBackendInitialized = true; },
       };`,
    );
  const REFUSED = /acme-direct-backend \(strategy\): register\(\) failed: acme-direct-backend tried to provide ComputeBackend \(scope [a-z-]+\), but only @cwts\/core provides it, and no plugin can replace it \(not with overrides either\): .*TOKENS\.ComputeBackendProvider/;

  it('run and validate-config refuse a plugin registering it at register time, with the same message, before any plugin initializes', async () => {
    const cfg = config(`[strategy]\nplugin = ${JSON.stringify(directBackend())}\n`);
    const run = await refusal(cfg);
    expect(run).toBeInstanceOf(ConfigError);
    expect(run.message).toMatch(REFUSED);
    // refused before initialization (it was found only after every plugin initialized and the backend started)
    expect((globalThis as Record<string, unknown>).__directBackendInitialized).toBeUndefined();
    const validated = await validateConfigCommand({ config: cfg }, () => {}).then(
      () => new Error('validated'),
      (e: unknown) => e as Error,
    );
    expect(validated).toBeInstanceOf(ConfigError);
    expect(validated.message).toMatch(REFUSED);
  });

  it('core still provides the backend it chose', async () => {
    dep = await composeFile(config(''));
    expect(dep.container.resolve(TOKENS.ComputeBackend)).toBe(dep.compute.backend);
    expect(dep.container.ownersOf(TOKENS.ComputeBackend)).toEqual(['@cwts/core']);
  });
});

describe('TOKENS.PluginConfig', () => {
  // Core's own decorators and tokens, as a plugin imports them from @cwts/core (here by path).
  const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
  const imports = `import { TOKENS } from ${JSON.stringify(path.join(dist, 'di/tokens.js'))};
    import { inject, injectable } from ${JSON.stringify(path.join(dist, 'di/decorators.js'))};`;

  it('a strategy class injecting TOKENS.PluginConfig gets its own [strategy] table', async () => {
    const strat = file(
      'di-strategy.mjs',
      `${imports}
       class DiStrategy {
         name = 'di';
         constructor(settings) { this.settings = settings; }
         onSignal() {}
       }
       injectable()(DiStrategy);
       inject(TOKENS.PluginConfig)(DiStrategy, undefined, 0);
       export const plugin = {
         name: 'acme-di-strategy', kind: 'strategy', coreApi: '1.0',
         register({ registrar }) { registrar.class(TOKENS.Strategy, DiStrategy); },
       };`,
    );
    dep = await composeFile(config(`[strategy]\nplugin = ${JSON.stringify(strat)}\nthreshold = 3\n`));
    const s = dep.container.resolve(TOKENS.Strategy) as unknown as { settings: Record<string, unknown> };
    expect(s.settings).toMatchObject({ threshold: 3 });
  });

  it('one plugin under two tables: each registered class gets the table of its own instance', async () => {
    const cap = file(
      'di-cap.mjs',
      `${imports}
       class CapCheck {
         constructor(settings) { this.name = settings.label; this.max = settings.max_lots; }
         check(i) { return i.qty <= this.max ? { ok: true } : { ok: false, reason: 'RISK_CUSTOM', message: 'over the cap' }; }
       }
       injectable()(CapCheck);
       inject(TOKENS.PluginConfig)(CapCheck, undefined, 0);
       export const plugin = {
         name: 'acme-di-cap', kind: 'risk', coreApi: '1.0',
         register({ registrar }) { registrar.class(TOKENS.RiskCheck, CapCheck); },
       };`,
    );
    dep = await composeFile(config(`[risk_checks.a]\nplugin = ${JSON.stringify(cap)}\nlabel = "cap-a"\nmax_lots = 50\n\n[risk_checks.b]\nplugin = ${JSON.stringify(cap)}\nlabel = "cap-b"\nmax_lots = 10\n`));
    const caps = dep.container.resolveAll(TOKENS.RiskCheck).filter((c) => c.name.startsWith('cap-')) as unknown as { name: string; max: number }[];
    expect(caps.map((c) => [c.name, c.max])).toEqual([['cap-a', 50], ['cap-b', 10]]);
  });

  it('resolved from a container (a factory, initialize()) it is an UnregisteredTokenError saying where it is given', async () => {
    dep = await composeFile(config(''));
    expect(() => dep!.container.resolve(TOKENS.PluginConfig)).toThrowError(UnregisteredTokenError);
    expect(() => dep!.container.resolve(TOKENS.PluginConfig)).toThrowError(/nothing provides PluginConfig in scope root; .*@inject\(TOKENS\.PluginConfig\).*ctx\.config/);
  });
});
