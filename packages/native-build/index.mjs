// The one build script of the @cwts native addons (@cwts/backend-cpu-simd, -vulkan, -cuda,
// -rocm). Each package's scripts/build-native.mjs is a page of configuration (its toolchain
// checks and CMake options) around buildNative(); the policy lives here once:
//
//   node scripts/build-native.mjs              the source build, *when asked* (a published package
//                                              has no install script: sharp's model). Never fails:
//                                              what is missing is printed, written to
//                                              build/skip-reason.txt, and the probe repeats it.
//   node scripts/build-native.mjs --prebuild   the package's `prepack`: a Release build with a
//                                              static C++ runtime in its own tree (build/prebuild/,
//                                              so packing never rewrites a binary a running process
//                                              loaded), copied to prebuilds/<platform>-<arch>/.
//                                              Skipped while that binary is newer than every source.
//
// Where the toolchain is missing at pack time the two kinds of package differ (`prebuildRequired`):
// cpu-simd and Vulkan fail the pack (their toolchain is on every release machine, and a tarball
// without the binary would silently fall back to another backend), CUDA and ROCm pack without a
// binary, say so loudly, and ship prebuilds/<platform>-<arch>/skip-reason.txt so the installed
// package's probe explains why the backend is unavailable. CWTS_PREBUILD_REQUIRED=1 makes those
// fail too (a release machine that has nvcc and hipcc must not ship without them).
//
// Environment (the same names for every package):
//   CWTS_SKIP_NATIVE=1        skip the source build (CWTS_SKIP_NATIVE_BUILD=1, cpu-simd's old name, too)
//   CWTS_NATIVE_JOBS=N        parallel compile jobs (default 2)
//   CWTS_PREBUILD_REQUIRED=1  `--prebuild` fails instead of packing without a binary
//   CWTS_NATIVE_LOCK_TIMEOUT_MS  how long to wait for another build of the same package (30 min)
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, relative } from 'node:path';

export const SKIP_VARIABLE = 'CWTS_SKIP_NATIVE';

/** True when `cmd args` runs and exits 0. */
export function has(cmd, args = ['--version'], env = process.env) {
  const r = spawnSync(cmd, args, { stdio: 'ignore', env, shell: process.platform === 'win32' });
  return !r.error && r.status === 0;
}

/** Thrown through ctx.skip(): this host cannot build the addon, for the reason given. */
class CannotBuild extends Error {}

/** Newest modification time of the files (directories: their direct entries) a binary is built from. */
function newestMtime(paths) {
  let newest = 0;
  for (const p of paths) {
    if (!existsSync(p)) continue;
    const files = statSync(p).isDirectory() ? readdirSync(p).map((f) => join(p, f)) : [p];
    for (const f of files) newest = Math.max(newest, statSync(f).mtimeMs);
  }
  return newest;
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Blocks this (synchronous) build script for `ms`. */
function sleepSync(ms) {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/** True when process `pid` is alive on this host. */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/**
 * One build of a package at a time: two `pnpm pack` of the same package (two test files, two
 * terminals) once compiled into the same tree and copied over each other, and the tarball
 * shipped a torn binary that crashed on load. The lock is a directory (mkdir is atomic) holding
 * the owner's pid; a lock whose owner died (SIGKILL, power cut) is taken over. Released at exit.
 */
function lockBuild(lockDir, name, timeoutMs) {
  const owner = join(lockDir, 'pid');
  const until = Date.now() + timeoutMs;
  let said = false;
  mkdirSync(dirname(lockDir), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(owner, String(process.pid));
      process.on('exit', () => rmSync(lockDir, { recursive: true, force: true }));
      return;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    let pid = NaN;
    try {
      pid = Number(readFileSync(owner, 'utf8'));
    } catch {
      // The owner has made the directory and not yet written its pid: wait for it.
    }
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) {
      console.error(`${name}: taking over the build lock of process ${pid}, which is gone`);
      rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > until) {
      console.error(`${name}: another build (process ${pid}) has held ${lockDir} for ${timeoutMs / 1000}s; giving up`);
      process.exit(1);
    }
    if (!said) {
      said = true;
      console.error(`${name}: waiting for another build of this package (process ${Number.isNaN(pid) ? '?' : pid}) to finish`);
    }
    sleepSync(200);
  }
}

/** The CWTS_SKIP paragraph a CMakeLists prints for a known missing piece, else the first error line. */
function failureReason(log) {
  // CMake wraps long messages over several indented lines; the paragraph ends at a blank line.
  const m = log.match(/CWTS_SKIP: ([\s\S]*?)(?:\n\s*\n|$)/);
  if (m) return m[1].replace(/\s+/g, ' ').trim();
  const first = (log.split('\n').find((l) => /error/i.test(l)) ?? 'see the build log').trim();
  return `native build failed (${first})`;
}

/**
 * Builds one package's addon; ends the process (exit 0, or 1 for a required prebuild that cannot
 * be made). Options:
 *   name              the package name, which starts every line printed
 *   pkgDir            the package root (its CMakeLists.txt)
 *   addon             the addon's file name (cwts_cuda.node)
 *   sources           what the binary is built from, relative to pkgDir or absolute
 *                     (default CMakeLists.txt and native/); decides whether a prebuild is stale
 *   prebuildRequired  see the header
 *   fallback          what the user gets without the addon ("the registry will use the JS backend")
 *   prepare(ctx)      the package's toolchain checks and steps before CMake; may call ctx.skip(reason);
 *                     returns { env, cmakeArgs, outDir, note } (all optional)
 *   describe(ctx)     extra words for the success line (BLAS found, CUDA archs...)
 *   after(ctx)        after a successful source build (remove another configuration's binary...)
 */
export function buildNative(options) {
  const { name, pkgDir, addon, prebuildRequired, fallback } = options;
  const argv = options.argv ?? process.argv;
  const env0 = options.env ?? process.env;
  const prebuild = argv.includes('--prebuild');
  const platformDir = `${process.platform}-${process.arch}`;
  const prebuiltDir = join(pkgDir, 'prebuilds', platformDir);
  const prebuilt = join(prebuiltDir, addon);
  const prebuiltReason = join(prebuiltDir, 'skip-reason.txt');
  const buildDir = join(pkgDir, 'build');
  const reasonFile = join(buildDir, 'skip-reason.txt');
  const logPath = join(buildDir, 'native-build.log');
  const started = Date.now();
  const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;

  const done = (line) => {
    console.log(`${name}: ${line}`);
    process.exit(0);
  };
  /** The build cannot happen on this host: how that ends depends on who asked (see the header). */
  const cannot = (reason) => {
    if (prebuild) {
      if (prebuildRequired || env0.CWTS_PREBUILD_REQUIRED === '1') {
        console.error(`${name}: cannot prebuild: ${reason}`);
        process.exit(1);
      }
      // Never ship a binary older than its sources; ship the reason instead.
      rmSync(prebuilt, { force: true });
      mkdirSync(prebuiltDir, { recursive: true });
      writeFileSync(prebuiltReason, `this package was packed without a prebuilt ${platformDir} binary (${reason})\n`);
      const bar = '='.repeat(78);
      console.error(
        [bar, `${name}: NO PREBUILT BINARY for ${platformDir} in this pack: ${reason}.`,
          `The package installs and loads; its probe reports the backend unavailable with this reason.`,
          `Pack on a machine with the toolchain (or set CWTS_PREBUILD_REQUIRED=1 to fail here).`, bar].join('\n'),
      );
      process.exit(0);
    }
    mkdirSync(buildDir, { recursive: true });
    writeFileSync(reasonFile, reason + '\n');
    done(`native build skipped: ${reason}; ${fallback}`);
  };

  lockBuild(join(buildDir, '.lock'), name, Number(env0.CWTS_NATIVE_LOCK_TIMEOUT_MS ?? 30 * 60_000));
  const sources = (options.sources ?? ['CMakeLists.txt', 'native']).map((s) => (isAbsolute(s) ? s : join(pkgDir, s)));
  if (prebuild && existsSync(prebuilt) && statSync(prebuilt).mtimeMs >= newestMtime(sources)) {
    rmSync(prebuiltReason, { force: true });
    done(`prebuilt binary is up to date (prebuilds/${platformDir}/${addon})`);
  }
  if (!prebuild && env0[SKIP_VARIABLE] === '1') cannot(`${SKIP_VARIABLE}=1`);
  if (!prebuild && env0.CWTS_SKIP_NATIVE_BUILD === '1') cannot(`CWTS_SKIP_NATIVE_BUILD=1, the old name of ${SKIP_VARIABLE}`);

  const ctx = {
    prebuild,
    pkgDir,
    env: { ...env0, npm_config_loglevel: 'error' },
    has,
    skip(reason) {
      throw new CannotBuild(reason);
    },
    require: createRequire(join(pkgDir, 'package.json')),
  };
  let prepared = {};
  let cmakeJs;
  try {
    prepared = options.prepare?.(ctx) ?? {};
    if (!has('cmake')) ctx.skip('cmake not found on PATH');
    const cxx = [env0.CXX, 'c++', 'g++', 'clang++'].filter(Boolean);
    if (process.platform !== 'win32' && !cxx.some((c) => has(c))) ctx.skip(`no C++ compiler found (tried ${cxx.join(', ')})`);
    try {
      cmakeJs = join(dirname(ctx.require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
      ctx.require.resolve('node-addon-api');
      ctx.require.resolve('node-api-headers');
    } catch {
      ctx.skip('cmake-js, node-addon-api or node-api-headers is not installed');
    }
  } catch (e) {
    if (e instanceof CannotBuild) cannot(e.message);
    throw e;
  }

  // Offline: package.json's "binary": {"napi_versions": [8]} makes cmake-js use node-api-headers.
  const outDir = prebuild ? join(buildDir, 'prebuild') : (prepared.outDir ?? buildDir);
  const jobs = env0.CWTS_NATIVE_JOBS ?? '2';
  const args = [cmakeJs, 'build', '--directory', pkgDir, '--out', outDir, '--parallel', jobs, '--log-level', 'error', ...(prepared.cmakeArgs ?? [])];
  // Prebuilt binaries carry their C++ runtime (they load on hosts with an older libstdc++).
  if (prebuild) args.push('--CDCWTS_STATIC_CXX_RUNTIME=ON');
  if (has('ninja')) args.push('--generator', 'Ninja');
  const env = { ...ctx.env, ...prepared.env, CMAKE_BUILD_PARALLEL_LEVEL: jobs };
  const r = spawnSync(process.execPath, args, { cwd: pkgDir, encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  const log = `${r.stdout ?? ''}\n${r.stderr ?? ''}${r.error ? `\n${r.error.stack}` : ''}`;
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(logPath, log);
  const config = args.includes('--debug') ? 'Debug' : 'Release';
  const built = join(outDir, config, addon);
  if (r.status !== 0 || !existsSync(built)) {
    const reason = failureReason(log);
    cannot(/CWTS_SKIP: /.test(log) ? reason : `${reason}; log: ${relative(process.cwd(), logPath) || logPath}`);
  }
  const details = [prepared.note, options.describe?.(ctx)].filter(Boolean).join(', ');
  if (prebuild) {
    mkdirSync(prebuiltDir, { recursive: true });
    // Copied under another name and renamed: a reader (a pack, a loading process) sees the old
    // binary or the new one, never half of one.
    const part = `${prebuilt}.${process.pid}.part`;
    copyFileSync(built, part);
    renameSync(part, prebuilt);
    rmSync(prebuiltReason, { force: true });
    done(`prebuilt prebuilds/${platformDir}/${addon} in ${seconds()}${details ? ` (${details})` : ''}`);
  }
  rmSync(reasonFile, { force: true });
  options.after?.(ctx);
  done(`built ${relative(pkgDir, built)} in ${seconds()}${details ? ` (${details})` : ''}`);
}
