// The one build script of the @cwts native addons (@cwts/backend-cpu-simd, -vulkan, -cuda,
// -rocm). Each package's scripts/build-native.mjs is a page of configuration (its toolchain
// checks and CMake options) around buildNative(); the policy lives here once:
//
//   node scripts/build-native.mjs              the source build, *when asked* (a published package
//                                              has no install script: sharp's model). Never fails:
//                                              what is missing is printed, written to
//                                              build/skip-reason.txt, and the probe repeats it.
//   node scripts/build-native.mjs --prebuild   the package's `prepack`: a Release build with a
//                                              static libstdc++ in its own tree (build/prebuild/,
//                                              so packing never rewrites a binary a running process
//                                              loaded), copied to prebuilds/<platform>-<arch>/.
//                                              On Linux it needs no glibc newer than GLIBC_FLOOR
//                                              (glibc-floor/), or it is not shipped.
//                                              Skipped while that binary is newer than every source.
//   node scripts/build-native.mjs --prebuild --target linux-arm64
//                                              the same for another target, cross-compiled with a
//                                              CMake toolchain file (toolchains/<target>.cmake), into
//                                              build/prebuild-<target>/ and prebuilds/<target>/. A
//                                              package lists the targets it can be cross-built for
//                                              (`crossTargets`); a plain --prebuild makes the host's
//                                              and those, and a cross target whose compiler is
//                                              missing is reported (NO PREBUILT BINARY), not fatal.
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
//   CWTS_PREBUILD_REQUIRED=1  `--prebuild` fails instead of packing without a binary (any target)
//   CWTS_PREBUILD_TARGETS=linux-x64,linux-arm64  the targets `--prebuild` makes (named: required)
//   CWTS_CXX_LINUX_ARM64=...  the linux-arm64 cross compiler (default aarch64-linux-gnu-g++)
//   CWTS_NATIVE_LOCK_TIMEOUT_MS  how long to wait for another build of the same package (30 min)
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { glibcNeedsAbove } from './glibc-floor/elf-versions.mjs';

export { glibcNeedsAbove, neededVersions, newestGlibcNeeded } from './glibc-floor/elf-versions.mjs';

export const SKIP_VARIABLE = 'CWTS_SKIP_NATIVE';

/**
 * The oldest glibc a prebuilt Linux binary loads on (RHEL 8, Debian 10; Node 20's own floor).
 * glibc-floor/glibc-floor.cmake makes the binaries need nothing newer although the release
 * machine's glibc is; docs/native-packages.md states it, and a test reads every packed
 * binary's symbol versions against it.
 */
export const GLIBC_FLOOR = '2.28';

/** True when `cmd args` runs and exits 0. */
export function has(cmd, args = ['--version'], env = process.env) {
  const r = spawnSync(cmd, args, { stdio: 'ignore', env, shell: process.platform === 'win32' });
  return !r.error && r.status === 0;
}

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
 * The targets a prebuild can be cross-compiled for, and from which hosts. A package opts in with
 * `crossTargets` (cpu-simd: its kernels need nothing but a C++ compiler and glibc; Vulkan, CUDA
 * and ROCm would need the target's SDK too, so they build for the host only).
 *   toolchainFile  the CMake toolchain file, in this package
 *   cxx            the cross compiler's default name; `cxxVariable` in the environment overrides it
 *   install        what installs the default one (Debian 12)
 */
export const CROSS_TARGETS = Object.freeze({
  'linux-arm64': Object.freeze({
    hosts: ['linux-x64'],
    toolchainFile: 'toolchains/linux-arm64.cmake',
    cxx: 'aarch64-linux-gnu-g++',
    cxxVariable: 'CWTS_CXX_LINUX_ARM64',
    install: 'apt-get install g++-aarch64-linux-gnu',
  }),
});

const toolchainPath = (cross) => join(dirname(fileURLToPath(import.meta.url)), cross.toolchainFile);
const glibcFloorCmake = join(dirname(fileURLToPath(import.meta.url)), 'glibc-floor', 'glibc-floor.cmake').replaceAll('\\', '/');
/** The headers every addon includes (cwts/js_result_target.h): a prebuild older than them is stale. */
const sharedHeaders = join(dirname(fileURLToPath(import.meta.url)), 'include', 'cwts');

/**
 * Which targets a `--prebuild` makes, in order. `--target a,b` (repeatable) or
 * CWTS_PREBUILD_TARGETS=a,b pick them; by default the host and every one of the package's
 * `crossTargets` this host can cross-compile for. A cross target is required (its missing
 * toolchain fails the pack) when it was named or CWTS_PREBUILD_REQUIRED=1; a default one that
 * cannot be made is reported and the pack goes on. The host target keeps the package's rule.
 * A name the package cannot build here: an error when named with --target (asked of this
 * package), a note when it came from CWTS_PREBUILD_TARGETS (which every package reads).
 * Returns { targets: [{ id, cross, required }], notes: [string], errors: [string] }.
 */
export function prebuildTargets({ argv, env, host, crossTargets = [], prebuildRequired = false }) {
  const fromArgv = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--target' && i + 1 < argv.length) fromArgv.push(argv[++i]);
    else if (argv[i].startsWith('--target=')) fromArgv.push(argv[i].slice('--target='.length));
  }
  const split = (list) => list.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const named = fromArgv.length > 0 ? split(fromArgv) : env.CWTS_PREBUILD_TARGETS ? split([env.CWTS_PREBUILD_TARGETS]) : null;
  const strict = fromArgv.length > 0;
  const requiredAll = env.CWTS_PREBUILD_REQUIRED === '1';
  const targets = [];
  const notes = [];
  const errors = [];
  const crossable = (id) => crossTargets.includes(id) && CROSS_TARGETS[id]?.hosts.includes(host);
  for (const id of named ?? [host, ...crossTargets]) {
    if (targets.some((t) => t.id === id)) continue;
    if (id === host) {
      targets.push({ id, cross: null, required: prebuildRequired || requiredAll });
    } else if (crossable(id)) {
      targets.push({ id, cross: CROSS_TARGETS[id], required: named !== null || requiredAll });
    } else {
      const why = !crossTargets.includes(id)
        ? `${id} is not a target of this package (it builds for the host, ${host}${crossTargets.length ? `, and ${crossTargets.join(', ')}` : ''})`
        : `${id} cannot be cross-compiled from ${host} (only from ${CROSS_TARGETS[id]?.hosts.join(', ') ?? 'nowhere'})`;
      (strict ? errors : notes).push(why);
    }
  }
  return { targets, notes, errors };
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
 *   crossTargets      targets (keys of CROSS_TARGETS) a prebuild also makes, cross-compiled
 *   fallback          what the user gets without the addon ("the registry will use the JS backend")
 *   prepare(ctx)      the package's toolchain checks and steps before CMake; may call ctx.skip(reason);
 *                     returns { env, cmakeArgs, outDir, note } (all optional). ctx.target is the
 *                     target's id (linux-arm64) and ctx.cross its CROSS_TARGETS entry or null.
 *   describe(ctx)     extra words for the success line (BLAS found, CUDA archs...)
 *   after(ctx)        after a successful source build (remove another configuration's binary...)
 */
export function buildNative(options) {
  const { name, pkgDir, addon, fallback } = options;
  const argv = options.argv ?? process.argv;
  const env0 = options.env ?? process.env;
  const prebuild = argv.includes('--prebuild');
  const host = `${process.platform}-${process.arch}`;
  const buildDir = join(pkgDir, 'build');
  const sources = (options.sources ?? ['CMakeLists.txt', 'native']).map((s) => (isAbsolute(s) ? s : join(pkgDir, s)));

  lockBuild(join(buildDir, '.lock'), name, Number(env0.CWTS_NATIVE_LOCK_TIMEOUT_MS ?? 30 * 60_000));

  if (!prebuild) {
    const result = sourceBuild(options, env0, host, buildDir);
    console.log(`${name}: ${result}`);
    process.exit(0);
  }
  const { targets, notes, errors } = prebuildTargets({ argv, env: env0, host, crossTargets: options.crossTargets, prebuildRequired: options.prebuildRequired });
  for (const n of notes) console.log(`${name}: not prebuilt: ${n}`);
  for (const e of errors) console.error(`${name}: cannot prebuild: ${e}`);
  let failed = errors.length > 0;
  for (const target of targets) {
    if (!prebuildTarget(options, env0, target, buildDir, sources)) failed = true;
  }
  process.exit(failed ? 1 : 0);
}

/** Thrown through ctx.skip(): this host cannot build the addon, for the reason given. */
class CannotBuild extends Error {}

/**
 * The package's checks and the CMake build, for the host or (`cross`) another target. Returns
 * { ok: true, built, details } or { ok: false, reason }. Writes build/native-build.log.
 */
function compile(options, env0, { target, cross, prebuild, outDir }) {
  const { pkgDir } = options;
  const buildDir = join(pkgDir, 'build');
  const logPath = join(buildDir, 'native-build.log');
  const ctx = {
    prebuild,
    target,
    cross,
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
  const crossArgs = [];
  try {
    prepared = options.prepare?.(ctx) ?? {};
    if (!has('cmake')) ctx.skip('cmake not found on PATH');
    if (cross) {
      const cxx = env0[cross.cxxVariable] || cross.cxx;
      if (!has(cxx)) ctx.skip(`the ${target} cross compiler ${cxx} is not installed (${cross.install}, or set ${cross.cxxVariable})`);
      crossArgs.push(`--CDCMAKE_TOOLCHAIN_FILE=${toolchainPath(cross)}`, `--CDCMAKE_CXX_COMPILER=${cxx}`);
    } else {
      const cxx = [env0.CXX, 'c++', 'g++', 'clang++'].filter(Boolean);
      if (process.platform !== 'win32' && !cxx.some((c) => has(c))) ctx.skip(`no C++ compiler found (tried ${cxx.join(', ')})`);
    }
    try {
      cmakeJs = join(dirname(ctx.require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
      ctx.require.resolve('node-addon-api');
      ctx.require.resolve('node-api-headers');
    } catch {
      ctx.skip('cmake-js, node-addon-api or node-api-headers is not installed');
    }
  } catch (e) {
    if (e instanceof CannotBuild) return { ok: false, reason: e.message };
    throw e;
  }

  // Offline: package.json's "binary": {"napi_versions": [8]} makes cmake-js use node-api-headers.
  outDir ??= prepared.outDir ?? buildDir;
  const jobs = env0.CWTS_NATIVE_JOBS ?? '2';
  const args = [cmakeJs, 'build', '--directory', pkgDir, '--out', outDir, '--parallel', jobs, '--log-level', 'error', ...(prepared.cmakeArgs ?? []), ...crossArgs];
  // Prebuilt binaries carry their C++ runtime (they load on hosts with an older libstdc++).
  if (prebuild) args.push('--CDCWTS_STATIC_CXX_RUNTIME=ON');
  // ...and need no glibc newer than GLIBC_FLOOR (Linux targets).
  if (prebuild && target.startsWith('linux-')) args.push(`--CDCWTS_GLIBC_FLOOR_CMAKE=${glibcFloorCmake}`);
  if (has('ninja')) args.push('--generator', 'Ninja');
  const env = { ...ctx.env, ...prepared.env, CMAKE_BUILD_PARALLEL_LEVEL: jobs };
  const r = spawnSync(process.execPath, args, { cwd: pkgDir, encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  const log = `${r.stdout ?? ''}\n${r.stderr ?? ''}${r.error ? `\n${r.error.stack}` : ''}`;
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(logPath, log);
  const config = args.includes('--debug') ? 'Debug' : 'Release';
  const built = join(outDir, config, options.addon);
  if (r.status !== 0 || !existsSync(built)) {
    const reason = failureReason(log);
    return { ok: false, reason: /CWTS_SKIP: /.test(log) ? reason : `${reason}; log: ${relative(process.cwd(), logPath) || logPath}` };
  }
  const crossNote = cross ? `cross-compiled with ${env0[cross.cxxVariable] || cross.cxx}` : undefined;
  const details = [prepared.note, options.describe?.(ctx), crossNote].filter(Boolean).join(', ');
  return { ok: true, built, details, after: () => options.after?.(ctx) };
}

/** The source build, for this host, when asked: never fails; returns the line to print. */
function sourceBuild(options, env0, host, buildDir) {
  const reasonFile = join(buildDir, 'skip-reason.txt');
  const started = Date.now();
  const skipped = (reason) => {
    mkdirSync(buildDir, { recursive: true });
    writeFileSync(reasonFile, reason + '\n');
    return `native build skipped: ${reason}; ${options.fallback}`;
  };
  if (env0[SKIP_VARIABLE] === '1') return skipped(`${SKIP_VARIABLE}=1`);
  if (env0.CWTS_SKIP_NATIVE_BUILD === '1') return skipped(`CWTS_SKIP_NATIVE_BUILD=1, the old name of ${SKIP_VARIABLE}`);
  const r = compile(options, env0, { target: host, cross: null, prebuild: false });
  if (!r.ok) return skipped(r.reason);
  rmSync(reasonFile, { force: true });
  r.after();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  return `built ${relative(options.pkgDir, r.built)} in ${seconds}s${r.details ? ` (${r.details})` : ''}`;
}

/**
 * A prebuilt Linux binary that needs a glibc newer than GLIBC_FLOOR would fail to load on the
 * hosts the docs promise (and the registry would silently fall back): it is not shipped.
 */
function checkGlibcFloor(result) {
  const above = glibcNeedsAbove(result.built, GLIBC_FLOOR);
  if (above.length === 0) return result;
  const what = above.map((v) => `${v.version} (${v.symbols.join(', ') || v.file})`).join('; ');
  return { ok: false, reason: `the binary needs a glibc newer than the floor ${GLIBC_FLOOR}: ${what}; bind these to older versions in native-build/glibc-floor/` };
}

/**
 * One target of a `--prebuild`: a Release build in its own tree (build/prebuild/ for the host,
 * build/prebuild-<target>/ for a cross target) copied to prebuilds/<target>/. Returns false when
 * a required target could not be made.
 */
function prebuildTarget(options, env0, { id, cross, required }, buildDir, sources) {
  const { name, addon } = options;
  const prebuiltDir = join(options.pkgDir, 'prebuilds', id);
  const prebuilt = join(prebuiltDir, addon);
  const prebuiltReason = join(prebuiltDir, 'skip-reason.txt');
  const started = Date.now();
  const inputs = [...sources, sharedHeaders, ...(cross ? [toolchainPath(cross)] : []), ...(id.startsWith('linux-') ? [dirname(glibcFloorCmake)] : [])];
  if (existsSync(prebuilt) && statSync(prebuilt).mtimeMs >= newestMtime(inputs)) {
    rmSync(prebuiltReason, { force: true });
    console.log(`${name}: prebuilt binary is up to date (prebuilds/${id}/${addon})`);
    return true;
  }
  const outDir = join(buildDir, cross ? `prebuild-${id}` : 'prebuild');
  // A release binary comes from a clean tree: a cache configured by an older CMakeLists or
  // toolchain (e.g. before the glibc floor) once produced a binary that ignored the new flags.
  rmSync(outDir, { recursive: true, force: true });
  const built = compile(options, env0, { target: id, cross, prebuild: true, outDir });
  const r = built.ok && id.startsWith('linux-') ? checkGlibcFloor(built) : built;
  if (!r.ok) {
    if (required) {
      console.error(`${name}: cannot prebuild${cross ? ` ${id}` : ''}: ${r.reason}`);
      return false;
    }
    // Never ship a binary older than its sources; ship the reason instead.
    rmSync(prebuilt, { force: true });
    mkdirSync(prebuiltDir, { recursive: true });
    writeFileSync(prebuiltReason, `this package was packed without a prebuilt ${id} binary (${r.reason})\n`);
    const bar = '='.repeat(78);
    console.error(
      [bar, `${name}: NO PREBUILT BINARY for ${id} in this pack: ${r.reason}.`,
        `The package installs and loads; on ${id} its probe reports the backend unavailable with this reason.`,
        `Pack on a machine with the toolchain (or set CWTS_PREBUILD_REQUIRED=1 to fail here).`, bar].join('\n'),
    );
    return true;
  }
  mkdirSync(prebuiltDir, { recursive: true });
  // Copied under another name and renamed: a reader (a pack, a loading process) sees the old
  // binary or the new one, never half of one.
  const part = `${prebuilt}.${process.pid}.part`;
  copyFileSync(r.built, part);
  renameSync(part, prebuilt);
  rmSync(prebuiltReason, { force: true });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`${name}: prebuilt prebuilds/${id}/${addon} in ${seconds}s${r.details ? ` (${r.details})` : ''}`);
  return true;
}
