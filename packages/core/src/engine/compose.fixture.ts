/**
 * Test fixture for the composeDeployment suites (compose-lifecycle.test.ts,
 * compose-backend-dispose.test.ts, compose-registrations.test.ts, compose-journal-lock.test.ts):
 * plugins as a third party ships them, plain .mjs files loaded by path through core's loader, the
 * paper deployment config they are composed into, and composeDeployment of such a file. No index
 * exports it and it does not import vitest; nothing runs on import (the temp folder is made when
 * a suite asks), so its copy in dist/ is inert.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfigFile } from '../config/load.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { silentLogger } from '../observability/logger.js';
import { composeDeployment, type ComposeOptions, type Deployment } from './compose.js';

/** A temp folder (`prefix` + random) for a suite's plugin and config files; `remove` it after the suite. */
export function pluginFolder(prefix: string): { dir: string; file(name: string, text: string): string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  let n = 0;
  return {
    dir,
    /** Writes `text` to a new file named after `name` (numbered: a file is never overwritten); its path. */
    file(name: string, text: string): string {
      const f = path.join(dir, `${n++}-${name}`);
      writeFileSync(f, text);
      return f;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The one venue most suites need: the sim exchange trading BTCUSDT. */
export const SIM_EXCHANGES = '[exchanges]\nenabled = ["sim"]\n\n[sim]\nplugin = "@cwts/exchange-sim"\nsymbols = ["BTCUSDT"]\n';

/**
 * A paper deployment's config text: [system] `name` (plus the `system` lines), `exchanges`, a
 * [risk] table, [compute] with `backends`, then `extra` (the tables under test).
 */
export function deploymentToml(opts: { name: string; system?: string; exchanges?: string; backends?: string[]; extra?: string }): string {
  const { name, system, exchanges = SIM_EXCHANGES, backends = ['js'], extra = '' } = opts;
  return (
    `[system]\nname = ${JSON.stringify(name)}\nmode = "paper"\n${system ? `${system}\n` : ''}\n${exchanges}\n` +
    `[risk]\nmax_position = 100000\nmax_drawdown = 0.15\nkelly_fraction = 0.25\nvar_confidence = 0.99\n\n[compute]\nbackends = ${JSON.stringify(backends)}\n\n${extra}`
  );
}

/** A configured detector must register one (compose refuses a table whose plugin registered none): a no-op. */
export const NOOP_DETECTOR = `registrar.value({ symbol: Symbol.for('cwts.Detector'), description: 'Detector', multi: true }, { name: 'noop', onMarketEvent() {} });`;

/** The module text of a detector plugin that counts its initialize() and dispose() calls in globalThis[key]. */
export function trackedDetectorPlugin(key: string): string {
  return `export const plugin = {
       name: 'acme-tracked', kind: 'detector', coreApi: '1.0',
       register({ registrar }) { ${NOOP_DETECTOR} },
       async initialize() { const g = (globalThis[${JSON.stringify(key)}] ??= { opened: 0, disposed: 0 }); g.opened++; },
       async dispose() { globalThis[${JSON.stringify(key)}].disposed++; },
     };`;
}

/** What a trackedDetectorPlugin(key) counted. */
export const tracked = (key: string) => (globalThis as Record<string, unknown>)[key] as { opened: number; disposed: number } | undefined;

/** composeDeployment of the config file at `configPath`: no journal, no watchdog, silent, its own metrics unless `more` says otherwise. */
export function composeFile(configPath: string, more: Partial<ComposeOptions> = {}): Promise<Deployment> {
  return composeDeployment({ loaded: loadConfigFile(configPath), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), journal: false, watchdog: false, ...more });
}
