// doctor's gpu-backends check: a GPU is a backend that declares `gpu: true` on a device that is
// not CPU-emulated (the registry's autoDetectTier rule); backends report 'discrete-gpu',
// 'integrated-gpu', ..., never a type 'gpu'. The configured backends are created with their
// settings (as `run` does), so one that cannot start fails the check. The GPU backend here is a
// path plugin with a fixed probe.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CORE_API_VERSION } from '../../plugins/manifest.js';
import { checkGpuBackends } from './deploy-checks.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-doctor-gpu-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function gpuPlugin(type: string, createFails = false): string {
  const file = join(dir, `fake-${type}-${createFails ? 'fails' : 'ok'}.mjs`);
  writeFileSync(file, `
const token = Object.freeze({ symbol: Symbol.for('cwts.ComputeBackendProvider'), description: 'ComputeBackendProvider', multi: true });
const provider = Object.freeze({
  name: 'fakegpu', priority: 100, gpu: true,
  async probe() { return { available: true, device: { name: 'Fake H100', type: ${JSON.stringify(type)}, memoryBytes: 80 * 2 ** 30 } }; },
  async create() { ${createFails ? "throw new Error('device busy');" : 'return { async dispose() {} };'} },
});
export const plugin = { name: 'fake-gpu', kind: 'backend', coreApi: ${JSON.stringify(CORE_API_VERSION)}, register(ctx) { ctx.registrar.value(token, provider); } };
export default plugin;
`);
  return file;
}

function check(type: string, createFails = false, gpuEnabled = true): ReturnType<typeof checkGpuBackends> {
  const compute = { backends: ['fakegpu'], backendOptions: { fakegpu: {} }, plugins: { fakegpu: gpuPlugin(type, createFails) } };
  return checkGpuBackends(dir, { compute, performance: { gpu_enabled: gpuEnabled } } as never);
}

describe('doctor: GPU backends are recognised by the device types backends report', () => {
  for (const type of ['discrete-gpu', 'integrated-gpu']) {
    it(`an available GPU backend whose device type is '${type}' is not reported as "no GPU backend"`, async () => {
      const r = await check(type);
      expect(r.detail).toMatch(/available: [^;]*fakegpu \(Fake H100\)/);
      expect(r.status, r.detail).toBe('PASS');
    }, 60_000);
  }

  it("a GPU API on a CPU-emulated device ('cpu-device', lavapipe) is not a GPU: WARN with gpu_enabled", async () => {
    const r = await check('cpu-device');
    expect(r.status, r.detail).toBe('WARN');
    expect(r.detail).toMatch(/no GPU backend is available/);
  }, 60_000);

  it('a configured backend that probes available but cannot be created FAILs (run would refuse to start)', async () => {
    const r = await check('discrete-gpu', true);
    expect(r.status, r.detail).toBe('FAIL');
    expect(r.detail).toMatch(/fakegpu: init failed: device busy/);
  }, 60_000);

  // run refuses every GPU backend while gpu_enabled = false (the default): a deployment listing
  // only one cannot start, whatever the hardware, and doctor says so with the setting to change.
  it('gpu_enabled = false with only a GPU backend listed FAILs (run refuses it), naming the setting', async () => {
    const r = await check('discrete-gpu', false, false);
    expect(r.status, r.detail).toBe('FAIL');
    expect(r.detail).toMatch(/fakegpu: performance\.gpu_enabled = false/);
    expect(r.fix).toMatch(/set \[performance\] gpu_enabled = true/);
  }, 60_000);
});

// `run` registers cpu-simd with `[performance] simd_enabled` (false: the scalar kernels, whatever
// `isa` says); doctor created it from `[compute.cpu-simd]` alone and failed a deployment run starts.
describe('doctor: [performance] reaches the backends as run hands it', () => {
  const foreignIsa = arch() === 'arm64' ? 'avx2' : 'neon';
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../..');
  const compute = { backends: ['cpu-simd'], backendOptions: { 'cpu-simd': { isa: foreignIsa } }, plugins: {} };

  it(`cpu-simd isa = "${foreignIsa}" with simd_enabled = false does not FAIL (run starts it on scalar)`, async () => {
    const r = await checkGpuBackends(root, { compute, performance: { gpu_enabled: false, simd_enabled: false, thread_pool_size: 2 } } as never);
    expect(r.status, r.detail).not.toBe('FAIL');
    expect(r.detail).toMatch(/available: [^;]*cpu-simd/);
  }, 60_000);

  it('the same table with simd_enabled = true FAILs, as run refuses it', async () => {
    const r = await checkGpuBackends(root, { compute, performance: { gpu_enabled: false, simd_enabled: true, thread_pool_size: 2 } } as never);
    expect(r.status, r.detail).toBe('FAIL');
    expect(r.detail).toMatch(new RegExp(`cpu-simd: init failed: .*${foreignIsa}`));
  }, 60_000);
});

// Options of a backend `run` loads that its validateOptions refuses are a ConfigError at startup:
// `run` does not start at all. doctor listed the reason and still said PASS.
describe('doctor: a backend whose options run refuses FAILs the check', () => {
  const plugin = join(dir, 'refuses-options.mjs');
  writeFileSync(plugin, `export const plugin = { name: 'picky', kind: 'backend', coreApi: '1.0', register() {},
  validateOptions(o, path) { return o.level === 'ok' ? [] : [{ path: path + '.level', message: 'expected "ok"' }]; } };
`);
  const compute = (backends: string[] | undefined) => ({ backends, backendOptions: { picky: { level: 'bad' } }, plugins: { picky: plugin } });

  it('auto-detect loads the [compute.picky] table: FAIL, saying run refuses to start, with the fix', async () => {
    const r = await checkGpuBackends(dir, { compute: compute(undefined), performance: { gpu_enabled: false } } as never);
    expect(r.detail).toMatch(/picky: invalid options, `run` refuses them: compute\.picky\.level: expected "ok"/);
    expect(r.status, r.detail).toBe('FAIL');
    expect(r.detail).toMatch(/`run` refuses to start over picky/);
    expect(r.fix).toMatch(/\[compute\.picky\]/);
  }, 60_000);

  it('listed in [compute] backends: FAIL too', async () => {
    const r = await checkGpuBackends(dir, { compute: compute(['picky', 'js']), performance: { gpu_enabled: false } } as never);
    expect(r.status, r.detail).toBe('FAIL');
  }, 60_000);

  // doctor still looks at every known backend (here a [compute.cuda] table naming this plugin)
  it('a backend run does not load (an explicit list without it) refuses nothing: no FAIL, no "run refuses"', async () => {
    const cuda = { backends: ['js'], backendOptions: { cuda: { level: 'bad' } }, plugins: { cuda: plugin } };
    const r = await checkGpuBackends(dir, { compute: cuda, performance: { gpu_enabled: false } } as never);
    expect(r.detail).toMatch(/cuda: invalid options: compute\.cuda\.level: expected "ok"/);
    expect(r.status, r.detail).not.toBe('FAIL');
    expect(r.detail).not.toMatch(/refuses/);
  }, 60_000);
});
