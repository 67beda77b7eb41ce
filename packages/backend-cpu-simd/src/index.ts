/**
 * @cwts/backend-cpu-simd: native C++ compute kernels (AVX-512 / AVX2+FMA / NEON / scalar, chosen
 * at run time) behind the core compute contract. Importing registers nothing; a deployment lists
 * the plugin and its `register` provides the ComputeBackendProvider.
 */
import {
  TOKENS,
  definePlugin,
  type BackendInitOptions,
  type ComputeBackend,
  type ComputeBackendProvider,
  type PluginManifest,
  type ProbeResult,
} from '@cwts/core';
import { CPU_SIMD_BACKEND_NAME, CpuSimdBackend, deviceFacts, resolveSettings, unknownSettings } from './backend.js';
import { NativeLoadError, PACKAGE_NAME, loadNative } from './native.js';

export { CpuSimdBackend, CPU_SIMD_BACKEND_NAME, CPU_SIMD_SETTING_KEYS, resolveSettings, unknownSettings, type CpuSimdSettings, type ResolvedSettings } from './backend.js';
export {
  ADDON_FILE,
  NativeLoadError,
  PACKAGE_DIR,
  PACKAGE_NAME,
  addonCandidates,
  loadNative,
  loadNativeFrom,
  type Isa,
  type LoadAttempt,
  type NativeModule,
  type NativeProbe,
} from './native.js';

/** One line for `cwts-ultra backends`: why the addon is not usable. */
function unavailableReason(e: unknown): string {
  if (e instanceof NativeLoadError) {
    const tried = e.attempts.map((a) => `${a.path} (${a.reason})`).join('; ');
    return `native addon not loadable; tried ${tried}. Install cmake and a C++17 compiler, then \`pnpm rebuild ${PACKAGE_NAME}\`, or use the js backend`;
  }
  return `native addon failed: ${e instanceof Error ? e.message : String(e)}`;
}

/**
 * A provider whose settings default to `config` (the plugin's config table, which the engine
 * fills with `[compute.cpu-simd]` and `[performance] simd_enabled`); `create`'s own
 * `options.settings` override it.
 */
export function createCpuSimdProvider(config: Readonly<Record<string, unknown>> = {}): ComputeBackendProvider {
  return Object.freeze({
    name: CPU_SIMD_BACKEND_NAME,
    priority: 50,
    gpu: false,
    async probe(): Promise<ProbeResult> {
      try {
        const { module, path } = loadNative();
        const probe = module.probe();
        return { available: true as const, device: deviceFacts(probe, path) };
      } catch (e) {
        return { available: false as const, reason: unavailableReason(e) };
      }
    },
    async create(options: BackendInitOptions): Promise<ComputeBackend> {
      const settings = resolveSettings(options ?? {}, config);
      const { module, path } = loadNative();
      return new CpuSimdBackend(module, module.probe(), path, settings);
    },
  });
}

export const cpuSimdProvider: ComputeBackendProvider = createCpuSimdProvider();

export const plugin: PluginManifest = definePlugin({
  name: PACKAGE_NAME,
  kind: 'backend',
  // The core API it needs, as a literal: CORE_API_VERSION is the installed core's (a peer
  // dependency), so declaring it would pass any core. 1.4: it checks sgemm scalars with
  // requireFloat32Scalar from @cwts/core/compute (docs/versioning.md).
  coreApi: '1.4',
  register(ctx) {
    // This package provides one backend, named cpu-simd, whose settings are [compute.cpu-simd].
    // Loaded under another [compute] name too (`[compute.fast] plugin = "@cwts/backend-cpu-simd"`
    // beside auto-detected cpu-simd), a second provider built from that table would claim the
    // same name with other settings, a conflict that stops startup: under another name it
    // registers nothing, and startup reports that name as providing no backend.
    if (ctx.instanceName !== CPU_SIMD_BACKEND_NAME) return;
    const config = ctx.config ?? {};
    ctx.registrar.value(TOKENS.ComputeBackendProvider, Object.keys(config).length > 0 ? createCpuSimdProvider(config) : cpuSimdProvider);
  },
  // `[compute.cpu-simd]`, checked by run and validate-config before anything starts.
  validateOptions(options, path) {
    const table = (options ?? {}) as Record<string, unknown>;
    // Each unknown key at its own path, with the likely key (`compute.cpu-simd.async_treshold`).
    const unknown = unknownSettings(table);
    if (unknown.length > 0) return unknown.map((u) => ({ path: `${path}.${u.key}`, message: u.message }));
    try {
      resolveSettings({ threadPoolSize: 1 }, table);
      return [];
    } catch (e) {
      return [{ path, message: (e as Error).message }];
    }
  },
});

export default plugin;
