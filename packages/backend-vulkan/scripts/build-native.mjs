#!/usr/bin/env node
// Source build of @cwts/backend-vulkan. Never fails (except `--prebuild`): it compiles the GLSL compute
// shaders to SPIR-V when glslc is present (else the checked-in shaders/*.spv are used), then
// builds the Node-API addon offline with cmake-js + ninja (node-api-headers, no download).
// Anything missing (cmake, a compiler, the Vulkan headers) or a failed build prints one line
// and exits 0; the backend's probe then reports why it is unavailable (build/skip-reason.txt).
//   CWTS_VULKAN_DEBUG=1   Debug build: validation layer on by default (see README)
//   CWTS_SKIP_NATIVE=1    skip the native build
//
// A published package ships prebuilds/<platform>-<arch>/cwts_vulkan.node (made by `--prebuild`,
// which the package's `prepack` runs, in its own tree build/prebuild/ so packing never rewrites
// a binary a running process loaded) and has no install script (sharp's model; pnpm 10+ refuses
// unapproved dependency scripts anyway): this script is the source build when asked, which the
// loader then prefers, and the workspace's postinstall runs it for development.
// `--prebuild` fails (exit 1) where the install would only skip: a tarball without its binary
// would silently fall back to another backend.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(root, 'build');
const reasonFile = join(buildDir, 'skip-reason.txt');
const require = createRequire(import.meta.url);

function has(cmd, args = ['--version']) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

const prebuild = process.argv.includes('--prebuild');
const platformDir = `${process.platform}-${process.arch}`;
const prebuilt = join(root, 'prebuilds', platformDir, 'cwts_vulkan.node');

function skip(reason) {
  if (prebuild) {
    console.error(`@cwts/backend-vulkan: cannot prebuild: ${reason}`);
    process.exit(1);
  }
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(reasonFile, reason + '\n');
  console.log(`@cwts/backend-vulkan: native build skipped: ${reason}`);
  process.exit(0);
}

/** Newest modification time of what the binary is built from (the SPIR-V is loaded at run time). */
function newestSource() {
  const files = [join(root, 'CMakeLists.txt'), ...readdirSync(join(root, 'native')).map((f) => join(root, 'native', f))];
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}
if (prebuild && existsSync(prebuilt) && statSync(prebuilt).mtimeMs >= newestSource()) {
  console.log(`@cwts/backend-vulkan: prebuilt binary is up to date (prebuilds/${platformDir}/cwts_vulkan.node)`);
  process.exit(0);
}
if (!prebuild && process.env.CWTS_SKIP_NATIVE === '1') skip('CWTS_SKIP_NATIVE=1');

// 1. Shaders: GLSL -> SPIR-V when glslc exists and a source is newer than its .spv.
const shaderDir = join(root, 'shaders');
const variants = [];
for (const f of readdirSync(shaderDir).filter((n) => n.endsWith('.comp'))) {
  const base = f.slice(0, -5);
  variants.push({ src: f, out: `${base}.spv`, defs: [] });
  if (base === 'normalize') variants.push({ src: f, out: `${base}_sg.spv`, defs: ['-DUSE_SUBGROUP=1'] });
}
let shaderNote = 'checked-in SPIR-V';
if (has('glslc')) {
  shaderNote = 'SPIR-V compiled with glslc';
  for (const v of variants) {
    const src = join(shaderDir, v.src);
    const out = join(shaderDir, v.out);
    if (existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) continue;
    const r = spawnSync('glslc', ['--target-env=vulkan1.1', '-O', ...v.defs, src, '-o', out], { encoding: 'utf8' });
    if (r.status !== 0) skip(`glslc failed on ${v.src}: ${(r.stderr || '').trim().split('\n')[0]}`);
  }
} else if (!variants.every((v) => existsSync(join(shaderDir, v.out)))) {
  skip('glslc not found and the checked-in SPIR-V is missing');
} else if (variants.some((v) => statSync(join(shaderDir, v.src)).mtimeMs > statSync(join(shaderDir, v.out)).mtimeMs + 1000)) {
  shaderNote = 'checked-in SPIR-V, older than its GLSL: install glslc to recompile';
}

// 2. Addon.
if (!has('cmake')) skip('cmake not found');
let cmakeJs;
try {
  cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  require.resolve('node-addon-api');
  require.resolve('node-api-headers');
} catch {
  skip('cmake-js, node-addon-api or node-api-headers not installed');
}
const debug = !prebuild && process.env.CWTS_VULKAN_DEBUG === '1';
// Release builds to build/Release/, Debug (its own CMake tree) to build/debug/Debug/, a prebuild
// to build/prebuild/Release/.
const outDir = prebuild ? join(buildDir, 'prebuild') : debug ? join(buildDir, 'debug') : buildDir;
const args = [cmakeJs, 'compile', '-d', root, '-O', outDir, '-p', '2', '-l', 'error', ...(debug ? ['-D'] : [])];
if (prebuild) args.push('--CDCWTS_STATIC_CXX_RUNTIME=ON');
if (has('ninja')) args.push('-G', 'Ninja');
const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'error' } });
const out = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
if (r.status !== 0) {
  // CMake wraps long messages over several indented lines; the paragraph ends at a blank line.
  const m = out.match(/CWTS_SKIP: ([\s\S]*?)(?:\n\s*\n|$)/);
  const first = m ? m[1].replace(/\s+/g, ' ').trim() : (out.split('\n').find((l) => /error/i.test(l)) ?? 'see cmake-js output').trim();
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(join(buildDir, 'build.log'), out);
  skip(m ? first : `native build failed (${first}); full log in build/build.log`);
}
if (prebuild) {
  mkdirSync(dirname(prebuilt), { recursive: true });
  copyFileSync(join(outDir, 'Release', 'cwts_vulkan.node'), prebuilt);
  console.log(`@cwts/backend-vulkan: prebuilt prebuilds/${platformDir}/cwts_vulkan.node (${shaderNote})`);
  process.exit(0);
}
rmSync(reasonFile, { force: true });
// Only one configuration stays, so the loader never picks a stale one.
rmSync(debug ? join(buildDir, 'Release', 'cwts_vulkan.node') : join(buildDir, 'debug', 'Debug', 'cwts_vulkan.node'), { force: true });
console.log(`@cwts/backend-vulkan: native addon built (${debug ? 'Debug' : 'Release'}, ${shaderNote})`);
