#!/usr/bin/env node
// Install step of @cwts/backend-rocm. Never fails the install: it compiles @cwts/backend-cuda's
// native sources as HIP (hipcc for the kernels, the host compiler for the Node-API glue) with
// cmake-js + ninja, offline. Anything missing or a failed build prints one line and exits 0; the
// backend's probe then reports why it is unavailable (build/skip-reason.txt).
//   CWTS_SKIP_NATIVE=1            skip the native build
//   CWTS_HIP_ARCHS="gfx90a;..."   AMD GPU architectures (default "gfx90a;gfx1030")
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(root, 'build');
const reasonFile = join(buildDir, 'skip-reason.txt');
const require = createRequire(import.meta.url);
const label = '@cwts/backend-rocm';

function has(cmd, args = ['--version']) {
  const r = spawnSync(cmd, args, { stdio: 'ignore', env: { ...process.env, HIP_PLATFORM: 'amd' } });
  return !r.error && r.status === 0;
}

function skip(reason) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(reasonFile, reason + '\n');
  console.log(`${label}: native build skipped: ${reason}`);
  process.exit(0);
}

if (process.env.CWTS_SKIP_NATIVE === '1') skip('CWTS_SKIP_NATIVE=1');
if (!has('hipcc') && !has('/opt/rocm/bin/hipcc')) skip('hipcc not found (Debian: apt-get install hipcc; or install ROCm)');
if (!has('cmake')) skip('cmake not found');
let cmakeJs;
let sources;
try {
  cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  require.resolve('node-addon-api');
  require.resolve('node-api-headers');
} catch {
  skip('cmake-js, node-addon-api or node-api-headers not installed');
}
try {
  // The one kernel source lives in @cwts/backend-cuda (see README: "Shared kernel source").
  sources = join(dirname(require.resolve('@cwts/backend-cuda/package.json')), 'native');
} catch {
  skip('@cwts/backend-cuda (the shared kernel source) is not installed');
}
const args = [cmakeJs, 'compile', '-d', root, '-O', buildDir, '-p', '2', '-l', 'error', `--CDCWTS_GPU_SOURCE_DIR=${sources}`];
if (has('ninja')) args.push('-G', 'Ninja');
const started = Date.now();
const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, HIP_PLATFORM: 'amd', npm_config_loglevel: 'error' } });
const out = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
if (r.status !== 0) {
  const m = out.match(/CWTS_SKIP: ([\s\S]*?)(?:\n\s*\n|$)/);
  const first = m ? m[1].replace(/\s+/g, ' ').trim() : (out.split('\n').find((l) => /error/i.test(l)) ?? 'see cmake-js output').trim();
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(join(buildDir, 'build.log'), out);
  skip(m ? first : `native build failed (${first}); full log in build/build.log`);
}
rmSync(reasonFile, { force: true });
console.log(`${label}: native addon built in ${((Date.now() - started) / 1000).toFixed(1)} s (HIP archs ${process.env.CWTS_HIP_ARCHS || 'gfx90a;gfx1030'})`);
