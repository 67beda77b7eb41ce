import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { TOKENS } from '@cwts/core';
import { ConfigError, loadConfigFile } from '@cwts/core/config';
import { composeDeployment, type Deployment } from '@cwts/core/engine';
import { MetricsRegistry, silentLogger } from '@cwts/core/observability';
import { waitUntil } from '@cwts/core/testing';

// The plugin as a deployment loads it: by path in `[risk_checks.<name>]`, through core's plugin
// loader, in front of the simulated venue (no network, no keys).
const PLUGIN = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'cwts-risk-plugin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(riskChecks: string): string {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(
    file,
    `[system]\nname = "risk-plugin-test"\nmode = "paper"\n\n[exchanges]\nenabled = ["sim"]\n\n[sim]\nplugin = "@cwts/exchange-sim"\nsymbols = ["BTCUSDT"]\n\n` +
      `[risk]\nmax_position = 100000\nmax_drawdown = 0.15\nkelly_fraction = 0.25\nvar_confidence = 0.99\n\n[compute]\nbackends = ["js"]\n\n${riskChecks}`,
  );
  return file;
}

let dep: Deployment | undefined;
afterEach(async () => {
  await dep?.dispose();
  dep = undefined;
});

describe('acme-risk-max-order-lots in a deployment', () => {
  it('rejects an order above its cap and lets a smaller one through', async () => {
    const loaded = loadConfigFile(config(`[risk_checks.fat_finger]\nplugin = ${JSON.stringify(PLUGIN)}\nmax_lots = 50\n`));
    dep = await composeDeployment({ loaded, logger: silentLogger(), metrics: new MetricsRegistry(), journal: false, watchdog: false });
    expect(dep.container.ownersOf(TOKENS.RiskCheck)).toEqual(['@cwts/core/risk', 'acme-risk-max-order-lots']);
    await dep.engine.start();
    const engine = dep.engine;
    await waitUntil(() => engine.book('sim', 'BTCUSDT')?.synced === true && engine.book('sim', 'BTCUSDT')!.bestBid() !== undefined, 'the sim BTCUSDT book to sync', 20_000);
    const bid = engine.book('sim', 'BTCUSDT')!.bestBid()!;
    const order = (qty: number) => ({ exchange: 'sim', symbol: 'BTCUSDT', side: 'buy' as const, type: 'limit' as const, price: bid, qty, tif: 'GTC' as const, source: 'test' });

    // 51 lots of 0.00001 BTC at ~60 000 is ~30 USDT: inside every built-in limit, above the cap.
    const rejected = engine.submit(order(51));
    expect(rejected).toEqual({ accepted: false, reason: 'RISK_CUSTOM', message: 'max_order_lots:fat_finger: 51 lots of sim:BTCUSDT is above the cap of 50 lots' });

    // 20 lots (~12 USDT, above the 5 USDT minimum notional) passes the plugin and core's chain.
    const accepted = engine.submit(order(20));
    expect(accepted.accepted).toBe(true);
  });

  it('its options are validated before anything connects, with key paths', async () => {
    const loaded = loadConfigFile(config(`[risk_checks.fat_finger]\nplugin = ${JSON.stringify(PLUGIN)}\nmax_lots = -1\nsymbol = ["BTCUSDT"]\n`));
    const err = await composeDeployment({ loaded, logger: silentLogger(), metrics: new MetricsRegistry(), journal: false, watchdog: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const paths = (err as ConfigError).issues.map((i) => i.path);
    expect(paths).toContain('risk_checks.fat_finger.max_lots');
    expect((err as ConfigError).issues.find((i) => i.path === 'risk_checks.fat_finger.symbol')?.message).toMatch(/unknown key \(did you mean symbols\?\)/);
  });

  it('a [risk_checks] table without a plugin is a config error naming the key', () => {
    expect(() => loadConfigFile(config(`[risk_checks.fat_finger]\nmax_lots = 5\n`))).toThrowError(/risk_checks\.fat_finger\.plugin/);
  });
});
