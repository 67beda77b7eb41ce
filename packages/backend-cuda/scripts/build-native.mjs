#!/usr/bin/env node
// Build of @cwts/backend-cuda's addon. The policy (source build only when asked, `--prebuild`
// for `prepack`, the skip variable, never failing an install) is @cwts/native-build's, shared by
// every @cwts native package; this file holds only what is particular to CUDA:
//   - nvcc is looked for on PATH, then $CUDACXX, $CUDA_PATH/bin and /usr/local/cuda/bin;
//   - cudart is linked statically and the driver's libcuda is opened at run time, so the
//     prebuilt binary loads on any glibc x64 host and its probe says "no NVIDIA driver" there;
//   - a pack without nvcc does not fail: it ships no binary and the reason (the package still
//     installs, and its probe says why); CWTS_PREBUILD_REQUIRED=1 makes it fail.
//   CWTS_CUDA_ARCHS=...    CMake CUDA architectures (default "90-real;80-real;75-virtual")
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildNative } from '@cwts/native-build';

const archs = () => process.env.CWTS_CUDA_ARCHS || '90-real;80-real;75-virtual';

buildNative({
  name: '@cwts/backend-cuda',
  pkgDir: join(dirname(fileURLToPath(import.meta.url)), '..'),
  addon: 'cwts_cuda.node',
  prebuildRequired: false,
  fallback: 'the backend reports unavailable',
  prepare: ({ has, skip, env }) => {
    if (env.CUDACXX || has('nvcc')) return {};
    const candidates = [env.CUDA_PATH && join(env.CUDA_PATH, 'bin', 'nvcc'), '/usr/local/cuda/bin/nvcc'].filter(Boolean);
    const found = candidates.find((p) => existsSync(p));
    if (!found) skip('nvcc not found (install the CUDA toolkit, or set CUDACXX or CUDA_PATH)');
    return { env: { CUDACXX: found } };
  },
  describe: () => `CUDA archs ${archs()}`,
});
