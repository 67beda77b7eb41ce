import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ManualClock, SERVICE_TOKENS, TOKENS } from '@cwts/core';
import { loadConfigFile } from '@cwts/core/config';
import { composeDeployment, type Deployment } from '@cwts/core/engine';
import { MetricsRegistry, silentLogger } from '@cwts/core/observability';

// A plugin replaces core's order router and journal by registering their tokens (declared in
// its manifest's `overrides`); the engine must then route and journal through the plugin's.
const PLUGIN = fileURLToPath(new URL('./fixtures/override-plugin.mjs', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'cwts-override-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(): string {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(
    file,
    `[system]\nname = "override-test"\nmode = "paper"\n\n[exchanges]\nenabled = ["sim"]\n\n[sim]\nplugin = "@cwts/exchange-sim"\nsymbols = ["BTCUSDT"]\n\n` +
      `[risk]\nmax_position = 100000\nmax_drawdown = 0.15\nkelly_fraction = 0.25\nvar_confidence = 0.99\n\n[compute]\nbackends = ["js"]\n\n` +
      `[strategy]\nplugin = ${JSON.stringify(PLUGIN)}\n`,
  );
  return file;
}

interface RecordingRouter {
  routed: { exchange: string; symbol: string }[];
}
interface MemoryJournal {
  path: string;
  records: { t: string }[];
  closed: boolean;
}

let dep: Deployment | undefined;
afterEach(async () => {
  await dep?.dispose();
  dep = undefined;
});

describe('a plugin overrides core services', () => {
  it('the engine routes through the plugin router and journals into the plugin journal', async () => {
    const dataDir = mkdtempSync(path.join(dir, 'data-'));
    dep = await composeDeployment({ loaded: loadConfigFile(config()), logger: silentLogger(), metrics: new MetricsRegistry(), clock: new ManualClock(1_700_000_000_000), dataDir, watchdog: false });
    const router = dep.container.resolve(TOKENS.OrderRouter) as unknown as RecordingRouter;
    const journal = dep.container.resolve(SERVICE_TOKENS.Journal) as unknown as MemoryJournal;
    expect(router.constructor.name).toBe('RecordingRouter');
    expect(journal.path).toBe('memory:override-plugin');
    expect(dep.container.ownersOf(TOKENS.OrderRouter)).toEqual(['override-plugin']);
    expect(dep.container.ownersOf(SERVICE_TOKENS.Journal)).toEqual(['override-plugin']);
    // Core's SQLite journal was never opened: its default factory did not run.
    expect(readdirSync(dataDir)).toEqual([]);

    await dep.engine.start();
    // start() journals every instrument the venue reported: into the plugin's journal.
    expect(journal.records.filter((r) => r.t === 'instrument').length).toBeGreaterThan(0);
    expect(dep.engine.journalStore).toBe(journal);

    const res = dep.engine.submit({ exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', qty: 1, price: 1, tif: 'GTC' } as never);
    expect(router.routed).toEqual([expect.objectContaining({ exchange: 'sim', symbol: 'BTCUSDT' })]);
    // The intent went on through the engine's checks after routing (the sim book is not synced yet or the price is off: either way, a decision).
    expect(typeof res.accepted).toBe('boolean');

    await dep.dispose();
    dep = undefined;
    expect(journal.closed).toBe(true);
  });

  it('without `overrides` in the manifest, registering a core service token is refused, naming both', async () => {
    const undeclared = fileURLToPath(new URL('./fixtures/override-plugin-undeclared.mjs', import.meta.url));
    const file = config();
    writeFileSync(file, readFileSync(file, 'utf8').replace(JSON.stringify(PLUGIN), JSON.stringify(undeclared)));
    const err = await composeDeployment({ loaded: loadConfigFile(file), logger: silentLogger(), metrics: new MetricsRegistry(), journal: false, watchdog: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/OrderRouter is a single-slot token and is already provided by @cwts\/core\/routing\/direct; override-plugin tried to provide it too/);
    expect((err as Error).message).toMatch(/overrides: \[TOKENS\.OrderRouter\]/);
  });
});
