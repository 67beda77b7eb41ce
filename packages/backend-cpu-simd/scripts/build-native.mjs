#!/usr/bin/env node
// Install step of @cwts/backend-cpu-simd: builds the native addon with cmake-js, offline.
// It never fails the install: without cmake or a C++ compiler, or when the build fails, it prints
// one line saying so and exits 0; the backend's probe then reports unavailable with the reason
// and the registry falls back to the JS backend. Nothing is downloaded: package.json's
// `"binary": {"napi_versions": [8]}` makes cmake-js use the node-api-headers package.
//
// Environment:
//   CWTS_SKIP_NATIVE=1         skip the build (the same variable for every @cwts native package;
//                              CWTS_SKIP_NATIVE_BUILD=1, its old name here, still works)
//   CWTS_NATIVE_JOBS=N         parallel compile jobs (default 2)
//   CWTS_NATIVE_BLAS=0         do not look for a BLAS (use the built-in sgemm kernel)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const tag = '@cwts/backend-cpu-simd:';
const fallback = 'the registry will use the JS backend';

function done(line) {
  console.log(`${tag} ${line}`);
  process.exit(0);
}

function has(cmd, args = ['--version']) {
  const r = spawnSync(cmd, args, { stdio: 'ignore', shell: process.platform === 'win32' });
  return !r.error && r.status === 0;
}

if (process.env.CWTS_SKIP_NATIVE === '1') done(`native build skipped (CWTS_SKIP_NATIVE=1); ${fallback}`);
if (process.env.CWTS_SKIP_NATIVE_BUILD === '1') done(`native build skipped (CWTS_SKIP_NATIVE_BUILD=1, the old name of CWTS_SKIP_NATIVE); ${fallback}`);

if (!has('cmake')) done(`native build skipped: cmake not found on PATH; ${fallback}`);
const cxx = [process.env.CXX, 'c++', 'g++', 'clang++'].filter(Boolean);
if (process.platform !== 'win32' && !cxx.some((c) => has(c))) {
  done(`native build skipped: no C++ compiler found (tried ${cxx.join(', ')}); ${fallback}`);
}

let cmakeJs;
try {
  const require = createRequire(join(pkgDir, 'package.json'));
  cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
} catch {
  done(`native build skipped: cmake-js is not installed; ${fallback}`);
}

const args = [cmakeJs, 'build', '--directory', pkgDir, '--out', join(pkgDir, 'build'), '--config', 'Release', '--log-level', 'warn'];
if (has('ninja')) args.push('--generator', 'Ninja');
const jobs = process.env.CWTS_NATIVE_JOBS ?? '2';
args.push('--parallel', jobs);
if (process.env.CWTS_NATIVE_BLAS === '0') args.push('--CDCWTS_USE_BLAS=OFF');

const started = Date.now();
const r = spawnSync(process.execPath, args, {
  cwd: pkgDir,
  encoding: 'utf8',
  env: { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: jobs },
  maxBuffer: 64 * 1024 * 1024,
});
const log = `${r.stdout ?? ''}\n${r.stderr ?? ''}${r.error ? `\n${r.error.stack}` : ''}`;
mkdirSync(join(pkgDir, 'build'), { recursive: true });
const logPath = join(pkgDir, 'build', 'native-build.log');
writeFileSync(logPath, log);
const addon = join(pkgDir, 'build', 'Release', 'cwts_cpu_simd.node');
if (r.status !== 0 || !existsSync(addon)) {
  done(`native build failed (log: ${relative(process.cwd(), logPath) || logPath}); ${fallback}`);
}
let cache = '';
try {
  cache = readFileSync(join(pkgDir, 'build', 'CMakeCache.txt'), 'utf8');
} catch {}
const blas = /CWTS_BLAS_RESULT:INTERNAL=(\S+)/.exec(cache)?.[1] ?? /cwts: BLAS for sgemm: (\S+)/.exec(log)?.[1] ?? 'unknown';
done(`built ${relative(pkgDir, addon)} in ${((Date.now() - started) / 1000).toFixed(1)}s (BLAS: ${blas})`);
