#!/usr/bin/env node
// Install step of @cwts/backend-cuda. Never fails the install: it builds the Node-API addon
// offline with cmake-js + ninja (node-api-headers, no download) when nvcc and cmake exist.
// Anything missing or a failed build prints one line and exits 0; the backend's probe then
// reports why it is unavailable (build/skip-reason.txt).
//   CWTS_SKIP_NATIVE=1     skip the native build
//   CWTS_CUDA_ARCHS=...    CMake CUDA architectures (default "90-real;80-real;75-virtual")
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(root, 'build');
const reasonFile = join(buildDir, 'skip-reason.txt');
const require = createRequire(import.meta.url);
const label = '@cwts/backend-cuda';

function has(cmd, args = ['--version']) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

function skip(reason) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(reasonFile, reason + '\n');
  console.log(`${label}: native build skipped: ${reason}`);
  process.exit(0);
}

if (process.env.CWTS_SKIP_NATIVE === '1') skip('CWTS_SKIP_NATIVE=1');

// nvcc on PATH, else the toolkit's default location (CUDACXX is honoured by CMake itself).
const env = { ...process.env, npm_config_loglevel: 'error' };
if (!env.CUDACXX && !has('nvcc')) {
  const candidates = [env.CUDA_PATH && join(env.CUDA_PATH, 'bin', 'nvcc'), '/usr/local/cuda/bin/nvcc'].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) skip('nvcc not found (install the CUDA toolkit, or set CUDACXX or CUDA_PATH)');
  env.CUDACXX = found;
}
if (!has('cmake')) skip('cmake not found');
let cmakeJs;
try {
  cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  require.resolve('node-addon-api');
  require.resolve('node-api-headers');
} catch {
  skip('cmake-js, node-addon-api or node-api-headers not installed');
}
const args = [cmakeJs, 'compile', '-d', root, '-O', buildDir, '-p', '2', '-l', 'error'];
if (has('ninja')) args.push('-G', 'Ninja');
const started = Date.now();
const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env });
const out = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
if (r.status !== 0) {
  // CMake wraps long messages over several indented lines; the paragraph ends at a blank line.
  const m = out.match(/CWTS_SKIP: ([\s\S]*?)(?:\n\s*\n|$)/);
  const first = m ? m[1].replace(/\s+/g, ' ').trim() : (out.split('\n').find((l) => /error/i.test(l)) ?? 'see cmake-js output').trim();
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(join(buildDir, 'build.log'), out);
  skip(m ? first : `native build failed (${first}); full log in build/build.log`);
}
rmSync(reasonFile, { force: true });
console.log(`${label}: native addon built in ${((Date.now() - started) / 1000).toFixed(1)} s (CUDA archs ${process.env.CWTS_CUDA_ARCHS || '90-real;80-real;75-virtual'})`);
