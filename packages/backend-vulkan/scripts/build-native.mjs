#!/usr/bin/env node
// Build of @cwts/backend-vulkan's addon. The policy (source build only when asked, `--prebuild`
// for `prepack`, the skip variable, never failing an install) is @cwts/native-build's, shared by
// every @cwts native package; this file holds only what is particular to Vulkan:
//   - the GLSL compute shaders are compiled to SPIR-V first when glslc is present (else the
//     checked-in shaders/*.spv are used; the addon reads them at run time, so they are not part
//     of what makes a prebuilt binary stale);
//   - CWTS_VULKAN_DEBUG=1: a Debug build in its own tree (validation layer on by default, see README);
//   - a prebuild that cannot be made fails the pack (Vulkan headers and a compiler are on every
//     release machine; the loader is dlopen'ed, so the binary needs no libvulkan to build).
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildNative } from '@cwts/native-build';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const shaderDir = join(pkgDir, 'shaders');
const debug = !process.argv.includes('--prebuild') && process.env.CWTS_VULKAN_DEBUG === '1';

/** GLSL -> SPIR-V where glslc exists and a source is newer than its .spv; returns what was used. */
function compileShaders({ has, skip }) {
  const variants = [];
  for (const f of readdirSync(shaderDir).filter((n) => n.endsWith('.comp'))) {
    const base = f.slice(0, -5);
    variants.push({ src: f, out: `${base}.spv`, defs: [] });
    if (base === 'normalize') variants.push({ src: f, out: `${base}_sg.spv`, defs: ['-DUSE_SUBGROUP=1'] });
    if (base === 'scores') variants.push({ src: f, out: `${base}_drange.spv`, defs: ['-DD_RANGE=1'] });
    if (base === 'rolling') variants.push({ src: f, out: `${base}_unrolled.spv`, defs: ['-DUNROLL_WINDOWS=1'] });
  }
  if (has('glslc')) {
    for (const v of variants) {
      const src = join(shaderDir, v.src);
      const out = join(shaderDir, v.out);
      if (existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) continue;
      const r = spawnSync('glslc', ['--target-env=vulkan1.1', '-O', ...v.defs, src, '-o', out], { encoding: 'utf8' });
      if (r.status !== 0) skip(`glslc failed on ${v.src}: ${(r.stderr || '').trim().split('\n')[0]}`);
    }
    return 'SPIR-V compiled with glslc';
  }
  if (!variants.every((v) => existsSync(join(shaderDir, v.out)))) skip('glslc not found and the checked-in SPIR-V is missing');
  if (variants.some((v) => statSync(join(shaderDir, v.src)).mtimeMs > statSync(join(shaderDir, v.out)).mtimeMs + 1000)) {
    return 'checked-in SPIR-V, older than its GLSL: install glslc to recompile';
  }
  return 'checked-in SPIR-V';
}

buildNative({
  name: '@cwts/backend-vulkan',
  pkgDir,
  addon: 'cwts_vulkan.node',
  prebuildRequired: true,
  fallback: 'the backend reports unavailable',
  prepare: (ctx) => ({
    note: `${debug ? 'Debug' : 'Release'}, ${compileShaders(ctx)}`,
    // Release builds to build/Release/, Debug (its own CMake tree) to build/debug/Debug/.
    ...(debug ? { outDir: join(pkgDir, 'build', 'debug'), cmakeArgs: ['--debug'] } : {}),
  }),
  // Only one configuration stays, so the loader never picks a stale one.
  after: () => rmSync(debug ? join(pkgDir, 'build', 'Release', 'cwts_vulkan.node') : join(pkgDir, 'build', 'debug', 'Debug', 'cwts_vulkan.node'), { force: true }),
});
