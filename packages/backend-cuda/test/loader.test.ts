// The addon loader shared by CUDA, ROCm and Metal: the order it tries, and the one-line reason
// (what `backends` and the probe show) when nothing loads. No addon is built here: the
// packages are throwaway directories.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpuAddonCandidates, loadGpuAddon } from '../src/index.js';

const platformDir = `${process.platform}-${process.arch}`;
const roots: string[] = [];
function packageRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cwts-gpu-loader-'));
  roots.push(dir);
  return dir;
}
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});
const hint = 'build from source: `node scripts/build-native.mjs` in @cwts/backend-cuda (needs the CUDA toolkit (nvcc), cmake and a C++ compiler)';

describe('GPU addon loader', () => {
  it('tries a source build made on this host, then the shipped prebuilt binary; the override variable alone when set', () => {
    const root = packageRoot();
    expect(gpuAddonCandidates(root, 'cwts_cuda.node', 'CWTS_CUDA_ADDON', {})).toEqual([
      join(root, 'build', 'Release', 'cwts_cuda.node'),
      join(root, 'prebuilds', platformDir, 'cwts_cuda.node'),
    ]);
    expect(gpuAddonCandidates(root, 'cwts_cuda.node', 'CWTS_CUDA_ADDON', { CWTS_CUDA_ADDON: '/opt/x.node' })).toEqual(['/opt/x.node']);
  });

  it('a package packed without a binary says why (the pack\'s reason), every path tried, and what to do', () => {
    const root = packageRoot();
    mkdirSync(join(root, 'prebuilds', platformDir), { recursive: true });
    writeFileSync(join(root, 'prebuilds', platformDir, 'skip-reason.txt'), `this package was packed without a prebuilt ${platformDir} binary (nvcc not found)\n`);
    const r = loadGpuAddon(root, 'cwts_cuda.node', 'CWTS_CUDA_ADDON_UNUSED', hint);
    expect(r.addon).toBeUndefined();
    if (r.addon) return;
    expect(r.reason).toBe(
      `native addon not built: this package was packed without a prebuilt ${platformDir} binary (nvcc not found). ` +
        `Tried: ${join(root, 'build', 'Release', 'cwts_cuda.node')} (not found); ${join(root, 'prebuilds', platformDir, 'cwts_cuda.node')} (not found). ` +
        `Possible solutions: install a release that ships prebuilds/${platformDir}/cwts_cuda.node; ${hint}; or point CWTS_CUDA_ADDON_UNUSED at a built cwts_cuda.node`,
    );
    expect(r.reason).not.toContain('\n');
  });

  it('a source build\'s skip reason wins over the pack\'s (it is newer and made on this host)', () => {
    const root = packageRoot();
    mkdirSync(join(root, 'build'), { recursive: true });
    writeFileSync(join(root, 'build', 'skip-reason.txt'), 'cmake not found on PATH\n');
    const r = loadGpuAddon(root, 'cwts_cuda.node', 'CWTS_CUDA_ADDON_UNUSED', hint);
    expect(r.addon ? '' : r.reason).toMatch(/^native addon not built: cmake not found on PATH\. Tried: /);
  });

  it('a binary that exists but does not load is named with the loader\'s error', () => {
    const root = packageRoot();
    mkdirSync(join(root, 'prebuilds', platformDir), { recursive: true });
    const bad = join(root, 'prebuilds', platformDir, 'cwts_cuda.node');
    writeFileSync(bad, 'not an ELF file');
    const r = loadGpuAddon(root, 'cwts_cuda.node', 'CWTS_CUDA_ADDON_UNUSED', hint);
    expect(r.addon ? '' : r.reason).toMatch(new RegExp(`^native addon failed to load \\(${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\): .+\\. Tried: .+\\(not found\\); .+Possible solutions: `));
  });
});
