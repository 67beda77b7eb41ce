import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ComputeBackendProvider, ProbeResult } from '../contracts/compute.js';
import { createLogger, silentLogger } from '../observability/logger.js';
import { JsComputeBackend, jsBackendProvider } from './js-backend.js';
import { ComputeRegistry, NoComputeBackendError } from './registry.js';

interface FakeOptions {
  priority?: number;
  probe?: ProbeResult | Error;
  createError?: Error;
}

/** A provider that counts its probe and create calls; a created backend is a js backend. */
function fake(name: string, opts: FakeOptions = {}) {
  const calls = { probe: 0, create: 0 };
  const provider: ComputeBackendProvider = {
    name,
    priority: opts.priority ?? 10,
    async probe() {
      calls.probe++;
      if (opts.probe instanceof Error) throw opts.probe;
      return opts.probe ?? { available: true, device: { name: `${name} device`, type: 'discrete-gpu', memoryBytes: 1 << 30 } };
    },
    async create() {
      calls.create++;
      if (opts.createError) throw opts.createError;
      const b = new JsComputeBackend();
      Object.defineProperty(b, 'name', { value: name });
      return b;
    },
  };
  return { provider, calls };
}

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: createLogger({ level: 'debug', destination: stream }), lines };
}

describe('ComputeRegistry', () => {
  it('rejects a duplicate name, naming it', () => {
    const r = new ComputeRegistry(silentLogger());
    r.register(jsBackendProvider);
    expect(() => r.register({ ...fake('js').provider })).toThrow("compute backend 'js' is already registered");
    expect(r.has('js')).toBe(true);
  });

  // One backend package under two [compute] names (`[compute.fast] plugin = "@cwts/backend-vulkan"`
  // beside auto-detected vulkan) hands its provider object once per name: one backend, not a
  // conflict that stops startup.
  it('takes the provider object it already holds as a no-op; another object under that name still throws', async () => {
    const r = new ComputeRegistry(silentLogger());
    const a = fake('gpu');
    r.register(a.provider);
    r.register(a.provider);
    expect(r.providers()).toEqual([a.provider]);
    expect(() => r.register(fake('gpu').provider)).toThrow("compute backend 'gpu' is already registered");
    const { backend } = await r.resolve([]);
    expect(backend.name).toBe('gpu');
    expect(a.calls.create).toBe(1);
  });

  it('registers nothing on its own', async () => {
    const r = new ComputeRegistry(silentLogger());
    expect(await r.status()).toEqual([]);
    await expect(r.resolve([])).rejects.toThrow(NoComputeBackendError);
  });

  it('follows the hint order before priority', async () => {
    const r = new ComputeRegistry(silentLogger());
    const cuda = fake('cuda', { priority: 100 });
    const vulkan = fake('vulkan', { priority: 50 });
    r.register(jsBackendProvider);
    r.register(cuda.provider);
    r.register(vulkan.provider);
    const { backend, skipped } = await r.resolve(['vulkan', 'cuda']);
    expect(backend.name).toBe('vulkan');
    expect(skipped).toEqual([]);
    expect(cuda.calls).toEqual({ probe: 0, create: 0 });
  });

  it('tries exactly the requested backends in order, never js unless listed, and names each failure', async () => {
    const { logger, lines } = capturingLogger();
    const r = new ComputeRegistry(logger);
    const cuda = fake('cuda', { priority: 100, probe: { available: false, reason: 'no CUDA device (cudaGetDeviceCount returned 35)' } });
    const cpu = fake('cpu-simd', { priority: 5 });
    r.register(jsBackendProvider);
    r.register(cpu.provider);
    r.register(cuda.provider);
    const err = await r.resolve(['opencl', 'cuda']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoComputeBackendError);
    expect((err as Error).message).toBe(
      'No compute backend is usable. Tried: opencl (not installed (package @cwts/backend-opencl)); cuda (no CUDA device (cudaGetDeviceCount returned 35))',
    );
    expect(cpu.calls).toEqual({ probe: 0, create: 0 });
    const skipLogs = lines.filter((l) => l.msg === 'compute backend skipped');
    expect(skipLogs.map((l) => [l.backend, l.level, l.requested])).toEqual([['opencl', 40, true], ['cuda', 40, true]]);
    // js is a fallback only when listed, and then only after the backends before it.
    const { backend, skipped } = await r.resolve(['cuda', 'js']);
    expect(backend.name).toBe('js');
    expect(skipped).toEqual([{ name: 'cuda', reason: 'no CUDA device (cudaGetDeviceCount returned 35)' }]);
  });

  it("reports backends the caller already knows are unusable with the caller's reason, in list order", async () => {
    const r = new ComputeRegistry(silentLogger());
    r.register(jsBackendProvider);
    const err = await r.resolve(['cuda', 'rocm'], {}, [{ name: 'cuda', reason: 'performance.gpu_enabled = false' }]).catch((e: unknown) => e);
    expect((err as NoComputeBackendError).skipped).toEqual([
      { name: 'cuda', reason: 'performance.gpu_enabled = false' },
      { name: 'rocm', reason: 'not installed (package @cwts/backend-rocm)' },
    ]);
    const ok = await r.resolve(['cuda', 'js'], {}, [{ name: 'cuda', reason: 'plugin failed to load' }]);
    expect(ok.backend.name).toBe('js');
    expect(ok.skipped).toEqual([{ name: 'cuda', reason: 'plugin failed to load' }]);
  });

  it('auto-detects by descending priority when no list is given; logs every skip with its reason', async () => {
    const { logger, lines } = capturingLogger();
    const r = new ComputeRegistry(logger);
    const cuda = fake('cuda', { priority: 100, probe: { available: false, reason: 'no CUDA device (cudaGetDeviceCount returned 35)' } });
    const rocm = fake('rocm', { priority: 90, createError: new Error('hipInit failed') });
    const metal = fake('metal', { priority: 80, probe: new Error('dlopen failed') });
    const cpu = fake('cpu-simd', { priority: 5 });
    r.register(jsBackendProvider);
    r.register(cpu.provider);
    r.register(cuda.provider);
    r.register(rocm.provider);
    r.register(metal.provider);
    const { backend, skipped } = await r.resolve([]);
    expect(backend.name).toBe('cpu-simd');
    expect(skipped).toEqual([
      { name: 'cuda', reason: 'no CUDA device (cudaGetDeviceCount returned 35)' },
      { name: 'rocm', reason: 'init failed: hipInit failed' },
      { name: 'metal', reason: 'probe failed: dlopen failed' },
    ]);
    const skipLogs = lines.filter((l) => l.msg === 'compute backend skipped');
    expect(skipLogs.map((l) => [l.backend, l.reason, l.level])).toEqual([
      ['cuda', 'no CUDA device (cudaGetDeviceCount returned 35)', 30],
      ['rocm', 'init failed: hipInit failed', 30],
      ['metal', 'probe failed: dlopen failed', 30],
    ]);
    expect(lines.some((l) => l.msg === 'compute backend selected' && l.backend === 'cpu-simd')).toBe(true);
  });

  it('probes and creates at most once per provider, caching failures too', async () => {
    const r = new ComputeRegistry(silentLogger());
    const broken = fake('vulkan', { priority: 50, createError: new Error('vkCreateInstance: VK_ERROR_INCOMPATIBLE_DRIVER') });
    const absent = fake('cuda', { priority: 60, probe: { available: false, reason: 'no driver' } });
    const good = fake('cpu-simd', { priority: 5 });
    r.register(broken.provider);
    r.register(absent.provider);
    r.register(good.provider);
    const first = await r.resolve(['vulkan', 'cpu-simd']);
    const [second, third] = await Promise.all([r.resolve(['vulkan', 'cpu-simd']), r.resolve([])]);
    expect(first.backend).toBe(second.backend);
    expect(third.backend).toBe(first.backend);
    expect(second.skipped).toEqual(first.skipped);
    expect(broken.calls).toEqual({ probe: 1, create: 1 });
    expect(absent.calls).toEqual({ probe: 1, create: 0 });
    expect(good.calls).toEqual({ probe: 1, create: 1 });
    const status = await r.status();
    expect(broken.calls.probe + absent.calls.probe + good.calls.probe).toBe(3);
    expect(status).toEqual([
      { name: 'cuda', priority: 60, gpu: false, available: false, reason: 'no driver', initialized: false },
      {
        name: 'vulkan', priority: 50, gpu: false, available: false, reason: 'init failed: vkCreateInstance: VK_ERROR_INCOMPATIBLE_DRIVER',
        device: { name: 'vulkan device', type: 'discrete-gpu', memoryBytes: 1 << 30 }, initialized: false,
      },
      { name: 'cpu-simd', priority: 5, gpu: false, available: true, device: { name: 'cpu-simd device', type: 'discrete-gpu', memoryBytes: 1 << 30 }, initialized: true },
    ]);
  });

  it('status probes everything (cached) without creating anything', async () => {
    const r = new ComputeRegistry(silentLogger());
    const a = fake('a', { priority: 1 });
    r.register(a.provider);
    r.register(jsBackendProvider);
    const s1 = await r.status();
    const s2 = await r.status();
    expect(s1).toEqual(s2);
    expect(s1.map((s) => [s.name, s.available, s.initialized])).toEqual([['a', true, false], ['js', true, false]]);
    expect(s1[1].device?.name).toBe('JavaScript (V8)');
    expect(a.calls).toEqual({ probe: 1, create: 0 });
  });

  it('throws one error naming every backend tried and why', async () => {
    const r = new ComputeRegistry(silentLogger());
    r.register(fake('vulkan', { priority: 50, probe: { available: false, reason: 'no Vulkan ICD' } }).provider);
    r.register(fake('js', { priority: 0, createError: new Error('out of memory') }).provider);
    const err = await r.resolve(['cuda', 'vulkan', 'js']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoComputeBackendError);
    expect((err as Error).message).toBe(
      'No compute backend is usable. Tried: cuda (not installed (package @cwts/backend-cuda)); vulkan (no Vulkan ICD); js (init failed: out of memory)',
    );
    expect((err as NoComputeBackendError).skipped.map((s) => s.name)).toEqual(['cuda', 'vulkan', 'js']);
  });

  it('ignores duplicate names and ties in priority keep registration order', async () => {
    const r = new ComputeRegistry(silentLogger());
    const x = fake('x', { priority: 3, probe: { available: false, reason: 'nope' } });
    const y = fake('y', { priority: 3 });
    r.register(x.provider);
    r.register(y.provider);
    const { backend, skipped } = await r.resolve(['x', 'x', 'y']);
    expect(backend.name).toBe('y');
    expect(skipped).toEqual([{ name: 'x', reason: 'nope' }]);
    expect(r.providers().map((p) => p.name)).toEqual(['x', 'y']);
  });

  it('passes the init options to create and disposes created backends', async () => {
    const r = new ComputeRegistry(silentLogger());
    let seen: unknown;
    let disposed = 0;
    r.register({
      name: 'opts',
      priority: 1,
      probe: async () => ({ available: true, device: { name: 'd', type: 'cpu' } }),
      create: async (options) => {
        seen = options;
        const b = new JsComputeBackend();
        const dispose = b.dispose.bind(b);
        b.dispose = async () => { disposed++; await dispose(); };
        return b;
      },
    });
    await r.resolve(['opts'], { threadPoolSize: 4, settings: { device: 1 } });
    expect(seen).toEqual({ threadPoolSize: 4, settings: { device: 1 } });
    await r.dispose();
    expect(disposed).toBe(1);
    await expect(r.resolve(['opts'])).rejects.toThrow('opts (disposed)');
  });

  it('rejects malformed providers', () => {
    const r = new ComputeRegistry(silentLogger());
    expect(() => r.register({ ...jsBackendProvider, name: '' })).toThrow(TypeError);
    expect(() => r.register({ ...jsBackendProvider, priority: Number.NaN })).toThrow(/priority/);
  });
});

describe('ComputeRegistry auto-detection and per-backend settings', () => {
  const device = (type: string) => ({ available: true as const, device: { name: `${type} device`, type } });

  it('orders real accelerators, then CPU backends, then CPU-emulated GPUs, then fallbacks, whatever the priorities', async () => {
    const r = new ComputeRegistry(silentLogger());
    r.register(jsBackendProvider);
    r.register({ ...fake('vulkan', { priority: 80, probe: device('cpu-device') }).provider, gpu: true });
    r.register({ ...fake('cpu-simd', { priority: 50, probe: device('cpu') }).provider, gpu: false });
    r.register({ ...fake('cuda', { priority: 10, probe: device('discrete-gpu') }).provider, gpu: true });
    expect((await r.status()).map((s) => s.name)).toEqual(['cuda', 'cpu-simd', 'vulkan', 'js']);
    expect((await r.resolve([])).backend.name).toBe('cuda');
  });

  it('a CPU SIMD backend beats Vulkan on lavapipe even with a lower priority', async () => {
    const r = new ComputeRegistry(silentLogger());
    r.register(jsBackendProvider);
    r.register({ ...fake('vulkan', { priority: 80, probe: device('cpu-device') }).provider, gpu: true });
    r.register(fake('cpu-simd', { priority: 50, probe: device('cpu') }).provider);
    expect((await r.resolve([])).backend.name).toBe('cpu-simd');
  });

  it('an unavailable accelerator is skipped first with its reason', async () => {
    const r = new ComputeRegistry(silentLogger());
    r.register(jsBackendProvider);
    r.register({ ...fake('cuda', { priority: 100, probe: { available: false, reason: 'no NVIDIA driver' } }).provider, gpu: true });
    r.register(fake('cpu-simd', { priority: 50 }).provider);
    const { backend, skipped } = await r.resolve([]);
    expect(backend.name).toBe('cpu-simd');
    expect(skipped).toEqual([{ name: 'cuda', reason: 'no NVIDIA driver' }]);
  });

  it('gives each backend its own settings in create()', async () => {
    const r = new ComputeRegistry(silentLogger());
    const seen: Record<string, unknown>[] = [];
    r.register({ ...fake('vulkan').provider, async create(o) { seen.push({ vulkan: o.settings }); throw new Error('no device 99 (devices: 0: llvmpipe)'); } });
    r.register({ ...fake('cpu-simd').provider, async create(o) { seen.push({ 'cpu-simd': o.settings, threads: o.threadPoolSize }); return new JsComputeBackend(); } });
    const settings: Record<string, Record<string, unknown>> = { vulkan: { device: 99 }, 'cpu-simd': { isa: 'avx2' } };
    const { skipped } = await r.resolve(['vulkan', 'cpu-simd'], (name) => ({ threadPoolSize: 3, settings: settings[name] }));
    expect(seen).toEqual([{ vulkan: { device: 99 } }, { 'cpu-simd': { isa: 'avx2' }, threads: 3 }]);
    expect(skipped).toEqual([{ name: 'vulkan', reason: 'init failed: no device 99 (devices: 0: llvmpipe)' }]);
  });

  it('rejects a provider whose gpu flag is not a boolean', () => {
    const r = new ComputeRegistry(silentLogger());
    expect(() => r.register({ ...fake('x').provider, gpu: 'yes' as unknown as boolean })).toThrow("provider 'x' gpu must be a boolean");
  });
});

describe('ComputeRegistry vs a probe that says available without device facts', () => {
  const sloppy = (device?: unknown): ComputeBackendProvider => ({
    name: 'sloppy',
    priority: 10,
    gpu: true,
    async probe() {
      return (device === undefined ? { available: true } : { available: true, device }) as unknown as ProbeResult;
    },
    async create() {
      throw new Error('not reached');
    },
  });

  it('auto-detection skips it with a reason and falls back to js', async () => {
    const r = new ComputeRegistry(silentLogger());
    r.register(sloppy());
    r.register(jsBackendProvider);
    const got = await r.resolve([]);
    expect(got.backend.name).toBe('js');
    expect(got.skipped).toEqual([{ name: 'sloppy', reason: expect.stringMatching(/without device facts/) }]);
    await r.dispose();
  });

  it('status() (cwts-ultra backends) reports it unavailable, with the reason, instead of throwing', async () => {
    for (const device of [undefined, null, 'gpu0', { name: 'x' }, { type: 'discrete-gpu' }]) {
      const r = new ComputeRegistry(silentLogger());
      r.register(sloppy(device));
      r.register(jsBackendProvider);
      const row = (await r.status()).find((x) => x.name === 'sloppy');
      expect(row, String(device)).toMatchObject({ available: false, reason: expect.stringMatching(/without device facts/) });
    }
  });

  it('an exact list naming it fails with one error that says why', async () => {
    const r = new ComputeRegistry(silentLogger());
    r.register(sloppy());
    await expect(r.resolve(['sloppy'])).rejects.toThrow(/sloppy.*without device facts/s);
  });
});

// ComputeRegistry.dispose() while a backend's create() is still in flight (startup interrupted:
// SIGTERM during a slow GPU init, or a second resolve racing a shutdown). dispose() looked only at
// settled outcomes, so it returned at once; the create then completed, the pending resolve()
// handed out a live backend, and nothing disposed it (device memory, a thread pool, a GPU
// context left behind).
describe('ComputeRegistry.dispose with a create() in flight', () => {
  function slowProvider(name: string): { provider: ComputeBackendProvider; release: () => void; disposed: () => number } {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let disposed = 0;
    const provider: ComputeBackendProvider = {
      name,
      priority: 10,
      async probe() {
        return { available: true, device: { name: 'slow device', type: 'discrete-gpu' } };
      },
      async create() {
        await gate;
        const b = new JsComputeBackend();
        const inner = b.dispose.bind(b);
        b.dispose = async () => {
          disposed++;
          await inner();
        };
        return b;
      },
    };
    return { provider, release: () => release(), disposed: () => disposed };
  }

  it('dispose() waits for it and disposes what it returns; the pending resolve rejects', async () => {
    const slow = slowProvider('slowgpu');
    const registry = new ComputeRegistry(silentLogger());
    registry.register(slow.provider);
    const resolving = registry.resolve(['slowgpu']).then(
      (r) => ({ ok: true as const, backend: r.backend }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    // Let resolve reach create().
    for (let i = 0; i < 5; i++) await Promise.resolve();
    let settled = false;
    const disposing = registry.dispose().then(() => (settled = true));
    await new Promise((res) => setTimeout(res, 10));
    expect(settled, 'dispose() returned before the create() in flight settled').toBe(false);
    slow.release();
    await disposing;
    expect(slow.disposed(), 'backend created during dispose() was never disposed').toBe(1);
    const r = await resolving;
    expect(r.ok, 'resolve handed out a backend created during dispose()').toBe(false);
    if (!r.ok) expect(String(r.e)).toMatch(/slowgpu \(disposed\)/);
    const status = await registry.status();
    expect(status.find((s) => s.name === 'slowgpu')?.initialized, 'status reports the backend live after dispose()').not.toBe(true);
  });

  it('a resolve after dispose() creates nothing, for a backend never created before too', async () => {
    const slow = slowProvider('later');
    slow.release();
    let created = 0;
    const registry = new ComputeRegistry(silentLogger());
    registry.register({ ...slow.provider, create: async (o) => (created++, slow.provider.create(o)) });
    await registry.dispose();
    await expect(registry.resolve(['later'])).rejects.toThrow('later (disposed)');
    expect(created).toBe(0);
  });
});
