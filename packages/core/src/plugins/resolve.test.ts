/**
 * Plugin packages are resolved by name with ESM rules, as the import() that loads them: an
 * ESM-only package ("exports": { "import": ... }) loads, a dual package loads its ESM build, and
 * a package that is installed but cannot be resolved is a PluginLoadError naming the spec and
 * the config key.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PluginLoadError } from './errors.js';
import { importPlugin } from './loader.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cwts-resolve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pkg(name: string, exportsField: unknown, files: Record<string, string>): void {
  const root = path.join(dir, 'node_modules', name);
  mkdirSync(root, { recursive: true });
  writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name, version: '1.0.0', type: 'module', exports: exportsField }));
  for (const [f, text] of Object.entries(files)) writeFileSync(path.join(root, f), text);
}

const manifest = (name: string) => `export const plugin = { name: '${name}', kind: 'detector', coreApi: '1.0', register() {} };\n`;

describe('plugin resolution by package name', () => {
  it('loads an ESM-only plugin package whose exports use the "import" condition', async () => {
    pkg('acme-esm-only', { '.': { import: './index.js' } }, { 'index.js': manifest('acme-esm-only') });
    const m = await importPlugin({ spec: 'acme-esm-only', kind: 'detector', origin: 'detectors.acme.plugin' }, dir);
    expect(m.name).toBe('acme-esm-only');
  });

  it('loads the ESM entry (not the CommonJS one) of a dual package, as import() would', async () => {
    pkg('acme-dual', { '.': { import: './index.js', require: './index.cjs' } }, {
      'index.js': manifest('acme-dual-esm'),
      'index.cjs': `module.exports = { plugin: { name: 'acme-dual-cjs', kind: 'detector', coreApi: '1.0', register() {} } };\n`,
    });
    const m = await importPlugin({ spec: 'acme-dual', kind: 'detector', origin: 'detectors.acme.plugin' }, dir);
    expect(m.name).toBe('acme-dual-esm');
  });

  it('an installed package that import() cannot resolve is a PluginLoadError naming the spec and the config key', async () => {
    pkg('acme-require-only', { '.': { require: './index.cjs' } }, { 'index.cjs': 'module.exports = {};\n' });
    const err = await importPlugin({ spec: 'acme-require-only', kind: 'detector', origin: 'detectors.acme.plugin' }, dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PluginLoadError);
    expect((err as PluginLoadError).code).toBe('RESOLVE_FAILED');
    expect((err as Error).message).toMatch(/^acme-require-only \(detectors\.acme\.plugin\) cannot be resolved: .*"exports" has no "import"/);
  });
});
