import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '@cwts/core';
import { loadConfigFile } from '@cwts/core/config';
import { composeDeployment, type Deployment } from '@cwts/core/engine';
import { MetricsRegistry, silentLogger } from '@cwts/core/observability';

// Core's pre-trade checks reach the engine as one registered check (the built-in chain). A routed
// parent must go through its parent checks (max_order_notional) as a whole in a deployment
// composed from a config, not only in tests that hand the engine the checks one by one: split
// into children each under the limit, it would otherwise get around it.
const dir = mkdtempSync(path.join(tmpdir(), 'cwts-routed-parent-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let dep: Deployment | undefined;
afterEach(async () => {
  await dep?.dispose();
  dep = undefined;
});

describe('a composed deployment checks a routed parent with the built-in checks', () => {
  it('max_order_notional refuses the whole parent before routing', async () => {
    const file = path.join(dir, 'c.toml');
    writeFileSync(
      file,
      `[system]\nname = "routed-parent"\nmode = "paper"\n\n[exchanges]\nenabled = ["sim"]\n\n[sim]\nplugin = "@cwts/exchange-sim"\nsymbols = ["BTCUSDT"]\n\n` +
        `[risk]\nmax_position = 100000\nmax_order_notional = 150\nmax_drawdown = 0.15\nvar_confidence = 0.99\n\n[routing]\nenabled = true\n\n[compute]\nbackends = ["js"]\n`,
    );
    dep = await composeDeployment({ loaded: loadConfigFile(file), logger: silentLogger(), metrics: new MetricsRegistry(), clock: new ManualClock(1_700_000_000_000), journal: false, watchdog: false });
    await dep.engine.start();
    const i = dep.engine.instrument('sim', 'BTCUSDT')!;
    // 240 quote units at a limit: above the 150 limit as a whole, under it in two halves
    const price = Math.round(60_000 / Number(i.tickSize));
    const qty = Math.round(0.004 / Number(i.lotSize));
    const whole = dep.engine.checkParent({ exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price, qty, tif: 'IOC', source: 'test' });
    expect(whole).toMatchObject({ accepted: false, reason: 'RISK_MAX_ORDER_NOTIONAL', message: expect.stringMatching(/the whole order, before routing/) });
    expect(dep.engine.checkParent({ exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price, qty: Math.floor(qty / 2), tif: 'IOC', source: 'test' })).toBeUndefined();
  });
});
