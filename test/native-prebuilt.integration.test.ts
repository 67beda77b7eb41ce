import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { skipUnlessRequired } from '@cwts/core/testing';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'packages/core/bin/cwts-ultra.js');

function onPath(cmd: string, path = process.env.PATH ?? ''): string | undefined {
  const r = spawnSync('/bin/sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8', env: { PATH: path } });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** `cwts-ultra backends` rows by backend name: [status, device or reason]. */
function backendRows(out: string): Map<string, { status: string; detail: string }> {
  const rows = new Map<string, { status: string; detail: string }>();
  for (const line of out.split('\n').slice(1)) {
    const m = /^(\S+)(?:\s+\S+)+?\s+(available|unavailable)\s+(.*)$/.exec(line);
    if (m) rows.set(m[1]!, { status: m[2]!, detail: m[3]! });
  }
  return rows;
}

/**
 * Sharp's model: the packed @cwts/backend-cpu-simd, -vulkan, -cuda and -rocm carry a prebuilt
 * binary (their `prepack` makes it, through @cwts/native-build) and no install script, so a
 * project that installs them with pnpm 12's defaults (dependency scripts refused) on a PATH with
 * no compiler, cmake, glslc, nvcc or hipcc gets the native backends, and the GPU ones answer
 * their probe from the shipped binary (here: unavailable, no device, with the runtime's reason).
 * Where CUDA or ROCm was packed without its toolchain, the package still installs and its
 * probe says the pack shipped no binary and why. The project allows nothing to build;
 * better-sqlite3 (core's journal) is declared not built, which is what a user without a
 * compiler would do too (docs/native-packages.md).
 */
describe('native packages install without a compiler', () => {
  it('the packed cpu-simd, vulkan, cuda and rocm tarballs load their prebuilt binaries', (ctx) => {
    if (!onPath('cmake') || !onPath('c++')) skipUnlessRequired(ctx, 'cpu-simd', 'packing makes the prebuilt binary, which needs cmake and a C++ compiler here');
    const workspace = backendRows(execFileSync(process.execPath, [cli, 'backends'], { cwd: root, encoding: 'utf8' }));

    const dir = mkdtempSync(join(tmpdir(), 'cwts-prebuilt-'));
    const packs: Record<string, string> = {};
    for (const pkg of ['native-build', 'core', 'backend-cpu-simd', 'backend-vulkan', 'backend-cuda', 'backend-rocm']) {
      const before = new Set(readdirSync(dir));
      const r = spawnSync('pnpm', ['pack', '--pack-destination', dir], { cwd: join(root, 'packages', pkg), encoding: 'utf8', timeout: 900_000 });
      expect(r.status, `${pkg}: ${r.stdout}${r.stderr}`).toBe(0);
      packs[pkg] = r.stdout + r.stderr;
      const tarball = readdirSync(dir).find((f) => !before.has(f) && f.endsWith('.tgz'));
      expect(tarball, pkg).toBeDefined();
    }
    const tarballs = readdirSync(dir).filter((f) => f.endsWith('.tgz'));
    const dep = (prefix: string) => `file:./${tarballs.find((t) => t.startsWith(prefix))!}`;
    const deps = {
      '@cwts/core': dep('cwts-core-'), '@cwts/backend-cpu-simd': dep('cwts-backend-cpu-simd-'), '@cwts/backend-vulkan': dep('cwts-backend-vulkan-'),
      '@cwts/backend-cuda': dep('cwts-backend-cuda-'), '@cwts/backend-rocm': dep('cwts-backend-rocm-'),
    };
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'gpu-box', private: true, type: 'module', dependencies: deps }, null, 2));
    // The packages' own dependencies on each other (the build helper, ROCm on CUDA's kernel
    // source) take the tarballs too, not the registry, where this version is not published.
    const overrides = { ...deps, '@cwts/native-build': dep('cwts-native-build-') };
    writeFileSync(
      join(dir, 'pnpm-workspace.yaml'),
      ['allowBuilds:', '  better-sqlite3: false', 'overrides:', ...Object.entries(overrides).map(([n, s]) => `  "${n}": "${s}"`), ''].join('\n'),
    );

    // A PATH with node and pnpm only: no compiler, cmake, glslc or make can run.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync(realpathSync(onPath('pnpm')!), join(bin, 'pnpm'));
    for (const tool of ['cc', 'c++', 'g++', 'gcc', 'clang', 'cmake', 'make', 'ninja', 'glslc', 'nvcc', 'hipcc']) expect(onPath(tool, bin), tool).toBeUndefined();
    const env = { HOME: process.env.HOME ?? dir, PATH: bin, ...(process.env.npm_config_registry ? { npm_config_registry: process.env.npm_config_registry } : {}) };

    const install = spawnSync('pnpm', ['install', '--prefer-offline'], { cwd: dir, env, encoding: 'utf8', timeout: 600_000 });
    expect(install.status, install.stdout + install.stderr).toBe(0);
    // Nothing was compiled in the project: the binaries come from the tarballs.
    const installed = (pkg: string) => realpathSync(join(dir, 'node_modules/@cwts', pkg));
    expect(existsSync(join(installed('backend-cpu-simd'), 'build'))).toBe(false);
    expect(existsSync(join(installed('backend-vulkan'), 'build'))).toBe(false);
    expect(existsSync(join(installed('backend-cuda'), 'build'))).toBe(false);
    expect(existsSync(join(installed('backend-rocm'), 'build'))).toBe(false);

    const r = spawnSync(join(dir, 'node_modules/.bin/cwts-ultra'), ['backends'], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const rows = backendRows(r.stdout);
    const cpu = rows.get('cpu-simd');
    expect(cpu?.status, r.stdout).toBe('available');
    expect(cpu?.detail).toContain(join(installed('backend-cpu-simd'), 'prebuilds', `${process.platform}-${process.arch}`, 'cwts_cpu_simd.node'));

    // CUDA and ROCm: listed, and answering from the shipped binary with the same words as the
    // workspace's source build (no device here: unavailable with the runtime's reason; on a GPU
    // machine: the same device). Packed without the toolchain: the pack said so, and the probe
    // names the missing binary and why.
    for (const [name, pkg, addon] of [['cuda', 'backend-cuda', 'cwts_cuda.node'], ['rocm', 'backend-rocm', 'cwts_rocm.node']] as const) {
      const row = rows.get(name);
      expect(row, r.stdout).toBeDefined();
      const shipped = join(installed(pkg), 'prebuilds', `${process.platform}-${process.arch}`);
      if (existsSync(join(shipped, addon))) {
        expect(row!.detail, `${name}: the prebuilt binary must load without a compiler`).not.toMatch(/^native addon/);
        if (!/^native addon/.test(workspace.get(name)?.detail ?? '')) expect(row, name).toEqual(workspace.get(name));
      } else {
        expect(packs[pkg], name).toContain('NO PREBUILT BINARY');
        expect(row!.status, name).toBe('unavailable');
        expect(row!.detail, name).toMatch(/^native addon not built: this package was packed without a prebuilt \S+ binary \(.+\)\. Tried: .+Possible solutions: /);
      }
    }

    const vk = rows.get('vulkan');
    if (workspace.get('vulkan')?.status !== 'available') {
      skipUnlessRequired(ctx, 'vulkan', `no Vulkan device here (${workspace.get('vulkan')?.detail}); the prebuilt cpu-simd binary loaded`);
    }
    // Same device as the workspace's source build sees.
    expect(vk, r.stdout).toEqual(workspace.get('vulkan'));
  }, 2_400_000);
});
