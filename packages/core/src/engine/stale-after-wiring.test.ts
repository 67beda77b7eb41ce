/**
 * `[risk] stale_after_ms` reaches the risk chain's book_health check and the engine's staleness
 * watchdog alike (composeDeployment once left the watchdog at its own 10 000 ms).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../config/load.js';
import { composeDeployment, type Deployment } from './compose.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { silentLogger } from '../observability/logger.js';
import { BookHealthCheck } from '../risk/checks.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cwts-stale-wiring-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let dep: Deployment | undefined;
afterEach(async () => {
  await dep?.dispose();
  dep = undefined;
});

describe('[risk] stale_after_ms wiring', () => {
  it('the engine watchdog uses the configured stale_after_ms, as the book_health check does', async () => {
    const f = path.join(dir, 'config.toml');
    writeFileSync(
      f,
      `[system]\nname = "stale-wiring"\nmode = "paper"\n\n[exchanges]\nenabled = ["sim"]\n\n[sim]\nplugin = "@cwts/exchange-sim"\nsymbols = ["BTCUSDT"]\n\n` +
        `[risk]\nmax_position = 100000\nmax_drawdown = 0.15\nkelly_fraction = 0.25\nvar_confidence = 0.99\nstale_after_ms = 60000\n\n[compute]\nbackends = ["js"]\n`,
    );
    dep = await composeDeployment({ loaded: loadConfigFile(f), logger: silentLogger(), metrics: new MetricsRegistry(), journal: false, watchdog: false });
    const check = dep.risk.checks.find((c): c is BookHealthCheck => c instanceof BookHealthCheck)!;
    expect(check.staleAfterMs).toBe(60_000);
    // what Engine.start's watchdog passes to BookStore.checkStaleness: `this.opts.staleAfterMs ?? 10_000`
    const engineOpts = (dep.engine as unknown as { opts: { staleAfterMs?: number } }).opts;
    expect(engineOpts.staleAfterMs ?? 10_000).toBe(60_000);
  });
});
