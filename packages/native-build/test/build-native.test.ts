// buildNative()'s decisions when the toolchain is missing, on a throwaway package whose
// prepare() reports the toolchain missing (no compiler runs): who fails, who ships a reason.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
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

const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CWTS_'))) as Record<string, string>;

function run(dir: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [join(dir, 'build.mjs'), ...args], { encoding: 'utf8', env: { ...cleanEnv(), ...env } });
}

/** The same, without blocking this process (to see it wait for a lock). */
function start(dir: string, args: string[]) {
  const child = spawn(process.execPath, [join(dir, 'build.mjs'), ...args], { env: cleanEnv() });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('close', r));
  return { child, exited, out: () => ({ stdout, stderr }) };
}

const waitFor = async (cond: () => boolean, what: string) => {
  for (let i = 0; i < 600 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
};

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

describe('buildNative: one build of a package at a time', () => {
  it('waits while another live build holds the lock, then finds the binary that build made and keeps it', async () => {
    const dir = fakePackage(true);
    const lock = join(dir, 'build', '.lock');
    // Another build (this test process, alive) holds the lock.
    mkdirSync(lock, { recursive: true });
    writeFileSync(join(lock, 'pid'), String(process.pid));
    const b = start(dir, ['--prebuild']);
    await waitFor(() => b.out().stderr.includes('waiting for another build'), 'the second build to wait');
    expect(b.out().stderr).toContain(`@cwts/fake: waiting for another build of this package (process ${process.pid}) to finish`);
    expect(b.child.exitCode).toBeNull();
    // The other build finishes: it leaves a fresh binary and releases the lock.
    mkdirSync(join(dir, 'prebuilds', platformDir), { recursive: true });
    const bin = join(dir, 'prebuilds', platformDir, 'fake.node');
    writeFileSync(bin, 'made by the other build');
    spawnSync('touch', ['-d', new Date(Date.now() + 5_000).toISOString(), bin]);
    rmSync(lock, { recursive: true });
    expect(await b.exited).toBe(0);
    // It did not build (its toolchain check would have failed this required prebuild): it found the binary.
    expect(b.out().stdout).toContain(`prebuilt binary is up to date (prebuilds/${platformDir}/fake.node)`);
    expect(readFileSync(bin, 'utf8')).toBe('made by the other build');
    expect(existsSync(lock)).toBe(false);
  });

  it('takes over a lock whose owner is gone (killed mid-build), and releases its own at exit', () => {
    const dir = fakePackage(false);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const lock = join(dir, 'build', '.lock');
    mkdirSync(lock, { recursive: true });
    writeFileSync(join(lock, 'pid'), dead.stdout);
    const r = run(dir, ['--prebuild']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`@cwts/fake: taking over the build lock of process ${dead.stdout}, which is gone`);
    expect(r.stderr).toContain('NO PREBUILT BINARY');
    expect(existsSync(lock)).toBe(false);
  });

  it('gives up, failing, when another build holds the lock past CWTS_NATIVE_LOCK_TIMEOUT_MS', () => {
    const dir = fakePackage(false);
    const lock = join(dir, 'build', '.lock');
    mkdirSync(lock, { recursive: true });
    writeFileSync(join(lock, 'pid'), String(process.pid));
    const r = run(dir, ['--prebuild'], { CWTS_NATIVE_LOCK_TIMEOUT_MS: '300' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/another build \(process \d+\) has held .*\.lock for 0\.3s; giving up/);
    // The lock was not ours: it is still there.
    expect(existsSync(lock)).toBe(true);
  });
});

describe('prebuildTargets: which targets a --prebuild makes', async () => {
  const { prebuildTargets } = (await import(lib)) as {
    prebuildTargets: (o: { argv: string[]; env: Record<string, string>; host: string; crossTargets?: string[]; prebuildRequired?: boolean }) => {
      targets: { id: string; cross: unknown; required: boolean }[];
      notes: string[];
      errors: string[];
    };
  };
  const ids = (r: ReturnType<typeof prebuildTargets>) => r.targets.map((t) => `${t.id}${t.cross ? ' (cross)' : ''}${t.required ? ' required' : ''}`);

  it('by default: the host (its own rule) and the package\'s cross targets, which are best effort', () => {
    const r = prebuildTargets({ argv: ['--prebuild'], env: {}, host: 'linux-x64', crossTargets: ['linux-arm64'], prebuildRequired: true });
    expect(ids(r)).toEqual(['linux-x64 required', 'linux-arm64 (cross)']);
    expect(r.errors).toEqual([]);
    // A package without cross targets builds for the host alone.
    expect(ids(prebuildTargets({ argv: ['--prebuild'], env: {}, host: 'linux-x64' }))).toEqual(['linux-x64']);
  });

  it('CWTS_PREBUILD_REQUIRED=1 requires every target', () => {
    const r = prebuildTargets({ argv: ['--prebuild'], env: { CWTS_PREBUILD_REQUIRED: '1' }, host: 'linux-x64', crossTargets: ['linux-arm64'] });
    expect(ids(r)).toEqual(['linux-x64 required', 'linux-arm64 (cross) required']);
  });

  it('named targets (--target, CWTS_PREBUILD_TARGETS) are the exact list, and a named cross target is required', () => {
    const arm = prebuildTargets({ argv: ['--prebuild', '--target', 'linux-arm64'], env: {}, host: 'linux-x64', crossTargets: ['linux-arm64'] });
    expect(ids(arm)).toEqual(['linux-arm64 (cross) required']);
    const hostOnly = prebuildTargets({ argv: ['--prebuild'], env: { CWTS_PREBUILD_TARGETS: 'linux-x64' }, host: 'linux-x64', crossTargets: ['linux-arm64'] });
    expect(ids(hostOnly)).toEqual(['linux-x64']);
    const both = prebuildTargets({ argv: ['--prebuild', '--target=linux-arm64,linux-x64'], env: { CWTS_PREBUILD_TARGETS: 'linux-x64' }, host: 'linux-x64', crossTargets: ['linux-arm64'] });
    expect(ids(both)).toEqual(['linux-arm64 (cross) required', 'linux-x64']);
  });

  it('a target the package cannot build: an error when asked of it with --target, a note from the shared variable', () => {
    const asked = prebuildTargets({ argv: ['--prebuild', '--target', 'linux-arm64'], env: {}, host: 'linux-x64' });
    expect(asked.targets).toEqual([]);
    expect(asked.errors).toEqual(['linux-arm64 is not a target of this package (it builds for the host, linux-x64)']);
    const shared = prebuildTargets({ argv: ['--prebuild'], env: { CWTS_PREBUILD_TARGETS: 'linux-x64,linux-arm64' }, host: 'linux-x64' });
    expect(ids(shared)).toEqual(['linux-x64']);
    expect(shared.notes).toHaveLength(1);
    expect(shared.errors).toEqual([]);
    // linux-arm64 is cross-compiled from linux-x64 only; a macOS host reports it and builds its own.
    const mac = prebuildTargets({ argv: ['--prebuild'], env: {}, host: 'darwin-arm64', crossTargets: ['linux-arm64'] });
    expect(ids(mac)).toEqual(['darwin-arm64']);
    expect(mac.notes).toEqual(['linux-arm64 cannot be cross-compiled from darwin-arm64 (only from linux-x64)']);
  });
});

describe.runIf(platformDir === 'linux-x64')('buildNative: a cross target whose compiler is missing', () => {
  /** A package that cross-builds for linux-arm64, with an up-to-date host binary (so nothing compiles). */
  function crossPackage(): string {
    const dir = fakePackage(true);
    writeFileSync(
      join(dir, 'build.mjs'),
      `import { buildNative } from ${JSON.stringify(lib)};
buildNative({ name: '@cwts/fake', pkgDir: ${JSON.stringify(dir)}, addon: 'fake.node', prebuildRequired: true,
  crossTargets: ['linux-arm64'], fallback: 'the JS backend' });
`,
    );
    mkdirSync(join(dir, 'prebuilds', platformDir), { recursive: true });
    const bin = join(dir, 'prebuilds', platformDir, 'fake.node');
    writeFileSync(bin, 'fresh');
    spawnSync('touch', ['-d', new Date(Date.now() + 5_000).toISOString(), bin]);
    return dir;
  }
  const noCompiler = { CWTS_CXX_LINUX_ARM64: 'cwts-no-such-aarch64-g++' };

  it('a default pack goes on without it, says so, ships the reason and never a stale arm64 binary', () => {
    const dir = crossPackage();
    const stale = join(dir, 'prebuilds', 'linux-arm64', 'fake.node');
    mkdirSync(dirname(stale), { recursive: true });
    writeFileSync(stale, 'old');
    spawnSync('touch', ['-d', new Date(Date.now() - 60_000).toISOString(), stale]);
    const r = run(dir, ['--prebuild'], noCompiler);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`prebuilt binary is up to date (prebuilds/${platformDir}/fake.node)`);
    expect(r.stderr).toContain(
      '@cwts/fake: NO PREBUILT BINARY for linux-arm64 in this pack: the linux-arm64 cross compiler cwts-no-such-aarch64-g++ is not installed (apt-get install g++-aarch64-linux-gnu, or set CWTS_CXX_LINUX_ARM64)',
    );
    expect(existsSync(stale)).toBe(false);
    expect(readFileSync(join(dir, 'prebuilds', 'linux-arm64', 'skip-reason.txt'), 'utf8')).toContain(
      'this package was packed without a prebuilt linux-arm64 binary (the linux-arm64 cross compiler cwts-no-such-aarch64-g++ is not installed',
    );
  });

  it('a pack that names linux-arm64 fails without it', () => {
    for (const [args, env] of [
      [['--prebuild', '--target', 'linux-arm64'], noCompiler],
      [['--prebuild'], { ...noCompiler, CWTS_PREBUILD_TARGETS: 'linux-x64,linux-arm64' }],
      [['--prebuild'], { ...noCompiler, CWTS_PREBUILD_REQUIRED: '1' }],
    ] as const) {
      const r = run(crossPackage(), [...args], env);
      expect(r.status, `${args.join(' ')} ${JSON.stringify(env)}`).toBe(1);
      expect(r.stderr).toContain('@cwts/fake: cannot prebuild linux-arm64: the linux-arm64 cross compiler cwts-no-such-aarch64-g++ is not installed');
    }
  });
});
