import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const packages = readdirSync(join(root, 'packages')).map((d) => ({ dir: join(root, 'packages', d), pkg: JSON.parse(readFileSync(join(root, 'packages', d, 'package.json'), 'utf8')) }));
const published = packages.filter((p) => !p.pkg.private);

function files(dir: string, suffix: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name), suffix) : e.name.endsWith(suffix) ? [join(dir, e.name)] : []));
}
/** `pkg` or `@scope/pkg` of a bare specifier. */
const packageOf = (spec: string) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
const typesPackage = (name: string) => `@types/${name.startsWith('@') ? name.slice(1).replace('/', '__') : name}`;

describe('packages others can install', () => {
  it('every published package is MIT, public, and ships the licence text and a README', () => {
    const licence = readFileSync(join(root, 'LICENSE'), 'utf8');
    expect(licence).toMatch(/^MIT License/);
    expect(published.length).toBeGreaterThanOrEqual(9);
    for (const { dir, pkg } of published) {
      expect(pkg.license, pkg.name).toBe('MIT');
      expect(pkg.publishConfig?.access, pkg.name).toBe('public');
      // npm packs LICENSE and README.md from the package directory, not from the repository root.
      expect(readFileSync(join(dir, 'LICENSE'), 'utf8'), `${pkg.name}/LICENSE`).toBe(licence);
      const readme = readFileSync(join(dir, 'README.md'), 'utf8');
      expect(readme.startsWith(`# ${pkg.name}`), `${pkg.name}/README.md title`).toBe(true);
    }
  });

  it('plugins take core as a peer inside 0.x, so a core minor does not major-bump them (docs/versioning.md)', () => {
    const plugins = published.filter((p) => p.pkg.peerDependencies?.['@cwts/core'] !== undefined);
    expect(plugins.length).toBeGreaterThanOrEqual(10);
    for (const { pkg } of plugins) expect(pkg.peerDependencies['@cwts/core'], pkg.name).toBe('workspace:>=0.1.0 <1.0.0');
  });

  it('no declaration maps are emitted (they would point at src/, which is not shipped)', () => {
    const base = readFileSync(join(root, 'tsconfig.base.json'), 'utf8');
    expect(base).toMatch(/"declarationMap":\s*false/);
    // Plain-JavaScript packages (@cwts/native-build) have no tsconfig and emit no declarations.
    const compiled = published.filter((p) => existsSync(join(p.dir, 'tsconfig.json')));
    expect(compiled.length).toBeGreaterThanOrEqual(9);
    for (const { dir, pkg } of compiled) expect(readFileSync(join(dir, 'tsconfig.json'), 'utf8'), pkg.name).not.toMatch(/"declarationMap":\s*true/);
  });

  it('every package a published .d.ts imports is a dependency (with its @types package when it has no types of its own)', (ctx) => {
    const built = published.filter((p) => existsSync(join(p.dir, 'dist')));
    if (built.length === 0) ctx.skip('no dist/: run `pnpm build` first');
    const missing: string[] = [];
    for (const { dir, pkg } of built) {
      const runtime = { ...pkg.dependencies, ...pkg.peerDependencies } as Record<string, string>;
      for (const file of files(join(dir, 'dist'), '.d.ts').filter((f) => !/\.test\.d\.ts$/.test(f))) {
        // JSDoc is kept in .d.ts files: an import written in a usage example is not an import.
        const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
        for (const m of code.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"./][^'"]*)['"]/g)) {
          const name = packageOf(m[1]!);
          if (name.startsWith('node:') || builtinModules.includes(name)) continue;
          if (!(name in runtime)) missing.push(`${pkg.name}: ${file.slice(dir.length + 1)} imports ${name}, not a dependency`);
          const types = typesPackage(name);
          const own = (() => {
            try {
              const p = JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8'));
              return Boolean(p.types ?? p.typings ?? p.exports?.['.']?.types ?? existsSync(join(dir, 'node_modules', name, 'index.d.ts')));
            } catch {
              return true; // not resolvable from here (a peer): its own package decides
            }
          })();
          if (!own && !(types in runtime)) missing.push(`${pkg.name}: ${file.slice(dir.length + 1)} imports ${name}, whose types (${types}) are not a dependency`);
        }
      }
    }
    expect([...new Set(missing)]).toEqual([]);
  });
});
