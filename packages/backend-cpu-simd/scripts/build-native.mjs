#!/usr/bin/env node
// Build of @cwts/backend-cpu-simd's addon. The policy (source build only when asked, `--prebuild`
// for `prepack`, the skip variable, never failing an install) is @cwts/native-build's, shared by
// every @cwts native package; this file holds only what is particular to this one:
//   - a source build links a BLAS for sgemm when one is found (CWTS_NATIVE_BLAS=0: never);
//     a prebuild never does, so the shipped binary needs nothing but glibc;
//   - a prebuild that cannot be made fails the pack (a tarball without the binary would fall
//     back to the JS backend without a word);
//   - a prebuild on linux-x64 also cross-compiles the linux-arm64 binary (its kernels need only a
//     C++ compiler and glibc); without the cross compiler that one binary is left out, loudly.
//     CWTS_PREBUILD_TARGETS=linux-x64 packs the host's alone; naming linux-arm64 requires it.
//   node node_modules/@cwts/backend-cpu-simd/scripts/build-native.mjs   source build, preferred by the loader
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildNative } from '@cwts/native-build';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');

buildNative({
  name: '@cwts/backend-cpu-simd',
  pkgDir,
  addon: 'cwts_cpu_simd.node',
  prebuildRequired: true,
  crossTargets: ['linux-arm64'],
  fallback: 'the registry will use the JS backend',
  prepare: ({ prebuild, env }) => ({
    cmakeArgs: prebuild || env.CWTS_NATIVE_BLAS === '0' ? ['--CDCWTS_USE_BLAS=OFF'] : [],
  }),
  describe: ({ prebuild }) => {
    if (prebuild) return 'no BLAS';
    let cache = '';
    try {
      cache = readFileSync(join(pkgDir, 'build', 'CMakeCache.txt'), 'utf8');
    } catch {}
    return `BLAS: ${/CWTS_BLAS_RESULT:INTERNAL=(\S+)/.exec(cache)?.[1] ?? 'unknown'}`;
  },
});
