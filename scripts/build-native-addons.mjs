#!/usr/bin/env node
// The workspace's postinstall: source builds of the native addons (cpu-simd, Vulkan, CUDA, ROCm,
// and Metal, which off macOS records "Metal needs macOS" and exits 0). The published packages
// have no install script of their own (pnpm 12 refuses an unapproved one)
// (see docs/native-packages.md). This is how CI builds the CUDA and HIP sources. Each build script
// never fails (it prints why it skipped and the backend's probe reports it), so neither does
// this. CUDA before ROCm: ROCm compiles CUDA's kernel source, and an error there is CUDA's.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
for (const pkg of ['backend-cpu-simd', 'backend-vulkan', 'backend-cuda', 'backend-rocm', 'backend-metal']) {
  const script = join(root, 'packages', pkg, 'scripts', 'build-native.mjs');
  if (!existsSync(script)) continue;
  spawnSync(process.execPath, [script], { cwd: join(root, 'packages', pkg), stdio: 'inherit' });
}
