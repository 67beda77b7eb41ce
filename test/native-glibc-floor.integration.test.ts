import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { skipUnlessRequired } from '@cwts/core/testing';
// @ts-ignore: the build helper is plain ESM without type declarations
import { GLIBC_FLOOR, glibcNeedsAbove, neededVersions } from '../packages/native-build/index.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

type Need = { file: string; version: string; symbols: string[] };

function onPath(cmd: string): boolean {
  return spawnSync('/bin/sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * The glibc floor of the prebuilt binaries (docs/native-packages.md): every Linux binary a
 * packed @cwts/backend-* tarball ships needs no glibc symbol version newer than GLIBC_FLOOR, so
 * it loads on RHEL 8 / Debian 10 / Ubuntu 20.04 and later although the release machine has a
 * newer glibc. Read from the packed tarball itself (pnpm pack runs the prebuild), with the same
 * ELF reader the prebuild's own check uses (packages/native-build/test/elf-versions.test.ts).
 */
describe.runIf(process.platform === 'linux')(`prebuilt binaries need glibc <= ${GLIBC_FLOOR}`, () => {
  it('the documented floor is the one the build enforces', () => {
    const doc = readFileSync(join(root, 'docs/native-packages.md'), 'utf8');
    expect(doc).toContain(`glibc >= ${GLIBC_FLOOR}`);
    expect(doc).not.toMatch(/glibc >= 2\.3[0-9]/);
  });

  for (const pkg of ['backend-cpu-simd', 'backend-vulkan', 'backend-cuda', 'backend-rocm']) {
    it(`@cwts/${pkg}: every packed Linux binary`, (ctx) => {
      if (!onPath('cmake') || !onPath('c++')) skipUnlessRequired(ctx, 'cpu-simd', 'packing makes the prebuilt binaries, which needs cmake and a C++ compiler here');
      const dir = mkdtempSync(join(tmpdir(), 'cwts-glibc-floor-'));
      try {
        const pack = spawnSync('pnpm', ['pack', '--pack-destination', dir], { cwd: join(root, 'packages', pkg), encoding: 'utf8', timeout: 1_500_000 });
        expect(pack.status, pack.stdout + pack.stderr).toBe(0);
        const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
        const untar = spawnSync('tar', ['-xzf', join(dir, tarball), '-C', dir], { encoding: 'utf8' });
        expect(untar.status, untar.stderr).toBe(0);
        const prebuilds = join(dir, 'package', 'prebuilds');
        const binaries = existsSync(prebuilds)
          ? readdirSync(prebuilds).filter((t) => t.startsWith('linux-')).flatMap((t) => readdirSync(join(prebuilds, t)).filter((f) => f.endsWith('.node')).map((f) => join(t, f)))
          : [];
        if (binaries.length === 0) {
          // CUDA / ROCm packed without their toolchain: nothing to check, and the pack said so.
          expect(pack.stdout + pack.stderr).toContain('NO PREBUILT BINARY');
          skipUnlessRequired(ctx, pkg.replace('backend-', ''), `packed without a prebuilt binary here: ${(pack.stdout + pack.stderr).match(/NO PREBUILT BINARY[^\n]*/)?.[0]}`);
        }
        for (const binary of binaries) {
          const path = join(prebuilds, binary);
          expect(glibcNeedsAbove(path, GLIBC_FLOOR), `${pkg}/prebuilds/${binary}`).toEqual([]);
          // libgcc is shared (libgcc_s.so.1): the static one's unwinder needs glibc 2.35.
          const needs = neededVersions(path) as Need[];
          expect(needs.some((n) => n.file === 'libgcc_s.so.1'), binary).toBe(true);
          // The static C++ runtime: no libstdc++ version is needed from the host.
          expect(needs.filter((n) => n.file.startsWith('libstdc++')), binary).toEqual([]);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 1_800_000);
  }
});
