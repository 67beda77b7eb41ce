/**
 * `pnpm add @cwts/backend-metal` with pnpm 12 (the project's pnpm) and nothing but the
 * `allowBuilds` block docs/native-packages.md gives. pnpm 12 fails an install on any dependency
 * script the project has not approved (ERR_PNPM_IGNORED_BUILDS), so an install script here broke
 * `pnpm add` on every OS for a user who wrote what the docs say; the Metal build is an explicit
 * step instead. Packs core, native-build, cuda (whose backend class Metal shares) and metal
 * exactly as published and installs them offline in a fresh project.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = resolve(pkgDir, '../..');

/** The yaml block of docs/native-packages.md's "better-sqlite3 (core's journal)" section. */
function documentedAllowBuilds(): string {
  const doc = readFileSync(join(root, 'docs/native-packages.md'), 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith("better-sqlite3 (core's journal)"));
  const yaml = section && /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  if (!yaml) throw new Error("docs/native-packages.md: no yaml block under \"better-sqlite3 (core's journal)\"");
  return yaml;
}

let dir: string | undefined;
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('pnpm add @cwts/backend-metal', () => {
  it('declares no install-time script (pnpm 12 fails `pnpm add` on an unapproved one)', () => {
    const scripts = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
    expect(Object.keys(scripts).filter((s) => ['preinstall', 'install', 'postinstall'].includes(s))).toEqual([]);
  });

  it('installs with the pnpm-workspace.yaml docs/native-packages.md gives, compiles nothing, and the documented build command runs', () => {
    dir = mkdtempSync(join(tmpdir(), 'cwts-metal-add-'));
    const tarballs: Record<string, string> = {};
    for (const pkg of ['packages/core', 'packages/native-build', 'packages/backend-cuda', 'packages/backend-metal']) {
      const before = new Set(readdirSync(dir));
      execFileSync('pnpm', ['pack', '--pack-destination', dir], { cwd: join(root, pkg), stdio: 'pipe', timeout: 300_000 });
      const tgz = readdirSync(dir).find((f) => !before.has(f) && f.endsWith('.tgz'));
      expect(tgz, pkg).toBeDefined();
      tarballs[(JSON.parse(readFileSync(join(root, pkg, 'package.json'), 'utf8')) as { name: string }).name] = `./${tgz}`;
    }
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'desk', private: true, type: 'module' }));
    // overrides: the tarballs stand in for the registry, where this version is not published.
    writeFileSync(
      join(dir, 'pnpm-workspace.yaml'),
      [documentedAllowBuilds().trimEnd(), 'overrides:', ...Object.entries(tarballs).map(([n, t]) => `  "${n}": "file:${t}"`), ''].join('\n'),
    );
    const add = spawnSync('pnpm', ['add', tarballs['@cwts/core']!, tarballs['@cwts/backend-metal']!, '--offline'], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
    const addText = `${add.stdout}${add.stderr}${add.error ? `\n${add.error.message}` : ''}`;
    expect(addText).not.toMatch(/ERR_PNPM_IGNORED_BUILDS/);
    expect(add.status, addText).toBe(0);
    const installed = join(dir, 'node_modules/@cwts/backend-metal');
    expect(existsSync(join(installed, 'build')), 'something built at install').toBe(false);

    // The installed package explains itself: off macOS the probe says why; on a Mac it answers
    // (not built yet: its reason names the build command, checked in probe.test.ts).
    const probe = spawnSync(process.execPath, ['--input-type=module', '-e', "const m = await import('@cwts/backend-metal'); console.log(JSON.stringify(await m.probeMetal()));"], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(probe.status, probe.stdout + probe.stderr).toBe(0);
    const result = JSON.parse(probe.stdout.trim().split('\n').pop()!) as { available: boolean; reason?: string };
    if (process.platform !== 'darwin') expect(result).toEqual({ available: false, reason: `Metal needs macOS (this is ${process.platform})` });

    // The explicit build step the docs give, run from the project root, never fails.
    const build = spawnSync(process.execPath, ['node_modules/@cwts/backend-metal/scripts/build-native.mjs'], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
    expect(build.status, build.stdout + build.stderr).toBe(0);
    if (process.platform !== 'darwin') {
      expect(build.stdout).toContain(`native build skipped: Metal needs macOS (this is ${process.platform})`);
      expect(readFileSync(join(installed, 'build/skip-reason.txt'), 'utf8').trim()).toBe(`Metal needs macOS (this is ${process.platform})`);
    }
  }, 600_000);
});
