/**
 * The ordered loader of the native addon. Tries, in order:
 *   1. $CWTS_CPU_SIMD_ADDON (an explicit path, for packagers and tests),
 *   2. build/Release/cwts_cpu_simd.node (built at install time by scripts/build-native.mjs),
 *   3. prebuilds/<platform>-<arch>/cwts_cpu_simd.node (shipped binaries, see README),
 * and fails with one error listing every path tried, why each failed, and possible solutions.
 * The outcome (success or failure) is cached for the process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ADDON_FILE = 'cwts_cpu_simd.node';
export const PACKAGE_NAME = '@cwts/backend-cpu-simd';
/** The package root (dist/.. or src/..). */
export const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

export type Isa = 'avx512' | 'avx2' | 'neon' | 'scalar';

export interface NativeProbe {
  /** The kernel set `auto` picks on this CPU. */
  best: Isa;
  /** Kernel sets this binary holds that this CPU runs, best first; always ends with scalar. */
  supported: Isa[];
  /** Kernel sets compiled into this binary. */
  compiled: Isa[];
  cpu: string;
  arch: string;
  hardwareConcurrency: number;
  /** The BLAS linked for sgemm ('openblas', 'blas'), or null (own blocked kernel). */
  blas: string | null;
  napiVersion: number;
}

export interface NativeStatus {
  ok: boolean;
  error?: string;
}

export interface NativeVaR extends NativeStatus {
  var: number;
  cvar: number;
  meanLoss: number;
  /** Sum of squared deviations of the losses from their mean. */
  m2: number;
}

type MaybeAsync<T, A extends boolean> = A extends true ? Promise<T> : T;

/**
 * The addon's Engine: one per backend instance; owns the thread pool. Arguments are pre-validated.
 * An async call (`async` true) copies each typed-array argument into addon memory when called
 * and copies outputs back on the JS thread at completion (rejecting with code CWTS_ARG_DETACHED
 * when an output was detached or shrank meanwhile), except arrays whose bit is set in `borrow`
 * (bit i = the call's i-th argument): those are used in place, so the caller must guarantee
 * that nothing detaches, resizes or touches them until the call settles.
 */
export interface NativeEngine {
  patternScores<A extends boolean>(
    stored: Float32Array, storedCount: number, dim: number, queries: Float32Array, queryCount: number, topK: number,
    outIndices: Int32Array, outScores: Float32Array, allScores: Float32Array | null, async: A, borrow?: number,
  ): MaybeAsync<NativeStatus | undefined, A>;
  rollingMoments<A extends boolean>(
    series: Float32Array, length: number, window: number, mean: Float32Array, variance: Float32Array, async: A, borrow?: number,
  ): MaybeAsync<NativeStatus | undefined, A>;
  /** Float64 rolling moments; a null variance computes the mean only. */
  rollingMoments64<A extends boolean>(
    series: Float64Array, length: number, window: number, mean: Float64Array, variance: Float64Array | null, async: A, borrow?: number,
  ): MaybeAsync<NativeStatus | undefined, A>;
  sgemm<A extends boolean>(
    m: number, n: number, k: number, alpha: number, beta: number, a: Float32Array, b: Float32Array, c: Float32Array,
    async: A, useBlas?: boolean, borrow?: number,
  ): MaybeAsync<void, A>;
  monteCarloVaR<A extends boolean>(
    means: Float32Array, factor: Float32Array, assets: number, factors: number, weights: Float32Array, paths: number,
    horizon: number, varIndex: number, seedLo: number, seedHi: number, async: A, borrow?: number,
  ): MaybeAsync<NativeVaR, A>;
  copy<A extends boolean>(src: ArrayBufferView, dst: ArrayBufferView, byteLength: number, async: A, borrow?: number): MaybeAsync<void, A>;
  noop<A extends boolean>(async: A): MaybeAsync<void, A>;
  /** Read-only streaming pass (sum) over `x`, split over the pool: the read-bandwidth yardstick. */
  readProbe<A extends boolean>(x: Float32Array, async: A, borrow?: number): MaybeAsync<number, A>;
  info(): { isa: Isa; lanes: number; threads: number; blas: boolean };
  dispose(): void;
}

export interface NativeModule {
  probe(): NativeProbe;
  Engine: new (threads: number, isa: Isa | 'auto', useBlas: boolean) => NativeEngine;
}

export interface LoadAttempt {
  path: string;
  reason: string;
}

export class NativeLoadError extends Error {
  constructor(readonly attempts: readonly LoadAttempt[], hint?: string) {
    super(
      [
        `${PACKAGE_NAME}: the native addon could not be loaded.`,
        'Tried, in order:',
        ...attempts.map((a, i) => `  ${i + 1}. ${a.path}: ${a.reason}`),
        ...(hint ? [hint] : []),
        'Possible solutions:',
        `  - install cmake (>= 3.18) and a C++17 compiler (g++, clang++ or MSVC), then run \`pnpm rebuild ${PACKAGE_NAME}\``,
        `  - or install a release that ships prebuilds/${process.platform}-${process.arch}/${ADDON_FILE}`,
        '  - or point CWTS_CPU_SIMD_ADDON at a built cwts_cpu_simd.node',
        '  - or use the JavaScript backend: [compute] backends = ["js"] (the registry falls back to it by itself)',
      ].join('\n'),
    );
    this.name = 'NativeLoadError';
  }
}

/** Paths the loader tries, in order. */
export function addonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const list: string[] = [];
  if (env.CWTS_CPU_SIMD_ADDON) list.push(resolve(env.CWTS_CPU_SIMD_ADDON));
  list.push(join(PACKAGE_DIR, 'build', 'Release', ADDON_FILE));
  list.push(join(PACKAGE_DIR, 'prebuilds', `${process.platform}-${process.arch}`, ADDON_FILE));
  return list;
}

function isNativeModule(m: unknown): m is NativeModule {
  return typeof m === 'object' && m !== null && typeof (m as NativeModule).probe === 'function' && typeof (m as NativeModule).Engine === 'function';
}

/**
 * 'not found', plus the pack's own word where it left one: a package packed without the binary of
 * a platform (no cross compiler on the packing machine) ships prebuilds/<platform>/skip-reason.txt.
 */
function notFoundReason(path: string): string {
  try {
    const why = readFileSync(join(dirname(path), 'skip-reason.txt'), 'utf8').split('\n')[0]?.trim();
    if (why) return `not found: ${why}`;
  } catch {
    // No reason left: a plain absence.
  }
  return 'not found';
}

/**
 * OpenBLAS (linked by source builds where the host has it) keeps each of its worker threads
 * spinning for 2^28 cycles (~0.1 s) after every BLAS call before it sleeps: a core burnt after
 * each sgemm, which on a small trading host competes with the engine thread. 2^20 cycles (~0.3 ms)
 * keeps back-to-back calls hot and lets the thread sleep right after a burst. OpenBLAS reads the
 * variable once, when the addon loads it, so it is set just before; an operator's value is kept.
 * (Changing thread counts at run time instead was tried and crashed OpenBLAS 0.3.21.)
 */
export const OPENBLAS_THREAD_TIMEOUT = '20';

export function quietOpenBlasThreads(env: NodeJS.ProcessEnv = process.env): void {
  env.OPENBLAS_THREAD_TIMEOUT ??= OPENBLAS_THREAD_TIMEOUT;
}

/** Tries each candidate in order; returns the module or throws NativeLoadError. Not cached. */
export function loadNativeFrom(candidates: readonly string[]): { module: NativeModule; path: string } {
  const require = createRequire(import.meta.url);
  quietOpenBlasThreads();
  const attempts: LoadAttempt[] = [];
  for (const path of candidates) {
    if (!existsSync(path)) {
      attempts.push({ path, reason: notFoundReason(path) });
      continue;
    }
    try {
      const m: unknown = require(path);
      if (!isNativeModule(m)) {
        attempts.push({ path, reason: 'loaded, but it is not this package\'s addon (no probe/Engine exports)' });
        continue;
      }
      return { module: m, path };
    } catch (e) {
      attempts.push({ path, reason: (e as Error).message.split('\n')[0] ?? String(e) });
    }
  }
  const log = join(PACKAGE_DIR, 'build', 'native-build.log');
  const hint = existsSync(log)
    ? `The install-time build log is ${log}.`
    : 'The install step did not build the addon (cmake or a C++ compiler was missing, or CWTS_SKIP_NATIVE=1).';
  throw new NativeLoadError(attempts, hint);
}

let cached: { ok: true; module: NativeModule; path: string } | { ok: false; error: NativeLoadError } | undefined;

/** The addon, loaded once per process (the failure is cached too). */
export function loadNative(): { module: NativeModule; path: string } {
  if (cached === undefined) {
    try {
      cached = { ok: true, ...loadNativeFrom(addonCandidates()) };
    } catch (e) {
      cached = { ok: false, error: e as NativeLoadError };
    }
  }
  if (!cached.ok) throw cached.error;
  return cached;
}
