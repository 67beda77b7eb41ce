#!/usr/bin/env node
// The workspace's postinstall: source builds of the native addons whose published packages ship
// prebuilt binaries and so have no install script of their own (see docs/native-packages.md).
// Each build script never fails (it prints why it skipped and the backend's probe reports it),
// so neither does this.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
for (const pkg of ['backend-cpu-simd', 'backend-vulkan']) {
  const script = join(root, 'packages', pkg, 'scripts', 'build-native.mjs');
  if (!existsSync(script)) continue;
  spawnSync(process.execPath, [script], { cwd: join(root, 'packages', pkg), stdio: 'inherit' });
}
