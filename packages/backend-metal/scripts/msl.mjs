// Metal shading language for @cwts/backend-metal, generated from the Vulkan backend's SPIR-V
// (which glslc compiles from the GLSL compute shaders in @cwts/backend-vulkan/shaders): one
// kernel source for Vulkan and Metal. `spirv-cross --msl` does the translation; the output is
// checked in (macOS builds need no spirv-cross) with the SPIR-V's SHA-256 in its first line, so
// a stale file is detected even where spirv-cross is not installed.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MSL_VERSION = '20100'; // MSL 2.1: macOS 10.14+, every Apple GPU with Metal 2
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const mslDir = join(packageRoot, 'shaders');

/** The Vulkan backend's shader folder (a dev dependency; resolved, not assumed). */
export function spirvDir() {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@cwts/backend-vulkan/package.json')), 'shaders');
}

export function sha256(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

export function header(name, hash) {
  return `// GENERATED from @cwts/backend-vulkan/shaders/${name}.spv (sha256 ${hash}) by spirv-cross --msl --msl-version ${MSL_VERSION}. Do not edit: run \`node scripts/generate-msl.mjs\`.\n`;
}

export function hasSpirvCross() {
  const r = spawnSync('spirv-cross', ['--help'], { stdio: 'ignore' });
  return !r.error;
}

/** MSL for one SPIR-V file, with the header; throws with spirv-cross's message on failure. */
export function translate(spvPath, name) {
  const r = spawnSync('spirv-cross', ['--msl', '--msl-version', MSL_VERSION, spvPath], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`spirv-cross failed on ${name}.spv: ${(r.stderr || String(r.error)).trim()}`);
  return header(name, sha256(readFileSync(spvPath))) + r.stdout;
}

/**
 * The kernel's argument table, parsed from the generated entry point: [[buffer(i)]] in index
 * order with its address space. spirv-cross puts the push-constant block first (constant) and
 * the storage buffers after it in binding order; the addon binds by this table.
 */
export function kernelBuffers(msl) {
  const sig = msl.match(/kernel void main0\(([\s\S]*?)\)\s*\n\{/);
  if (!sig) return [];
  const out = [];
  for (const m of sig[1].matchAll(/(constant|const device|device)\s+[^,]*?\[\[buffer\((\d+)\)\]\]/g)) out.push({ index: Number(m[2]), space: m[1] });
  return out.sort((a, b) => a.index - b.index);
}

/** Names of the shaders to translate: every .spv of the Vulkan backend. */
export function shaderNames(dir = spirvDir()) {
  return readdirSync(dir).filter((f) => f.endsWith('.spv')).map((f) => f.slice(0, -4)).sort();
}

/**
 * Problems that make the checked-in MSL stale, [] when it is current: a SPIR-V file without MSL,
 * MSL without SPIR-V, a hash in the header that is not the SPIR-V's, or (with spirv-cross
 * installed) MSL that differs from what spirv-cross makes now.
 */
export function staleness({ spv = spirvDir(), msl = mslDir, regenerate = hasSpirvCross() } = {}) {
  const problems = [];
  const names = shaderNames(spv);
  for (const name of names) {
    const file = join(msl, `${name}.metal`);
    if (!existsSync(file)) {
      problems.push(`${name}.metal is missing (generated from ${name}.spv)`);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    const hash = sha256(readFileSync(join(spv, `${name}.spv`)));
    if (!text.startsWith(header(name, hash))) {
      problems.push(`${name}.metal was generated from another ${name}.spv (its sha256 is now ${hash})`);
      continue;
    }
    if (regenerate && translate(join(spv, `${name}.spv`), name) !== text) problems.push(`${name}.metal differs from spirv-cross's output for ${name}.spv`);
  }
  for (const f of existsSync(msl) ? readdirSync(msl) : []) {
    if (f.endsWith('.metal') && !names.includes(f.slice(0, -6))) problems.push(`${f} has no ${f.slice(0, -6)}.spv in @cwts/backend-vulkan`);
  }
  return problems;
}
