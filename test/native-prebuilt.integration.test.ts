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
 * Sharp's model: the packed @cwts/backend-cpu-simd and @cwts/backend-vulkan carry a prebuilt
 * binary (their `prepack` makes it) and no install script, so a project that installs them with
 * pnpm 12's defaults (dependency scripts refused) on a PATH with no compiler, cmake or glslc gets
 * the native backends. The project allows nothing to build; better-sqlite3 (core's journal) is
 * declared not built, which is what a user without a compiler would do too (docs/native-packages.md).
 */
describe('native packages install without a compiler', () => {
  it('the packed cpu-simd and vulkan tarballs load their prebuilt binaries', (ctx) => {
    if (!onPath('cmake') || !onPath('c++')) skipUnlessRequired(ctx, 'cpu-simd', 'packing makes the prebuilt binary, which needs cmake and a C++ compiler here');
    const workspace = backendRows(execFileSync(process.execPath, [cli, 'backends'], { cwd: root, encoding: 'utf8' }));

    const dir = mkdtempSync(join(tmpdir(), 'cwts-prebuilt-'));
    for (const pkg of ['core', 'backend-cpu-simd', 'backend-vulkan']) {
      execFileSync('pnpm', ['pack', '--pack-destination', dir], { cwd: join(root, 'packages', pkg), stdio: 'pipe', timeout: 600_000 });
    }
    const tarballs = readdirSync(dir).filter((f) => f.endsWith('.tgz'));
    const dep = (prefix: string) => `file:./${tarballs.find((t) => t.startsWith(prefix))!}`;
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'gpu-box', private: true, type: 'module', dependencies: { '@cwts/core': dep('cwts-core-'), '@cwts/backend-cpu-simd': dep('cwts-backend-cpu-simd-'), '@cwts/backend-vulkan': dep('cwts-backend-vulkan-') } }, null, 2),
    );
    writeFileSync(join(dir, 'pnpm-workspace.yaml'), 'allowBuilds:\n  better-sqlite3: false\n');

    // A PATH with node and pnpm only: no compiler, cmake, glslc or make can run.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync(realpathSync(onPath('pnpm')!), join(bin, 'pnpm'));
    for (const tool of ['cc', 'c++', 'g++', 'gcc', 'clang', 'cmake', 'make', 'ninja', 'glslc']) expect(onPath(tool, bin), tool).toBeUndefined();
    const env = { HOME: process.env.HOME ?? dir, PATH: bin, ...(process.env.npm_config_registry ? { npm_config_registry: process.env.npm_config_registry } : {}) };

    const install = spawnSync('pnpm', ['install', '--prefer-offline'], { cwd: dir, env, encoding: 'utf8', timeout: 600_000 });
    expect(install.status, install.stdout + install.stderr).toBe(0);
    // Nothing was compiled in the project: the binaries come from the tarballs.
    const installed = (pkg: string) => realpathSync(join(dir, 'node_modules/@cwts', pkg));
    expect(existsSync(join(installed('backend-cpu-simd'), 'build'))).toBe(false);
    expect(existsSync(join(installed('backend-vulkan'), 'build'))).toBe(false);

    const r = spawnSync(join(dir, 'node_modules/.bin/cwts-ultra'), ['backends'], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const rows = backendRows(r.stdout);
    const cpu = rows.get('cpu-simd');
    expect(cpu?.status, r.stdout).toBe('available');
    expect(cpu?.detail).toContain(join(installed('backend-cpu-simd'), 'prebuilds', `${process.platform}-${process.arch}`, 'cwts_cpu_simd.node'));

    const vk = rows.get('vulkan');
    if (workspace.get('vulkan')?.status !== 'available') {
      skipUnlessRequired(ctx, 'vulkan', `no Vulkan device here (${workspace.get('vulkan')?.detail}); the prebuilt cpu-simd binary loaded`);
    }
    // Same device as the workspace's source build sees.
    expect(vk, r.stdout).toEqual(workspace.get('vulkan'));
  }, 900_000);
});
