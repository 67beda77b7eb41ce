// buildNative()'s decisions when the toolchain is missing, on a throwaway package whose
// prepare() reports the toolchain missing (no compiler runs): who fails, who ships a reason.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const lib = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', 'index.mjs')).href;
const platformDir = `${process.platform}-${process.arch}`;

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A package dir with a build script configured like CUDA's (or cpu-simd's when required). */
function fakePackage(required: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'cwts-native-build-'));
  made.push(dir);
  mkdirSync(join(dir, 'native'));
  writeFileSync(join(dir, 'native', 'kernels.cu'), '// source\n');
  writeFileSync(join(dir, 'CMakeLists.txt'), '# cmake\n');
  writeFileSync(join(dir, 'package.json'), '{"name":"fake","type":"module"}\n');
  writeFileSync(
    join(dir, 'build.mjs'),
    `import { buildNative } from ${JSON.stringify(lib)};
buildNative({ name: '@cwts/fake', pkgDir: ${JSON.stringify(dir)}, addon: 'fake.node', prebuildRequired: ${required},
  fallback: 'the backend reports unavailable', prepare: ({ skip }) => skip('nvcc not found (install the CUDA toolkit)') });
`,
  );
  return dir;
}

function run(dir: string, args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CWTS_'))) as Record<string, string>;
  return spawnSync(process.execPath, [join(dir, 'build.mjs'), ...args], { encoding: 'utf8', env: { ...clean, ...env } });
}

describe('buildNative without the toolchain', () => {
  it('a source build never fails: it prints why and leaves the reason for the probe', () => {
    const dir = fakePackage(true);
    const r = run(dir, []);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('@cwts/fake: native build skipped: nvcc not found (install the CUDA toolkit); the backend reports unavailable');
    expect(readFileSync(join(dir, 'build', 'skip-reason.txt'), 'utf8').trim()).toBe('nvcc not found (install the CUDA toolkit)');
  });

  it('CWTS_SKIP_NATIVE=1 skips the source build, whatever the package', () => {
    const dir = fakePackage(false);
    const r = run(dir, [], { CWTS_SKIP_NATIVE: '1' });
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, 'build', 'skip-reason.txt'), 'utf8').trim()).toBe('CWTS_SKIP_NATIVE=1');
  });

  it('a required prebuild (cpu-simd, vulkan) fails the pack', () => {
    const dir = fakePackage(true);
    const r = run(dir, ['--prebuild']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('@cwts/fake: cannot prebuild: nvcc not found');
    expect(existsSync(join(dir, 'prebuilds'))).toBe(false);
  });

  it('an optional prebuild (cuda, rocm) packs without a binary, says so, and ships the reason; a stale binary is not shipped', () => {
    const dir = fakePackage(false);
    mkdirSync(join(dir, 'prebuilds', platformDir), { recursive: true });
    const stale = join(dir, 'prebuilds', platformDir, 'fake.node');
    writeFileSync(stale, 'old');
    // The source changes after the old binary was made.
    const later = new Date(Date.now() + 5_000);
    writeFileSync(join(dir, 'native', 'kernels.cu'), '// changed\n');
    spawnSync('touch', ['-d', later.toISOString(), join(dir, 'native', 'kernels.cu')]);
    const r = run(dir, ['--prebuild']);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`@cwts/fake: NO PREBUILT BINARY for ${platformDir} in this pack: nvcc not found`);
    expect(existsSync(stale)).toBe(false);
    expect(readFileSync(join(dir, 'prebuilds', platformDir, 'skip-reason.txt'), 'utf8').trim()).toBe(
      `this package was packed without a prebuilt ${platformDir} binary (nvcc not found (install the CUDA toolkit))`,
    );
  });

  it('CWTS_PREBUILD_REQUIRED=1 makes an optional prebuild fail (a release machine must not ship without it)', () => {
    const dir = fakePackage(false);
    const r = run(dir, ['--prebuild'], { CWTS_PREBUILD_REQUIRED: '1' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('cannot prebuild: nvcc not found');
  });

  it('an up-to-date prebuilt binary is kept without building', () => {
    const dir = fakePackage(true);
    mkdirSync(join(dir, 'prebuilds', platformDir), { recursive: true });
    const bin = join(dir, 'prebuilds', platformDir, 'fake.node');
    writeFileSync(bin, 'fresh');
    spawnSync('touch', ['-d', new Date(Date.now() + 5_000).toISOString(), bin]);
    const r = run(dir, ['--prebuild']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`prebuilt binary is up to date (prebuilds/${platformDir}/fake.node)`);
    expect(readFileSync(bin, 'utf8')).toBe('fresh');
  });
});
