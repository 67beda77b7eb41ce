#!/usr/bin/env node
// Source build of @cwts/backend-cpu-simd's native addon with cmake-js, offline. A published
// package ships a prebuilt binary and has no install script (sharp's model: nothing compiles at
// install, and pnpm 10+ refuses unapproved dependency scripts anyway); this script is the source
// build *when asked* (`node node_modules/@cwts/backend-cpu-simd/scripts/build-native.mjs`, which the
// loader then prefers), and the workspace's postinstall runs it for development. It never fails: without cmake or a C++ compiler, or when the build fails, it prints
// one line saying so and exits 0; the backend's probe then reports unavailable with the reason
// and the registry falls back to the JS backend. Nothing is downloaded: package.json's
// `"binary": {"napi_versions": [8]}` makes cmake-js use the node-api-headers package.
//
//   node scripts/build-native.mjs --prebuild   build for shipping: no BLAS (a prebuilt binary
//                                              must not need libopenblas on the user's host), in
//                                              build/prebuild/, copied to prebuilds/; skipped
//                                              when the prebuilt binary is newer than every source
//
// Environment:
//   CWTS_SKIP_NATIVE=1         skip the build (the same variable for every @cwts native package;
//                              CWTS_SKIP_NATIVE_BUILD=1, its old name here, still works)
//   CWTS_NATIVE_JOBS=N         parallel compile jobs (default 2)
//   CWTS_NATIVE_BLAS=0         do not look for a BLAS (use the built-in sgemm kernel)
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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
/** A build that cannot happen: fine at install (the JS backend takes over), an error when packing. */
function cannot(line) {
  if (process.argv.includes('--prebuild')) {
    console.error(`${tag} cannot prebuild: ${line}`);
    process.exit(1);
  }
  done(`${line}; ${fallback}`);
}

function has(cmd, args = ['--version']) {
  const r = spawnSync(cmd, args, { stdio: 'ignore', shell: process.platform === 'win32' });
  return !r.error && r.status === 0;
}

const prebuild = process.argv.includes('--prebuild');
const platformDir = `${process.platform}-${process.arch}`;
const prebuilt = join(pkgDir, 'prebuilds', platformDir, 'cwts_cpu_simd.node');

/** Newest modification time of the sources a build depends on. */
function newestSource() {
  const files = [join(pkgDir, 'CMakeLists.txt'), ...readdirSync(join(pkgDir, 'native')).map((f) => join(pkgDir, 'native', f))];
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

if (prebuild && existsSync(prebuilt) && statSync(prebuilt).mtimeMs >= newestSource()) {
  done(`prebuilt binary is up to date (prebuilds/${platformDir}/cwts_cpu_simd.node)`);
}
if (!prebuild && process.env.CWTS_SKIP_NATIVE === '1') done(`native build skipped (CWTS_SKIP_NATIVE=1); ${fallback}`);
if (!prebuild && process.env.CWTS_SKIP_NATIVE_BUILD === '1') done(`native build skipped (CWTS_SKIP_NATIVE_BUILD=1, the old name of CWTS_SKIP_NATIVE); ${fallback}`);

if (!has('cmake')) cannot('native build skipped: cmake not found on PATH');
const cxx = [process.env.CXX, 'c++', 'g++', 'clang++'].filter(Boolean);
if (process.platform !== 'win32' && !cxx.some((c) => has(c))) {
  cannot(`native build skipped: no C++ compiler found (tried ${cxx.join(', ')})`);
}

let cmakeJs;
try {
  const require = createRequire(join(pkgDir, 'package.json'));
  cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
} catch {
  cannot('native build skipped: cmake-js is not installed');
}

// A prebuild has its own tree so that packing never rewrites the binary a running test loaded.
const outDir = prebuild ? join(pkgDir, 'build', 'prebuild') : join(pkgDir, 'build');
const args = [cmakeJs, 'build', '--directory', pkgDir, '--out', outDir, '--config', 'Release', '--log-level', 'warn'];
if (has('ninja')) args.push('--generator', 'Ninja');
const jobs = process.env.CWTS_NATIVE_JOBS ?? '2';
args.push('--parallel', jobs);
if (prebuild || process.env.CWTS_NATIVE_BLAS === '0') args.push('--CDCWTS_USE_BLAS=OFF');
if (prebuild) args.push('--CDCWTS_STATIC_CXX_RUNTIME=ON');

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
const addon = join(outDir, 'Release', 'cwts_cpu_simd.node');
if (prebuild && (r.status !== 0 || !existsSync(addon))) {
  // Packing without the binary would publish a package that silently falls back to JS.
  console.error(`${tag} prebuild failed; log: ${logPath}\n${log.split('\n').slice(-20).join('\n')}`);
  process.exit(1);
}
if (prebuild) {
  mkdirSync(dirname(prebuilt), { recursive: true });
  copyFileSync(addon, prebuilt);
  done(`prebuilt prebuilds/${platformDir}/cwts_cpu_simd.node in ${((Date.now() - started) / 1000).toFixed(1)}s (no BLAS)`);
}
if (r.status !== 0 || !existsSync(addon)) {
  done(`native build failed (log: ${relative(process.cwd(), logPath) || logPath}); ${fallback}`);
}
let cache = '';
try {
  cache = readFileSync(join(pkgDir, 'build', 'CMakeCache.txt'), 'utf8');
} catch {}
const blas = /CWTS_BLAS_RESULT:INTERNAL=(\S+)/.exec(cache)?.[1] ?? /cwts: BLAS for sgemm: (\S+)/.exec(log)?.[1] ?? 'unknown';
done(`built ${relative(pkgDir, addon)} in ${((Date.now() - started) / 1000).toFixed(1)}s (BLAS: ${blas})`);
