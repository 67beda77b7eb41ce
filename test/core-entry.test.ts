import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The root entry of @cwts/core is what every plugin author imports: it must stay light. These
// checks run the built package (dist/) in a fresh Node process with a resolve hook that records
// every module Node resolves (scripts/import-probe.mjs), so they see what ships.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PROBE = path.join(ROOT, 'scripts/import-probe.mjs');

interface Probe {
  entry: string;
  ms: number;
  modules: string[];
}

function probe(entry: string): Probe {
  const out = execFileSync(process.execPath, [PROBE, entry], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out.trim().split('\n').pop()!) as Probe;
}

/** Packages the root entry must never load, and the core folders behind subpaths. */
// tsyringe and reflect-metadata cost more than the rest of the root together: the root's
// decorators record tokens in a table and only the container (`@cwts/core/di`) loads them.
const HEAVY_PACKAGES = ['prom-client', 'pino', 'ws', 'commander', 'better-sqlite3', 'smol-toml', 'cli-progress', 'tsyringe', 'reflect-metadata'];
const SUBPATH_FOLDERS = ['engine', 'cli', 'observability', 'journal', 'risk', 'detectors', 'adapter-kit', 'microstructure', 'compute', 'config', 'reports', 'testing'];

function packagesIn(p: Probe): Set<string> {
  const names = new Set<string>();
  for (const url of p.modules) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url.slice(url.lastIndexOf('/node_modules/')));
    if (m) names.add(m[1]!);
  }
  return names;
}

function coreFoldersIn(p: Probe): Set<string> {
  const folders = new Set<string>();
  for (const url of p.modules) {
    const m = /\/packages\/core\/dist\/([^/]+)\//.exec(url) ?? /\/@cwts\/core\/dist\/([^/]+)\//.exec(url);
    if (m) folders.add(m[1]!);
  }
  return folders;
}

describe('@cwts/core root entry', () => {
  it('is built', () => {
    expect(existsSync(path.join(ROOT, 'packages/core/dist/index.js')), 'run `pnpm build` first').toBe(true);
  });

  it('never loads prom-client, pino, ws, commander, better-sqlite3 or the engine', () => {
    const root = probe('@cwts/core');
    const pkgs = packagesIn(root);
    expect(HEAVY_PACKAGES.filter((p) => pkgs.has(p))).toEqual([]);
    expect(SUBPATH_FOLDERS.filter((f) => coreFoldersIn(root).has(f))).toEqual([]);
    // What it does load: domain types, contracts, DI tokens and decorators, service tokens, the manifest API.
    expect([...coreFoldersIn(root)].sort()).toEqual(['contracts', 'di', 'domain', 'plugins', 'services']);
    expect([...pkgs]).toEqual([]);
  });

  it('the probe sees heavy packages where they are loaded (the check above can fail)', () => {
    const obs = packagesIn(probe('@cwts/core/observability'));
    expect(obs.has('prom-client')).toBe(true);
    expect(obs.has('pino')).toBe(true);
    const engine = probe('@cwts/core/engine');
    expect(coreFoldersIn(engine).has('engine')).toBe(true);
    expect(packagesIn(engine).has('better-sqlite3')).toBe(true);
  });

  it('di/index.js is importable on its own, and brings the container over tsyringe', () => {
    const di = probe('packages/core/dist/di/index.js');
    expect(coreFoldersIn(di).has('di')).toBe(true);
    expect(packagesIn(di).has('tsyringe')).toBe(true);
  });

  it('every subpath in package.json exports resolves and loads', async () => {
    const pkg = (await import('../packages/core/package.json', { with: { type: 'json' } })).default as { exports: Record<string, unknown> };
    const subpaths = Object.keys(pkg.exports).filter((k) => k !== '.' && k !== './package.json');
    expect(subpaths.length).toBeGreaterThanOrEqual(10);
    // `testing` imports vitest, so it loads only inside a test run (where its users call it).
    const specifiers = subpaths.filter((s) => s !== './testing').map((s) => `@cwts/core/${s.slice(2)}`);
    const script = `for (const s of ${JSON.stringify(specifiers)}) await import(s);`;
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, timeout: 60_000 });
    expect(existsSync(path.join(ROOT, 'packages/core/dist/testing/index.js'))).toBe(true);
  });
});
