/**
 * An exchange plugin registers in its venue's child scope, but composition reads the router,
 * risk checks, detectors, strategy and core services from the root only: such a registration
 * is refused at register time naming the plugin, never silently dropped or shadowing core's.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../config/load.js';
import { composeDeployment, type Deployment } from './compose.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { silentLogger } from '../observability/logger.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cwts-venue-scope-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SIM = pathToFileURL(createRequire(import.meta.url).resolve('@cwts/exchange-sim')).href;

let n = 0;
function file(name: string, text: string): string {
  const f = path.join(dir, `${n++}-${name}`);
  writeFileSync(f, text);
  return f;
}
function config(simPlugin: string): string {
  return file(
    'config.toml',
    `[system]\nname = "venue-scope"\nmode = "paper"\n\n[exchanges]\nenabled = ["sim"]\n\n[sim]\nplugin = ${JSON.stringify(simPlugin)}\nsymbols = ["BTCUSDT"]\n\n` +
      `[risk]\nmax_position = 100000\nmax_drawdown = 0.15\nkelly_fraction = 0.25\nvar_confidence = 0.99\n\n[compute]\nbackends = ["js"]\n`,
  );
}
const compose = (configPath: string) =>
  composeDeployment({ loaded: loadConfigFile(configPath), logger: silentLogger(), metrics: new MetricsRegistry(), journal: false, watchdog: false });

let dep: Deployment | undefined;
afterEach(async () => {
  await dep?.dispose();
  dep = undefined;
});

/** An exchange plugin: the simulated venue plus `extra` registrations in register(). */
function simWith(name: string, manifestExtra: string, registerExtra: string): string {
  return file(
    `${name}.mjs`,
    `import { plugin as sim } from ${JSON.stringify(SIM)};
     const tok = (n, multi = false) => ({ symbol: Symbol.for('cwts.' + n), description: n, multi });
     export const plugin = {
       ...sim, name: ${JSON.stringify(name)}, ${manifestExtra}
       register(ctx) { sim.register.call(this, ctx); const { registrar } = ctx; ${registerExtra} },
     };`,
  );
}

/** Composes and expects a startup error; the deployment, if one was built anyway, is disposed. */
async function refusal(configPath: string): Promise<string> {
  const outcome = await compose(configPath).then(
    (d) => ((dep = d), undefined),
    (e: Error) => e,
  );
  expect(outcome, 'composed although the exchange plugin registered a deployment-wide token').toBeInstanceOf(Error);
  return outcome!.message;
}

describe('an exchange plugin registering deployment-wide tokens in its venue scope', () => {
  it('replacing the order router (overrides declared) is refused naming the plugin, not silently dropped', async () => {
    const ex = simWith('acme-sim-router', `overrides: [tok('OrderRouter')],`, `registrar.value(tok('OrderRouter'), { name: 'acme-router', route: (i) => [i] });`);
    const message = await refusal(config(ex));
    expect(message).toMatch(/acme-sim-router \(sim\): register\(\) failed: acme-sim-router tried to provide OrderRouter in scope root\/sim/);
    expect(message).toMatch(/registers only its venue's MarketDataClient and ExecutionClient/);
  });

  it('registering core\'s Clock without declaring overrides fails naming it (as any other plugin does)', async () => {
    const ex = simWith('acme-sim-clock', '', `registrar.value(tok('Clock'), { now: () => 0, monoNs: () => 0n });`);
    expect(await refusal(config(ex))).toMatch(/acme-sim-clock tried to provide Clock in scope root\/sim/);
  });

  it('a pre-trade check it registers is refused naming it, never silently dropped', async () => {
    const ex = simWith('acme-sim-check', '', `registrar.value(tok('RiskCheck', true), { name: 'acme-venue-cap', check: () => ({ ok: false, reason: 'RISK_CUSTOM', message: 'no' }) });`);
    expect(await refusal(config(ex))).toMatch(/acme-sim-check tried to provide RiskCheck in scope root\/sim.*\[risk_checks\.<name>\]/);
  });

  it('its own clients and tokens of its own still register', async () => {
    const ex = simWith('acme-sim-own', '', `registrar.value({ symbol: Symbol.for('acme.sim.extra'), description: 'AcmeExtra', multi: false }, 42);`);
    dep = await compose(config(ex));
    expect(dep).toBeDefined();
  });
});
