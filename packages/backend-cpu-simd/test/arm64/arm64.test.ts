/**
 * The linux-arm64 prebuild, proven on this x86-64 machine under emulation: the binary the pack
 * ships (prebuilds/linux-arm64/, cross-compiled by `build-native.mjs --prebuild --target
 * linux-arm64`, made fresh here) is loaded by the package's own loader in an arm64 Node under
 * qemu-aarch64, its probe must say arm64 and NEON, and the compute conformance suite (the same one
 * every backend passes, against the JS oracle and independent calculations) runs its kernels,
 * NEON and scalar. Needs the cross compiler, qemu-user and an arm64 Node: test/arm64/setup.sh
 * installs them. Skips with the reason where they are missing, fails where CWTS_REQUIRE lists
 * `cpu-simd-arm64`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComputeBackendProvider } from '@cwts/core';
import { describeComputeConformance, skipUnlessRequired } from '@cwts/core/testing';
import { CpuSimdBackend, deviceFacts, resolveSettings } from '../../src/backend.js';
import { PACKAGE_DIR } from '../../src/native.js';
import { EmulatedEngineHost, type EmulatorTools, type Hello } from './engine-host.js';

const CAPABILITY = 'cpu-simd-arm64';
const SYSROOT = '/usr/aarch64-linux-gnu';
const ARM64_BINARY = join(PACKAGE_DIR, 'prebuilds', 'linux-arm64', 'cwts_cpu_simd.node');

const runs = (cmd: string, args: string[] = ['--version']) => {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error && r.status === 0;
};

/** The tools, or why this machine cannot run the check. */
function findTools(): EmulatorTools | { missing: string } {
  if (process.platform !== 'linux' || process.arch !== 'x64') return { missing: `the linux-arm64 cross build and its emulated check run on linux-x64 hosts, not ${process.platform}-${process.arch}` };
  const missing: string[] = [];
  const cxx = process.env.CWTS_CXX_LINUX_ARM64 || 'aarch64-linux-gnu-g++';
  if (!runs(cxx)) missing.push(`the cross compiler ${cxx}`);
  if (!existsSync(join(SYSROOT, 'lib', 'ld-linux-aarch64.so.1'))) missing.push(`the arm64 C library in ${SYSROOT}`);
  const qemu = ['qemu-aarch64', 'qemu-aarch64-static'].find((q) => runs(q));
  if (qemu === undefined) missing.push('qemu-aarch64 (qemu-user or qemu-user-static)');
  const node = process.env.CWTS_ARM64_NODE || resolve(PACKAGE_DIR, '..', '..', 'node_modules', '.cache', 'cwts-arm64-node', 'bin', 'node');
  if (!existsSync(node)) missing.push(`an arm64 node (${node}, or CWTS_ARM64_NODE)`);
  if (missing.length > 0 || qemu === undefined) return { missing: `missing ${missing.join(', ')}; run packages/backend-cpu-simd/test/arm64/setup.sh` };
  return { qemu, sysroot: SYSROOT, node };
}

const tools = findTools();
const state: { host?: EmulatedEngineHost; hello?: Hello } = {};

describe('cpu-simd linux-arm64 prebuild under qemu', () => {
  beforeAll(async () => {
    if ('missing' in tools) return;
    // Fresh: the prebuild is skipped while the binary is newer than every source.
    const build = spawnSync(process.execPath, [join(PACKAGE_DIR, 'scripts', 'build-native.mjs'), '--prebuild', '--target', 'linux-arm64'], { encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`the linux-arm64 prebuild failed:\n${build.stdout}\n${build.stderr}`);
    const started = await EmulatedEngineHost.start(tools, PACKAGE_DIR, 120_000);
    state.host = started.host;
    state.hello = started.hello;
  }, 600_000);

  afterAll(() => state.host?.close());

  it('the package loads the arm64 binary in an arm64 Node; the probe says arm64 and NEON', (ctx) => {
    if ('missing' in tools) skipUnlessRequired(ctx, CAPABILITY, tools.missing);
    const hello = state.hello!;
    expect(hello.ok, hello.error).toBe(true);
    expect(hello.arch).toBe('arm64');
    // The loader passed over build/Release (this host's x86-64 build, when there is one) to the prebuild.
    expect(hello.path).toBe(ARM64_BINARY);
    expect(hello.probe).toMatchObject({ arch: 'arm64', best: 'neon', supported: ['neon', 'scalar'], compiled: ['neon', 'scalar'], blas: null });
    // Under user-mode emulation /proc/cpuinfo is the x86 host's: the probe names no x86 CPU.
    expect(hello.probe.cpu).not.toMatch(/AMD|Intel|EPYC|Xeon/i);
    expect(hello.provider.available, hello.provider.reason).toBe(true);
    expect(hello.provider.device?.name).toMatch(/\(neon\)$/);
  });

  it('on an arm64 /proc/cpuinfo the probe names the core from its MIDR fields', (ctx) => {
    if ('missing' in tools) skipUnlessRequired(ctx, CAPABILITY, tools.missing);
    // qemu-user passes the host's /proc/cpuinfo through; a private mount namespace shows the
    // arm64 binary what an arm64 kernel writes there instead (root and unshare needed).
    const dir = mkdtempSync(join(tmpdir(), 'cwts-cpuinfo-'));
    try {
      const cpuName = (cpuinfo: string): string | undefined => {
        const file = join(dir, 'cpuinfo');
        writeFileSync(file, cpuinfo);
        const script = `process.stdout.write(require(${JSON.stringify(ARM64_BINARY)}).probe().cpu)`;
        const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount --bind "$1" /proc/cpuinfo && exec "$2" -L "$3" "$4" -e "$5"', 'sh', file, tools.qemu, tools.sysroot, tools.node, script], { encoding: 'utf8', timeout: 120_000 });
        return r.status === 0 ? r.stdout : undefined;
      };
      const n1 = cpuName('processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n');
      if (n1 === undefined) ctx.skip('cannot bind-mount over /proc/cpuinfo here (unshare -m needs root)');
      expect(n1).toBe('Arm Neoverse N1');
      expect(cpuName('processor\t: 0\nCPU implementer\t: 0x51\nCPU part\t: 0x001\n')).toBe('arm64 cpu (implementer 0x51, part 0x001)');
      expect(cpuName('processor\t: 0\nmodel name\t: AMD EPYC 7B13\n')).toBe('arm64 cpu');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  if ('missing' in tools) return;

  /** The real backend class over the arm64 Engine; `isa` as a deployment would set it. */
  const provider: ComputeBackendProvider = {
    name: 'cpu-simd',
    priority: 50,
    gpu: false,
    async probe() {
      const { hello } = state;
      if (!hello?.ok) return { available: false, reason: hello?.error ?? 'the arm64 process did not start' };
      return { available: true, device: deviceFacts(hello.probe, hello.path) };
    },
    async create(options) {
      const { host, hello } = state;
      return new CpuSimdBackend(host!.module(hello!.probe), hello!.probe, hello!.path, resolveSettings(options ?? {}));
    },
  };
  describeComputeConformance('cpu-simd linux-arm64 neon (qemu)', () => provider, { createOptions: { threadPoolSize: 2, settings: { isa: 'auto' } } });
  describeComputeConformance('cpu-simd linux-arm64 scalar (qemu)', () => provider, { createOptions: { threadPoolSize: 2, settings: { isa: 'scalar' } } });

  it('each conformance run used the kernel set it names', async () => {
    for (const [settings, isa, lanes] of [[{ isa: 'auto' }, 'neon', 4], [{ isa: 'scalar' }, 'scalar', 4]] as const) {
      const backend = (await provider.create({ threadPoolSize: 2, settings })) as CpuSimdBackend;
      expect(backend.isa).toBe(isa);
      expect(backend.device.details).toMatchObject({ simd: isa, lanes, arch: 'arm64' });
      await backend.dispose();
    }
  });

  it('a kernel set the arm64 binary does not hold is refused by name', async () => {
    await expect(provider.create({ settings: { isa: 'avx2' } })).rejects.toThrow("kernel set 'avx2' is not available here (this CPU and build support: neon, scalar)");
  });
});
