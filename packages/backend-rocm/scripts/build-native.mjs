#!/usr/bin/env node
// Build of @cwts/backend-rocm's addon: @cwts/backend-cuda's native sources compiled as HIP
// (hipcc for the kernels, the host compiler for the Node-API glue). The policy (source build
// only when asked, `--prebuild` for `prepack`, the skip variable, never failing an install) is
// @cwts/native-build's, shared by every @cwts native package; particular to ROCm:
//   - the one kernel source is @cwts/backend-cuda's native/ (see README, "Shared kernel source"),
//     so a change there makes this package's prebuilt binary stale too;
//   - the binary links the HIP runtime (libamdhip64) dynamically: on a host without ROCm it fails
//     to load and the probe says so with the loader's message;
//   - a pack without hipcc does not fail: it ships no binary and the reason (the package still
//     installs, and its probe says why); CWTS_PREBUILD_REQUIRED=1 makes it fail.
//   CWTS_HIP_ARCHS="gfx90a;..."   AMD GPU architectures (default "gfx90a;gfx1030")
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildNative } from '@cwts/native-build';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
let kernelSource;
try {
  kernelSource = join(dirname(createRequire(join(pkgDir, 'package.json')).resolve('@cwts/backend-cuda/package.json')), 'native');
} catch {}

buildNative({
  name: '@cwts/backend-rocm',
  pkgDir,
  addon: 'cwts_rocm.node',
  sources: ['CMakeLists.txt', ...(kernelSource ? [kernelSource] : [])],
  prebuildRequired: false,
  fallback: 'the backend reports unavailable',
  prepare: ({ has, skip }) => {
    const amd = { ...process.env, HIP_PLATFORM: 'amd' };
    if (!has('hipcc', ['--version'], amd) && !has('/opt/rocm/bin/hipcc', ['--version'], amd)) skip('hipcc not found (Debian: apt-get install hipcc; or install ROCm)');
    if (!kernelSource) skip('@cwts/backend-cuda (the shared kernel source) is not installed');
    return { env: { HIP_PLATFORM: 'amd' }, cmakeArgs: [`--CDCWTS_GPU_SOURCE_DIR=${kernelSource}`] };
  },
  describe: () => `HIP archs ${process.env.CWTS_HIP_ARCHS || 'gfx90a;gfx1030'}`,
});
